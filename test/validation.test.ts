// Bad arguments to every method: the error class (TypeError or RangeError), its code, and a message naming the argument.
import { describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, HashedTfidf, TextCodec, getThreads, setThreads, type DataInput } from 'native-autoencoder';
import { expectCoded, rejection, sameWeights, syntheticData, thrown } from './helpers';

const D = 8;
const x = syntheticData(16, D, 81);
const ae = new Autoencoder({ inputDim: D, latentDim: 4, seed: 1 });

type ErrorClass = typeof TypeError | typeof RangeError;
type Case = [label: string, value: unknown, kind: ErrorClass, code: string, argument: string];

const TYPE = 'ERR_INVALID_ARG_TYPE';
const RANGE = 'ERR_OUT_OF_RANGE';
const VALUE = 'ERR_INVALID_ARG_VALUE';

describe('constructors', () => {
  const autoencoderCases: Case[] = [
    ['no config', undefined, TypeError, TYPE, 'config'],
    ['a config that is not an object', 100, TypeError, TYPE, 'config'],
    ['a missing inputDim', { latentDim: 4 }, TypeError, TYPE, 'config.inputDim'],
    ['a string inputDim', { inputDim: '8', latentDim: 4 }, TypeError, TYPE, 'config.inputDim'],
    ['latentDim 0', { inputDim: D, latentDim: 0 }, RangeError, RANGE, 'config.latentDim'],
    ['a fractional latentDim', { inputDim: D, latentDim: 1.5 }, RangeError, RANGE, 'config.latentDim'],
    ['a negative latentDim', { inputDim: D, latentDim: -4 }, RangeError, RANGE, 'config.latentDim'],
    ['a NaN latentDim', { inputDim: D, latentDim: NaN }, RangeError, RANGE, 'config.latentDim'],
    ['an infinite inputDim', { inputDim: Infinity, latentDim: 4 }, RangeError, RANGE, 'config.inputDim'],
    ['an unknown option', { inputDim: D, latentDim: 4, hiddenDim: 4 }, RangeError, VALUE, 'config.hiddenDim'],
    ['both inputDim and encoder', { inputDim: D, encoder: new Encoder({ inputDim: D, layers: [{ units: 2 }] }), decoder: new Decoder({ latentDim: 2, layers: [{ units: D }] }) }, RangeError, RANGE, 'config'],
    ['an encoder that is not an Encoder', { encoder: {}, decoder: {} }, TypeError, TYPE, 'config.encoder'],
    ['a negative seed', { inputDim: D, latentDim: 4, seed: -1 }, RangeError, RANGE, 'config.seed'],
    ['a string seed', { inputDim: D, latentDim: 4, seed: '1' }, TypeError, TYPE, 'config.seed'],
    ['a negative l2', { inputDim: D, latentDim: 4, regularization: { l2: -1 } }, RangeError, RANGE, 'config.regularization.l2'],
    ['an unknown regularization', { inputDim: D, latentDim: 4, regularization: { l1: 1 } }, RangeError, VALUE, 'config.regularization.l1'],
    ['an unknown noise type', { inputDim: D, latentDim: 4, noise: { type: 'salt' } }, RangeError, VALUE, 'config.noise.type'],
    ['gaussian noise without stddev', { inputDim: D, latentDim: 4, noise: { type: 'gaussian' } }, TypeError, TYPE, 'config.noise.stddev'],
    ['a masking rate of 1', { inputDim: D, latentDim: 4, noise: { type: 'masking', rate: 1 } }, RangeError, RANGE, 'config.noise.rate'],
    ['a rate on gaussian noise', { inputDim: D, latentDim: 4, noise: { type: 'gaussian', stddev: 0.1, rate: 0.1 } }, RangeError, VALUE, 'config.noise.rate'],
  ];
  it.each(autoencoderCases)('Autoencoder refuses %s', (_, config, kind, code, argument) => {
    expectCoded(thrown(() => new Autoencoder(config as never)), kind, code, argument);
  });

  const layerCases: Case[] = [
    ['layers that are not an array', { units: 4 }, TypeError, TYPE, 'config.layers'],
    ['no layers', [], RangeError, RANGE, 'config.layers.length'],
    ['a layer that is not an object', [4], TypeError, TYPE, 'config.layers[0]'],
    ['units 0', [{ units: 0 }], RangeError, RANGE, 'config.layers[0].units'],
    ['fractional units', [{ units: 2 }, { units: 2.5 }], RangeError, RANGE, 'config.layers[1].units'],
    ['an unknown activation', [{ units: 4, activation: 'sigmoidal' }], RangeError, VALUE, 'config.layers[0].activation'],
    ['an activation that is not a string', [{ units: 4, activation: 3 }], TypeError, TYPE, 'config.layers[0].activation'],
    ['a groupSize that does not divide units', [{ units: 10, activation: 'softmax', groupSize: 3 }], RangeError, RANGE, 'config.layers[0].groupSize'],
    ['a groupSize without softmax', [{ units: 10, activation: 'relu', groupSize: 5 }], RangeError, RANGE, 'config.layers[0].groupSize'],
    ['alpha on relu', [{ units: 4, activation: 'relu', alpha: 0.1 }], RangeError, RANGE, 'config.layers[0].alpha'],
    ['dropout 1', [{ units: 4, dropout: 1 }], RangeError, RANGE, 'config.layers[0].dropout'],
    ['an unknown initializer', [{ units: 4, kernelInitializer: 'xavier' }], RangeError, VALUE, 'config.layers[0].kernelInitializer'],
    ['a misspelt layer option', [{ units: 4, activaton: 'relu' }], RangeError, VALUE, 'config.layers[0].activaton'],
  ];
  it.each(layerCases)('Encoder refuses %s', (_, layers, kind, code, argument) => {
    expectCoded(thrown(() => new Encoder({ inputDim: D, layers } as never)), kind, code, argument);
  });
  it.each(layerCases)('Decoder refuses %s', (_, layers, kind, code, argument) => {
    expectCoded(thrown(() => new Decoder({ latentDim: 4, layers } as never)), kind, code, argument);
  });

  it('Encoder and Decoder refuse a missing or zero width', () => {
    expectCoded(thrown(() => new Encoder({ layers: [{ units: 2 }] } as never)), TypeError, TYPE, 'config.inputDim');
    expectCoded(thrown(() => new Decoder({ latentDim: 0, layers: [{ units: 2 }] })), RangeError, RANGE, 'config.latentDim');
  });

  it('messages say what was received', () => {
    expect((thrown(() => new Autoencoder({ inputDim: D, latentDim: -4 })) as Error).message).toContain('Received number -4');
    expect((thrown(() => new Encoder({ inputDim: D, layers: [{ units: 4, activation: 'sigmoidal' as never }] })) as Error).message).toContain(
      'Received string "sigmoidal"',
    );
  });
});

describe('fit options', () => {
  const cases: Case[] = [
    ['options that are not an object', 5, TypeError, TYPE, 'options'],
    ['epochs -1', { epochs: -1 }, RangeError, RANGE, 'options.epochs'],
    ['epochs 1.5', { epochs: 1.5 }, RangeError, RANGE, 'options.epochs'],
    ["epochs 'x'", { epochs: 'x' }, TypeError, TYPE, 'options.epochs'],
    ['batchSize 0', { batchSize: 0 }, RangeError, RANGE, 'options.batchSize'],
    ["shuffle 'yes'", { shuffle: 'yes' }, TypeError, TYPE, 'options.shuffle'],
    ['a negative seed', { seed: -1 }, RangeError, RANGE, 'options.seed'],
    ["loss 'foo'", { loss: 'foo' }, RangeError, VALUE, 'options.loss'],
    ['a loss object that is not huber', { loss: { type: 'mse' } }, RangeError, VALUE, 'options.loss.type'],
    ['huber delta 0', { loss: { type: 'huber', delta: 0 } }, RangeError, RANGE, 'options.loss.delta'],
    ["optimizer { type: 'foo' }", { optimizer: { type: 'foo' } }, RangeError, VALUE, 'options.optimizer.type'],
    ["optimizer 'foo'", { optimizer: 'foo' }, RangeError, VALUE, 'options.optimizer.type'],
    ['an unknown optimizer option', { optimizer: { type: 'adam', lr: 0.1 } }, RangeError, VALUE, 'options.optimizer.lr'],
    ['learningRate 0', { optimizer: { type: 'adam', learningRate: 0 } }, RangeError, RANGE, 'options.optimizer.learningRate'],
    ['learningRate -1', { optimizer: { type: 'sgd', learningRate: -1 } }, RangeError, RANGE, 'options.optimizer.learningRate'],
    ['learningRate NaN', { optimizer: { type: 'adam', learningRate: NaN } }, RangeError, RANGE, 'options.optimizer.learningRate'],
    ['a string learningRate', { optimizer: { type: 'adam', learningRate: '0.1' } }, TypeError, TYPE, 'options.optimizer.learningRate'],
    ['momentum 1', { optimizer: { type: 'sgd', momentum: 1 } }, RangeError, RANGE, 'options.optimizer.momentum'],
    // Settings below 1 or above 0 that the addon's 32-bit floats would hold as 1, 0 or Infinity: a beta
    // of 1 failed every fit at its first step; a clip of 1e-38 (flushed to 0) turned clipping off.
    ['beta2 0.99999999 (1 as a float32)', { optimizer: { type: 'adam', beta2: 0.99999999 } }, RangeError, RANGE, 'options.optimizer.beta2'],
    ['beta1 0.99999999 (1 as a float32)', { optimizer: { type: 'adam', beta1: 0.99999999 } }, RangeError, RANGE, 'options.optimizer.beta1'],
    ['rho 0.99999999 (1 as a float32)', { optimizer: { type: 'rmsprop', rho: 0.99999999 } }, RangeError, RANGE, 'options.optimizer.rho'],
    ['momentum 0.99999999 (1 as a float32)', { optimizer: { type: 'sgd', momentum: 0.99999999 } }, RangeError, RANGE, 'options.optimizer.momentum'],
    ['epsilon 1e-46 (0 as a float32)', { optimizer: { type: 'adam', epsilon: 1e-46 } }, RangeError, RANGE, 'options.optimizer.epsilon'],
    ['learningRate 1e-40 (subnormal, flushed to 0)', { optimizer: { type: 'sgd', learningRate: 1e-40 } }, RangeError, RANGE, 'options.optimizer.learningRate'],
    ['weightDecay 1e39 (Infinity as a float32)', { optimizer: { type: 'adamw', weightDecay: 1e39 } }, RangeError, RANGE, 'options.optimizer.weightDecay'],
    ['clipValue 1e-38 (subnormal, flushed to 0: no clipping)', { optimizer: { type: 'sgd', clipValue: 1e-38 } }, RangeError, RANGE, 'options.optimizer.clipValue'],
    ['clipNorm 1e-46 (0 as a float32: no clipping)', { optimizer: { type: 'sgd', clipNorm: 1e-46 } }, RangeError, RANGE, 'options.optimizer.clipNorm'],
    ['momentum -1e-40 (negative, if subnormal)', { optimizer: { type: 'sgd', momentum: -1e-40 } }, RangeError, RANGE, 'options.optimizer.momentum'],
    ['weightDecay -1e-40 (negative, if subnormal)', { optimizer: { type: 'adamw', weightDecay: -1e-40 } }, RangeError, RANGE, 'options.optimizer.weightDecay'],
    ['validationSplit 1', { validationSplit: 1 }, RangeError, RANGE, 'options.validationSplit'],
    ['validationSplit -0.1', { validationSplit: -0.1 }, RangeError, RANGE, 'options.validationSplit'],
    ['validationSplit with validationData', { validationSplit: 0.1, validationData: x }, RangeError, RANGE, 'options.validationSplit'],
    ['a validationSplit too small to hold out a row', { validationSplit: 0.01 }, RangeError, RANGE, 'options.validationSplit'],
    ['a signal that is not an AbortSignal', { signal: new AbortController() }, TypeError, TYPE, 'options.signal'],
    ['onEpochEnd not a function', { onEpochEnd: 'log' }, TypeError, TYPE, 'options.onEpochEnd'],
    ['onBatchEnd not a function', { onBatchEnd: {} }, TypeError, TYPE, 'options.onBatchEnd'],
    ["an unknown schedule", { schedule: { type: 'linear' } }, RangeError, VALUE, 'options.schedule.type'],
    ['a step schedule without stepSize', { schedule: { type: 'step' } }, TypeError, TYPE, 'options.schedule.stepSize'],
    ['an option of another schedule', { schedule: { type: 'step', stepSize: 2, decaySteps: 4 } }, RangeError, VALUE, 'options.schedule.decaySteps'],
    // Both became 0 as float32s, and the learning rate with them after the first decay.
    ['a step gamma of 1e-50 (0 as a float32)', { schedule: { type: 'step', stepSize: 2, gamma: 1e-50 } }, RangeError, RANGE, 'options.schedule.gamma'],
    ['a decayRate of 1e-50 (0 as a float32)', { schedule: { type: 'exponential', decaySteps: 2, decayRate: 1e-50 } }, RangeError, RANGE, 'options.schedule.decayRate'],
    ['a negative patience', { earlyStopping: { patience: -1 } }, RangeError, RANGE, 'options.earlyStopping.patience'],
    ['an unknown earlyStopping option', { earlyStopping: { monitor: 'loss' } }, RangeError, VALUE, 'options.earlyStopping.monitor'],
    ["onNonFinite 'ignore'", { onNonFinite: 'ignore' }, RangeError, VALUE, 'options.onNonFinite'],
    ['an unknown option', { epoch: 3 }, RangeError, VALUE, 'options.epoch'],
    ['validationData of the wrong width', { validationData: new Float32Array(D + 1) }, RangeError, RANGE, 'options.validationData.length'],
  ];

  it.each(cases)('fit rejects %s', async (_, options, kind, code, argument) => {
    expectCoded(await rejection(ae.fit(x, options as never)), kind, code, argument);
  });

  it('clipping as tight as a float32 holds still clips: clipValue 2e-38 all but freezes the weights under SGD', async () => {
    const frozen = new Autoencoder({ inputDim: D, latentDim: 4, seed: 3 });
    const before = frozen.getWeights();
    await frozen.fit(x, { epochs: 1, optimizer: { type: 'sgd', learningRate: 1, clipValue: 2e-38 } });
    const moved = frozen.getWeights().map((t, i) => t.data.reduce((most, v, j) => Math.max(most, Math.abs(v - before[i].data[j])), 0));
    // Each step moves a parameter by at most 2e-38 (and the zero biases only see it).
    expect(Math.max(...moved)).toBeLessThan(1e-30);
    frozen.dispose();
  });

  it('a refused fit leaves the model idle and unchanged', async () => {
    const before = ae.getWeights();
    await rejection(ae.fit(x, { epochs: -1 }));
    expect(ae.busy).toBe(false);
    expect(sameWeights(ae.getWeights(), before)).toBe(true);
  });
});

describe('data', () => {
  const cases: [label: string, value: unknown, kind: ErrorClass, argument: string][] = [
    ['a Float32Array whose length is not a multiple of the width', new Float32Array(D * 3 + 1), RangeError, 'x.length'],
    ['a row that is too short', [Array(D).fill(0.5), Array(D - 1).fill(0.5)], RangeError, 'x[1].length'],
    ['a cell that is not a number', [[0.1, 0.2, '0.3', 0.4, 0.5, 0.6, 0.7, 0.8]], TypeError, 'x[0][2]'],
    ['a bigint cell', [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 8n]], TypeError, 'x[0][7]'],
    ['a row that is neither an array nor a typed array', [{ length: D }], TypeError, 'x[0]'],
    ['a flat Float64Array', new Float64Array(D * 2), TypeError, 'x'],
    ['null', null, TypeError, 'x'],
    ['a string', 'rows', TypeError, 'x'],
    ['a Matrix of the wrong width', { data: new Float32Array(18), rows: 2, cols: 9 }, RangeError, 'x.cols'],
    ['a Matrix whose rows do not match its data', { data: new Float32Array(D * 2), rows: 3, cols: D }, RangeError, 'x.rows'],
    ['a Matrix with string rows', { data: new Float32Array(D * 2), rows: '2', cols: D }, TypeError, 'x.rows'],
    ['a Matrix of Float64Array data', { data: new Float64Array(D * 2), rows: 2, cols: D }, TypeError, 'x.data'],
  ];
  const codeOf = (kind: ErrorClass) => (kind === TypeError ? TYPE : RANGE);

  it.each(cases)('synchronous methods refuse %s', (_, value, kind, argument) => {
    const input = value as DataInput;
    for (const call of [() => ae.predict(input), () => ae.reconstruct(input), () => ae.encode(input), () => ae.encoder.encode(input), () => ae.evaluate(input), () => ae.reconstructionError(input)]) {
      expectCoded(thrown(call), kind, codeOf(kind), argument);
    }
  });

  it.each(cases)('asynchronous methods and fit reject %s', async (_, value, kind, argument) => {
    const input = value as DataInput;
    for (const call of [() => ae.fit(input), () => ae.predictAsync(input), () => ae.encodeAsync(input), () => ae.reconstructionErrorAsync(input)]) {
      expectCoded(await rejection(call()), kind, codeOf(kind), argument);
    }
  });

  it('decode names its argument z', async () => {
    expectCoded(thrown(() => ae.decode(new Float32Array(5))), RangeError, RANGE, 'z.length');
    expectCoded(thrown(() => ae.decoder.decode([[1, 2, 3]])), RangeError, RANGE, 'z[0].length');
    expectCoded(await rejection(ae.decodeAsync(null as never)), TypeError, TYPE, 'z');
  });
});

describe('setWeights', () => {
  const weights = () => ae.getWeights();

  it('refuses the wrong number of tensors', () => {
    expectCoded(thrown(() => ae.setWeights(weights().slice(1))), RangeError, RANGE, 'weights.length');
  });

  it('refuses a tensor of the wrong length', () => {
    const w = weights();
    w[2] = { ...w[2], data: new Float32Array(w[2].data.length - 1) };
    expectCoded(thrown(() => ae.setWeights(w)), RangeError, RANGE, 'weights[2].length');
    expectCoded(thrown(() => ae.setWeights(weights().map((t, i) => (i === 3 ? new Float32Array(1) : t.data)))), RangeError, RANGE, 'weights[3].length');
  });

  it('matches named tensors by name, in any order', () => {
    const source = new Autoencoder({ inputDim: D, latentDim: 4, seed: 99 });
    ae.setWeights([...source.getWeights()].reverse());
    ae.getWeights().forEach((w, i) => expect(w.data).toEqual(source.getWeights()[i].data));
    source.dispose();
  });

  it('refuses a name given twice', () => {
    const w = weights();
    w[1] = { ...w[0] };
    expectCoded(thrown(() => ae.setWeights(w)), RangeError, RANGE, 'weights[1].name');
  });

  it('refuses a tensor under the wrong name', () => {
    const w = weights();
    w[0] = { ...w[0], name: 'encoder.0.kernel' };
    expectCoded(thrown(() => ae.setWeights(w)), RangeError, RANGE, 'weights[0].name');
  });

  it('refuses what is not an array of tensors', () => {
    expectCoded(thrown(() => ae.setWeights('weights' as never)), TypeError, TYPE, 'weights');
    const w: unknown[] = weights();
    w[1] = null;
    expectCoded(thrown(() => ae.setWeights(w as never)), TypeError, TYPE, 'weights[1]');
    w[1] = new Float64Array(4);
    expectCoded(thrown(() => ae.setWeights(w as never)), TypeError, TYPE, 'weights[1]');
  });

  it('refuses a NaN with ERR_NON_FINITE, writing none of the tensors', () => {
    const before = weights();
    const w = weights().map((t) => ({ ...t, data: t.data.map((v) => v + 1) }));
    w[w.length - 1].data[0] = NaN;
    const error = thrown(() => ae.setWeights(w));
    expectCoded(error, RangeError, 'ERR_NON_FINITE');
    expect((error as Error).message).toContain(`weights[${w.length - 1}]`);
    expect((error as Error).message).toContain('decoder.1.bias');
    expect(sameWeights(ae.getWeights(), before)).toBe(true);
    w[0].data[0] = Infinity;
    expectCoded(thrown(() => ae.encoder.setWeights(w.slice(0, 4))), RangeError, 'ERR_NON_FINITE');
  });

  it('reads each tensor once: a getter that spoils a tensor already read can leave no half-written model', () => {
    const w = weights().map((t) => ({ ...t, data: t.data.map((v) => v + 1) }));
    const last = w[w.length - 1];
    const spoilt = w[w.length - 2].data;
    const size = last.data.length;
    const unspoilt = spoilt[0];
    let reads = 0;
    Object.defineProperty(last, 'data', {
      get() {
        reads++;
        spoilt[0] = NaN;
        return new Float32Array(size).fill(0.5);
      },
    });
    ae.setWeights(w);
    expect(reads).toBe(1);
    const after = ae.getWeights();
    expect(after.every((t) => t.data.every(Number.isFinite))).toBe(true);
    expect(after[w.length - 2].data[0]).toBe(unspoilt);
    expect(after[w.length - 1].data.every((v) => v === 0.5)).toBe(true);
  });

  it('refuses a sparse array (a hole is not a tensor)', () => {
    const w: unknown[] = weights();
    delete w[3];
    expectCoded(thrown(() => ae.setWeights(w as never)), TypeError, TYPE, 'weights[3]');
  });
});

describe('sparse arrays', () => {
  it('an array of rows that could never fit is refused before anything is allocated, naming x', () => {
    const error = thrown(() => ae.predict(new Array(2 ** 32 - 1) as never));
    expectCoded(error, Error, 'ERR_OUT_OF_MEMORY');
    expect((error as Error).message).toContain('the rows of x');
  });

  it('are refused where an array of layers, texts, strings or characters is taken, naming the hole', () => {
    // eslint-disable-next-line no-sparse-arrays
    expectCoded(thrown(() => new Encoder({ inputDim: D, layers: [, { units: 2 }] as never })), TypeError, TYPE, 'config.layers[0]');
    // Refused at the first hole, without copying the array first.
    expectCoded(thrown(() => new Encoder({ inputDim: D, layers: new Array(2 ** 32 - 1) as never })), TypeError, TYPE, 'config.layers[0]');
    expectCoded(thrown(() => new HashedTfidf({ dimensions: 8 }).fit(new Array(2 ** 32 - 1) as never)), TypeError, TYPE, 'texts[0]');
    // eslint-disable-next-line no-sparse-arrays
    expectCoded(thrown(() => new HashedTfidf({ dimensions: 8 }).fit([, 'a b'] as never)), TypeError, TYPE, 'texts[0]');
    // eslint-disable-next-line no-sparse-arrays
    expectCoded(thrown(() => new TextCodec({ vocabulary: 'ab', length: 2 }).encode([, 'a'] as never)), TypeError, TYPE, 'strings[0]');
    // eslint-disable-next-line no-sparse-arrays
    expectCoded(thrown(() => new TextCodec({ vocabulary: ['a', , 'b'] as never, length: 2 })), TypeError, TYPE, 'options.vocabulary[1]');
  });
});

describe('other methods', () => {
  it("reconstructionError refuses metric 'foo' and unknown options", async () => {
    expectCoded(thrown(() => ae.reconstructionError(x, { metric: 'foo' as never })), RangeError, VALUE, 'options.metric');
    expectCoded(await rejection(ae.reconstructionErrorAsync(x, { metric: 'foo' as never })), RangeError, VALUE, 'options.metric');
    expectCoded(thrown(() => ae.reconstructionError(x, { metrics: 'mse' } as never)), RangeError, VALUE, 'options.metrics');
    expectCoded(thrown(() => ae.reconstructionError(x, 'mse' as never)), TypeError, TYPE, 'options');
  });

  it('options that are typed arrays underneath (a Proxy of one, or an object on its prototype) are refused as not objects', () => {
    // Reading `length` from either throws a TypeError with no code; TextCodec has a `length` option.
    for (const options of [new Proxy(new Float32Array(0), {}), Object.create(Float32Array.prototype) as object]) {
      expectCoded(thrown(() => TextCodec.fromCorpus(['ab'], options as never)), TypeError, TYPE, 'options');
      expectCoded(thrown(() => new TextCodec(options as never)), TypeError, TYPE, 'options');
      expectCoded(thrown(() => ae.predict(x, options as never)), TypeError, TYPE, 'options');
    }
  });

  it("evaluate refuses loss 'foo' and unknown options", () => {
    expectCoded(thrown(() => ae.evaluate(x, { loss: 'foo' as never })), RangeError, VALUE, 'options.loss');
    expectCoded(thrown(() => ae.evaluate(x, { metric: 'mse' } as never)), RangeError, VALUE, 'options.metric');
  });

  it.each([
    ['0', 0, RangeError, RANGE],
    ['1.5', 1.5, RangeError, RANGE],
    ['1025', 1025, RangeError, RANGE],
    ["'2'", '2', TypeError, TYPE],
  ] as const)('setThreads(%s) is refused and changes nothing', (_, value, kind, code) => {
    const threads = getThreads();
    expectCoded(thrown(() => setThreads(value as never)), kind, code, 'threads');
    expect(getThreads()).toBe(threads);
  });
});
