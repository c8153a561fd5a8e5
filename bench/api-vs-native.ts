// Training throughput through the TypeScript API against the native benchmark (same workloads,
// same machine, same run), and the latency of a one-row predict from JavaScript.
//   npx tsx bench/api-vs-native.ts        (builds the native benchmark first through scripts/native-bench.sh)
import { spawnSync } from 'node:child_process';
import { Autoencoder, Decoder, Encoder, type ActivationName, type FitOptions } from 'native-autoencoder';

interface Workload {
  name: string;
  widths: number[];
  activations: ActivationName[];
  fit: FitOptions;
  rows: number;
}

const workloads: Workload[] = [
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
];

function build(w: Workload): Autoencoder {
  const half = w.activations.length / 2;
  const layer = (i: number) => ({ units: w.widths[i + 1], activation: w.activations[i] });
  return new Autoencoder({
    encoder: new Encoder({ inputDim: w.widths[0], layers: Array.from({ length: half }, (_, i) => layer(i)), seed: 1 }),
    decoder: new Decoder({ latentDim: w.widths[half], layers: Array.from({ length: half }, (_, i) => layer(i + half)), seed: 2 }),
    seed: 1,
  });
}

function data(rows: number, cols: number): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-Math.sin(i * 0.37) * 3));
  return x;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function apiRate(w: Workload): Promise<number> {
  const ae = build(w);
  const x = data(w.rows, w.widths[0]);
  await ae.fit(x, { ...w.fit, epochs: 1 });
  const history = await ae.fit(x, { ...w.fit, epochs: 3 });
  ae.dispose();
  return median(history.epochs.map((e) => e.samplesPerSecond));
}

function nativeRates(): Map<string, number> {
  const run = spawnSync('bash', ['scripts/native-bench.sh', '--threads', '2', '--epochs', '3', '--workloads', 'W1,W2'], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`native benchmark failed: ${run.stderr}`);
  const rates = new Map<string, number>();
  for (const line of run.stdout.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (/^W\d$/.test(cells[1] ?? '')) rates.set(cells[1], Number(cells[3]));
  }
  return rates;
}

function predictLatency(): number {
  const w = workloads[0];
  const ae = build(w);
  const row = data(1, w.widths[0]);
  for (let i = 0; i < 20_000; i++) ae.predict(row);
  const samples: number[] = [];
  for (let rep = 0; rep < 21; rep++) {
    const n = 10_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) ae.predict(row);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  ae.dispose();
  return median(samples);
}

async function main(): Promise<void> {
  const api = new Map<string, number>();
  for (const w of workloads) api.set(w.name, await apiRate(w));
  const native = nativeRates();
  console.log('| workload | API samples/s | native samples/s | API / native |');
  console.log('|---|---|---|---|');
  for (const w of workloads) {
    const a = api.get(w.name)!;
    const n = native.get(w.name)!;
    console.log(`| ${w.name} | ${Math.round(a)} | ${Math.round(n)} | ${(a / n).toFixed(3)} |`);
  }
  console.log(`one-row predict on W1 from JavaScript: median ${predictLatency().toFixed(2)} µs`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
