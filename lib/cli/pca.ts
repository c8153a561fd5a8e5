// Principal component analysis down to two dimensions, so latent vectors of any width can be
// drawn as points on a page.
import { seededRandom } from '../random';

export interface Projection {
  /** x, y for each row. */
  points: Float64Array;
  /** The axis names, with the share of the variance each component explains. */
  axes: [string, string];
}

/** Power iteration: the dominant eigenvector and eigenvalue of a symmetric matrix. */
function dominant(matrix: Float64Array, n: number): { vector: Float64Array; value: number } {
  const random = seededRandom(1);
  let v = Float64Array.from({ length: n }, () => random() - 0.5);
  let value = 0;
  for (let iteration = 0; iteration < 500; iteration++) {
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) next[i] += matrix[i * n + j] * v[j];
    const norm = Math.hypot(...next);
    if (norm === 0) break;
    for (let i = 0; i < n; i++) next[i] /= norm;
    const change = next.reduce((sum, x, i) => sum + Math.abs(x - v[i]), 0);
    v = next;
    value = norm;
    if (change < 1e-10) break;
  }
  // Eigenvectors have no sign; fixing one keeps the picture from mirroring between runs.
  const largest = v.reduce((best, x, i) => (Math.abs(x) > Math.abs(v[best]) ? i : best), 0);
  if (v[largest] < 0) v = v.map((x) => -x);
  return { vector: v, value };
}

/** The rows projected on their first two principal components (a width-2 input is kept as it is). */
export function project2d(data: Float32Array, rows: number, cols: number): Projection {
  const points = new Float64Array(rows * 2);
  if (cols === 2) {
    points.set(data);
    return { points, axes: ['z1', 'z2'] };
  }
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += data[r * cols + c] / rows;
  const cov = new Float64Array(cols * cols);
  const centred = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) centred[c] = data[r * cols + c] - mean[c];
    for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) cov[i * cols + j] += (centred[i] * centred[j]) / rows;
  }
  let total = 0;
  for (let i = 0; i < cols; i++) total += cov[i * cols + i];
  const first = dominant(cov, cols);
  for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) cov[i * cols + j] -= first.value * first.vector[i] * first.vector[j];
  const second = dominant(cov, cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const d = data[r * cols + c] - mean[c];
      points[r * 2] += d * first.vector[c];
      points[r * 2 + 1] += d * second.vector[c];
    }
  }
  const share = (value: number) => (total > 0 ? ` (${Math.round((100 * value) / total)}% of variance)` : '');
  return { points, axes: [`PC 1${share(first.value)}`, `PC 2${share(second.value)}`] };
}
