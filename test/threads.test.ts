// Fits on several threads, called as users call them: a network of W2's layer sizes on 256-row
// batches splits each batch between two threads, each updating its own slice of the weights, and
// must train as one thread does up to the rounding of the sums, and repeat itself bit for bit.
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, VariationalAutoencoder, getThreads, setThreads, type FitOptions, type WeightTensor } from 'native-autoencoder';
import { sameWeights, syntheticData } from './helpers';

const D = 784;
const x = syntheticData(640, D, 61);
const validation = syntheticData(64, D, 62);
const options: FitOptions = {
  epochs: 2,
  batchSize: 256,
  shuffle: true,
  seed: 5,
  loss: 'binaryCrossentropy',
  optimizer: { type: 'adam', learningRate: 1e-3 },
  validationData: validation,
};

function model(): Autoencoder {
  const encoder = new Encoder({ inputDim: D, layers: [{ units: 512, activation: 'relu' }, { units: 64 }], seed: 3 });
  const decoder = new Decoder({ latentDim: 64, layers: [{ units: 512, activation: 'relu' }, { units: D, activation: 'sigmoid' }], seed: 4 });
  return new Autoencoder({ encoder, decoder });
}

async function trained(threads: number): Promise<{ weights: WeightTensor[]; losses: number[]; valLosses: number[] }> {
  setThreads(threads);
  const ae = model();
  const history = await ae.fit(x, options);
  const weights = ae.getWeights();
  ae.dispose();
  return { weights, losses: history.epochs.map((e) => e.loss), valLosses: history.epochs.map((e) => e.valLoss as number) };
}

/**
 * ‖a − b‖ / ‖a‖ over all the weights. Not the largest difference: Adam's step is ±lr for a gradient
 * near zero whatever its size, so the rounding of such a gradient's sum can move a weight by lr.
 */
function relativeDifference(a: WeightTensor[], b: WeightTensor[]): number {
  let squares = 0;
  let norm = 0;
  a.forEach((t, i) =>
    t.data.forEach((v, j) => {
      squares += (v - b[i].data[j]) ** 2;
      norm += v * v;
    }),
  );
  return Math.sqrt(squares / norm);
}

describe('a fit split between threads', () => {
  const threads = getThreads();
  afterAll(() => setThreads(threads));

  it('trains as one thread does, and repeats bit for bit on two', async () => {
    const two = await trained(2);
    const again = await trained(2);
    const one = await trained(1);
    expect(sameWeights(two.weights, again.weights)).toBe(true);
    expect(two.losses).toEqual(again.losses);
    expect(sameWeights(two.weights, one.weights)).toBe(false);
    expect(relativeDifference(two.weights, one.weights)).toBeLessThan(1e-4);
    two.losses.forEach((loss, e) => expect(loss).toBeCloseTo(one.losses[e], 5));
    two.valLosses.forEach((loss, e) => expect(loss).toBeCloseTo(one.valLosses[e], 5));
  });

  it('draws the same noise, dropout masks and variational samples for a row on any number of threads', async () => {
    // Each row draws from a generator of its own: the thread that trains it does not matter.
    const small = syntheticData(512, 32, 63);
    const seeded = async (threads: number) => {
      setThreads(threads);
      const vae = new VariationalAutoencoder({
        encoder: new Encoder({ inputDim: 32, layers: [{ units: 24, activation: 'relu', dropout: 0.2 }, { units: 8 }], seed: 3 }),
        decoder: new Decoder({ latentDim: 4, layers: [{ units: 24, activation: 'relu', dropout: 0.1 }, { units: 32, activation: 'sigmoid' }], seed: 4 }),
        noise: { type: 'gaussian', stddev: 0.1 },
      });
      const history = await vae.fit(small, { epochs: 3, batchSize: 64, seed: 7 });
      const weights = vae.getWeights();
      vae.dispose();
      return { weights, losses: history.loss };
    };
    const [two, one] = [await seeded(2), await seeded(1)];
    expect(relativeDifference(two.weights, one.weights)).toBeLessThan(1e-4);
    two.losses.forEach((loss, e) => expect(loss).toBeCloseTo(one.losses[e], 4));
  });
});
