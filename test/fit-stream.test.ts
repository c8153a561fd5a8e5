// Autoencoder.fitStream: training on chunks that arrive one at a time (data larger than memory).
import { describe, expect, it } from 'vitest';
import { Autoencoder, VariationalAutoencoder } from 'native-autoencoder';
import { expectCoded, rejection, sameWeights, syntheticData } from './helpers';

const D = 20;
const x = syntheticData(2048, D, 3);
const options = { epochs: 3, batchSize: 32, seed: 5, optimizer: { type: 'adam' as const, learningRate: 0.01 } };
const make = () => new Autoencoder({ inputDim: D, latentDim: 8, seed: 1 });

describe('fitStream', () => {
  it('with the data as one chunk, trains bit for bit as fit does', async () => {
    const a = make();
    const b = make();
    const ha = await a.fit(x, options);
    const hb = await b.fitStream(() => [x], options);
    expect(hb.loss).toEqual(ha.loss);
    expect(hb.steps).toBe(ha.steps);
    expect(sameWeights(a.getWeights(), b.getWeights())).toBe(true);
  });

  it("raises a VAE's KL weight per pass, not per chunk", async () => {
    const vae = new VariationalAutoencoder({ inputDim: D, latentDim: 3, seed: 1 });
    const history = await vae.fitStream(() => [0, 1, 2, 3].map((i) => x.subarray(i * 512 * D, (i + 1) * 512 * D)), {
      epochs: 4,
      batchSize: 32,
      seed: 9,
      beta: 1,
      klWarmupEpochs: 4,
    });
    // It went 0.25, 0.5, 0.75 over the first pass's chunks, and was whole from the second.
    expect(history.epochs.map((e) => e.beta)).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('carries the optimizer across chunks from an async source, one epoch per pass', async () => {
    const ae = make();
    const before = ae.evaluate(x);
    let opened = 0;
    async function* chunks() {
      opened++;
      for (let i = 0; i < 4; i++) yield x.subarray(i * 512 * D, (i + 1) * 512 * D);
    }
    const epochs: number[] = [];
    const longer = { ...options, epochs: 10 };
    const h = await ae.fitStream(chunks, { ...longer, onEpochEnd: (e) => epochs.push(e.epoch) });
    expect(opened).toBe(10);
    expect(epochs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(h.steps).toBe(10 * 4 * 16);
    // About as good as fit on the same rows, which shuffles across all of them rather than within chunks.
    const whole = make();
    await whole.fit(x, longer);
    console.log(`fitStream in 4 chunks: mse ${before.toFixed(4)} → ${ae.evaluate(x).toFixed(4)}; fit: ${whole.evaluate(x).toFixed(4)}`);
    expect(ae.evaluate(x)).toBeLessThan(before / 2);
    expect(ae.evaluate(x)).toBeLessThan(1.5 * whole.evaluate(x));
  });

  it('holds the model busy between chunks: other calls throw ERR_BUSY until the pass ends', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 4, seed: 3 });
    const encoder = ae.encoder;
    const seen: unknown[] = [];
    const attempt = (call: () => unknown) => {
      try {
        call();
        seen.push('allowed');
      } catch (error) {
        seen.push((error as { code?: string }).code);
      }
    };
    async function* chunks() {
      yield x.subarray(0, 32 * D);
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(ae.busy, encoder.busy);
      attempt(() => ae.getWeights());
      attempt(() => ae.setWeights(new Autoencoder({ inputDim: D, latentDim: 4, seed: 4 }).getWeights()));
      attempt(() => encoder.predict(x.subarray(0, D)));
      seen.push(await rejection(ae.fit(x, { epochs: 1 })).then((error) => (error as { code?: string }).code));
      yield x.subarray(32 * D);
    }
    await ae.fitStream(() => chunks(), { epochs: 1, batchSize: 16 });
    expect(seen).toEqual([true, true, 'ERR_BUSY', 'ERR_BUSY', 'ERR_BUSY', 'ERR_BUSY']);
    expect(ae.busy).toBe(false);
    expect(ae.getWeights().length).toBe(8);
  });

  it('stops on abort, and refuses what it does not support', async () => {
    const ae = make();
    const controller = new AbortController();
    function* forever() {
      for (;;) {
        controller.abort();
        yield x;
      }
    }
    expectCoded(await rejection(ae.fitStream(forever, { ...options, signal: controller.signal })), Error, 'ABORT_ERR');
    expectCoded(await rejection(ae.fitStream(() => [x], { validationSplit: 0.1 } as never)), RangeError, 'ERR_OUT_OF_RANGE', 'options.validationSplit');
    expectCoded(await rejection(ae.fitStream(x as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'open');
    // A typed array is one chunk; a Proxy of one is no view, and iterating it throws a TypeError with no code.
    expectCoded(await rejection(ae.fitStream(() => x as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'open()');
    expectCoded(await rejection(ae.fitStream(() => new Proxy(x, {}) as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'open()');
    expectCoded(await rejection(ae.fitStream(() => [])), RangeError, 'ERR_OUT_OF_RANGE', 'open');
  });
});
