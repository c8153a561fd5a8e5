// Seeded determinism: the same seeds give bit-identical initial weights, trained weights and histories; other seeds differ.
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, type FitOptions, type History } from 'native-autoencoder';
import { sameWeights, syntheticData } from './helpers';

const D = 24;
const x = syntheticData(200, D, 21);
const validation = syntheticData(40, D, 22);

/** Every number of a history except the timings (seconds, samplesPerSecond). */
function numbers(h: History): unknown {
  return {
    epochs: h.epochs.map(({ epoch, loss, valLoss, penalty, learningRate, skippedBatches }) => ({ epoch, loss, valLoss, penalty, learningRate, skippedBatches })),
    loss: h.loss,
    valLoss: h.valLoss,
    learningRate: h.learningRate,
    stopReason: h.stopReason,
    bestEpoch: h.bestEpoch,
    restoredBestWeights: h.restoredBestWeights,
    steps: h.steps,
  };
}

/** A model whose training uses every random draw: shuffles, dropout, input noise. */
function model(seed: number): Autoencoder {
  const encoder = new Encoder({ inputDim: D, layers: [{ units: 16, activation: 'relu', dropout: 0.2 }, { units: 8 }], seed });
  const decoder = new Decoder({ latentDim: 8, layers: [{ units: 16, activation: 'tanh' }, { units: D, activation: 'sigmoid' }], seed: seed + 1 });
  return new Autoencoder({ encoder, decoder, seed, noise: { type: 'gaussian', stddev: 0.05 }, regularization: { l2: 1e-4 } });
}

const options: FitOptions = { epochs: 3, batchSize: 16, validationData: validation, optimizer: { type: 'adam', learningRate: 0.01 } };

describe('initial weights', () => {
  it('are bit-identical for the same seed', () => {
    expect(sameWeights(new Autoencoder({ inputDim: D, latentDim: 8, seed: 7 }).getWeights(), new Autoencoder({ inputDim: D, latentDim: 8, seed: 7 }).getWeights())).toBe(true);
    expect(sameWeights(new Encoder({ inputDim: D, layers: [{ units: 5 }], seed: 7 }).getWeights(), new Encoder({ inputDim: D, layers: [{ units: 5 }], seed: 7 }).getWeights())).toBe(true);
    for (const kernelInitializer of ['glorotNormal', 'heUniform', 'heNormal', 'lecunNormal'] as const) {
      const make = () => new Decoder({ latentDim: 4, layers: [{ units: D, kernelInitializer }], seed: 9 });
      expect(sameWeights(make().getWeights(), make().getWeights())).toBe(true);
    }
  });

  it('differ between seeds', () => {
    const a = new Autoencoder({ inputDim: D, latentDim: 8, seed: 7 }).getWeights();
    const b = new Autoencoder({ inputDim: D, latentDim: 8, seed: 8 }).getWeights();
    for (let i = 0; i < a.length; i += 2) expect(a[i].data).not.toEqual(b[i].data);
  });

  it('of the encoder and the decoder differ from each other (each half has its own stream)', () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: D, seed: 7 });
    expect(ae.getWeights()[2].data).not.toEqual(ae.getWeights()[4].data);
  });
});

describe('training', () => {
  it('with the same seeds gives bit-identical weights and histories', async () => {
    const a = model(1);
    const b = model(1);
    const ha = await a.fit(x, { ...options, seed: 5 });
    const hb = await b.fit(x, { ...options, seed: 5 });
    expect(sameWeights(a.getWeights(), b.getWeights())).toBe(true);
    expect(numbers(hb)).toEqual(numbers(ha));
    expect(ha.loss).toHaveLength(3);
  });

  it('without a fit seed follows the constructor seed', async () => {
    const a = model(2);
    const b = model(2);
    const ha = await a.fit(x, options);
    const hb = await b.fit(x, options);
    expect(sameWeights(a.getWeights(), b.getWeights())).toBe(true);
    expect(numbers(hb)).toEqual(numbers(ha));
  });

  it('a fit seed replays the same run on the same starting weights', async () => {
    const a = model(3);
    const start = a.getWeights();
    await a.fit(x, { ...options, seed: 6 });
    const once = a.getWeights();
    a.setWeights(start);
    await a.fit(x, { ...options, seed: 6 });
    expect(sameWeights(a.getWeights(), once)).toBe(true);
  });

  it('differs with another fit seed or another constructor seed', async () => {
    const reference = model(4);
    await reference.fit(x, { ...options, seed: 5 });
    const otherFitSeed = model(4);
    await otherFitSeed.fit(x, { ...options, seed: 6 });
    const otherModelSeed = model(5);
    await otherModelSeed.fit(x, { ...options, seed: 5 });
    expect(sameWeights(otherFitSeed.getWeights(), reference.getWeights())).toBe(false);
    expect(sameWeights(otherModelSeed.getWeights(), reference.getWeights())).toBe(false);
  });
});
