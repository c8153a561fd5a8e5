// Early stopping on a rising validation loss, and restoreBestWeights returning to the best epoch.
import { describe, expect, it } from 'vitest';
import { Autoencoder, type FitOptions } from 'native-autoencoder';
import { rowsOf, sameWeights, syntheticData } from './helpers';

// Eight training rows and 64 held-out rows of the same distribution: with a large learning rate the
// network soon memorises the eight, and the validation loss stops improving and rises.
const D = 20;
const all = syntheticData(72, D, 2);
const train = rowsOf(all, D, 0, 8);
const validation = rowsOf(all, D, 8, 72);
const EPOCHS = 300;
const PATIENCE = 5;

function options(restoreBestWeights: boolean): FitOptions {
  return {
    epochs: EPOCHS,
    batchSize: 2,
    validationData: validation,
    optimizer: { type: 'adam', learningRate: 0.01 },
    earlyStopping: { patience: PATIENCE, restoreBestWeights },
    seed: 1,
  };
}

const argmin = (values: number[]) => values.indexOf(Math.min(...values));
const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('early stopping', () => {
  it('stops after `patience` epochs without improvement, at the best validation loss', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const history = await ae.fit(train, options(false));
    expect(history.stopReason).toBe('earlyStopping');
    expect(history.epochs.length).toBeLessThan(EPOCHS);
    expect(history.bestEpoch).toBe(argmin(history.valLoss));
    expect(history.bestEpoch).toBeGreaterThan(0);
    // As in Keras: the fit stops after `patience` epochs without improvement.
    expect(history.epochs).toHaveLength(history.bestEpoch + PATIENCE + 1);
    for (const late of history.valLoss.slice(history.bestEpoch + 1)) expect(late).toBeGreaterThanOrEqual(history.valLoss[history.bestEpoch]);
    // Without restoreBestWeights the model keeps the last epoch's weights.
    expect(history.restoredBestWeights).toBe(false);
    const last = history.valLoss[history.valLoss.length - 1];
    expect(relative(ae.evaluate(validation), last)).toBeLessThan(1e-6);
    expect(relative(ae.evaluate(validation), history.valLoss[history.bestEpoch])).toBeGreaterThan(1e-4);
  });

  it('with restoreBestWeights ends with the weights of the best epoch', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const history = await ae.fit(train, options(true));
    expect(history.stopReason).toBe('earlyStopping');
    expect(history.restoredBestWeights).toBe(true);
    expect(history.bestEpoch).toBe(argmin(history.valLoss));
    expect(relative(ae.evaluate(validation), history.valLoss[history.bestEpoch])).toBeLessThan(1e-6);
    // The same run stopped by hand after the best epoch has the same weights.
    const replay = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    await replay.fit(train, { ...options(false), earlyStopping: undefined, epochs: history.bestEpoch + 1 });
    expect(sameWeights(ae.getWeights(), replay.getWeights())).toBe(true);
  });

  it('minDelta counts only improvements larger than it', async () => {
    const strict = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const plain = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const hs = await strict.fit(train, { ...options(false), earlyStopping: { patience: PATIENCE, minDelta: 0.01 } });
    const hp = await plain.fit(train, options(false));
    // The validation loss starts near 0.12 and takes more than six epochs to fall by 0.01: with
    // minDelta 0.01 no epoch after the first counts as better, while without it the small gains do.
    expect(hs.stopReason).toBe('earlyStopping');
    expect(Math.min(...hs.valLoss)).toBeGreaterThan(hs.valLoss[0] - 0.01);
    expect(hs.bestEpoch).toBe(0);
    expect(hs.epochs).toHaveLength(PATIENCE + 1);
    expect(hp.bestEpoch).toBeGreaterThan(PATIENCE);
  });

  it('without validation data monitors the training loss, and never stops while it improves', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 16, seed: 1 });
    const history = await ae.fit(syntheticData(256, D, 3), {
      epochs: 5,
      optimizer: { type: 'adam', learningRate: 0.003 },
      earlyStopping: { patience: 0, restoreBestWeights: true },
    });
    expect(history.valLoss).toEqual([]);
    for (let e = 1; e < 5; e++) expect(history.loss[e]).toBeLessThan(history.loss[e - 1]);
    expect(history.stopReason).toBe('completed');
    expect(history.bestEpoch).toBe(4);
    expect(history.restoredBestWeights).toBe(false);
  });
});
