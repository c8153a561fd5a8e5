// Training: the loss falls, validation, callbacks and their counts, history, schedules, optimizers, losses, regularization, noise, dropout, non-finite handling.
import { describe, expect, it } from 'vitest';
import {
  Autoencoder,
  Decoder,
  Encoder,
  LOSSES,
  OPTIMIZERS,
  type BatchLogs,
  type EpochLogs,
  type LossConfig,
  type OptimizerConfig,
  type ScheduleConfig,
  VariationalAutoencoder,
} from 'native-autoencoder';
import { allFinite, expectCoded, rejection, rowsOf, sameWeights, syntheticData, weightSumSquares } from './helpers';

describe('the design-document network', () => {
  it('trained with adam for 5 epochs lowers the MSE more than 20-fold', async () => {
    const x = syntheticData(2048, 100, 1);
    const ae = new Autoencoder({ inputDim: 100, latentDim: 32, seed: 1 });
    const before = ae.evaluate(x);
    const history = await ae.fit(x, { epochs: 5, batchSize: 32, optimizer: { type: 'adam', learningRate: 1e-3 }, seed: 3 });
    const after = ae.evaluate(x);
    console.log(`design network: MSE ${before.toFixed(5)} → ${after.toFixed(5)} (${(before / after).toFixed(1)}× lower)`);
    // Measured: 51× to 56× lower, depending on the seed and the GEMM in use.
    expect(before / after).toBeGreaterThan(20);
    expect(history.loss).toHaveLength(5);
    expect(history.loss[4]).toBeLessThan(history.loss[0] / 10);
    for (let e = 1; e < 5; e++) expect(history.loss[e]).toBeLessThan(history.loss[e - 1]);
  });
});

const D = 32;
const x = syntheticData(512, D, 4);

describe('callbacks and history', () => {
  it('onBatchEnd sees every batch, the last one partial, and the epoch loss is their row-weighted mean', async () => {
    const data = rowsOf(x, D, 0, 100);
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const batches: BatchLogs[] = [];
    const epochs: EpochLogs[] = [];
    const history = await ae.fit(data, {
      epochs: 3,
      batchSize: 32,
      onBatchEnd: (logs) => batches.push(logs),
      onEpochEnd: (logs) => epochs.push(logs),
    });
    // 100 rows in batches of 32: 32, 32, 32 and a last partial batch of 4.
    expect(batches.map((b) => [b.epoch, b.batch, b.batches])).toEqual(
      [0, 1, 2].flatMap((epoch) => [0, 1, 2, 3].map((batch) => [epoch, batch, 4])),
    );
    for (let e = 0; e < 3; e++) {
      const losses = batches.filter((b) => b.epoch === e).map((b) => b.loss);
      const weighted = (32 * (losses[0] + losses[1] + losses[2]) + 4 * losses[3]) / 100;
      expect(epochs[e].loss).toBeCloseTo(weighted, 10);
    }
    expect(history.steps).toBe(12);
    expect(history.epochs).toEqual(epochs);
  });

  it('onEpochEnd receives epoch, loss, learningRate, samplesPerSecond and no valLoss without validation', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 2 });
    const epochs: EpochLogs[] = [];
    const history = await ae.fit(x, { epochs: 4, batchSize: 64, onEpochEnd: (logs) => epochs.push(logs) });
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    for (const e of epochs) {
      expect(e.loss).toBeGreaterThan(0);
      expect(e.learningRate).toBeCloseTo(0.001, 9);
      expect(e.samplesPerSecond).toBeGreaterThan(0);
      expect(e.seconds).toBeGreaterThan(0);
      expect(e.penalty).toBe(0);
      expect(e.skippedBatches).toBe(0);
      expect('valLoss' in e).toBe(false);
    }
    expect(history.loss).toEqual(epochs.map((e) => e.loss));
    expect(history.learningRate).toEqual(epochs.map((e) => e.learningRate));
    expect(history.valLoss).toEqual([]);
    expect(history.stopReason).toBe('completed');
    expect(history.steps).toBe(4 * 8);
    expect(history.bestEpoch).toBe(history.loss.indexOf(Math.min(...history.loss)));
  });

  it('a batch larger than the data trains one batch of all rows per epoch', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 3 });
    const batches: BatchLogs[] = [];
    const history = await ae.fit(rowsOf(x, D, 0, 10), { epochs: 2, batchSize: 1000, onBatchEnd: (b) => batches.push(b) });
    expect(batches.map((b) => [b.epoch, b.batch, b.batches])).toEqual([
      [0, 0, 1],
      [1, 0, 1],
    ]);
    expect(history.steps).toBe(2);
  });

  it('epochs: 0 trains nothing', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 3 });
    const before = ae.getWeights();
    const history = await ae.fit(x, { epochs: 0 });
    expect(history).toMatchObject({ epochs: [], loss: [], valLoss: [], steps: 0, stopReason: 'completed' });
    expect(sameWeights(ae.getWeights(), before)).toBe(true);
  });

  it('validationSplit holds out the last rows and reports valLoss every epoch', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 4 });
    const batches: BatchLogs[] = [];
    const epochs: EpochLogs[] = [];
    const history = await ae.fit(rowsOf(x, D, 0, 100), {
      epochs: 3,
      batchSize: 32,
      validationSplit: 0.2,
      onBatchEnd: (b) => batches.push(b),
      onEpochEnd: (e) => epochs.push(e),
    });
    // 80 training rows: batches of 32, 32 and 16.
    expect(batches.filter((b) => b.epoch === 0).map((b) => b.batches)).toEqual([3, 3, 3]);
    expect(history.valLoss).toHaveLength(3);
    expect(epochs.map((e) => e.valLoss)).toEqual(history.valLoss);
    // The last validation loss is that of the final weights on the last 20 rows.
    expect(history.valLoss[2]).toBe(ae.evaluate(rowsOf(x, D, 80, 100)));
  });

  it('validationData is evaluated after every epoch with the fit loss', async () => {
    const validation = syntheticData(50, D, 5);
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 5 });
    const history = await ae.fit(x, { epochs: 3, loss: 'mae', validationData: validation, optimizer: { type: 'adam', learningRate: 0.01 } });
    expect(history.valLoss).toHaveLength(3);
    expect(history.valLoss[2]).toBe(ae.evaluate(validation, { loss: 'mae' }));
    expect(history.valLoss[2]).toBeLessThan(history.valLoss[0]);
  });

  it('evaluate defaults to the last fit loss, else mse', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 6 });
    expect(ae.evaluate(x)).toBe(ae.evaluate(x, { loss: 'mse' }));
    await ae.fit(x, { loss: { type: 'huber', delta: 0.25 } });
    expect(ae.evaluate(x)).toBe(ae.evaluate(x, { loss: { type: 'huber', delta: 0.25 } }));
    expect(ae.evaluate(x)).not.toBe(ae.evaluate(x, { loss: 'mse' }));
  });

  it('a callback that throws makes fit reject with that error', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 7 });
    const boom = new Error('boom');
    let calls = 0;
    const error = await rejection(
      ae.fit(x, {
        epochs: 50,
        onEpochEnd: () => {
          calls++;
          throw boom;
        },
      }),
    );
    expect(error).toBe(boom);
    expect(calls).toBe(1);
    expect(ae.busy).toBe(false);
    await ae.fit(x);
  });

  it.each([['a string', 'stop'], ['undefined', undefined], ['a number', 42], ['null', null]])('a callback that throws %s makes fit reject with exactly it', async (_, thrown) => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 7 });
    const fit = ae.fit(x, {
      epochs: 50,
      onBatchEnd: () => {
        throw thrown;
      },
    });
    await expect(fit).rejects.toBe(thrown);
    expect(ae.busy).toBe(false);
    ae.dispose();
  });
});

describe('learning-rate schedules', () => {
  // 64 rows in batches of 16: 4 steps per epoch; history.learningRate is the rate of each epoch's last step.
  const rows = rowsOf(x, D, 0, 64);
  const base = Math.fround(0.01);
  async function rates(schedule: ScheduleConfig, epochs = 4): Promise<number[]> {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 8 });
    return (await ae.fit(rows, { epochs, batchSize: 16, optimizer: { type: 'sgd', learningRate: 0.01 }, schedule })).learningRate;
  }
  const lastSteps = [3, 7, 11, 15];
  const expectRates = (actual: number[], expected: number[]) => expected.forEach((r, i) => expect(actual[i] / r).toBeCloseTo(1, 6));

  it('constant keeps the rate', async () => {
    expectRates(await rates({ type: 'constant' }), [base, base, base, base]);
  });

  it('step multiplies by gamma every stepSize steps', async () => {
    expectRates(await rates({ type: 'step', stepSize: 4, gamma: 0.5 }), lastSteps.map((s) => base * 0.5 ** Math.floor(s / 4)));
  });

  it('exponential decays smoothly, or by stairs with staircase', async () => {
    expectRates(await rates({ type: 'exponential', decaySteps: 8, decayRate: 0.5 }), lastSteps.map((s) => base * 0.5 ** (s / 8)));
    expectRates(
      await rates({ type: 'exponential', decaySteps: 8, decayRate: 0.5, staircase: true }),
      lastSteps.map((s) => base * 0.5 ** Math.floor(s / 8)),
    );
  });

  it('cosine decays to alpha × rate and stays there', async () => {
    const cosine = (s: number) => base * (0.9 * 0.5 * (1 + Math.cos((Math.PI * Math.min(s, 12)) / 12)) + 0.1);
    expectRates(await rates({ type: 'cosine', decaySteps: 12, alpha: 0.1 }, 5), [...lastSteps, 19].map(cosine));
  });

  it('warmupSteps ramps up linearly first', async () => {
    const warm = await rates({ type: 'constant', warmupSteps: 8 }, 3);
    expectRates(warm, [base * (4 / 8), base * (8 / 8), base]);
  });
});

describe('optimizers', () => {
  const configs: OptimizerConfig[] = [
    { type: 'sgd', learningRate: 1 },
    { type: 'sgd', learningRate: 0.3, momentum: 0.9 },
    { type: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true },
    { type: 'adam', learningRate: 0.01 },
    { type: 'adamw', learningRate: 0.01 },
    { type: 'rmsprop', learningRate: 0.01 },
    { type: 'adagrad', learningRate: 0.3 },
    { type: 'adam', learningRate: 0.01, clipNorm: 0.5, weightDecay: 1e-4 },
    { type: 'rmsprop', learningRate: 0.01, momentum: 0.5, clipValue: 0.01 },
  ];

  it('cover every optimizer type', () => {
    expect(new Set(configs.map((c) => c.type))).toEqual(new Set(OPTIMIZERS));
  });

  it.each(configs.map((c) => [JSON.stringify(c), c] as const))('%s lowers the loss by a third in 20 epochs', async (_, optimizer) => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const before = ae.evaluate(x);
    const history = await ae.fit(x, { epochs: 20, batchSize: 32, optimizer, seed: 1 });
    // Measured: 1.6× (sgd with Nesterov, adagrad) to 46× (adam) lower.
    expect(ae.evaluate(x)).toBeLessThan(before / 1.3);
    expect(history.loss[19]).toBeLessThan(history.loss[0]);
    expect(allFinite(ae.getWeights())).toBe(true);
  });

  it('adamw decouples its weight decay: it ends with smaller weights than adam', async () => {
    const adam = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const adamw = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    await adam.fit(x, { epochs: 5, optimizer: { type: 'adam', learningRate: 0.01 }, seed: 1 });
    await adamw.fit(x, { epochs: 5, optimizer: { type: 'adamw', learningRate: 0.01, weightDecay: 0.5 }, seed: 1 });
    expect(weightSumSquares(adamw.getWeights())).toBeLessThan(weightSumSquares(adam.getWeights()));
  });
});

describe('losses', () => {
  const configs: LossConfig[] = [...LOSSES, { type: 'huber', delta: 0.1 }];

  it.each(configs.map((c) => [JSON.stringify(c), c] as const))('%s trains and lowers itself', async (_, loss) => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const before = ae.evaluate(x, { loss });
    const history = await ae.fit(x, { epochs: 5, batchSize: 32, loss, optimizer: { type: 'adam', learningRate: 0.003 }, seed: 1 });
    expect(ae.evaluate(x, { loss })).toBeLessThan(before * 0.9);
    expect(history.loss[4]).toBeLessThan(history.loss[0]);
  });

  it('categoricalCrossentropy trains a softmax decoder on one-hot groups', async () => {
    // Five groups of ten columns, one hot column in each.
    const rows = 256;
    const onehot = new Float32Array(rows * 50);
    const uniform = syntheticData(rows, 5, 9);
    for (let r = 0; r < rows; r++) for (let g = 0; g < 5; g++) onehot[r * 50 + g * 10 + Math.floor(uniform[r * 5 + g] * 10)] = 1;
    const encoder = new Encoder({ inputDim: 50, layers: [{ units: 32, activation: 'relu' }] });
    const decoder = new Decoder({ latentDim: 32, layers: [{ units: 50, activation: 'softmax', groupSize: 10 }] });
    const ae = new Autoencoder({ encoder, decoder, seed: 2 });
    const before = ae.evaluate(onehot, { loss: 'categoricalCrossentropy' });
    await ae.fit(onehot, { epochs: 20, batchSize: 32, loss: 'categoricalCrossentropy', optimizer: { type: 'adam', learningRate: 0.01 } });
    const after = ae.evaluate(onehot);
    expect(after).toBeLessThan(before / 2);
    // Most hot columns are now the most probable of their group.
    const p = ae.predict(onehot).data;
    let hits = 0;
    for (let i = 0; i < rows * 5; i++) {
      const group = p.subarray(i * 10, i * 10 + 10);
      if (onehot[i * 10 + group.indexOf(Math.max(...group))] === 1) hits++;
    }
    expect(hits / (rows * 5)).toBeGreaterThan(0.9);
  });
});

describe('regularization, noise and dropout', () => {
  const fit = async (ae: Autoencoder) => ae.fit(x, { epochs: 5, batchSize: 32, seed: 1, optimizer: { type: 'adam', learningRate: 0.003 } });

  it('l2 reports a penalty and shrinks the weights', async () => {
    const plain = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const l2 = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1, regularization: { l2: 0.001 } });
    const hp = await fit(plain);
    const hl = await fit(l2);
    expect(hp.epochs.every((e) => e.penalty === 0)).toBe(true);
    expect(hl.epochs.every((e) => e.penalty > 0)).toBe(true);
    expect(weightSumSquares(l2.getWeights())).toBeLessThan(weightSumSquares(plain.getWeights()) / 2);
  });

  it('the penalty is l2 · ΣW² over the weight matrices plus latentL1 · Σ|latent| / rows', async () => {
    // One batch of every row with a negligible learning rate: the penalty is that of the starting weights.
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 2, regularization: { l2: 0.01, latentL1: 0.1 } });
    const l2 = 0.01 * weightSumSquares(ae.getWeights());
    const l1 = (0.1 * ae.encode(x).data.reduce((s, v) => s + Math.abs(v), 0)) / 512;
    const history = await ae.fit(x, { batchSize: 512, optimizer: { type: 'sgd', learningRate: 1e-30 } });
    expect(history.epochs[0].penalty / (l2 + l1)).toBeCloseTo(1, 4);
  });

  it('latentL1 reports a penalty and shrinks the latent activations', async () => {
    const plain = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const sparse = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1, regularization: { latentL1: 0.01 } });
    await fit(plain);
    const history = await fit(sparse);
    expect(history.epochs[0].penalty).toBeGreaterThan(0);
    const l1 = (ae: Autoencoder) => ae.encode(x).data.reduce((s, v) => s + Math.abs(v), 0);
    expect(l1(sparse)).toBeLessThan(l1(plain) / 2);
  });

  it.each([
    ['gaussian', { type: 'gaussian', stddev: 0.1 }],
    ['masking', { type: 'masking', rate: 0.2 }],
  ] as const)('%s noise trains, and changes the training', async (_, noise) => {
    const plain = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const noisy = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1, noise });
    const before = noisy.evaluate(x);
    await fit(plain);
    const history = await fit(noisy);
    expect(noisy.evaluate(x)).toBeLessThan(before / 1.5);
    expect(history.loss[4]).toBeLessThan(history.loss[0]);
    expect(sameWeights(noisy.getWeights(), plain.getWeights())).toBe(false);
  });

  it('dropout in a layer trains, changes the training, and leaves prediction deterministic', async () => {
    const layers = (dropout: number) =>
      new Encoder({ inputDim: D, layers: [{ units: 32, activation: 'relu', dropout }, { units: 16, activation: 'relu' }], seed: 3 });
    const decoder = () => new Decoder({ latentDim: 16, layers: [{ units: D, activation: 'sigmoid' }], seed: 4 });
    const plain = new Autoencoder({ encoder: layers(0), decoder: decoder(), seed: 1 });
    const dropped = new Autoencoder({ encoder: layers(0.3), decoder: decoder(), seed: 1 });
    const before = dropped.evaluate(x);
    await fit(plain);
    await fit(dropped);
    expect(dropped.evaluate(x)).toBeLessThan(before / 1.5);
    expect(sameWeights(dropped.getWeights(), plain.getWeights())).toBe(false);
    expect(dropped.predict(x).data).toEqual(dropped.predict(x).data);
  });

  it('every epoch draws new noise, dropout masks and variational samples, shuffled or not', async () => {
    // A negligible learning rate keeps the weights: the epochs' losses differ only by their draws.
    const vae = new VariationalAutoencoder({
      encoder: new Encoder({ inputDim: D, layers: [{ units: 32, activation: 'relu', dropout: 0.3 }, { units: 8 }], seed: 3 }),
      decoder: new Decoder({ latentDim: 4, layers: [{ units: D, activation: 'sigmoid' }], seed: 4 }),
      noise: { type: 'gaussian', stddev: 0.1 },
    });
    for (const shuffle of [false, true]) {
      const history = await vae.fit(x, { epochs: 4, batchSize: 512, shuffle, seed: 1, optimizer: { type: 'sgd', learningRate: 1e-30 } });
      expect(new Set(history.loss).size, `shuffle: ${shuffle}`).toBe(4);
    }
  });
});

describe('non-finite values', () => {
  // 64 rows in batches of 16 without shuffling: row 5 is in batch 0, row 40 in batch 2.
  function withNaN(row: number): Float32Array {
    const data = rowsOf(x, D, 0, 64).slice();
    data[row * D + 3] = NaN;
    return data;
  }

  it('by default reject with ERR_NON_FINITE naming the epoch and batch, weights untouched by the bad batch', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const before = ae.getWeights();
    const error = await rejection(ae.fit(withNaN(5), { shuffle: false, batchSize: 16, epochs: 3 }));
    expectCoded(error, Error, 'ERR_NON_FINITE');
    expect((error as Error).message).toMatch(/epoch 0, batch 0\b/);
    expect(sameWeights(ae.getWeights(), before)).toBe(true);
    expect(ae.busy).toBe(false);
  });

  it('in a later batch keep the weights of the last finite step', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const reference = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const error = await rejection(ae.fit(withNaN(40), { shuffle: false, batchSize: 16 }));
    expectCoded(error, Error, 'ERR_NON_FINITE');
    expect((error as Error).message).toMatch(/epoch 0, batch 2\b/);
    // The same two batches without the bad one give the same weights.
    await reference.fit(rowsOf(x, D, 0, 32), { shuffle: false, batchSize: 16 });
    expect(sameWeights(ae.getWeights(), reference.getWeights())).toBe(true);
  });

  it('that diverge (a huge learning rate) leave finite weights', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const error = await rejection(ae.fit(x, { optimizer: { type: 'sgd', learningRate: 1e38 } }));
    expectCoded(error, Error, 'ERR_NON_FINITE');
    expect((error as Error).message).toMatch(/epoch \d+, batch \d+/);
    expect(allFinite(ae.getWeights())).toBe(true);
  });

  it("with onNonFinite: 'skip' skip the bad batch and train on the others", async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const history = await ae.fit(withNaN(5), { shuffle: false, batchSize: 16, epochs: 3, onNonFinite: 'skip' });
    expect(history.epochs.map((e) => e.skippedBatches)).toEqual([1, 1, 1]);
    expect(history.steps).toBe(9);
    expect(history.loss.every(Number.isFinite)).toBe(true);
    expect(allFinite(ae.getWeights())).toBe(true);
  });
});
