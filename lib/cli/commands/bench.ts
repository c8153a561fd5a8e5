// `autoencoder bench`: trains the reference workloads W1–W3 (those of the native benchmark and
// bench/api-vs-native.ts) through the API and reports samples/s and achieved GFLOP/s.
import type { Command } from 'commander';
import { Autoencoder } from '../../autoencoder';
import { backendInfo, setThreads } from '../../backend';
import { Decoder } from '../../decoder';
import { Encoder } from '../../encoder';
import type { FitOptions } from '../../fit';
import type { ActivationName } from '../../layers';
import { usageError } from '../errors';
import { countText } from '../format';
import { addOutputModeOptions, positiveInteger } from '../options';
import { seededRandom } from '../../random';

interface Workload {
  name: string;
  widths: number[];
  activations: ActivationName[];
  fit: FitOptions;
  rows: number;
}

const WORKLOADS: Workload[] = [
  {
    name: 'W1',
    widths: [100, 32, 32, 32, 100],
    activations: ['relu', 'relu', 'relu', 'sigmoid'],
    fit: { batchSize: 64, loss: 'mse', optimizer: { type: 'sgd', learningRate: 0.05 } },
    rows: 65536,
  },
  {
    name: 'W2',
    widths: [784, 512, 256, 64, 256, 512, 784],
    activations: ['relu', 'relu', 'linear', 'relu', 'relu', 'sigmoid'],
    fit: { batchSize: 256, loss: 'binaryCrossentropy', optimizer: { type: 'adam', learningRate: 1e-3 } },
    rows: 8192,
  },
  {
    name: 'W3',
    widths: [4096, 2048, 256, 2048, 4096],
    activations: ['relu', 'linear', 'relu', 'sigmoid'],
    fit: { batchSize: 512, loss: 'mse', optimizer: { type: 'adam', learningRate: 1e-3 } },
    rows: 2048,
  },
];

/** --quick trains this share of each workload's rows, for one measured epoch. */
const QUICK_SHARE = 1 / 8;

interface BenchOptions {
  quick?: boolean;
  workloads: string;
  epochs?: number;
  threads?: number;
  json?: boolean;
  quiet?: boolean;
}

export function registerBench(program: Command): void {
  addOutputModeOptions(
    program
      .command('bench')
      .description('train the reference workloads W1-W3 and report samples/s and GFLOP/s')
      .option('--quick', `${Math.round(QUICK_SHARE * 100)}% of the rows and one measured epoch`)
      .option('--workloads <names>', 'which workloads, comma-separated', WORKLOADS.map((w) => w.name).join(','))
      .option('--epochs <n>', 'measured epochs after one warm-up epoch; the median is reported (default 3; 1 with --quick)', positiveInteger)
      .option('--threads <n>', 'threads for the matrix products (default: all cores)', positiveInteger),
  ).action(async (options: BenchOptions) => runBench(options));
}

/** Forward and backward matrix products per row: 2 × (3 × Σ in·out − in₁·out₁); the first layer needs no input gradient. */
export function flopsPerSample(widths: number[]): number {
  let sum = 0;
  for (let i = 0; i + 1 < widths.length; i++) sum += widths[i] * widths[i + 1];
  return 2 * (3 * sum - widths[0] * widths[1]);
}

/** Learnable rows in [0, 1], as the native benchmark makes them: x = sigmoid(z · M) with z of width 8. */
function benchData(rows: number, cols: number): Float32Array {
  const random = seededRandom(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const factors = 8;
  const m = Float64Array.from({ length: factors * cols }, normal);
  const x = new Float32Array(rows * cols);
  const z = new Float64Array(factors);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < factors; k++) z[k] = normal();
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let k = 0; k < factors; k++) s += z[k] * m[k * cols + c];
      x[r * cols + c] = 1 / (1 + Math.exp(-s));
    }
  }
  return x;
}

function build(w: Workload): Autoencoder {
  const half = w.activations.length / 2;
  const layer = (i: number) => ({ units: w.widths[i + 1], activation: w.activations[i] });
  return new Autoencoder({
    encoder: new Encoder({ inputDim: w.widths[0], layers: Array.from({ length: half }, (_, i) => layer(i)) }),
    decoder: new Decoder({ latentDim: w.widths[half], layers: Array.from({ length: half }, (_, i) => layer(i + half)) }),
    seed: 1,
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function runBench(options: BenchOptions): Promise<void> {
  const names = options.workloads.split(',').map((s) => s.trim().toUpperCase());
  const unknown = names.filter((n) => !WORKLOADS.some((w) => w.name === n));
  if (unknown.length > 0) throw usageError(`unknown workload ${unknown.join(', ')} (known: ${WORKLOADS.map((w) => w.name).join(', ')})`);
  if (options.threads !== undefined) setThreads(options.threads);
  const epochs = options.epochs ?? (options.quick ? 1 : 3);
  const results = [];
  for (const w of WORKLOADS.filter((w) => names.includes(w.name))) {
    const rows = options.quick ? Math.max(w.fit.batchSize ?? 32, Math.round(w.rows * QUICK_SHARE)) : w.rows;
    if (!options.quiet && !options.json) process.stderr.write(`measuring ${w.name}: ${w.widths.join('-')}, ${countText(rows)} rows…\n`);
    const x = benchData(rows, w.widths[0]);
    const model = build(w);
    // The first epoch warms caches, the thread pool and the allocator; it is not measured.
    await model.fit(x, { ...w.fit, epochs: 1, seed: 1 });
    const history = await model.fit(x, { ...w.fit, epochs, seed: 1 });
    model.dispose();
    const samplesPerSecond = median(history.epochs.map((e) => e.samplesPerSecond));
    const flops = flopsPerSample(w.widths);
    const result = { workload: w.name, layers: w.widths.join('-'), batchSize: w.fit.batchSize, rows, epochs, samplesPerSecond, flopsPerSample: flops, gflops: (samplesPerSecond * flops) / 1e9 };
    results.push(result);
  }
  const backend = backendInfo();
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ backend, results }, null, 2)}\n`);
    return;
  }
  if (options.quiet) return;
  const header = ['workload', 'layers', 'batch', 'rows', 'samples/s', 'GFLOP/s'];
  const body = results.map((r) => [r.workload, r.layers, String(r.batchSize), countText(r.rows), countText(r.samplesPerSecond), r.gflops.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(
    [`${backend.backend}, ${backend.blas} GEMM, ${backend.simd}, ${backend.threads} threads; median of ${epochs} epoch${epochs === 1 ? '' : 's'} after a warm-up`, line(header), ...body.map(line)].join('\n') + '\n',
  );
}
