// The three reference workloads of the benchmarks (W1-W3), with the model each starts from. The
// native benchmark (native/bench/bench.cpp) declares the same table in C++.
import { Autoencoder, Decoder, Encoder, type ActivationName } from 'native-autoencoder';

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

/** The workload's network with the same seeded initial weights in every benchmark. */
export function buildWorkload(w: WorkloadSpec): Autoencoder {
  const half = w.activations.length / 2;
  const layer = (i: number) => ({ units: w.widths[i + 1], activation: w.activations[i] });
  return new Autoencoder({
    encoder: new Encoder({ inputDim: w.widths[0], layers: Array.from({ length: half }, (_, i) => layer(i)), seed: 1 }),
    decoder: new Decoder({ latentDim: w.widths[half], layers: Array.from({ length: half }, (_, i) => layer(i + half)), seed: 2 }),
    seed: 1,
  });
}

/** Rows of smooth values in (0, 1), the same on every call: data for timing, not for learning. */
export function smoothRows(rows: number, cols: number): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-Math.sin(i * 0.37) * 3));
  return x;
}

export const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
