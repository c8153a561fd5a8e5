// Peak resident memory of a W2 fit on 60,000 rows against 1.5 × (dataset + weights + optimizer
// state + one batch of activations), in a fresh child process so that nothing else is resident: with
// the rows in library-owned memory (allocateFloat32: the fit reads them where they are), in a plain
// Float32Array (which the fit copies), and read from a .npy file by `autoencoder train` (into
// library-owned memory).
//   npm run bench:memory
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { npyHeader } from '../dist/cjs/cli/npy';
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
    if (process.argv[3] === 'none') {
      console.log(JSON.stringify({ before }));
      process.exit(0);
    }
    const x = owned ? allocateFloat32(rows * cols) : new Float32Array(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = (${cell.toString()})(i);
    ae.fit(x, { epochs: 1, batchSize: w.batch, loss: w.loss, optimizer: 'adam' }).then(() => {
      console.log(JSON.stringify({ before, peak: hwm(), after: rss() }));
    });`;
}

/** The value the child scripts fill rows with, so every case trains on the same numbers. */
const cell = (i: number) => 1 / (1 + Math.exp(-Math.sin(i * 0.37) * 3));

function child(mode: 'owned' | 'plain' | 'none'): { before: number; peak: number } {
  const run = spawnSync(process.execPath, ['-e', childScript(), String(ROWS), String(W2.widths[0]), mode], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the fit failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { before: number; peak: number };
}

function peakAbove(mode: 'owned' | 'plain'): number {
  const { before, peak } = child(mode);
  return peak - before;
}

/** W2's rows as a float32 .npy file. */
function writeNpy(file: string, rows: number, cols: number): void {
  const fd = openSync(file, 'w');
  writeSync(fd, npyHeader([rows, cols]));
  const block = new Float32Array(cols * 1024);
  for (let first = 0; first < rows; first += 1024) {
    const count = Math.min(1024, rows - first) * cols;
    for (let i = 0; i < count; i++) block[i] = cell(first * cols + i);
    writeSync(fd, new Uint8Array(block.buffer, 0, count * 4));
  }
  closeSync(fd);
}

/**
 * `autoencoder train` on the rows in a .npy file, with W2's network and batch and no validation rows,
 * against a process that loaded the library and made the model (as the fits' "before").
 */
function cliPeakAbove(): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'na-memory-'));
  try {
    const file = path.join(dir, 'rows.npy');
    writeNpy(file, ROWS, W2.widths[0]);
    const half = W2.activations.length / 2;
    const main = path.resolve(__dirname, '../dist/cjs/cli/main.js');
    const args = [main, 'train', '--data', file, '--layers', W2.widths.slice(1, half).join(','), '--latent', String(W2.widths[half]),
      '--activation', W2.activations[0], '--output-activation', W2.activations[W2.activations.length - 1], '--loss', W2.loss,
      '--batch-size', String(W2.batch), '--epochs', '1', '--validation-split', '0', '--seed', '1', '--json', '--quiet', '--out', path.join(dir, 'model')];
    const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`autoencoder train failed: ${run.stderr}`);
    const { peakResidentBytes } = JSON.parse(run.stdout) as { peakResidentBytes: number };
    return peakResidentBytes - child('none').before;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
  const report = (label: string, used: number) =>
    console.log(`${label}: peak RSS above the process before the data ${mb(used)}: ${used <= budget ? 'met' : 'NOT met'} (${(used / (budget / 1.5)).toFixed(2)}×)`);
  report('rows from allocateFloat32 (no copy)', peakAbove('owned'));
  report('rows in a plain Float32Array (copied)', peakAbove('plain'));
  report('`autoencoder train` reading a .npy file (no copy)', cliPeakAbove());
}

main();
