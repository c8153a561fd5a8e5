// Side-by-side benchmark: this library against PyTorch, TensorFlow.js (wasm and cpu backends) and
// onnxruntime-node, on the three reference workloads, with the GEMM limit measured in the same run.
//   npm run bench                 (about 5-6 minutes on 2 cores)
//   npm run bench -- --quick      (a fast sanity run: fewer rows, fewer repetitions)
//   flags: --no-torch --no-tfjs --no-native-bench --torch-coretype auto|stock|NAME --ours-coretype auto|NAME
//          --budget SECONDS --out DIR
//
// Every training system starts from the same initial weights (our getWeights(); transposed for
// TF.js, whose Dense kernels are [in, out]) and trains on the same rows in the same order
// (no shuffling) with the same optimizer settings, for a warm-up epoch and then 3 timed epochs;
// samples/s is rows / the median of the 3 timed epochs. Equal losses after the same number of steps
// show that the systems did the same work. Systems too slow for the full workload (TF.js) train on
// the first rows only; our library then also trains on those rows, untimed, to give the loss to
// compare with.
//
// Results: a table on stdout, bench-results/compare.json and bench-results/compare.png.
import { INHERITED_CORETYPE, OURS_CORETYPE } from './ours-coretype';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Autoencoder,
  backendInfo,
  setThreads,
  type PredictOptions,
  type WeightTensor,
} from 'native-autoencoder';
import { Canvas, type Color } from '../dist/cjs/cli/canvas';
import { flag, option } from './args';
import { PYTHON, torchAvailable, torchRun, torchWorkload as torchRequest, type TorchAnswer } from './torch';
import { ADAM_EPSILON, W1, W2, W3, buildWorkload, fitOptions, makeData, median, type WorkloadSpec } from './workloads';

// TensorFlow.js is loaded with require() and typed by the few calls used here: its own typings need
// the DOM and WebGL/WebGPU type libraries, which this project's tsconfig leaves out.
interface TfTensor {
  shape: number[];
  dataSync(): Float32Array;
  dispose(): void;
}
interface TfOptimizer {
  minimize(f: () => TfTensor, returnCost: boolean, varList: TfTensor[]): TfTensor | null;
  dispose(): void;
}
interface TF {
  version: Record<string, string>;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  env(): { getBool(flag: string): boolean };
  variable(t: TfTensor): TfTensor;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  tensor1d(values: Float32Array): TfTensor;
  scalar(value: number): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  mul(a: TfTensor, b: TfTensor | number): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  relu(a: TfTensor): TfTensor;
  sigmoid(a: TfTensor): TfTensor;
  tidy<T>(f: () => T): T;
  losses: {
    sigmoidCrossEntropy(labels: TfTensor, logits: TfTensor): TfTensor;
    meanSquaredError(labels: TfTensor, predictions: TfTensor): TfTensor;
  };
  train: { sgd(lr: number): TfOptimizer; adam(lr: number, beta1: number, beta2: number, epsilon: number): TfOptimizer };
}
type ORT = typeof import('onnxruntime-node');

// ---------------------------------------------------------------------------------------------
// Settings

const QUICK = flag('--quick');
const WITH_TORCH = !flag('--no-torch');
const WITH_TFJS = !flag('--no-tfjs');
const WITH_NATIVE_BENCH = !flag('--no-native-bench');
const TORCH_CORETYPE = option('--torch-coretype', 'auto');
/** Seconds the whole run should take at most: a slow TF.js run that would overrun it is skipped (and says so). */
const BUDGET_SECONDS = Number(option('--budget', QUICK ? '120' : '330'));
const OUT_DIR = path.resolve(option('--out', 'bench-results'));
const EPOCHS = 4; // one warm-up epoch, then the median of 3 timed epochs
/** Each window of the sgemm limit's torch.mm products lasts at least this long: about one timed epoch of W2 or W3. */
const SGEMM_WINDOW_SECONDS = 0.4;
const LOAD_AT_START = os.loadavg();
const THREADS = [1, 2];
const INFERENCE_ROWS = 1024;

/** torch.mm 2048³ beside one of our fits: the median of its windows, and its fastest single product (GFLOP/s). */
interface SustainedMm {
  sustained: number;
  fastestProduct: number;
}
/** The mean of one of the two rates before and after our fits. */
const meanBeside = (beside: { before: SustainedMm; after: SustainedMm }, rate: keyof SustainedMm) => (beside.before[rate] + beside.after[rate]) / 2;

interface Workload extends WorkloadSpec {
  /** Rows of the full protocol (our library and PyTorch). */
  rows: number;
  /** Rows each TF.js backend trains on; null: skipped (the reason is in `skip`). */
  tfjs: { wasm: number | null; cpu: number | null };
  skip: { wasm?: string; cpu?: string };
}

const WORKLOADS: Workload[] = [
  {
    ...W1,
    rows: QUICK ? 8192 : 65536,
    tfjs: { wasm: QUICK ? 2048 : 65536, cpu: QUICK ? 2048 : 8192 },
    skip: {},
  },
  {
    ...W2,
    rows: QUICK ? 1024 : 8192,
    tfjs: { wasm: QUICK ? 256 : 1024, cpu: 256 },
    skip: {},
  },
  {
    ...W3,
    rows: QUICK ? 512 : 1024,
    tfjs: { wasm: QUICK ? null : 512, cpu: null },
    skip: {
      cpu: 'pure-JavaScript matrix products (about 0.4 GFLOP/s) would take about 2 minutes per 512-row step',
      ...(QUICK ? { wasm: 'skipped in --quick' } : {}),
    },
  },
];

/** 2 × (3 × Σ in·out − in₁·out₁): forward, weight gradient, and input gradient except the first layer's. */
function trainFlops(w: Workload): number {
  let sum = 0;
  for (let i = 0; i + 1 < w.widths.length; i++) sum += w.widths[i] * w.widths[i + 1];
  return 2 * (3 * sum - w.widths[0] * w.widths[1]);
}

/** 2 × Σ in·out: one forward pass. */
function inferenceFlops(w: Workload): number {
  let sum = 0;
  for (let i = 0; i + 1 < w.widths.length; i++) sum += w.widths[i] * w.widths[i + 1];
  return 2 * sum;
}

const stepsOf = (w: Workload, rows: number) => EPOCHS * Math.ceil(rows / w.batch);

// ---------------------------------------------------------------------------------------------
// Helpers

const log = (...parts: unknown[]) => console.error('[bench]', ...parts);
const now = () => performance.now() / 1000;


const rowsOf = (x: Float32Array, cols: number, rows: number) => x.subarray(0, rows * cols);
/** The rows every system's loss is evaluated on: the first 64 before training, the first ≤ 256 trained rows after. */
const BEFORE_ROWS = 64;
const AFTER_ROWS = 256;
const afterRows = (rows: number) => Math.min(rows, AFTER_ROWS);

// ---------------------------------------------------------------------------------------------
// Results

interface TrainRow {
  workload: string;
  system: string;
  threads: number | null;
  rows: number;
  steps: number;
  epochSeconds: number[];
  samplesPerSecond: number;
  gflops: number;
  lossBefore: number;
  lossAfter: number;
  lastEpochLoss: number;
  /** CPU seconds per wall second over the timed epochs (all threads of the process): the cores it really got. */
  coresUsed: number | null;
  wallSeconds?: number;
  note?: string;
}

interface Skipped {
  workload: string;
  system: string;
  reason: string;
}

const trainRows: TrainRow[] = [];
const skipped: Skipped[] = [];
/** Our loss after training on the first `rows` rows for EPOCHS epochs: the reference for each peer. */
const ourLossAt = new Map<string, number>();

function trainRow(
  w: Workload,
  system: string,
  threads: number | null,
  rows: number,
  epochSeconds: number[],
  losses: { before: number; after: number; lastEpoch: number },
  coresUsed: number | null,
  extra: Partial<TrainRow> = {},
): TrainRow {
  const timed = epochSeconds.slice(1);
  const samplesPerSecond = rows / median(timed.length > 0 ? timed : epochSeconds);
  const row: TrainRow = {
    workload: w.name,
    system,
    threads,
    rows,
    steps: stepsOf(w, rows),
    epochSeconds,
    samplesPerSecond,
    gflops: (samplesPerSecond * trainFlops(w)) / 1e9,
    lossBefore: losses.before,
    lossAfter: losses.after,
    lastEpochLoss: losses.lastEpoch,
    coresUsed,
    ...extra,
  };
  trainRows.push(row);
  log(`${w.name} ${system}${threads ? ` ${threads}t` : ''}: ${Math.round(samplesPerSecond)} samples/s, ${row.gflops.toFixed(1)} GFLOP/s, ${coresUsed?.toFixed(2) ?? '?'} cores, loss ${losses.before.toFixed(5)} → ${losses.after.toFixed(5)}`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Our library

async function oursTrain(w: Workload, ae: Autoencoder, init: WeightTensor[], x: Float32Array): Promise<void> {
  const cols = w.widths[0];
  const before = rowsOf(x, cols, BEFORE_ROWS);
  for (const threads of THREADS) {
    setThreads(threads);
    ae.setWeights(init);
    const lossBefore = ae.evaluate(before, { loss: w.loss });
    // CPU time and wall time at each epoch's end, as the callbacks arrive (a few ms late at most).
    const marks: { wall: number; cpu: number }[] = [];
    const mark = () => {
      const c = process.cpuUsage();
      marks.push({ wall: now(), cpu: (c.user + c.system) / 1e6 });
    };
    const t0 = now();
    const history = await ae.fit(rowsOf(x, cols, w.rows), { ...fitOptions(w, EPOCHS), onEpochEnd: mark });
    const wallSeconds = now() - t0;
    const first = marks[0];
    const last = marks[marks.length - 1];
    // Too short a span (W1 in --quick) makes the callbacks' lateness and the GC threads dominate.
    const coresUsed = marks.length === EPOCHS && last.wall - first.wall > 0.25 ? (last.cpu - first.cpu) / (last.wall - first.wall) : null;
    const lossAfter = ae.evaluate(rowsOf(x, cols, afterRows(w.rows)), { loss: w.loss });
    trainRow(w, 'ours', threads, w.rows, history.epochs.map((e) => e.seconds), { before: lossBefore, after: lossAfter, lastEpoch: history.loss[history.loss.length - 1] }, coresUsed, { wallSeconds });
    if (threads === THREADS[THREADS.length - 1]) ourLossAt.set(`${w.name}:${w.rows}`, lossAfter);
  }
  // bfloat16 products on the two workloads whose matrix products dominate, at the most threads.
  const info = backendInfo();
  if (info.bf16 && w.name !== 'W1') {
    const threads = THREADS[THREADS.length - 1];
    setThreads(threads);
    ae.setWeights(init);
    const lossBefore = ae.evaluate(before, { loss: w.loss });
    const history = await ae.fit(rowsOf(x, cols, w.rows), fitOptions(w, EPOCHS, 'bf16'));
    const lossAfter = ae.evaluate(rowsOf(x, cols, afterRows(w.rows)), { loss: w.loss });
    trainRow(w, 'ours-bf16', threads, w.rows, history.epochs.map((e) => e.seconds), { before: lossBefore, after: lossAfter, lastEpoch: history.loss[history.loss.length - 1] }, null);
  } else if (w.name !== 'W1') skipped.push({ workload: w.name, system: 'ours-bf16', reason: info.bf16Reason });
  // The reference losses for the peers that train on fewer rows (untimed).
  for (const rows of [w.tfjs.wasm, w.tfjs.cpu]) {
    if (rows === null || ourLossAt.has(`${w.name}:${rows}`)) continue;
    ae.setWeights(init);
    await ae.fit(rowsOf(x, cols, rows), fitOptions(w, EPOCHS));
    ourLossAt.set(`${w.name}:${rows}`, ae.evaluate(rowsOf(x, cols, afterRows(rows)), { loss: w.loss }));
  }
}

// ---------------------------------------------------------------------------------------------
// TensorFlow.js: a custom training loop (minimize over the batches in order) on variables loaded
// with our initial weights.

async function tfjsTrain(tf: TF, backend: 'wasm' | 'cpu', w: Workload, init: WeightTensor[], x: Float32Array, rows: number): Promise<void> {
  await tf.setBackend(backend);
  await tf.ready();
  const cols = w.widths[0];
  const layers = w.widths.length - 1;
  const bce = w.loss === 'binaryCrossentropy';
  const vars: { kernel: TfTensor; bias: TfTensor }[] = [];
  for (let i = 0; i < layers; i++) {
    const [fanIn, out] = [w.widths[i], w.widths[i + 1]];
    const weight = init[2 * i].data; // [out, in]
    const kernel = new Float32Array(fanIn * out); // [in, out]
    for (let o = 0; o < out; o++) for (let k = 0; k < fanIn; k++) kernel[k * out + o] = weight[o * fanIn + k];
    vars.push({ kernel: tf.variable(tf.tensor2d(kernel, [fanIn, out])), bias: tf.variable(tf.tensor1d(init[2 * i + 1].data)) });
  }
  const varList = vars.flatMap((v) => [v.kernel, v.bias]);
  const forward = (input: TfTensor) => {
    let h = input;
    for (let i = 0; i < layers; i++) {
      h = tf.add(tf.matMul(h, vars[i].kernel), vars[i].bias);
      const act = w.activations[i];
      if (i === layers - 1 && bce) break; // cross-entropy from the logits, as our library computes it
      if (act === 'relu') h = tf.relu(h);
      else if (act === 'sigmoid') h = tf.sigmoid(h);
      else if (act !== 'linear') throw new Error(`activation ${act} not wired for TF.js`);
    }
    return h;
  };
  const lossOf = (input: TfTensor): TfTensor =>
    bce ? tf.losses.sigmoidCrossEntropy(input, forward(input)) : tf.losses.meanSquaredError(input, forward(input));
  const optimizer = w.optimizer === 'sgd' ? tf.train.sgd(w.learningRate) : tf.train.adam(w.learningRate, 0.9, 0.999, ADAM_EPSILON);
  const evalLoss = (n: number) => tf.tidy(() => lossOf(tf.tensor2d(rowsOf(x, cols, n), [n, cols])).dataSync()[0]);

  const lossBefore = evalLoss(BEFORE_ROWS);
  const batches: TfTensor[] = [];
  for (let s = 0; s < rows; s += w.batch) {
    const n = Math.min(w.batch, rows - s);
    batches.push(tf.tensor2d(x.subarray(s * cols, (s + n) * cols), [n, cols]));
  }
  const epochSeconds: number[] = [];
  let cpuSeconds = 0;
  let lastEpoch = NaN;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const t0 = now();
    const cpu0 = process.cpuUsage();
    let total = tf.scalar(0);
    for (const xb of batches) {
      const cost = optimizer.minimize(() => lossOf(xb), true, varList)!;
      const next = tf.tidy(() => tf.add(total, tf.mul(cost, xb.shape[0])));
      cost.dispose();
      total.dispose();
      total = next;
    }
    lastEpoch = total.dataSync()[0] / rows;
    total.dispose();
    epochSeconds.push(now() - t0);
    const cpu = process.cpuUsage(cpu0);
    if (epoch > 0) cpuSeconds += (cpu.user + cpu.system) / 1e6;
    log(`${w.name} tfjs-${backend} epoch ${epoch}: ${Math.round(rows / epochSeconds[epoch])} samples/s, loss ${lastEpoch.toFixed(5)}`);
  }
  const lossAfter = evalLoss(afterRows(rows));
  const timedSeconds = epochSeconds.slice(1).reduce((a, b) => a + b, 0);
  trainRow(w, `tfjs-${backend}`, 1, rows, epochSeconds, { before: lossBefore, after: lossAfter, lastEpoch }, cpuSeconds / timedSeconds);
  batches.forEach((b) => b.dispose());
  varList.forEach((v) => v.dispose());
  optimizer.dispose();
}

// ---------------------------------------------------------------------------------------------
// PyTorch, through bench/torch_reference.py

/** OpenBLAS kernels to force for PyTorch: Debian's OpenBLAS 0.3.21 falls back to generic 'Prescott' kernels on CPUs newer than it. */
function forcedCoretype(stockCore: string | null): string | null {
  if (TORCH_CORETYPE === 'stock') return null;
  if (TORCH_CORETYPE !== 'auto') return TORCH_CORETYPE;
  if (stockCore !== 'Prescott') return null;
  const flags = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  if (/\bavx512f\b/.test(flags) && /\bavx512bw\b/.test(flags)) return 'SkylakeX';
  if (/\bavx2\b/.test(flags) && /\bfma\b/.test(flags)) return 'Haswell';
  return null;
}

// ---------------------------------------------------------------------------------------------
// The native benchmark: the rate of exactly the step's matrix products through our GEMM.

interface NativeRow {
  workload: string;
  threads: number;
  samplesPerSecond: number;
  gflops: number;
  stepGemmGflops: number;
  loss: number;
}

function nativeBench(workloads: string[]): { header: string; rows: NativeRow[]; seconds: number } {
  const t0 = now();
  const run = spawnSync('bash', ['scripts/native-bench.sh', '--threads', '2', '--epochs', '1', '--workloads', workloads.join(',')], {
    encoding: 'utf8',
    cwd: path.join(__dirname, '..'),
  });
  if (run.status !== 0) throw new Error(`native benchmark failed: ${run.stderr}`);
  const rows: NativeRow[] = [];
  let header = '';
  for (const line of run.stdout.split('\n')) {
    if (line.startsWith('backend:')) header = line;
    const cells = line.split('|').map((c) => c.trim());
    if (/^W\d$/.test(cells[1] ?? '')) {
      rows.push({
        workload: cells[1],
        threads: Number(cells[2]),
        samplesPerSecond: Number(cells[3]),
        gflops: Number(cells[4]),
        stepGemmGflops: Number(cells[5]),
        loss: Number(cells[7]),
      });
    }
  }
  return { header, rows, seconds: now() - t0 };
}

/** A workload as PyTorch runs it in this benchmark: all its rows, EPOCHS epochs. */
const torchWorkload = (w: Workload) => torchRequest(w, { rows: w.rows, afterRows: afterRows(w.rows), epochs: EPOCHS });

/** Our bf16 product rate on 2048³ (oneDNN alone, and rounding from float32 as fits do), per thread count. */
function nativeBf16Rates(): { threads: number; alone: number; rounding: number; kernels: string }[] {
  const run = spawnSync('bash', ['scripts/native-bench.sh', '--threads', THREADS.join(','), '--bf16-gemm', '2048'], {
    encoding: 'utf8',
    cwd: path.join(__dirname, '..'),
  });
  if (run.status !== 0) throw new Error(`native bf16 benchmark failed: ${run.stderr}`);
  const rates = [];
  for (const line of run.stdout.split('\n')) {
    const m = /^bf16 products 2048\^3, (\d+) threads: ([\d.]+) GFLOP\/s \((.+) alone\), ([\d.]+) GFLOP\/s/.exec(line);
    if (m) rates.push({ threads: Number(m[1]), alone: Number(m[2]), kernels: m[3], rounding: Number(m[4]) });
  }
  return rates;
}

// ---------------------------------------------------------------------------------------------
// Inference: our predict / predictAsync against onnxruntime-node on the same 1,024 rows.

interface InferenceRow {
  workload: string;
  rows: number;
  ours: Record<string, number>; // 'predict 1t', 'predictAsync 1t', 'predict 2t', 'predictAsync 2t' → rows/s
  oursBest: number;
  oursBestHow: string;
  ort: Record<string, number>; // 'intra 1', 'intra 2' → rows/s
  ortBest: number;
  maxAbsDiff: number;
  /** predict with precision 'bf16' at the most threads, in the same rounds (W2, W3, where bf16 runs); not in oursBest. */
  bf16?: { rowsPerSecond: number; threads: number; maxAbsDiff: number };
}

interface Contender {
  name: string;
  /** Run before each of the contender's turns (untimed), e.g. to set the thread count. */
  prepare?: () => void;
  call: () => unknown | Promise<unknown>;
}

/**
 * Seconds per call of each contender, measured in alternating rounds: each round gives every
 * contender one untimed call and then a timed run of calls, so all of them see the same machine
 * (on this shared one a contender timed alone could catch a slow or a fast minute). The median
 * over the rounds of each contender's mean.
 */
async function timeInterleaved(contenders: Contender[], budgetSeconds: number): Promise<Record<string, number>> {
  const rounds = QUICK ? 5 : 15;
  const callsPerTurn = new Map<string, number>();
  for (const c of contenders) {
    c.prepare?.();
    await c.call();
    const t0 = now();
    await c.call();
    const once = Math.max(now() - t0, 1e-6);
    callsPerTurn.set(c.name, Math.max(1, Math.round(budgetSeconds / (rounds * contenders.length) / once)));
  }
  const means = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      c.prepare?.();
      await c.call();
      const calls = callsPerTurn.get(c.name)!;
      const t0 = now();
      for (let i = 0; i < calls; i++) await c.call();
      means.get(c.name)!.push((now() - t0) / calls);
    }
  }
  return Object.fromEntries(contenders.map((c) => [c.name, median(means.get(c.name)!)]));
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

async function inference(ort: ORT, w: Workload, ae: Autoencoder, x: Float32Array, dir: string): Promise<InferenceRow> {
  const cols = w.widths[0];
  const input = rowsOf(x, cols, INFERENCE_ROWS);
  const budget = QUICK ? 2 : 7;
  const mine = ae.predict(input).data;

  const file = path.join(dir, `${w.name}.onnx`);
  await ae.toONNX(file);
  const contenders: Contender[] = [];
  // Each library called each of its ways: ours into a new array, into the caller's (options.out) and
  // asynchronously; onnxruntime into a new tensor and into a preallocated one.
  const outputCols = w.widths[w.widths.length - 1];
  const into = new Float32Array(INFERENCE_ROWS * outputCols);
  for (const threads of THREADS) {
    const prepare = () => setThreads(threads);
    contenders.push({ name: `ours predict ${threads}t`, prepare, call: () => ae.predict(input) });
    contenders.push({ name: `ours predictOut ${threads}t`, prepare, call: () => ae.predict(input, { out: into }) });
    contenders.push({ name: `ours predictAsync ${threads}t`, prepare, call: () => ae.predictAsync(input) });
  }
  const bf16Threads = THREADS[THREADS.length - 1];
  let bf16Diff = 0;
  if (backendInfo().bf16 && w.name !== 'W1') {
    const rounded = ae.predict(input, { precision: 'bf16' }).data;
    bf16Diff = maxAbsDifference(rounded, mine);
    contenders.push({ name: 'bf16 predict', prepare: () => setThreads(bf16Threads), call: () => ae.predict(input, { precision: 'bf16' }) });
  }
  const sessions: Awaited<ReturnType<ORT['InferenceSession']['create']>>[] = [];
  let maxAbsDiff = 0;
  for (const threads of THREADS) {
    const session = await ort.InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    sessions.push(session);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [INFERENCE_ROWS, cols]) };
    const out = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
    maxAbsDiff = Math.max(maxAbsDiff, maxAbsDifference(out, mine));
    contenders.push({ name: `ort intra ${threads}`, call: () => session.run(feeds) });
    const preallocated = { [session.outputNames[0]]: new ort.Tensor('float32', new Float32Array(INFERENCE_ROWS * outputCols), [INFERENCE_ROWS, outputCols]) };
    contenders.push({ name: `ort intra ${threads} preallocated`, call: () => session.run(feeds, preallocated) });
  }
  const seconds = await timeInterleaved(contenders, budget);
  for (const session of sessions) await session.release();
  setThreads(THREADS[THREADS.length - 1]);

  const ours: Record<string, number> = {};
  const ortRates: Record<string, number> = {};
  for (const [name, s] of Object.entries(seconds)) {
    if (name.startsWith('ours ')) ours[name.slice('ours '.length)] = INFERENCE_ROWS / s;
    else if (name.startsWith('ort ')) ortRates[name.slice('ort '.length)] = INFERENCE_ROWS / s;
  }
  const [oursBestHow, oursBest] = Object.entries(ours).reduce((a, b) => (b[1] > a[1] ? b : a));
  const ortBest = Math.max(...Object.values(ortRates));
  const bf16 = seconds['bf16 predict'] ? { rowsPerSecond: INFERENCE_ROWS / seconds['bf16 predict'], threads: bf16Threads, maxAbsDiff: bf16Diff } : undefined;
  log(
    `${w.name} inference: ours ${Math.round(oursBest)} rows/s (${oursBestHow}), onnxruntime ${Math.round(ortBest)} rows/s, max |diff| ${maxAbsDiff.toExponential(1)}` +
      (bf16 ? `; bf16 predict ${Math.round(bf16.rowsPerSecond)} rows/s` : ''),
  );
  return { workload: w.name, rows: INFERENCE_ROWS, ours, oursBest, oursBestHow, ort: ortRates, ortBest, maxAbsDiff, bf16 };
}

/**
 * µs of a one-row predict from JavaScript (W1), as bench/api-vs-native.ts measures it, into a new
 * array or into `options.out`: the median and the best of the batch means.
 */
function predictLatency(ae: Autoencoder, row: Float32Array, options?: PredictOptions): { median: number; best: number } {
  for (let i = 0; i < 20_000; i++) ae.predict(row, options);
  const samples: number[] = [];
  for (let rep = 0; rep < (QUICK ? 7 : 21); rep++) {
    const n = 10_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) ae.predict(row, options);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  return { median: median(samples), best: Math.min(...samples) };
}

async function ortLatency(ort: ORT, file: string, row: Float32Array): Promise<{ median: number; best: number }> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', row, [1, row.length]) };
  for (let i = 0; i < 2000; i++) await session.run(feeds);
  const samples: number[] = [];
  for (let rep = 0; rep < (QUICK ? 5 : 11); rep++) {
    const n = 2000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  await session.release();
  return { median: median(samples), best: Math.min(...samples) };
}

// ---------------------------------------------------------------------------------------------
// Output

const fmtInt = (v: number) => Math.round(v).toLocaleString('en-US');
const fmtRate = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(v >= 100 ? 0 : 1));
const fmtLoss = (v: number) => (Number.isFinite(v) ? v.toFixed(6) : 'n/a');
const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

function table(header: string[], rows: (string | number)[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const PALETTE: Record<string, Color> = {
  ours: [31, 119, 180],
  torch: [214, 39, 40],
  'tfjs-wasm': [255, 127, 14],
  'tfjs-cpu': [148, 103, 189],
};

function drawChart(file: string, limits: Map<string, number>, subtitle: string): void {
  // The 5×7 font has letters, digits and . , : - + = ( ) / % only.
  const groups = WORKLOADS.map((w) => ({
    w,
    rows: trainRows.filter((r) => r.workload === w.name),
    skipped: skipped.filter((s) => s.workload === w.name),
  })).filter((g) => g.rows.length > 0);
  const barH = 22;
  const gap = 6;
  const left = 200;
  const width = 1240;
  const plotW = width - left - 330;
  const heights = groups.map((g) => 50 + (g.rows.length + g.skipped.length) * (barH + gap) + 50);
  const top = 104;
  const ink: Color = [0, 0, 0];
  const grey: Color = [110, 110, 110];
  const green: Color = [0, 130, 0];
  const canvas = new Canvas(width, top + heights.reduce((a, b) => a + b, 0) + 10);
  canvas.text('Training throughput in samples/s (higher is better)', 20, 14, ink, { scale: 3 });
  subtitle.split('\n').forEach((line, i) => canvas.text(line, 20, 50 + i * 22, grey, { scale: 2 }));
  let y = top;
  for (const [gi, g] of groups.entries()) {
    const w = g.w;
    const limit = limits.get(w.name);
    const oursBest = Math.max(...g.rows.filter((r) => r.system === 'ours').map((r) => r.samplesPerSecond));
    const scale = plotW / (Math.max(...g.rows.map((r) => r.samplesPerSecond), limit ?? 0) * 1.03);
    const title = `${w.name}   ${w.widths.join('-')}   ${w.loss === 'mse' ? 'MSE' : 'BCE'}, ${w.optimizer === 'sgd' ? 'SGD' : 'Adam'}, batch ${w.batch}`;
    canvas.text(title, 20, y + 10, ink, { scale: 2 });
    const y0 = y + 44;
    const lines = g.rows.length + g.skipped.length;
    const plotH = lines * (barH + gap);
    canvas.rect(left, y0 - 6, 1, plotH + 6, grey);
    if (limit !== undefined) {
      const x = Math.round(left + 1 + limit * scale);
      for (let yy = y0 - 10; yy < y0 + plotH; yy += 8) canvas.rect(x, yy, 2, 5, green);
      canvas.text(`our GEMM limit ${fmtRate(limit)}`, x, y0 + plotH + 6, green, { scale: 2, align: 'right' });
    }
    g.rows.forEach((r, i) => {
      const yy = y0 + i * (barH + gap);
      canvas.text(`${r.system}${r.threads ? ` ${r.threads} thr` : ''}`, left - 10, yy + 4, ink, { scale: 2, align: 'right' });
      const len = Math.max(2, r.samplesPerSecond * scale);
      canvas.rect(left + 1, yy, len, barH, PALETTE[r.system] ?? grey);
      const ratio = r.system === 'ours' ? '' : `   ours/this ${(oursBest / r.samplesPerSecond).toFixed(2)}x`;
      canvas.text(`${fmtRate(r.samplesPerSecond)}${ratio}`, left + len + 8, yy + 4, ink, { scale: 2 });
    });
    g.skipped.forEach((s, i) => {
      const yy = y0 + (g.rows.length + i) * (barH + gap);
      canvas.text(s.system, left - 10, yy + 4, grey, { scale: 2, align: 'right' });
      const reason = /pure-JavaScript/.test(s.reason)
        ? 'too slow (pure JavaScript)'
        : /^would take/.test(s.reason)
          ? 'over the time budget'
          : s.reason.replace(/[^A-Za-z0-9 .,:()+=/%-]/g, '');
      canvas.text(`not run: ${reason}`.slice(0, 80), left + 10, yy + 4, grey, { scale: 2 });
    });
    y += heights[gi];
  }
  fs.writeFileSync(file, canvas.toPNG());
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-compare-'));
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const info = backendInfo();
  if (INHERITED_CORETYPE !== undefined) {
    log(`OPENBLAS_CORETYPE=${INHERITED_CORETYPE} in the environment set aside: ours runs ${info.blasKernels} (--ours-coretype ${OURS_CORETYPE})`);
  }
  log(`backend: GEMM ${info.blas} (${info.gemmReason}), SIMD ${info.simd}, ${os.cpus().length} CPUs, load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}${QUICK ? ', --quick' : ''}`);

  // Data and initial weights, written for PyTorch.
  const data = new Map<string, Float32Array>();
  const inits = new Map<string, WeightTensor[]>();
  const models = new Map<string, Autoencoder>();
  WORKLOADS.forEach((w, i) => {
    const x = makeData(Math.max(w.rows, INFERENCE_ROWS), w.widths[0], 7 + i);
    data.set(w.name, x);
    const ae = buildWorkload(w);
    const init = ae.getWeights();
    models.set(w.name, ae);
    inits.set(w.name, init);
    fs.writeFileSync(path.join(tmp, `${w.name}.x.f32`), x);
    const fd = fs.openSync(path.join(tmp, `${w.name}.w.f32`), 'w');
    for (const t of init) fs.writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.closeSync(fd);
  });

  // 1. The GEMM limit: the native benchmark's step-GEMM rate (2 threads).
  let native: ReturnType<typeof nativeBench> | null = null;
  if (WITH_NATIVE_BENCH) {
    log('native benchmark (scripts/native-bench.sh --threads 2 --epochs 1) ...');
    native = nativeBench(QUICK ? ['W1', 'W2'] : ['W1', 'W2', 'W3']);
    log(`native benchmark: ${native.seconds.toFixed(0)} s`);
  } else skipped.push({ workload: 'all', system: 'GEMM limit', reason: '--no-native-bench' });
  const bf16Rates = info.bf16 && WITH_NATIVE_BENCH ? nativeBf16Rates() : [];

  // 2. Training, one workload at a time (so that the systems compared meet similar load on this
  // shared machine): our library (1 and 2 threads), PyTorch (1 and 2 threads), TF.js wasm and cpu.
  let torchStock: TorchAnswer | null = null;
  let torchMm: TorchAnswer | null = null;
  let torchCore: string | null = null;
  let torchNote = '';
  const torchVersion = WITH_TORCH ? torchAvailable() : null;
  if (!WITH_TORCH) torchNote = '--no-torch';
  else if (!torchVersion) torchNote = `PyTorch is not importable by ${PYTHON} (import torch, numpy failed)`;
  const torchEnv = { ...process.env };
  delete torchEnv.OPENBLAS_CORETYPE;
  if (torchVersion) {
    log(`PyTorch ${torchVersion}: torch.mm 2048³ rate, stock OpenBLAS ...`);
    torchStock = torchRun({ dir: tmp, threads: THREADS, sgemm: { n: 2048, reps: QUICK ? 1 : 2 }, workloads: [] }, torchEnv);
    torchCore = forcedCoretype(torchStock.blasCore);
    if (torchCore) {
      torchEnv.OPENBLAS_CORETYPE = torchCore;
      log(`PyTorch: stock OpenBLAS runs ${torchStock.blasCore} kernels here; OPENBLAS_CORETYPE=${torchCore} from now on`);
      torchMm = torchRun({ dir: tmp, threads: THREADS, sgemm: { n: 2048, reps: 3 }, workloads: [] }, torchEnv);
    } else torchMm = torchStock;
  }
  const torchBf16 = torchVersion ? torchRun({ dir: tmp, threads: THREADS, bf16mm: { n: 2048, reps: 3 }, workloads: [] }, torchEnv) : null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = WITH_TFJS ? (require('@tensorflow/tfjs') as TF) : null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (WITH_TFJS) require('@tensorflow/tfjs-backend-wasm');

  // The sgemm limit of each workload's targets: torch.mm 2048³ on 2 threads just before and just
  // after our fits of it, so that the reference meets the load our fits met (this machine's speed
  // moves by a third within minutes; the rate at the run's start is reported beside it). Each side
  // is the median of 3 windows of products lasting SGEMM_WINDOW_SECONDS, about one of our timed
  // epochs, as our rate is the median of 3 epochs. The fastest single product, a best of short
  // samples that picks this machine's fast moments, is reported beside it.
  const besideMm = new Map<string, { before: SustainedMm; after: SustainedMm }>();
  const largeSgemm = (): SustainedMm => {
    const threads = THREADS[THREADS.length - 1];
    const sgemm = { n: 2048, reps: QUICK ? 1 : 3, windowSeconds: SGEMM_WINDOW_SECONDS };
    const rates = torchRun({ dir: tmp, threads: [threads], sgemm, workloads: [] }, torchEnv).sgemm[String(threads)];
    return { sustained: rates.median, fastestProduct: rates.bestProduct };
  };
  for (const w of WORKLOADS) {
    const before = torchVersion ? largeSgemm() : null;
    await oursTrain(w, models.get(w.name)!, inits.get(w.name)!, data.get(w.name)!);
    if (before) besideMm.set(w.name, { before, after: largeSgemm() });
    if (torchVersion) {
      const answer = torchRun(
        {
          dir: tmp,
          threads: THREADS,
          beforeRows: BEFORE_ROWS,
          workloads: [torchWorkload(w)],
        },
        torchEnv,
      );
      for (const [threads, r] of Object.entries(answer.workloads[w.name] ?? {})) {
        const sum = (v: number[]) => v.slice(1).reduce((a, b) => a + b, 0);
        const losses = { before: r.lossBefore, after: r.lossAfter, lastEpoch: r.epochLoss[r.epochLoss.length - 1] };
        trainRow(w, 'torch', Number(threads), w.rows, r.epochSeconds, losses, sum(r.epochCpuSeconds) / sum(r.epochSeconds));
      }
      if (w.name !== 'W1') {
        const threads = THREADS[THREADS.length - 1];
        const bf16 = torchRun({ dir: tmp, threads: [threads], beforeRows: BEFORE_ROWS, workloads: [{ ...torchWorkload(w), autocast: 'bf16' }] }, torchEnv);
        for (const [t, r] of Object.entries(bf16.workloads[w.name] ?? {})) {
          const sum = (v: number[]) => v.slice(1).reduce((a, b) => a + b, 0);
          const losses = { before: r.lossBefore, after: r.lossAfter, lastEpoch: r.epochLoss[r.epochLoss.length - 1] };
          trainRow(w, 'torch-bf16', Number(t), w.rows, r.epochSeconds, losses, sum(r.epochCpuSeconds) / sum(r.epochSeconds));
        }
      }
    } else skipped.push({ workload: w.name, system: 'torch', reason: torchNote });
    for (const backend of ['wasm', 'cpu'] as const) {
      const rows = w.tfjs[backend];
      if (!tf) skipped.push({ workload: w.name, system: `tfjs-${backend}`, reason: '--no-tfjs' });
      else if (rows === null) skipped.push({ workload: w.name, system: `tfjs-${backend}`, reason: w.skip[backend] ?? 'skipped' });
      else {
        // Project this run's time from the GFLOP/s this backend reached on the workloads before;
        // about 30 s stay for inference and the latencies.
        const reached = trainRows.filter((r) => r.system === `tfjs-${backend}`).map((r) => r.gflops);
        const flops = EPOCHS * rows * trainFlops(w) + (BEFORE_ROWS + afterRows(rows)) * inferenceFlops(w);
        const projected = reached.length > 0 ? flops / (Math.max(...reached) * 1e9) : 0;
        const left = BUDGET_SECONDS - (now() - started) - 30;
        if (projected > left) {
          skipped.push({ workload: w.name, system: `tfjs-${backend}`, reason: `would take about ${projected.toFixed(0)} s at the ${Math.max(...reached).toFixed(2)} GFLOP/s it reached on the smaller workloads, ${Math.max(0, left).toFixed(0)} s left of the --budget ${BUDGET_SECONDS} s` });
        } else {
          if (projected > 20) log(`${w.name} tfjs-${backend}: about ${projected.toFixed(0)} s ...`);
          await tfjsTrain(tf, backend, w, inits.get(w.name)!, data.get(w.name)!, rows);
        }
      }
    }
  }

  // 5. Inference against onnxruntime-node, and one-row latencies.
  const ort = (await import('onnxruntime-node')) as ORT;
  const inferenceRows: InferenceRow[] = [];
  for (const w of WORKLOADS) inferenceRows.push(await inference(ort, w, models.get(w.name)!, data.get(w.name)!, tmp));
  const w1 = WORKLOADS[0];
  const row1 = rowsOf(data.get('W1')!, w1.widths[0], 1).slice();
  const latency: Record<string, { median: number; best: number }> = {};
  for (const threads of THREADS) {
    setThreads(threads);
    latency[`ours ${threads}t`] = predictLatency(models.get('W1')!, row1);
    latency[`ours ${threads}t, options.out`] = predictLatency(models.get('W1')!, row1, { out: new Float32Array(w1.widths.at(-1)!) });
  }
  latency['onnxruntime intra 1'] = await ortLatency(ort, path.join(tmp, 'W1.onnx'), row1);
  setThreads(os.cpus().length);

  // ---------------------------------------------------------------------------------------------
  // Tables
  const gemm = new Map((native?.rows ?? []).map((r) => [r.workload, r]));
  const limits = new Map<string, number>();
  for (const w of WORKLOADS) {
    const g = gemm.get(w.name);
    if (g) limits.set(w.name, (g.stepGemmGflops * 1e9) / trainFlops(w));
  }
  const torchRates = torchMm?.sgemm ?? {};
  const torchMmBest = Math.max(0, ...Object.values(torchRates).map((s) => s.best));
  const torchStockBest = Math.max(0, ...Object.values(torchStock?.sgemm ?? {}).map((s) => s.best));

  const out: string[] = [];
  out.push(`# native-autoencoder side-by-side benchmark${QUICK ? ' (--quick)' : ''}`);
  out.push('');
  out.push(`Machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} CPUs, load average ${LOAD_AT_START[0].toFixed(2)} at the start and ${os.loadavg()[0].toFixed(2)} at the end (shared: timings are noisy; compare ratios within this run).`);
  out.push(`Ours: GEMM ${info.blas} (${info.blasKernels} kernels${OURS_CORETYPE === 'auto' ? '' : `, --ours-coretype ${OURS_CORETYPE}`}), SIMD ${info.simd}${native ? `; native benchmark: ${native.header.replace(/^backend: /, '')}` : ''}.`);
  if (torchMm) out.push(`PyTorch ${torchMm.torch}: OpenBLAS kernels ${torchMm.blasCore}${torchCore ? ` (OPENBLAS_CORETYPE=${torchCore}; stock: ${torchStock?.blasCore})` : ''}, set_flush_denormal(True), Adam eps ${ADAM_EPSILON}.`);
  else out.push(`PyTorch: not run (${torchNote}).`);
  out.push(`Training: ${EPOCHS} epochs in order (no shuffle), samples/s = rows / median of epochs 2-4; loss = mean loss over the first ≤${AFTER_ROWS} trained rows after all steps (every system evaluates its own weights).`);
  out.push('');
  out.push('## GEMM limits (measured in this run)');
  out.push('');
  out.push(
    table(
      [
        'workload',
        'training FLOPs/sample',
        'our step GEMMs alone, 2 thr (GFLOP/s)',
        'limit (samples/s)',
        'torch.mm 2048³ best, at the start (GFLOP/s)',
        'torch.mm 2048³ before / after our fits: median window (fastest product), GFLOP/s',
        'sgemm limit at the windows\' mean (samples/s)',
      ],
      WORKLOADS.map((w) => {
        const g = gemm.get(w.name);
        const beside = besideMm.get(w.name);
        return [
          w.name,
          fmtInt(trainFlops(w)),
          g ? g.stepGemmGflops.toFixed(1) : 'n/a',
          g ? fmtInt(limits.get(w.name)!) : 'n/a',
          torchMmBest > 0 ? torchMmBest.toFixed(1) : 'n/a',
          beside
            ? `${beside.before.sustained.toFixed(1)} (${beside.before.fastestProduct.toFixed(1)}) / ${beside.after.sustained.toFixed(1)} (${beside.after.fastestProduct.toFixed(1)})`
            : 'n/a',
          beside ? fmtInt((meanBeside(beside, 'sustained') * 1e9) / trainFlops(w)) : 'n/a',
        ];
      }),
    ),
  );
  if (torchStock) {
    out.push('');
    out.push(
      `torch.mm 2048³ GFLOP/s by threads: ${Object.entries(torchRates).map(([t, s]) => `${t} thr ${s.best.toFixed(1)}`).join(', ')}` +
        (torchCore ? ` (${torchMm?.blasCore} kernels); stock OpenBLAS (${torchStock.blasCore}): ${Object.entries(torchStock.sgemm).map(([t, s]) => `${t} thr ${s.best.toFixed(1)}`).join(', ')}` : ''),
    );
  }
  if (native) {
    out.push('');
    out.push(`Native benchmark (C++, same workloads, 2 threads, its own rows): ${native.rows.map((r) => `${r.workload} ${fmtInt(r.samplesPerSecond)} samples/s = ${pct(r.gflops / r.stepGemmGflops)} of its step-GEMM rate`).join('; ')}.`);
  }
  out.push('');
  out.push('## Training');
  out.push('');
  const trainTable: (string | number)[][] = [];
  for (const w of WORKLOADS) {
    const rows = trainRows.filter((r) => r.workload === w.name);
    const ours = rows.filter((r) => r.system === 'ours');
    const oursBest = Math.max(...ours.map((r) => r.samplesPerSecond));
    const limit = limits.get(w.name);
    for (const r of rows) {
      const ref = ourLossAt.get(`${w.name}:${r.rows}`);
      trainTable.push([
        w.name,
        r.system,
        r.threads ?? '',
        `${fmtInt(r.rows)} × ${EPOCHS} (${r.steps})`,
        fmtInt(r.samplesPerSecond),
        r.coresUsed === null ? 'n/a' : r.coresUsed.toFixed(2),
        r.coresUsed ? fmtInt(r.samplesPerSecond / r.coresUsed) : 'n/a',
        r.gflops.toFixed(2),
        limit ? pct(r.samplesPerSecond / limit) : 'n/a',
        r.system === 'ours' ? '' : `${(oursBest / r.samplesPerSecond).toFixed(2)}×`,
        fmtLoss(r.lossBefore),
        fmtLoss(r.lossAfter),
        ref === undefined ? 'n/a' : r.system === 'ours' && r.rows === w.rows ? (r.threads === THREADS[THREADS.length - 1] ? 'ref' : `${(((r.lossAfter - ref) / ref) * 100).toFixed(3)}%`) : `${(((r.lossAfter - ref) / ref) * 100).toFixed(3)}%`,
      ]);
    }
    for (const s of skipped.filter((s) => s.workload === w.name)) trainTable.push([w.name, s.system, '', '—', '—', '—', '—', '—', '—', '—', '—', '—', `not run: ${s.reason}`]);
  }
  out.push(
    table(
      ['workload', 'system', 'threads', 'rows × epochs (steps)', 'samples/s', 'cores used', 'per core', 'GFLOP/s', 'of our GEMM limit', 'ours best ÷ this', 'loss before', 'loss after steps', 'Δ loss vs ours, same steps'],
      trainTable,
    ),
  );
  out.push('');
  out.push(
    [
      'cores used: CPU seconds per wall second of the whole process over the timed epochs 2-4; below the thread count means the other load on this shared machine took the difference.',
      'per core: samples/s ÷ cores used (a rough correction for that load).',
      '"of our GEMM limit": samples/s ÷ the limit above (measured at another moment, so it can pass 100% when the load changed in between).',
      '"ours best ÷ this": our better thread count against this row.',
      `"loss before": on the first ${BEFORE_ROWS} rows with the initial weights (equal: same weights and data). "loss after steps": on the first ≤${AFTER_ROWS} trained rows after all steps; Δ against our loss after the same steps on the same rows.`,
    ].join(' '),
  );
  const oursRefs = WORKLOADS.flatMap((w) => [...new Set([w.tfjs.wasm, w.tfjs.cpu])].filter((r): r is number => r !== null && r !== w.rows).map((r) => `${w.name} on ${fmtInt(r)} rows: ${fmtLoss(ourLossAt.get(`${w.name}:${r}`) ?? NaN)}`));
  if (oursRefs.length > 0) out.push('', `Our losses after the same steps on the TF.js row counts (2 threads, untimed): ${oursRefs.join('; ')}.`);
  out.push('');
  out.push('## bfloat16 (precision: \'bf16\')');
  out.push('');
  const torchBf16Rates = Object.entries(torchBf16?.bf16mm ?? {});
  out.push(
    [
      bf16Rates.length > 0
        ? `Our bf16 products on 2048³ (${bf16Rates[0].kernels}): ${bf16Rates.map((r) => `${r.threads} thr ${r.alone.toFixed(0)} GFLOP/s alone, ${r.rounding.toFixed(0)} rounding from float32`).join('; ')}.`
        : `Our bf16 products: not run (${!info.bf16 ? info.bf16Reason : WITH_NATIVE_BENCH ? 'the native benchmark printed no rates' : '--no-native-bench'}).`,
      torchBf16Rates.length > 0 ? `PyTorch torch.mm in bfloat16 on 2048³: ${torchBf16Rates.map(([t, r]) => `${t} thr ${r.best.toFixed(0)} GFLOP/s`).join('; ')}.` : '',
      'The training rows ours-bf16 and torch-bf16 (CPU autocast) are in the table above; their "of our GEMM limit" column is against the float32 limit.',
    ]
      .filter(Boolean)
      .join(' '),
  );
  out.push('');
  out.push(`## Inference: encode + decode of ${fmtInt(INFERENCE_ROWS)} rows (rows/s)`);
  out.push('');
  out.push(
    table(
      ['workload', 'ours predict 1 thr', 'ours predict 2 thr', 'ours predict into options.out (best thr)', 'ours predictAsync (best thr)', 'ours best', 'onnxruntime intra 1', 'onnxruntime intra 2', 'onnxruntime into a preallocated output (best intra)', 'onnxruntime best', 'ours ÷ onnxruntime', 'ours GFLOP/s', 'max |Δ output|'],
      inferenceRows.map((r) => {
        const w = WORKLOADS.find((x) => x.name === r.workload)!;
        const bestOf = (rates: Record<string, number>, test: (key: string) => boolean) => {
          const key = Object.keys(rates)
            .filter(test)
            .reduce((a, b) => (rates[b] > rates[a] ? b : a));
          return `${fmtInt(rates[key])} (${key.match(/\d+t?/)![0]})`;
        };
        return [
          r.workload,
          fmtInt(r.ours['predict 1t']),
          fmtInt(r.ours['predict 2t']),
          bestOf(r.ours, (k) => k.startsWith('predictOut')),
          bestOf(r.ours, (k) => k.startsWith('predictAsync')),
          `${fmtInt(r.oursBest)} (${r.oursBestHow})`,
          fmtInt(r.ort['intra 1']),
          fmtInt(r.ort['intra 2']),
          bestOf(r.ort, (k) => k.endsWith('preallocated')),
          fmtInt(r.ortBest),
          `${(r.oursBest / r.ortBest).toFixed(2)}×`,
          ((r.oursBest * inferenceFlops(w)) / 1e9).toFixed(1),
          r.maxAbsDiff.toExponential(1),
        ];
      }),
    ),
  );
  out.push('');
  out.push(`Every rate above: the median over ${QUICK ? 5 : 15} rounds in which each contender (each of our ways to call at each thread count, onnxruntime's at each of its) took its turn, so all of them met the same machine load.`);
  out.push('');
  const bf16Inference = inferenceRows.filter((r) => r.bf16);
  if (bf16Inference.length > 0) {
    out.push(
      `predict with precision 'bf16' (in the same rounds; not in "ours best"): ` +
        bf16Inference
          .map((r) => `${r.workload} ${fmtInt(r.bf16!.rowsPerSecond)} rows/s on ${r.bf16!.threads} thr, ${(r.bf16!.rowsPerSecond / r.ours[`predict ${r.bf16!.threads}t`]).toFixed(2)}× our float32 predict and ${(r.bf16!.rowsPerSecond / r.ortBest).toFixed(2)}× onnxruntime, max |Δ output| ${r.bf16!.maxAbsDiff.toExponential(1)}`)
          .join('; ') +
        '.',
    );
    out.push('');
  }
  out.push(
    `One-row predict on W1 from JavaScript, median of the means of ${QUICK ? 7 : 21} batches of 10,000 calls (onnxruntime: ${QUICK ? 5 : 11} of 2,000 awaited runs), best batch mean in brackets: ${Object.entries(latency)
      .map(([k, v]) => `${k} ${v.median.toFixed(2)} µs (${v.best.toFixed(2)})`)
      .join('; ')}.`,
  );

  // Targets
  const oursRow = (name: string, threads: number) => trainRows.find((r) => r.workload === name && r.system === 'ours' && r.threads === threads);
  const oursBestOf = (name: string) => Math.max(...trainRows.filter((r) => r.workload === name && r.system === 'ours').map((r) => r.samplesPerSecond));
  const targets: [string, string, boolean | null][] = [];
  targets.push(['W1 ≥ 2 M samples/s', `${fmtRate(oursBestOf('W1'))} samples/s${QUICK ? ' (--quick rows)' : ''}`, oursBestOf('W1') >= 2e6]);
  // The issue's sgemm limit is a large sgemm's rate on 2 threads (torch.mm 2048³, in this run); our
  // step's products alone, a different limit (lower while the built-in GEMM stands in for OpenBLAS's
  // generic kernels), stand in where PyTorch is absent and are shown beside it. `share` writes a
  // rate's share of a limit (85%, 2.18×), `ofOwn` its share of our step-GEMM limit. The share of
  // the limit at torch.mm's fastest single products is shown too.
  const againstSgemmLimit = (name: string, samplesPerSecond: number, share: (x: number) => string, ofOwn: (x: number) => string) => {
    const w = WORKLOADS.find((x) => x.name === name)!;
    const beside = besideMm.get(name);
    const mmRate = beside ? meanBeside(beside, 'sustained') : torchMmBest;
    const sgemmLimit = mmRate > 0 ? (mmRate * 1e9) / trainFlops(w) : undefined;
    const ownLimit = limits.get(name);
    const limit = sgemmLimit ?? ownLimit;
    if (!limit) return undefined;
    const at = !sgemmLimit
      ? 'our step-GEMM rate'
      : beside
        ? `torch.mm's ${mmRate.toFixed(0)} GFLOP/s, the mean of the median windows ${beside.before.sustained.toFixed(0)} before and ${beside.after.sustained.toFixed(0)} after our fits`
        : `torch.mm's ${mmRate.toFixed(0)} GFLOP/s`;
    const fastest = beside ? (meanBeside(beside, 'fastestProduct') * 1e9) / trainFlops(w) : undefined;
    const own =
      (fastest ? `; ${share(samplesPerSecond / fastest)} at its fastest single products` : '') +
      (sgemmLimit && ownLimit ? `; ${ofOwn(samplesPerSecond / ownLimit)}` : '');
    return { ratio: samplesPerSecond / limit, text: `${share(samplesPerSecond / limit)} (${fmtInt(samplesPerSecond)} of ${fmtInt(limit)} samples/s at ${at}${own})` };
  };
  for (const [name, goal] of [['W2', 0.75], ['W3', 0.85]] as const) {
    const r = oursRow(name, 2);
    const against = r && againstSgemmLimit(name, r.samplesPerSecond, pct, (x) => `${pct(x)} of our step-GEMM limit`);
    targets.push([`${name} ≥ ${pct(goal)} of the sgemm limit (2 thr)`, against ? against.text : 'not measured', against ? against.ratio >= goal : null]);
  }
  for (const r of inferenceRows) targets.push([`${r.workload} inference ≥ onnxruntime-node`, `${(r.oursBest / r.ortBest).toFixed(2)}× (${fmtInt(r.oursBest)} vs ${fmtInt(r.ortBest)} rows/s)`, r.oursBest >= r.ortBest]);
  const bestLatency = Math.min(latency['ours 1t'].median, latency['ours 2t'].median);
  const bestMean = Math.min(latency['ours 1t'].best, latency['ours 2t'].best);
  const intoOut = Math.min(latency['ours 1t, options.out'].median, latency['ours 2t, options.out'].median);
  targets.push(['one-row predict < 3 µs (median)', `${bestLatency.toFixed(2)} µs (best batch mean ${bestMean.toFixed(2)} µs); into options.out ${intoOut.toFixed(2)} µs`, bestLatency < 3]);
  const w3a = oursRow('W3', 1);
  const w3b = oursRow('W3', 2);
  targets.push(['W3 2 threads ≥ 1.8× 1 thread', w3a && w3b ? `${(w3b.samplesPerSecond / w3a.samplesPerSecond).toFixed(2)}× (the runs got ${w3a.coresUsed?.toFixed(2) ?? '?'} and ${w3b.coresUsed?.toFixed(2) ?? '?'} cores)` : 'not measured', w3a && w3b ? w3b.samplesPerSecond / w3a.samplesPerSecond >= 1.8 : null]);
  const systemRow = (name: string, system: string) => trainRows.find((r) => r.workload === name && r.system === system);
  // The issue's stretch target: bf16 training that beats the float32 limit on W3 (W2 beside it).
  // Earlier runs also held it against 2× on W3 and 1.5× on W2, which AMX-BF16 reached; with
  // AVX512-BF16 alone bf16 products run at about twice a float32 product's rate, so 2× would need
  // a step with nothing but products in it.
  for (const name of ['W3', 'W2'] as const) {
    const r = systemRow(name, 'ours-bf16');
    const torch = systemRow(name, 'torch-bf16');
    const f32 = oursRow(name, THREADS[THREADS.length - 1]);
    const against = r && againstSgemmLimit(name, r.samplesPerSecond, (x) => `${x.toFixed(2)}×`, (x) => `${x.toFixed(2)}× our step-GEMM limit`);
    targets.push([
      `${name} bf16 beats the float32 sgemm limit`,
      against ? against.text : `not measured${info.bf16 ? '' : ` (${info.bf16Reason})`}`,
      against ? against.ratio > 1 : null,
    ]);
    targets.push([`${name} bf16 ahead of PyTorch bf16 autocast`, r && torch ? `${(r.samplesPerSecond / torch.samplesPerSecond).toFixed(2)}× (${fmtInt(r.samplesPerSecond)} vs ${fmtInt(torch.samplesPerSecond)} samples/s)` : 'not measured', r && torch ? r.samplesPerSecond > torch.samplesPerSecond : null]);
    // One start's gap swings by several percent with the trajectory (float32's own does, from weights
    // rounded once to bf16), so the 1% target is judged on the mean over starts, in bf16-loss.ts.
    targets.push([
      `${name} bf16 loss against float32 after the same ${f32?.steps ?? ''} steps, this start (the 1% target: the mean over starts of \`npm run bench:bf16-loss\`)`,
      r && f32 ? `${(((r.lossAfter - f32.lossAfter) / f32.lossAfter) * 100).toFixed(3)}%${torch ? ` (PyTorch's autocast: ${(((torch.lossAfter - f32.lossAfter) / f32.lossAfter) * 100).toFixed(3)}%)` : ''}` : 'not measured',
      null,
    ]);
  }
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push(table(['target', 'measured', 'met'], targets.map(([t, m, ok]) => [t, m, ok === null ? 'n/a' : ok ? 'yes' : 'NO'])));
  if (skipped.length > 0) {
    out.push('');
    out.push('Not measured: ' + skipped.map((s) => `${s.system} ${s.workload} (${s.reason})`).join('; ') + '.');
  }
  const seconds = now() - started;
  out.push('');
  out.push(`Total time ${seconds.toFixed(0)} s. Results: ${path.relative(process.cwd(), path.join(OUT_DIR, 'compare.json'))}, ${path.relative(process.cwd(), path.join(OUT_DIR, 'compare.png'))}.`);
  console.log(out.join('\n'));

  const json = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: { cpu: os.cpus()[0]?.model, cpus: os.cpus().length, loadAverageAtStart: LOAD_AT_START, loadAverageAtEnd: os.loadavg() },
    backend: info,
    epochs: EPOCHS,
    workloads: WORKLOADS.map((w) => ({ ...w, trainFlopsPerSample: trainFlops(w), inferenceFlopsPerRow: inferenceFlops(w) })),
    nativeBench: native,
    limits: Object.fromEntries(limits),
    torch: torchMm ? { version: torchMm.torch, blasCore: torchMm.blasCore, openblasCoretype: torchCore, sgemm: torchMm.sgemm, stockBlasCore: torchStock?.blasCore, stockSgemm: torchStock?.sgemm, besideOurFits: Object.fromEntries(besideMm) } : { skipped: torchNote },
    torchStockSgemmBest: torchStockBest,
    bf16: { ours: bf16Rates, torchMm: torchBf16?.bf16mm ?? null },
    training: trainRows,
    ourLossAt: Object.fromEntries(ourLossAt),
    inference: inferenceRows,
    predictLatencyMicroseconds: latency,
    targets: targets.map(([target, measured, met]) => ({ target, measured, met })),
    skipped,
    seconds,
  };
  fs.writeFileSync(path.join(OUT_DIR, 'compare.json'), `${JSON.stringify(json, null, 2)}\n`);
  drawChart(
    path.join(OUT_DIR, 'compare.png'),
    limits,
    `Median of 3 epochs after a warm-up, same data, initial weights and steps in every system.${QUICK ? ' (--quick)' : ''}\n` +
      `${os.cpus().length} shared CPUs. Dashed green: our step-GEMM limit at 2 threads (native benchmark, same run).`,
  );
  for (const ae of models.values()) ae.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
