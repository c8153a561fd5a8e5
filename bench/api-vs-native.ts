// Training throughput through the TypeScript API against the native benchmark (same workloads,
// same machine, same run), and the latency of a one-row predict from JavaScript.
//   npx tsx bench/api-vs-native.ts        (builds the native benchmark first through scripts/native-bench.sh)
import { spawnSync } from 'node:child_process';
import type { FitOptions } from 'native-autoencoder';
import { W1, W2, buildWorkload, median, smoothRows as data, type WorkloadSpec } from './workloads';

interface Workload {
  spec: WorkloadSpec;
  rows: number;
}

const workloads: Workload[] = [
  { spec: W1, rows: 65536 },
  { spec: W2, rows: 8192 },
];

function fitOptions(w: WorkloadSpec): FitOptions {
  return { batchSize: w.batch, loss: w.loss, optimizer: { type: w.optimizer, learningRate: w.learningRate } };
}

async function apiRate(w: Workload): Promise<number> {
  const ae = buildWorkload(w.spec);
  const x = data(w.rows, w.spec.widths[0]);
  await ae.fit(x, { ...fitOptions(w.spec), epochs: 1 });
  const history = await ae.fit(x, { ...fitOptions(w.spec), epochs: 3 });
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
  const ae = buildWorkload(W1);
  const row = data(1, W1.widths[0]);
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
  for (const w of workloads) api.set(w.spec.name, await apiRate(w));
  const native = nativeRates();
  console.log('| workload | API samples/s | native samples/s | API / native |');
  console.log('|---|---|---|---|');
  for (const { spec } of workloads) {
    const a = api.get(spec.name)!;
    const n = native.get(spec.name)!;
    console.log(`| ${spec.name} | ${Math.round(a)} | ${Math.round(n)} | ${(a / n).toFixed(3)} |`);
  }
  console.log(`one-row predict on W1 from JavaScript: median ${predictLatency().toFixed(2)} µs`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
