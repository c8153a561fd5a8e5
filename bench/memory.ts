// Peak resident memory of a W2 fit on 60,000 rows against 1.5 × (dataset + weights + optimizer
// state + one batch of activations), in a fresh child process so that nothing else is resident: once
// with the rows in library-owned memory (allocateFloat32: the fit reads them where they are), once in
// a plain Float32Array (which the fit copies).
//   npm run bench:memory
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { W2 } from './workloads';

const ROWS = 60_000;
const MB = 2 ** 20;

function childScript(): string {
  return `
    const fs = require('node:fs');
    const { Autoencoder, Decoder, Encoder, allocateFloat32 } = require(${JSON.stringify(path.resolve(__dirname, '../dist/cjs/index.js'))});
    const hwm = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    const rss = () => Number(/VmRSS:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    const [rows, cols] = process.argv.slice(1, 3).map(Number);
    const owned = process.argv[3] === 'owned';
    const w = ${JSON.stringify(W2)};
    const half = w.activations.length / 2;
    const layer = (i) => ({ units: w.widths[i + 1], activation: w.activations[i] });
    const ae = new Autoencoder({
      encoder: new Encoder({ inputDim: w.widths[0], layers: Array.from({ length: half }, (_, i) => layer(i)), seed: 1 }),
      decoder: new Decoder({ latentDim: w.widths[half], layers: Array.from({ length: half }, (_, i) => layer(i + half)), seed: 2 }),
    });
    const before = rss();
    const x = owned ? allocateFloat32(rows * cols) : new Float32Array(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-Math.sin(i * 0.37) * 3));
    ae.fit(x, { epochs: 1, batchSize: w.batch, loss: w.loss, optimizer: 'adam' }).then(() => {
      console.log(JSON.stringify({ before, peak: hwm(), after: rss() }));
    });`;
}

function peakAbove(mode: 'owned' | 'plain'): number {
  const run = spawnSync(process.execPath, ['-e', childScript(), String(ROWS), String(W2.widths[0]), mode], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the fit failed: ${run.stderr}`);
  const { before, peak } = JSON.parse(run.stdout) as { before: number; peak: number };
  return peak - before;
}

function main(): void {
  const cols = W2.widths[0];
  let parameters = 0;
  let activations = 0;
  for (let i = 0; i + 1 < W2.widths.length; i++) {
    parameters += W2.widths[i] * W2.widths[i + 1] + W2.widths[i + 1];
    activations += W2.batch * W2.widths[i + 1];
  }
  const dataset = ROWS * cols * 4;
  const weights = parameters * 4;
  const optimizer = 2 * weights; // Adam's two moments
  const batch = (activations + W2.batch * cols) * 4;
  const budget = 1.5 * (dataset + weights + optimizer + batch);
  const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
  console.log(`W2 fit, ${ROWS.toLocaleString('en-US')} rows, 1 epoch, batch ${W2.batch}`);
  console.log(`dataset ${mb(dataset)} + weights ${mb(weights)} + Adam state ${mb(optimizer)} + one batch of activations ${mb(batch)}; budget 1.5 × ${mb(budget / 1.5)} = ${mb(budget)}`);
  for (const [mode, label] of [['owned', 'rows from allocateFloat32 (no copy)'], ['plain', 'rows in a plain Float32Array (copied)']] as const) {
    const used = peakAbove(mode);
    console.log(`${label}: peak RSS above the process before the data ${mb(used)}: ${used <= budget ? 'met' : 'NOT met'} (${(used / (budget / 1.5)).toFixed(2)}×)`);
  }
}

main();
