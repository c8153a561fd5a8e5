// precision: 'bf16': bfloat16 matrix products through oneDNN where the CPU has AMX-BF16 or
// AVX512-BF16; the loss of W2 and W3 after the same steps within 1% of float32's, from the same
// initial weights; elsewhere a clear refusal.
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, VariationalAutoencoder, backendInfo, type ActivationName, type FitOptions } from 'native-autoencoder';
import { expectCoded, rejection, thrown } from './helpers';

const info = backendInfo();

function build(widths: number[], activations: ActivationName[]): Autoencoder {
  const half = activations.length / 2;
  const layer = (i: number) => ({ units: widths[i + 1], activation: activations[i] });
  return new Autoencoder({
    encoder: new Encoder({ inputDim: widths[0], layers: Array.from({ length: half }, (_, i) => layer(i)), seed: 1 }),
    decoder: new Decoder({ latentDim: widths[half], layers: Array.from({ length: half }, (_, i) => layer(i + half)), seed: 2 }),
  });
}

// Rows near a low-dimensional surface, in (0, 1).
function data(rows: number, cols: number): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) x[r * cols + c] = 1 / (1 + Math.exp(-2 * Math.sin(0.05 * c * (1 + (r % 7)) + r)));
  }
  return x;
}

async function lossesBothWays(widths: number[], activations: ActivationName[], rows: number, options: FitOptions) {
  const x = data(rows, widths[0]);
  const result: Record<string, number[]> = {};
  for (const precision of ['float32', 'bf16'] as const) {
    const ae = build(widths, activations);
    result[precision] = (await ae.fit(x, { ...options, shuffle: false, precision })).loss;
    ae.dispose();
  }
  return { float32: result.float32, bf16: result.bf16 };
}

describe("precision: 'bf16'", () => {
  it('is refused unless it is float32 or bf16, naming the option', async () => {
    const ae = new Autoencoder({ inputDim: 4, latentDim: 2 });
    await expect(ae.fit(new Float32Array(8), { precision: 'fp16' as never })).rejects.toMatchObject({ name: 'RangeError', message: expect.stringMatching(/options\.precision/) });
    ae.dispose();
  });

  it.runIf(!info.bf16)('rejects with ERR_BF16_UNAVAILABLE and the reason where there are no bf16 products', async () => {
    expect(info.bf16Reason).not.toBe('');
    const ae = new Autoencoder({ inputDim: 4, latentDim: 2 });
    await expect(ae.fit(new Float32Array(8), { precision: 'bf16' })).rejects.toMatchObject({ code: 'ERR_BF16_UNAVAILABLE', message: expect.stringContaining(info.bf16Reason) });
    expect((await ae.fit(new Float32Array(8))).steps).toBe(1);
    ae.dispose();
  });

  it.runIf(!!info.bf16)('W2 (784-512-256-64-256-512-784, BCE, Adam): the loss after 16 steps within 1% of float32', async () => {
    const { float32, bf16 } = await lossesBothWays([784, 512, 256, 64, 256, 512, 784], ['relu', 'relu', 'linear', 'relu', 'relu', 'sigmoid'], 2048, {
      epochs: 2,
      batchSize: 256,
      loss: 'binaryCrossentropy',
      optimizer: { type: 'adam', learningRate: 1e-3 },
    });
    const difference = Math.abs(bf16[1] - float32[1]) / float32[1];
    console.log(`W2 after 16 steps: float32 ${float32[1].toPrecision(6)}, bf16 ${bf16[1].toPrecision(6)} (${(difference * 100).toFixed(3)}% apart; ${info.bf16})`);
    expect(bf16[1]).toBeLessThan(bf16[0]);
    expect(difference).toBeLessThan(0.01);
    expect(difference).toBeGreaterThan(0); // the products did run in another precision
  });

  it.runIf(!!info.bf16)('W3 (4096-2048-256-2048-4096, MSE, Adam): the loss after 4 steps within 1% of float32', async () => {
    const { float32, bf16 } = await lossesBothWays([4096, 2048, 256, 2048, 4096], ['relu', 'linear', 'relu', 'sigmoid'], 1024, {
      epochs: 2,
      batchSize: 512,
      loss: 'mse',
      optimizer: { type: 'adam', learningRate: 1e-3 },
    });
    const difference = Math.abs(bf16[1] - float32[1]) / float32[1];
    console.log(`W3 after 4 steps: float32 ${float32[1].toPrecision(6)}, bf16 ${bf16[1].toPrecision(6)} (${(difference * 100).toFixed(3)}% apart)`);
    expect(difference).toBeLessThan(0.01);
    expect(difference).toBeGreaterThan(0);
  });

  describe('inference', () => {
    // Small widths with a large middle layer: the 2^24-multiply-add products take oneDNN's primitives, the rest its GEMM.
    const widths = [300, 2048, 24, 2048, 300];
    const activations: ActivationName[] = ['relu', 'linear', 'relu', 'sigmoid'];
    const rows = 70;
    const x = data(rows, widths[0]);

    /** The largest |a - b| over the largest |b|: bf16 keeps 8 significant bits, so about 1e-2 at most. */
    const relativeToScale = (a: Float32Array, b: Float32Array) => {
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < b.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      return worst / scale;
    };
    /** Apart from float32 (the products did run in bf16), but by less than `tolerance` of the scale. */
    const expectBf16Near = (bf16: Float32Array, float32: Float32Array, tolerance: number) => {
      const apart = relativeToScale(bf16, float32);
      expect(apart).toBeGreaterThan(0);
      expect(apart).toBeLessThan(tolerance);
    };

    it.runIf(!!info.bf16)('predict, encode, decode, their …Async variants and reconstructionError run in bf16 within bf16 tolerance of float32', async () => {
      const ae = build(widths, activations);
      const float32 = ae.predict(x).data;
      const bf16 = ae.predict(x, { precision: 'bf16' }).data;
      expectBf16Near(bf16, float32, 2e-2);
      expect(ae.predict(x, { precision: 'float32' }).data).toEqual(float32);
      expect((await ae.predictAsync(x, { precision: 'bf16' })).data).toEqual(bf16);
      expect((await ae.reconstructAsync(x, { precision: 'bf16' })).data).toEqual(bf16);
      const out = new Float32Array(rows * widths[0]);
      expect(ae.reconstruct(x, { precision: 'bf16', out }).data).toBe(out);
      expect(out).toEqual(bf16);

      const z = ae.encode(x);
      const z16 = ae.encode(x, { precision: 'bf16' });
      expectBf16Near(z16.data, z.data, 2e-2);
      expect((await ae.encodeAsync(x, { precision: 'bf16' })).data).toEqual(z16.data);
      const decoded16 = ae.decode(z, { precision: 'bf16' }).data;
      expectBf16Near(decoded16, ae.decode(z).data, 2e-2);
      expect((await ae.decoder.decodeAsync(z, { precision: 'bf16' })).data).toEqual(decoded16);

      const scores16 = ae.reconstructionError(x, { precision: 'bf16' });
      expectBf16Near(scores16, ae.reconstructionError(x), 5e-2);
      expect(await ae.reconstructionErrorAsync(x, { precision: 'bf16' })).toEqual(scores16);
      // Binary cross-entropy of the sigmoid output reads the logits, which bf16 products make too.
      const bce = { metric: 'binaryCrossentropy' } as const;
      expectBf16Near(ae.reconstructionError(x, { ...bce, precision: 'bf16' }), ae.reconstructionError(x, bce), 5e-2);
      ae.dispose();
    });

    it.runIf(!!info.bf16)('a model that keeps its bf16 workspace between calls predicts with its current weights', async () => {
      const ae = build(widths, activations);
      const fresh = () => {
        const copy = build(widths, activations);
        copy.setWeights(ae.getWeights());
        return copy;
      };
      ae.predict(x, { precision: 'bf16' });
      ae.encode(x.subarray(0, 10 * widths[0]), { precision: 'bf16' });
      await ae.fit(x, { epochs: 1, batchSize: 35, seed: 3 });
      ae.predict(x); // float32 in between
      const copy = fresh();
      const expected = copy.predict(x, { precision: 'bf16' }).data;
      expect(ae.predict(x, { precision: 'bf16' }).data).toEqual(expected);
      expect((await ae.predictAsync(x, { precision: 'bf16' })).data).toEqual(expected);
      const weights = ae.getWeights();
      weights[0].data.fill(0.01);
      ae.setWeights(weights);
      const changed = fresh();
      expect(ae.predict(x, { precision: 'bf16' }).data).toEqual(changed.predict(x, { precision: 'bf16' }).data);
      expect((await ae.predictAsync(x, { precision: 'bf16' })).data).toEqual(changed.predict(x, { precision: 'bf16' }).data);
      for (const model of [ae, copy, changed]) model.dispose();
    });

    it.runIf(!!info.bf16)("a VariationalAutoencoder's means and log-variances in bf16", async () => {
      const vae = new VariationalAutoencoder({
        encoder: new Encoder({ inputDim: 300, layers: [{ units: 2048, activation: 'relu' }, { units: 16 }], seed: 1 }),
        decoder: new Decoder({ latentDim: 8, layers: [{ units: 300, activation: 'sigmoid' }], seed: 2 }),
      });
      const both = vae.encode(x, { withVariance: true });
      const both16 = vae.encode(x, { withVariance: true, precision: 'bf16' });
      expectBf16Near(both16.mean.data, both.mean.data, 2e-2);
      expectBf16Near(both16.logVariance.data, both.logVariance.data, 2e-2);
      const async16 = await vae.encodeAsync(x, { withVariance: true, precision: 'bf16' });
      expect(async16.mean.data).toEqual(both16.mean.data);
      expect(async16.logVariance.data).toEqual(both16.logVariance.data);
      vae.dispose();
    });

    it.runIf(!info.bf16)('refuses bf16 with ERR_BF16_UNAVAILABLE where there are no bf16 products, and float32 still works', async () => {
      const ae = build(widths, activations);
      const unavailable = { code: 'ERR_BF16_UNAVAILABLE', message: expect.stringContaining(info.bf16Reason) };
      expect(thrown(() => ae.predict(x, { precision: 'bf16' }))).toMatchObject(unavailable);
      expect(thrown(() => ae.reconstructionError(x, { precision: 'bf16' }))).toMatchObject(unavailable);
      expect(await rejection(ae.predictAsync(x, { precision: 'bf16' }))).toMatchObject(unavailable);
      expect(await rejection(ae.reconstructionErrorAsync(x, { precision: 'bf16' }))).toMatchObject(unavailable);
      expect(thrown(() => ae.reconstructionError(new Float32Array(0), { precision: 'bf16' }))).toMatchObject(unavailable);
      expect(thrown(() => ae.predict(new Float32Array(0), { precision: 'bf16' }))).toMatchObject(unavailable);
      expect(ae.predict(x, { precision: 'float32' }).data).toEqual(ae.predict(x).data);
      ae.dispose();
    });

    it('refuses a precision that is not float32 or bf16, naming options.precision', async () => {
      const ae = build([8, 4, 8], ['relu', 'sigmoid']);
      const small = new Float32Array(16);
      for (const precision of ['fp16', 'tf32', 16, null]) {
        const [kind, code] = typeof precision === 'string' ? [RangeError, 'ERR_INVALID_ARG_VALUE'] : [TypeError, 'ERR_INVALID_ARG_TYPE'];
        expectCoded(thrown(() => ae.predict(small, { precision: precision as never })), kind, code, 'options.precision');
        expectCoded(await rejection(ae.predictAsync(small, { precision: precision as never })), kind, code, 'options.precision');
        expectCoded(thrown(() => ae.reconstructionError(small, { precision: precision as never })), kind, code, 'options.precision');
        expectCoded(await rejection(ae.reconstructionErrorAsync(small, { precision: precision as never })), kind, code, 'options.precision');
      }
      ae.dispose();
    });
  });
});
