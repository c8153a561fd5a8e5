// The only file that loads the native addon. If the binary is missing or was built for another
// platform, the error says how to fix it.
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { codedError } from './errors';

export interface NativeLayerSpec {
  name: string;
  inputs: number;
  units: number;
  activation: string;
  alpha?: number;
  group?: number;
  kernelInitializer?: string;
  dropout?: number;
}

export interface NativeModelSpec {
  layers: NativeLayerSpec[];
  latentLayer: number;
  variational?: boolean;
}

export interface NativeEpoch {
  epoch: number;
  loss: number;
  reconstruction: number;
  kl: number;
  beta: number;
  penalty: number;
  valLoss: number | undefined;
  learningRate: number;
  samplesPerSecond: number;
  seconds: number;
  skippedBatches: number;
  communicationSeconds: number;
}

export interface NativeFitResult {
  epochs: NativeEpoch[];
  reason: 'completed' | 'earlyStopping' | 'cancelled';
  bestEpoch: number;
  steps: number;
  restoredBestWeights: boolean;
}

/** The state of a fit at an epoch boundary, with the weights and optimizer slots by tensor name. */
export interface NativeCheckpoint {
  epoch: number;
  step: number;
  rng: BigUint64Array;
  bestMonitor: number;
  wait: number;
  bestEpoch: number;
  tensors: Record<string, Float32Array>;
}

export interface NativeBackendInfo {
  backend: string;
  device: string;
  memoryFree: number;
  blas: string;
  blasKernels: string;
  gemmReason: string;
  simd: string;
  threads: number;
  flushDenormals: boolean;
  mpi: boolean;
  bf16: string;
  bf16Reason: string;
  cuda: string;
  cudaReason: string;
  cudaBuilt: boolean;
}

export interface NativeModel {
  readonly parameterCount: number | undefined;
  readonly backend: 'cpu' | 'cuda';
  readonly busy: boolean;
  readonly disposed: boolean;
  tensors(): { name: string; shape: number[] }[];
  getTensor(name: string): Float32Array;
  setTensor(name: string, values: Float32Array): void;
  predict(x: Float32Array, rows: number, first: number, last: number, out?: Float32Array, precision?: string): Float32Array;
  predictAsync(x: Float32Array, rows: number, first: number, last: number, precision?: string): Promise<Float32Array>;
  evaluate(x: Float32Array, rows: number, loss: string, huberDelta: number): number;
  reconstructionError(x: Float32Array, rows: number, metric: string, out?: Float32Array, precision?: string): Float32Array;
  reconstructionErrorAsync(x: Float32Array, rows: number, metric: string, precision?: string): Promise<Float32Array>;
  fit(
    x: Float32Array,
    rows: number,
    validation: Float32Array | null,
    validationRows: number,
    options: Record<string, unknown>,
    onBatch: ((epoch: number, batch: number, batches: number, loss: number) => void) | null,
    onEpoch: ((epoch: NativeEpoch) => void) | null,
    onCheckpoint: ((checkpoint: NativeCheckpoint) => void) | null,
  ): Promise<NativeFitResult>;
  cancel(): void;
  dispose(): void;
}

export interface NativeBinding {
  NativeModel: new (spec: NativeModelSpec, seed: number, backend?: 'cpu' | 'cuda') => NativeModel;
  backendInfo(backend?: 'cpu' | 'cuda'): NativeBackendInfo;
  setThreads(threads: number): void;
  mpiInit(timeoutSeconds?: number): { rank: number; size: number; library: string };
  allocateFloat32(length: number): Float32Array;
  allocateRows(length: number): Float32Array;
  stopRunningWork(): void;
}

function load(): NativeBinding {
  const root = path.resolve(__dirname, '..', '..');
  // NATIVE_AUTOENCODER_ADDON selects one build explicitly (CI tests the built-in-GEMM build this way).
  const chosen = process.env.NATIVE_AUTOENCODER_ADDON;
  try {
    // node-gyp-build picks a prebuilt binary for this platform from prebuilds/, else build/Release.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (chosen ? require(path.resolve(chosen)) : require('node-gyp-build')(root)) as NativeBinding;
  } catch (error) {
    const platform = `${process.platform}-${process.arch}, Node.js ${process.version} (ABI ${process.versions.modules})`;
    throw codedError(
      Error,
      'ERR_NATIVE_BINDING',
      `native-autoencoder could not load its native addon for ${platform}: ${(error as Error).message}\n` +
        'No prebuilt binary fits this platform and no local build loads. Rebuild from the package folder with ' +
        '`npm rebuild native-autoencoder` (or `npx node-gyp rebuild`); this needs a C++17 compiler, make and Python 3 ' +
        '(on Debian/Ubuntu: apt-get install -y build-essential python3, and libopenblas-dev for fast matrix products).',
      error,
    );
  }
}

export const native: NativeBinding = load();

// process.exit() would tear the native libraries down under fits and predictions still running on
// the addon's threads: the main thread's exit first stops them (a fit after its current batch) and
// waits for them. A worker's exit ends only its own fits, which the addon stops as the worker ends.
if (isMainThread) process.on('exit', () => native.stopRunningWork());
