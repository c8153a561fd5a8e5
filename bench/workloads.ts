// The three reference workloads of the benchmarks (W1-W3), with the model each starts from and the
// data they train on. The native benchmark (native/bench/bench.cpp) declares the same table in C++.
import { Autoencoder, Decoder, Encoder, type ActivationName, type FitOptions } from 'native-autoencoder';

export interface WorkloadSpec {
  name: 'W1' | 'W2' | 'W3';
  widths: number[];
  activations: ActivationName[];
  loss: 'mse' | 'binaryCrossentropy';
  optimizer: 'sgd' | 'adam';
  learningRate: number;
  batch: number;
}

export const W1: WorkloadSpec = {
  name: 'W1',
  widths: [100, 32, 32, 32, 100],
  activations: ['relu', 'relu', 'relu', 'sigmoid'],
  loss: 'mse',
  optimizer: 'sgd',
  learningRate: 0.05,
  batch: 64,
};

export const W2: WorkloadSpec = {
  name: 'W2',
  widths: [784, 512, 256, 64, 256, 512, 784],
  activations: ['relu', 'relu', 'linear', 'relu', 'relu', 'sigmoid'],
  loss: 'binaryCrossentropy',
  optimizer: 'adam',
  learningRate: 1e-3,
  batch: 256,
};

export const W3: WorkloadSpec = {
  name: 'W3',
  widths: [4096, 2048, 256, 2048, 4096],
  activations: ['relu', 'linear', 'relu', 'sigmoid'],
  loss: 'mse',
  optimizer: 'adam',
  learningRate: 1e-3,
  batch: 512,
};

/** Adam's epsilon in every system the benchmarks compare (TF.js's default; PyTorch's is 1e-8). */
export const ADAM_EPSILON = 1e-7;

/** How every benchmark fits a workload: in order (no shuffle), with its optimizer. */
export function fitOptions(w: WorkloadSpec, epochs: number, precision: 'float32' | 'bf16' = 'float32'): FitOptions {
  return {
    epochs,
    precision,
    batchSize: w.batch,
    shuffle: false,
    loss: w.loss,
    optimizer:
      w.optimizer === 'sgd'
        ? { type: 'sgd', learningRate: w.learningRate }
        : { type: 'adam', learningRate: w.learningRate, epsilon: ADAM_EPSILON },
  };
}

/**
 * The workload's network with seeded initial weights: start 1, the default, is the one every
 * benchmark trains; other starts draw other weights from the same initializers.
 */
export function buildWorkload(w: WorkloadSpec, start = 1): Autoencoder {
  const half = w.activations.length / 2;
  const layer = (i: number) => ({ units: w.widths[i + 1], activation: w.activations[i] });
  return new Autoencoder({
    encoder: new Encoder({ inputDim: w.widths[0], layers: Array.from({ length: half }, (_, i) => layer(i)), seed: 2 * start - 1 }),
    decoder: new Decoder({ latentDim: w.widths[half], layers: Array.from({ length: half }, (_, i) => layer(i + half)), seed: 2 * start }),
    seed: 1,
  });
}

/** A seeded generator (mulberry32) with Box-Muller normals. */
function rng(seed: number): { uniform: () => number; normal: () => number } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | null = null;
  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const u = 1 - uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * uniform();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
  return { uniform, normal };
}

/** Learnable rows in [0, 1]: x = sigmoid(z · M), z of width 8, both normal. */
export function makeData(rows: number, cols: number, seed: number): Float32Array {
  const g = rng(seed);
  const latent = 8;
  const m = Float64Array.from({ length: latent * cols }, () => g.normal());
  const x = new Float32Array(rows * cols);
  const z = new Float64Array(latent);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < latent; k++) z[k] = g.normal();
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let k = 0; k < latent; k++) s += z[k] * m[k * cols + c];
      x[r * cols + c] = 1 / (1 + Math.exp(-s));
    }
  }
  return x;
}

/** Rows of smooth values in (0, 1), the same on every call: data for timing, not for learning. */
export function smoothRows(rows: number, cols: number): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-Math.sin(i * 0.37) * 3));
  return x;
}

export const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
