// The asynchronous predictions reuse their memory between calls (a copy of the input and, for
// predictions, a workspace): whatever ran before, each result is the one the synchronous call gives.
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, backendInfo } from 'native-autoencoder';
import { sameBits, syntheticData } from './helpers';

const INPUT = 96;
const LATENT = 8;
// Across the sizes that change the workspace: under 16 rows, the 1,024-row chunk and beyond it.
const ROW_COUNTS = [1, 2000, 17, 1024, 3, 4096, 40];

function model(): Autoencoder {
  return new Autoencoder({
    encoder: new Encoder({ inputDim: INPUT, layers: [{ units: 64, activation: 'relu' }, { units: LATENT, activation: 'linear' }], seed: 5 }),
    decoder: new Decoder({ latentDim: LATENT, layers: [{ units: 64, activation: 'relu' }, { units: INPUT, activation: 'sigmoid' }], seed: 6 }),
  });
}

describe('asynchronous inference, one call after another', () => {
  it('gives what predict, encode, decode and reconstructionError give, for every size and layer range in turn', async () => {
    const ae = model();
    type Pair = (x: Float32Array, z: Float32Array) => Promise<[Float32Array, Float32Array]>;
    const pairs: Pair[] = [
      async (x) => [(await ae.predictAsync(x)).data, ae.predict(x).data],
      async (x) => [(await ae.encodeAsync(x)).data, ae.encode(x).data],
      async (_, z) => [(await ae.decodeAsync(z)).data, ae.decode(z).data],
      async (x) => [await ae.reconstructionErrorAsync(x), ae.reconstructionError(x)],
      async (x) => [(await ae.encoder.predictAsync(x)).data, ae.encode(x).data],
    ];
    // Each size starts with another kind of call, so a call often meets a workspace another kind made
    // for other rows, as an encode after a decode reads a workspace of other layers.
    for (const [i, rows] of ROW_COUNTS.entries()) {
      const x = syntheticData(rows, INPUT, 10 + i);
      const z = syntheticData(rows, LATENT, 20 + i);
      for (let k = 0; k < pairs.length; k++) {
        const [got, expected] = await pairs[(i + k) % pairs.length](x, z);
        expect(sameBits(got, expected)).toBe(true);
      }
    }
    ae.dispose();
  });

  it('gives each of many calls in flight at once its own result', async () => {
    const ae = model();
    const inputs = ROW_COUNTS.map((rows, i) => syntheticData(rows, INPUT, 30 + i));
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(inputs.flatMap((x) => [ae.predictAsync(x), ae.encodeAsync(x)]));
      inputs.forEach((x, i) => {
        expect(sameBits(results[2 * i].data, ae.predict(x).data)).toBe(true);
        expect(sameBits(results[2 * i + 1].data, ae.encode(x).data)).toBe(true);
      });
    }
    ae.dispose();
  });

  it('follows the weights after a fit or setWeights, in float32 and in bf16 where it runs', async () => {
    const ae = model();
    const x = syntheticData(300, INPUT, 40);
    const precisions = backendInfo().bf16 ? (['float32', 'bf16'] as const) : (['float32'] as const);
    const before = await ae.predictAsync(x);
    for (const precision of precisions) await ae.predictAsync(x, { precision });
    await ae.fit(x, { epochs: 2, batchSize: 32, seed: 1 });
    for (const precision of precisions) {
      const after = await ae.predictAsync(x, { precision });
      expect(sameBits(after.data, ae.predict(x, { precision }).data)).toBe(true);
    }
    expect(sameBits((await ae.predictAsync(x)).data, before.data)).toBe(false);
    const fresh = model();
    ae.setWeights(fresh.getWeights());
    expect(sameBits((await ae.predictAsync(x)).data, before.data)).toBe(true);
    ae.dispose();
    fresh.dispose();
  });

  it('ends cleanly when the model is disposed while calls run, and the next model starts afresh', async () => {
    const ae = model();
    const x = syntheticData(4096, INPUT, 50);
    const predicting = ae.predictAsync(x);
    const scoring = ae.reconstructionErrorAsync(x);
    const expected = { predicted: ae.predict(x).data, scores: ae.reconstructionError(x) };
    ae.dispose();
    expect(sameBits((await predicting).data, expected.predicted)).toBe(true);
    expect(sameBits(await scoring, expected.scores)).toBe(true);
    const next = model();
    expect(sameBits((await next.predictAsync(x)).data, expected.predicted)).toBe(true);
    next.dispose();
  });
});
