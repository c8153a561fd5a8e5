// VariationalAutoencoder through the public API: its latent distribution, sampling, interpolation,
// the reported KL term and β warm-up, files and ONNX, and its refusals.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, VariationalAutoencoder, type History } from 'native-autoencoder';
import { expectCoded, rejection, sameWeights, syntheticData, thrown } from './helpers';

const D = 24;
const x = syntheticData(1024, D, 5);
const make = () => new VariationalAutoencoder({ inputDim: D, latentDim: 3, seed: 2 });

describe('VariationalAutoencoder', () => {
  let history: History;
  const vae = make();

  it('trains, reporting the reconstruction and KL terms, with β rising over the warm-up', async () => {
    history = await vae.fit(x, { epochs: 6, batchSize: 32, loss: 'binaryCrossentropy', beta: 0.5, klWarmupEpochs: 4, seed: 1 });
    const betas = history.epochs.map((e) => e.beta);
    expect(betas).toEqual([0.125, 0.25, 0.375, 0.5, 0.5, 0.5]);
    for (const e of history.epochs) {
      expect(e.kl).toBeGreaterThan(0);
      // loss = reconstruction + β · KL / (loss terms per row = D)
      expect(e.loss).toBeCloseTo((e.reconstruction as number) + ((e.beta as number) * (e.kl as number)) / D, 6);
    }
    expect(history.epochs[5].reconstruction).toBeLessThan(history.epochs[0].reconstruction as number);
  });

  it('encodes means, or means and log-variances', () => {
    const mean = vae.encode(x);
    const both = vae.encode(x, { withVariance: true });
    expect([mean.rows, mean.cols]).toEqual([1024, 3]);
    expect(both.mean.data).toEqual(mean.data);
    expect([both.logVariance.rows, both.logVariance.cols]).toEqual([1024, 3]);
    const stats = vae.encoder.encode(x);
    expect(stats.cols).toBe(6);
    expect(Array.from(stats.data.subarray(3, 6))).toEqual(Array.from(both.logVariance.data.subarray(0, 3)));
  });

  it('encodes means and log-variances on a worker thread as encode does', async () => {
    const both = vae.encode(x, { withVariance: true });
    const mean = await vae.encodeAsync(x);
    expect(mean.data).toEqual(both.mean.data);
    const asyncBoth = await vae.encodeAsync(x, { withVariance: true });
    expect(asyncBoth.mean.data).toEqual(both.mean.data);
    expect(asyncBoth.logVariance.data).toEqual(both.logVariance.data);
    expect((await vae.encodeAsync(x, { withVariance: false })).data).toEqual(both.mean.data);
    expectCoded(await rejection(vae.encodeAsync(x, { withVariance: 'yes' } as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'options.withVariance');
    expectCoded(thrown(() => vae.encode(x, { withVariance: 1 } as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'options.withVariance');
    expectCoded(await rejection(vae.encodeAsync(x, { out: new Float32Array(1024 * 3) } as never)), RangeError, 'ERR_INVALID_ARG_VALUE', 'options.out');
  });

  it('encodes the means into options.out when given, with or without the log-variances', () => {
    const mean = vae.encode(x);
    const out = new Float32Array(1024 * 3);
    expect(vae.encode(x, { out }).data).toBe(out);
    expect(out).toEqual(mean.data);
    const into = new Float32Array(1024 * 3);
    const both = vae.encode(x, { withVariance: true, out: into });
    expect(both.mean.data).toBe(into);
    expect(into).toEqual(mean.data);
    expectCoded(thrown(() => vae.encode(x, { out: new Float32Array(1024 * 6) })), RangeError, 'ERR_OUT_OF_RANGE', 'options.out.length');
    expectCoded(thrown(() => vae.encode(x, { out: x.subarray(0, 1024 * 3) })), RangeError, 'ERR_OUT_OF_RANGE', 'options.out');
  });

  it('reconstructs from the mean', () => {
    const fromMean = vae.decode(vae.encode(x));
    expect(vae.reconstruct(x).data).toEqual(fromMean.data);
  });

  it('samples from the prior: seeded, scaled by the temperature', () => {
    const a = vae.sample(5, { seed: 9 });
    expect([a.rows, a.cols]).toEqual([5, D]);
    expect(vae.sample(5, { seed: 9 }).data).toEqual(a.data);
    expect(vae.sample(5, { seed: 10 }).data).not.toEqual(a.data);
    const cold = vae.sample(3, { seed: 1, temperature: 0 });
    const origin = vae.decode(new Float32Array(3));
    for (let r = 0; r < 3; r++) expect(cold.data.subarray(r * D, (r + 1) * D)).toEqual(origin.data);
  });

  it('interpolates between two rows, ends included', () => {
    const a = x.subarray(0, D);
    const b = x.subarray(D, 2 * D);
    const path = vae.interpolate(a, b, 5);
    expect(path.rows).toBe(5);
    // Equal up to the summation order of a 5-row against a 1-row product.
    const close = (got: Float32Array, want: Float32Array) => got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-6));
    close(path.data.subarray(0, D), vae.reconstruct(a).data);
    close(path.data.subarray(4 * D), vae.reconstruct(b).data);
  });

  it('saves and loads bit for bit, and its halves load alone', () => {
    const again = VariationalAutoencoder.fromBuffer(vae.toBuffer());
    expect(again).toBeInstanceOf(VariationalAutoencoder);
    expect(sameWeights(again.getWeights(), vae.getWeights())).toBe(true);
    expect(again.reconstruct(x).data).toEqual(vae.reconstruct(x).data);
    expect(Encoder.fromBuffer(vae.toBuffer()).outputDim).toBe(6);
    expect(Decoder.fromBuffer(vae.toBuffer()).decode(vae.encode(x)).data).toEqual(vae.reconstruct(x).data);
    expectCoded(thrown(() => Autoencoder.fromBuffer(vae.toBuffer())), Error, 'ERR_MODEL_FORMAT');
    expectCoded(thrown(() => VariationalAutoencoder.fromBuffer(new Autoencoder({ inputDim: D, latentDim: 3 }).toBuffer())), Error, 'ERR_MODEL_FORMAT');
  });

  it('exports to ONNX, decoding the mean', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'na-vae-'));
    try {
      const file = path.join(dir, 'vae.onnx');
      await vae.toONNX(file);
      const session = await ort.InferenceSession.create(file);
      const input = x.subarray(0, 7 * D);
      const out = await session.run({ input: new ort.Tensor('float32', input, [7, D]) });
      const expected = vae.reconstruct(input).data;
      const got = out.output.data as Float32Array;
      for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments', async () => {
    expectCoded(thrown(() => vae.sample(0)), RangeError, 'ERR_OUT_OF_RANGE', 'n');
    expectCoded(thrown(() => vae.sample(2, { temperature: -1 })), RangeError, 'ERR_OUT_OF_RANGE', 'options.temperature');
    // Its hidden layers are 4 · latentDim wide: the refusal named config.layers[0].units, which the caller never gave.
    expectCoded(thrown(() => new VariationalAutoencoder({ inputDim: 4, latentDim: 2 ** 22 + 1 })), RangeError, 'ERR_OUT_OF_RANGE', 'config.latentDim');
    // Draws scaled beyond float32 came back as rows of NaN.
    expectCoded(thrown(() => vae.sample(2, { temperature: 1e39 })), RangeError, 'ERR_OUT_OF_RANGE', 'options.temperature');
    expect(vae.sample(2, { seed: 1, temperature: 3e37 }).data.some(Number.isNaN)).toBe(false);
    expectCoded(thrown(() => vae.interpolate(x.subarray(0, 2 * D), x.subarray(0, D), 3)), RangeError, 'ERR_OUT_OF_RANGE', 'a');
    expectCoded(thrown(() => vae.interpolate(x.subarray(0, D), x.subarray(0, D), 1)), RangeError, 'ERR_OUT_OF_RANGE', 'steps');
    expectCoded(await rejection(vae.fit(x, { beta: -1 })), RangeError, 'ERR_OUT_OF_RANGE', 'options.beta');
    expectCoded(await rejection(new Autoencoder({ inputDim: D, latentDim: 3 }).fit(x, { beta: 1 })), RangeError, 'ERR_OUT_OF_RANGE', 'options.beta');
    const relu = () =>
      new VariationalAutoencoder({
        encoder: new Encoder({ inputDim: D, layers: [{ units: 6, activation: 'relu' }] }),
        decoder: new Decoder({ latentDim: 3, layers: [{ units: D }] }),
      });
    expectCoded(thrown(relu), RangeError, 'ERR_OUT_OF_RANGE', 'config.encoder');
  });
});
