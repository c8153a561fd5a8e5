// The busy/dispose policy: ERR_BUSY while a fit or an asynchronous prediction runs, ERR_DISPOSED after dispose().
import { describe, expect, it } from 'vitest';
import { Autoencoder, Encoder, getThreads, setThreads } from 'native-autoencoder';
import { expectCoded, rejection, sameBits, sameWeights, syntheticData, thrown } from './helpers';

const D = 256;
const x = syntheticData(1024, D, 51);
const few = x.subarray(0, 8 * D);
const model = (seed = 1) => new Autoencoder({ inputDim: D, latentDim: 64, seed });
const latent = new Float32Array(8 * 64);

/** Every synchronous call on the model, its encoder and its decoder, by name; `weights` come from an earlier getWeights(). */
function syncCalls(ae: Autoencoder, weights = ae.getWeights()): [string, () => unknown][] {
  return [
    ['predict', () => ae.predict(few)],
    ['reconstruct', () => ae.reconstruct(few)],
    ['encode', () => ae.encode(few)],
    ['decode', () => ae.decode(latent)],
    ['getWeights', () => ae.getWeights()],
    ['setWeights', () => ae.setWeights(weights)],
    ['evaluate', () => ae.evaluate(few)],
    ['reconstructionError', () => ae.reconstructionError(few)],
    ['encoder.encode', () => ae.encoder.encode(few)],
    ['encoder.getWeights', () => ae.encoder.getWeights()],
    ['encoder.setWeights', () => ae.encoder.setWeights(weights.slice(0, 4))],
    ['decoder.decode', () => ae.decoder.decode(latent)],
    ['decoder.getWeights', () => ae.decoder.getWeights()],
  ];
}

/** Every asynchronous call, by name. */
function asyncCalls(ae: Autoencoder): [string, () => Promise<unknown>][] {
  return [
    ['fit', () => ae.fit(few)],
    ['predictAsync', () => ae.predictAsync(few)],
    ['encodeAsync', () => ae.encodeAsync(few)],
    ['decodeAsync', () => ae.decodeAsync(latent)],
    ['reconstructionErrorAsync', () => ae.reconstructionErrorAsync(few)],
    ['encoder.encodeAsync', () => ae.encoder.encodeAsync(few)],
  ];
}

describe('while a fit runs', () => {
  it('every other call on the model, its encoder and its decoder throws or rejects with ERR_BUSY', async () => {
    const ae = model();
    const calls = syncCalls(ae);
    const promises = asyncCalls(ae);
    const midFit: { busy: boolean; code: unknown }[] = [];
    const running = ae.fit(x, {
      epochs: 2,
      batchSize: 64,
      onBatchEnd: ({ batch }) => {
        if (batch === 3) midFit.push({ busy: ae.busy, code: (thrown(() => ae.predict(few)) as { code?: unknown }).code });
      },
    });
    expect([ae.busy, ae.encoder.busy, ae.decoder.busy]).toEqual([true, true, true]);
    for (const [name, call] of calls) expect((thrown(call) as { code?: unknown }).code, name).toBe('ERR_BUSY');
    for (const [name, call] of promises) expect(((await rejection(call())) as { code?: unknown }).code, name).toBe('ERR_BUSY');
    expectCoded(thrown(() => setThreads(getThreads())), Error, 'ERR_BUSY');

    await running;
    expect(midFit).toEqual([
      { busy: true, code: 'ERR_BUSY' },
      { busy: true, code: 'ERR_BUSY' },
    ]);
    expect([ae.busy, ae.encoder.busy, ae.decoder.busy]).toEqual([false, false, false]);
    for (const [, call] of calls) call();
    for (const [, call] of promises) await call();
    setThreads(getThreads());
  });

  it('an ERR_BUSY refusal changes nothing: the fit ends as a lone fit would', async () => {
    const lone = model(2);
    await lone.fit(x, { epochs: 1, batchSize: 64, seed: 3 });
    const ae = model(2);
    const running = ae.fit(x, { epochs: 1, batchSize: 64, seed: 3 });
    expect((thrown(() => ae.setWeights(lone.getWeights())) as { code?: unknown }).code).toBe('ERR_BUSY');
    await running;
    expect(sameWeights(ae.getWeights(), lone.getWeights())).toBe(true);
  });
});

describe('while an asynchronous prediction runs', () => {
  it('setWeights and fit are refused with ERR_BUSY; reads and predictions still work', async () => {
    const ae = model();
    const weights = ae.getWeights();
    const expected = ae.predict(x).data;
    const pending = ae.predictAsync(x);
    expect(ae.busy).toBe(true);
    expect(ae.encoder.busy).toBe(true);

    expectCoded(thrown(() => ae.setWeights(weights)), Error, 'ERR_BUSY');
    expectCoded(thrown(() => ae.encoder.setWeights(ae.encoder.getWeights())), Error, 'ERR_BUSY');
    expectCoded(await rejection(ae.fit(few)), Error, 'ERR_BUSY');
    expect(sameBits(ae.predict(x).data, expected)).toBe(true);
    expect(ae.encode(few).rows).toBe(8);
    expect(sameWeights(ae.getWeights(), weights)).toBe(true);
    expect(Number.isFinite(ae.evaluate(few))).toBe(true);
    const second = ae.reconstructionErrorAsync(few);

    expect(sameBits((await pending).data, expected)).toBe(true);
    expect((await second).length).toBe(8);
    expect(ae.busy).toBe(false);
    ae.setWeights(weights);
    await ae.fit(few);
  });
});

describe('dispose', () => {
  it('during a fit stops it after the current batch and makes it reject with ERR_DISPOSED', async () => {
    // Batches of about 50 ms, so that callbacks reach the main thread long before the next batch ends.
    const wide = syntheticData(1024, 784, 52);
    const ae = new Autoencoder({ inputDim: 784, latentDim: 256, seed: 1 });
    let delivered = 0;
    let afterDispose = 0;
    const error = await rejection(
      ae.fit(wide, {
        epochs: 5,
        batchSize: 256,
        onBatchEnd: () => {
          delivered++;
          if (ae.disposed) afterDispose++;
          else if (delivered === 2) ae.dispose();
        },
      }),
    );
    expectCoded(error, Error, 'ERR_DISPOSED');
    expect(delivered).toBeGreaterThanOrEqual(2);
    // As with abort: the running batch may finish, and one more callback may have been on its way.
    expect(afterDispose).toBeLessThanOrEqual(2);
    expect([ae.disposed, ae.encoder.disposed, ae.decoder.disposed]).toEqual([true, true, true]);
    expect([ae.busy, ae.encoder.busy]).toEqual([false, false]);
  });

  it('in the last epoch\'s onEpochEnd makes fit and fitStream reject with ERR_DISPOSED, though every epoch ran', async () => {
    for (const train of [
      (ae: Autoencoder, onEpochEnd: (logs: { epoch: number }) => void) => ae.fit(few, { epochs: 2, onEpochEnd }),
      (ae: Autoencoder, onEpochEnd: (logs: { epoch: number }) => void) => ae.fitStream(() => [few], { epochs: 2, onEpochEnd }),
    ]) {
      const ae = model();
      const epochs: number[] = [];
      const error = await rejection(
        train(ae, ({ epoch }) => {
          epochs.push(epoch);
          if (epoch === 1) ae.dispose();
        }),
      );
      expectCoded(error, Error, 'ERR_DISPOSED');
      expect(epochs).toEqual([0, 1]);
    }
  });

  it('makes every later call on the model, its encoder and its decoder throw or reject with ERR_DISPOSED', async () => {
    const ae = model();
    const weights = ae.getWeights();
    const running = ae.fit(x, { epochs: 5 });
    ae.dispose();
    expectCoded(await rejection(running), Error, 'ERR_DISPOSED');
    for (const [name, call] of syncCalls(ae, weights)) expect((thrown(call) as { code?: unknown }).code, name).toBe('ERR_DISPOSED');
    for (const [name, call] of asyncCalls(ae)) expect(((await rejection(call())) as { code?: unknown }).code, name).toBe('ERR_DISPOSED');
    expect(() => ae.dispose()).not.toThrow();
  });

  it('[Symbol.dispose]() disposes, as a `using` declaration would', () => {
    const ae = model();
    const encoder = new Encoder({ inputDim: D, layers: [{ units: 4 }] });
    ae[Symbol.dispose]();
    encoder[Symbol.dispose]();
    expect([ae.disposed, encoder.disposed]).toEqual([true, true]);
    expectCoded(thrown(() => ae.predict(few)), Error, 'ERR_DISPOSED');
    expectCoded(thrown(() => encoder.encode(few)), Error, 'ERR_DISPOSED');
  });
});

describe('an allocation larger than memory', () => {
  it('is refused before it is made, naming the bytes asked for and the memory there is', () => {
    let error: unknown;
    try {
      new Autoencoder({ inputDim: 1 << 24, latentDim: 1 << 20 });
    } catch (e) {
      error = e;
    }
    expect(error).toHaveProperty('code', 'ERR_OUT_OF_MEMORY');
    expect((error as Error).message).toMatch(/refused to allocate \d+ bytes .* the machine has \d+ bytes/);
  });
});
