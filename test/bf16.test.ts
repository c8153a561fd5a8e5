// precision: 'bf16': bfloat16 matrix products through oneDNN where the CPU has AMX-BF16 or
// AVX512-BF16; the loss of W2 and W3 after the same steps within 1% of float32's, from the same
// initial weights; elsewhere a clear refusal.
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, backendInfo, type ActivationName, type FitOptions } from 'native-autoencoder';

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
});
