// The public types: checked by `tsc -p tsconfig.test.json` (expectTypeOf, @ts-expect-error) and, where they mirror runtime values, at run time.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ACTIVATIONS,
  Autoencoder,
  Decoder,
  Encoder,
  INITIALIZERS,
  LOSSES,
  OPTIMIZERS,
  ROW_METRICS,
  VariationalAutoencoder,
  type ActivationName,
  type AsyncPredictOptions,
  type BatchLogs,
  type CodedError,
  type DataInput,
  type EpochLogs,
  type InferencePrecision,
  type FitOptions,
  type History,
  type LatentDistribution,
  type LossName,
  type Matrix,
  type OptimizerName,
  type PredictOptions,
  type ReconstructionErrorAsyncOptions,
  type ReconstructionErrorOptions,
  type RowMetric,
  type WeightTensor,
} from 'native-autoencoder';

type Activations = 'linear' | 'relu' | 'leakyRelu' | 'elu' | 'selu' | 'sigmoid' | 'tanh' | 'softplus' | 'silu' | 'swish' | 'gelu' | 'softmax';

describe('types', () => {
  it('methods return the documented types', () => {
    expectTypeOf<Autoencoder['fit']>().returns.toEqualTypeOf<Promise<History>>();
    expectTypeOf<Autoencoder['fit']>().parameter(0).toEqualTypeOf<DataInput>();
    expectTypeOf<Autoencoder['encode']>().returns.toEqualTypeOf<Matrix>();
    expectTypeOf<Autoencoder['decode']>().returns.toEqualTypeOf<Matrix>();
    expectTypeOf<Autoencoder['predict']>().returns.toEqualTypeOf<Matrix>();
    expectTypeOf<Autoencoder['predict']>().parameter(1).toEqualTypeOf<PredictOptions | undefined>();
    expectTypeOf<PredictOptions>().toEqualTypeOf<{ out?: Float32Array; precision?: 'float32' | 'bf16' }>();
    expectTypeOf<AsyncPredictOptions>().toEqualTypeOf<{ precision?: InferencePrecision }>();
    expectTypeOf<InferencePrecision>().toEqualTypeOf<'float32' | 'bf16'>();
    const vae = null as unknown as VariationalAutoencoder;
    const out = new Float32Array(0);
    expectTypeOf(() => vae.encode(out, { out })).returns.toEqualTypeOf<Matrix>();
    expectTypeOf(() => vae.encode(out, { out, withVariance: true })).returns.toEqualTypeOf<LatentDistribution>();
    expectTypeOf<Autoencoder['encodeAsync']>().returns.toEqualTypeOf<Promise<Matrix>>();
    expectTypeOf<Autoencoder['predictAsync']>().returns.toEqualTypeOf<Promise<Matrix>>();
    expectTypeOf<Autoencoder['predictAsync']>().parameter(1).toEqualTypeOf<AsyncPredictOptions | undefined>();
    expectTypeOf(() => vae.encodeAsync(out)).returns.toEqualTypeOf<Promise<Matrix>>();
    expectTypeOf(() => vae.encodeAsync(out, { withVariance: true })).returns.toEqualTypeOf<Promise<LatentDistribution>>();
    // @ts-expect-error asynchronous predictions take no out
    void (() => vae.decodeAsync(out, { out }));
    expectTypeOf<Autoencoder['reconstructionError']>().returns.toEqualTypeOf<Float32Array>();
    expectTypeOf<Autoencoder['reconstructionError']>().parameter(1).toEqualTypeOf<ReconstructionErrorOptions | undefined>();
    expectTypeOf<ReconstructionErrorOptions>().toEqualTypeOf<{ metric?: RowMetric; out?: Float32Array; precision?: InferencePrecision }>();
    expectTypeOf<Autoencoder['reconstructionErrorAsync']>().parameter(1).toEqualTypeOf<ReconstructionErrorAsyncOptions | undefined>();
    expectTypeOf<ReconstructionErrorAsyncOptions>().toEqualTypeOf<{ metric?: RowMetric; precision?: InferencePrecision }>();
    expectTypeOf<Autoencoder['reconstructionErrorAsync']>().returns.toEqualTypeOf<Promise<Float32Array>>();
    expectTypeOf<Autoencoder['evaluate']>().returns.toEqualTypeOf<number>();
    expectTypeOf<Autoencoder['getWeights']>().returns.toEqualTypeOf<WeightTensor[]>();
    expectTypeOf<Autoencoder['encoder']>().toEqualTypeOf<Encoder>();
    expectTypeOf<Autoencoder['decoder']>().toEqualTypeOf<Decoder>();
    expectTypeOf<Matrix>().toEqualTypeOf<{ data: Float32Array; rows: number; cols: number }>();
    expectTypeOf<Autoencoder>().toMatchTypeOf<Disposable>();
  });

  it('unions match the runtime lists', () => {
    expectTypeOf<ActivationName>().toEqualTypeOf<Activations>();
    expectTypeOf<LossName>().toEqualTypeOf<'mse' | 'mae' | 'huber' | 'binaryCrossentropy' | 'categoricalCrossentropy'>();
    expectTypeOf<OptimizerName>().toEqualTypeOf<'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad'>();
    expectTypeOf<(typeof ACTIVATIONS)[number]>().toEqualTypeOf<ActivationName>();
    const activations: Record<Activations, true> = {
      linear: true, relu: true, leakyRelu: true, elu: true, selu: true, sigmoid: true,
      tanh: true, softplus: true, silu: true, swish: true, gelu: true, softmax: true,
    };
    expect([...ACTIVATIONS].sort()).toEqual(Object.keys(activations).sort());
    expect([...LOSSES]).toEqual(['mse', 'mae', 'huber', 'binaryCrossentropy', 'categoricalCrossentropy']);
    expect([...OPTIMIZERS]).toEqual(['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad']);
    expect([...ROW_METRICS]).toEqual(['mse', 'mae', 'binaryCrossentropy']);
    expect([...INITIALIZERS]).toContain('glorotUniform');
  });

  it('every activation name builds a layer', () => {
    for (const activation of ACTIVATIONS) {
      const encoder = new Encoder({ inputDim: 4, layers: [{ units: 2, activation }], seed: 1 });
      expect(encoder.layers[0].activation).toBe(activation);
      expect(encoder.encode(new Float32Array(4).fill(0.5)).data.every(Number.isFinite)).toBe(true);
    }
  });

  it('FitOptions and configs refuse unknown keys and wrong types at compile time', async () => {
    // Each line is a compile error that tsc must report; at run time the same mistakes throw.
    // @ts-expect-error an unknown option key
    const misspelt: FitOptions = { epoch: 3 };
    // @ts-expect-error epochs is a number
    const wrongType: FitOptions = { epochs: '3' };
    // @ts-expect-error not an optimizer name
    const badOptimizer: FitOptions = { optimizer: 'adamax' };
    // @ts-expect-error not an activation name
    const badActivation: ActivationName = 'sigmoidal';
    const ae = new Autoencoder({ inputDim: 4, latentDim: 2, seed: 1 });
    // @ts-expect-error a Float64Array is not a DataInput
    expect(() => ae.predict(new Float64Array(4))).toThrow(TypeError);
    // @ts-expect-error inputDim is a number
    expect(() => new Autoencoder({ inputDim: '4', latentDim: 2 })).toThrow(TypeError);
    for (const options of [misspelt, wrongType, badOptimizer]) await expect(ae.fit(new Float32Array(4), options)).rejects.toThrow(/"options\.(epoch|epochs|optimizer\.type)"/);
    expect(ACTIVATIONS).not.toContain(badActivation);
  });

  it('DataInput accepts every documented form', () => {
    expectTypeOf<Float32Array>().toMatchTypeOf<DataInput>();
    expectTypeOf<number[][]>().toMatchTypeOf<DataInput>();
    expectTypeOf<Float32Array[]>().toMatchTypeOf<DataInput>();
    expectTypeOf<readonly (readonly number[])[]>().toMatchTypeOf<DataInput>();
    expectTypeOf<Matrix>().toMatchTypeOf<DataInput>();
    expectTypeOf<string>().not.toMatchTypeOf<DataInput>();
  });

  it('callback logs and errors have their documented fields', () => {
    expectTypeOf<BatchLogs>().toEqualTypeOf<{ epoch: number; batch: number; batches: number; loss: number }>();
    expectTypeOf<EpochLogs['valLoss']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<EpochLogs['learningRate']>().toEqualTypeOf<number>();
    expectTypeOf<FitOptions['onEpochEnd']>().toEqualTypeOf<((logs: EpochLogs) => void) | undefined>();
    expectTypeOf<History['stopReason']>().toEqualTypeOf<'completed' | 'earlyStopping'>();
    expectTypeOf<CodedError>().toMatchTypeOf<Error>();
    expectTypeOf<CodedError['code']>().toMatchTypeOf<string>();
  });
});
