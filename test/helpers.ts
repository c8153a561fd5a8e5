// Shared by the tests: seeded learnable data (x = sigmoid(z·M)) and exact comparisons of weights and errors.
import { expect } from 'vitest';
import type { WeightTensor } from 'native-autoencoder';
import { normalFrom as gaussian, seededRandom as mulberry32 } from '../lib/random';

// The library's seeded uniform generator (mulberry32) and its Box–Muller normals.
export { gaussian, mulberry32 };

/** Width of the hidden factors z: any latent size of 8 or more can learn the data. */
export const FACTORS = 8;

/**
 * `rows` rows of width `cols`, row-major: x = sigmoid(z·M) with z (rows × 8) and M (8 × cols)
 * standard normal, both drawn from `seed`. Every row of one call shares M, so the first rows of a
 * call and its last rows come from the same distribution; another seed gives another M.
 */
export function syntheticData(rows: number, cols: number, seed: number): Float32Array {
  const normal = gaussian(mulberry32(seed));
  const m = Array.from({ length: FACTORS * cols }, normal);
  const x = new Float32Array(rows * cols);
  const z = new Array<number>(FACTORS);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < FACTORS; k++) z[k] = normal();
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let k = 0; k < FACTORS; k++) s += z[k] * m[k * cols + c];
      x[r * cols + c] = 1 / (1 + Math.exp(-s));
    }
  }
  return x;
}

/** Rows `from` (inclusive) to `to` (exclusive) of a row-major matrix, as a view. */
export function rowsOf(x: Float32Array, cols: number, from: number, to: number): Float32Array {
  return x.subarray(from * cols, to * cols);
}

/** The same rows as an array of number[] rows. */
export function toNumberRows(x: Float32Array, cols: number): number[][] {
  return Array.from({ length: x.length / cols }, (_, r) => Array.from(rowsOf(x, cols, r, r + 1)));
}

/** The same rows as an array of Float32Array rows (copies). */
export function toFloat32Rows(x: Float32Array, cols: number): Float32Array[] {
  return Array.from({ length: x.length / cols }, (_, r) => rowsOf(x, cols, r, r + 1).slice());
}

/** True when both arrays hold the same float32 bit patterns. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/**
 * True when every pair of values agrees to within `relative` of the larger magnitude: the float32 rounding by which
 * a BLAS may differ when it blocks the same product differently, e.g. for 4 rows rather than 40 (OpenBLAS's Zen kernels).
 */
export function sameWithinRounding(a: Float32Array, b: Float32Array, relative = 1e-6): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= relative * Math.max(Math.abs(a[i]), Math.abs(b[i]), Number.MIN_VALUE))) return false;
  }
  return true;
}

/** True when both lists name the same tensors with the same shapes and bit-identical values. */
export function sameWeights(a: WeightTensor[], b: WeightTensor[]): boolean {
  return (
    a.length === b.length &&
    a.every((t, i) => t.name === b[i].name && t.shape.join() === b[i].shape.join() && sameBits(t.data, b[i].data))
  );
}

export function allFinite(weights: WeightTensor[]): boolean {
  return weights.every((t) => t.data.every(Number.isFinite));
}

/** Sum of squares of the weight matrices (not the biases). */
export function weightSumSquares(weights: WeightTensor[]): number {
  return weights.filter((t) => t.name.endsWith('.weight')).reduce((s, t) => s + t.data.reduce((a, v) => a + v * v, 0), 0);
}

/** The error `fn` throws; fails the test when it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** The reason `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

/** Asserts the error's class and code, and that its message names `argument` in quotes when given. */
export function expectCoded(error: unknown, kind: ErrorClass, code: string, argument?: string): void {
  expect(error).toBeInstanceOf(kind);
  expect(error).toHaveProperty('code', code);
  if (argument !== undefined) expect((error as Error).message).toContain(`"${argument}"`);
}
