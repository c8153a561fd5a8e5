// Aborting a fit with an AbortSignal: AbortError within one batch, the last completed step kept, the model usable afterwards.
import { describe, expect, it } from 'vitest';
import { Autoencoder } from 'native-autoencoder';
import { allFinite, expectCoded, rejection, rowsOf, sameWeights, syntheticData } from './helpers';

// Batches heavy enough (about 50 ms each here) that callbacks reach the main thread long before
// the next batch ends.
const D = 784;
const BATCH = 256;
const x = syntheticData(2048, D, 31);
const model = () => new Autoencoder({ inputDim: D, latentDim: 256, seed: 1 });

describe('abort', () => {
  it('during a fit rejects with AbortError within one batch and keeps the last completed step', async () => {
    const ae = model();
    const controller = new AbortController();
    const reason = new Error('enough');
    let delivered = 0;
    let afterAbort = 0;
    const error = await rejection(
      ae.fit(x, {
        epochs: 3,
        batchSize: BATCH,
        shuffle: false,
        signal: controller.signal,
        onBatchEnd: () => {
          delivered++;
          if (controller.signal.aborted) afterAbort++;
          else if (delivered === 3) controller.abort(reason);
        },
      }),
    );
    expectCoded(error, Error, 'ABORT_ERR');
    expect((error as Error).name).toBe('AbortError');
    expect((error as Error).cause).toBe(reason);
    // The batch that was running when abort() came may finish, and on a loaded machine one more may
    // have finished while its callback was on its way to the main thread; no later batch starts.
    expect(afterAbort).toBeLessThanOrEqual(2);
    expect(ae.busy).toBe(false);

    // The weights are those after the `delivered` completed steps: replay them without a signal.
    const replay = model();
    await replay.fit(rowsOf(x, D, 0, delivered * BATCH), { batchSize: BATCH, shuffle: false });
    expect(sameWeights(ae.getWeights(), replay.getWeights())).toBe(true);

    // The model is usable afterwards: predict, then a whole fit.
    expect(ae.predict(rowsOf(x, D, 0, 4)).rows).toBe(4);
    const history = await ae.fit(rowsOf(x, D, 0, 512), { batchSize: BATCH });
    expect(history.stopReason).toBe('completed');
    expect(allFinite(ae.getWeights())).toBe(true);
  });

  it('with a signal already aborted rejects at once without training', async () => {
    const ae = model();
    const before = ae.getWeights();
    const reason = new Error('never started');
    let batches = 0;
    const started = performance.now();
    const error = await rejection(
      ae.fit(x, { epochs: 3, batchSize: BATCH, signal: AbortSignal.abort(reason), onBatchEnd: () => batches++ }),
    );
    expect(performance.now() - started).toBeLessThan(250);
    expectCoded(error, Error, 'ABORT_ERR');
    expect((error as Error).name).toBe('AbortError');
    expect((error as Error).cause).toBe(reason);
    expect(batches).toBe(0);
    expect(ae.busy).toBe(false);
    expect(sameWeights(ae.getWeights(), before)).toBe(true);
  });

  it('AbortSignal.timeout stops a long fit when it fires', async () => {
    const ae = model();
    const started = performance.now();
    const error = await rejection(ae.fit(x, { epochs: 1000, batchSize: BATCH, signal: AbortSignal.timeout(300) }));
    const elapsed = performance.now() - started;
    expectCoded(error, Error, 'ABORT_ERR');
    expect((error as Error).name).toBe('AbortError');
    expect(((error as Error).cause as Error).name).toBe('TimeoutError');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    expect(ae.busy).toBe(false);
  });

  it("a signal stops listening when its fit settles: aborting it later does not stop another fit", async () => {
    const ae = model();
    const controller = new AbortController();
    await ae.fit(rowsOf(x, D, 0, 256), { batchSize: BATCH, signal: controller.signal });
    let batches = 0;
    const running = ae.fit(rowsOf(x, D, 0, 512), {
      epochs: 2,
      batchSize: BATCH,
      onBatchEnd: () => {
        if (++batches === 1) controller.abort();
      },
    });
    const history = await running;
    expect(history.stopReason).toBe('completed');
    expect(batches).toBe(4);
  });
});
