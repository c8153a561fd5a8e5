// How far precision 'bf16' lands from float32 in loss, by the speed benchmark's measure: the same data
// and steps as `npm run bench` (W2 128 steps, W3 8), then the loss on the first 256 rows.
//
// Two studies:
// - steps: from the benchmark's initial weights, the gap after more step counts, one fit per count.
// - starts: at the benchmark's step counts, from --starts sets of initial weights drawn from the same
//   initializers (start 1 is the benchmark's). Each start trains float32, bf16, and, as a control with
//   no bf16 arithmetic in it, float32 from its initial weights rounded once to bf16. The control shows
//   how far float32's own loss moves when the weights move by bf16's rounding; the mean of the bf16
//   gaps over the starts is what bf16's precision costs, with a 95% interval. Where PyTorch imports,
//   it trains each start too, in float32 and under its CPU bf16 autocast: autocast's gaps against
//   PyTorch's float32, and PyTorch's float32 against ours (two float32 fits that differ only in
//   how their products round).
//   npm run bench:bf16-loss [-- --starts N --w2-epochs N --w3-epochs N --no-torch]
//   (defaults 32 starts; the step study's longest fits 12 and 64 epochs; --starts 0 skips that study)
// Writes bench-results/bf16-loss.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backendInfo, setThreads, type Autoencoder, type WeightTensor } from 'native-autoencoder';
import { flag, integerOption } from './args';
import { torchAvailable, torchRun, torchWorkload } from './torch';
import { W2, W3, buildWorkload, fitOptions, makeData, type WorkloadSpec } from './workloads';

const STARTS = integerOption('--starts', 32, 0);
if (STARTS > 0 && STARTS < 4) throw new RangeError('--starts must be 0 (no start study) or at least 4, for a 95% interval');
const TORCH = !flag('--no-torch') && torchAvailable() !== null;

// Rows and data seeds as compare.ts gives these two workloads (seed 7 + the workload's index there);
// benchEpochs as its fits run (a warm-up and 3 timed epochs).
const plans: { w: WorkloadSpec; rows: number; seed: number; epochs: number; benchEpochs: number }[] = [
  { w: W2, rows: 8192, seed: 8, epochs: integerOption('--w2-epochs', 12, 1), benchEpochs: 4 },
  { w: W3, rows: 1024, seed: 9, epochs: integerOption('--w3-epochs', 64, 1), benchEpochs: 4 },
];
const EVAL_ROWS = 256;

type Precision = 'float32' | 'bf16';

/** Each value rounded to the nearest bfloat16 (ties to even), as the bf16 products round their operands. */
function roundToBf16(values: Float32Array): Float32Array {
  const bits = new Uint32Array(Float32Array.from(values).buffer);
  for (let i = 0; i < bits.length; i++) {
    const lsb = (bits[i] >>> 16) & 1;
    bits[i] = ((bits[i] + 0x7fff + lsb) >>> 0) & 0xffff0000;
  }
  return new Float32Array(bits.buffer);
}

const gapPercent = (loss: number, float32: number) => ((loss - float32) / float32) * 100;

/** Student's t quantile for a two-sided 95% interval (Cornish-Fisher expansion; within 0.01 for df ≥ 3). */
function t975(df: number): number {
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

/** Gaps over STARTS (at least 4) starts: their mean with its 95% interval, and their spread. */
function summary(gaps: number[]) {
  const n = gaps.length;
  const mean = gaps.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return {
    mean,
    sd,
    interval95: [mean - half, mean + half],
    withinOnePercent: gaps.filter((g) => Math.abs(g) < 1).length / n,
    largest: Math.max(...gaps.map(Math.abs)),
  };
}

const describe = (s: ReturnType<typeof summary>) =>
  `mean ${s.mean.toFixed(2)}% (95% interval ${s.interval95[0].toFixed(2)}% to ${s.interval95[1].toFixed(2)}%), ` +
  `sd ${s.sd.toFixed(2)}%, within 1% in ${(s.withinOnePercent * 100).toFixed(0)}% of starts, largest ${s.largest.toFixed(2)}%`;

async function lossAfter(ae: Autoencoder, weights: WeightTensor[], x: Float32Array, w: WorkloadSpec, epochs: number, precision: Precision) {
  ae.setWeights(weights);
  await ae.fit(x, fitOptions(w, epochs, precision));
  return ae.evaluate(x.subarray(0, EVAL_ROWS * w.widths[0]), { loss: w.loss });
}

async function stepStudy(w: WorkloadSpec, x: Float32Array, epochs: number, stepsPerEpoch: number) {
  const ae = buildWorkload(w);
  const init = ae.getWeights();
  const counts: number[] = [];
  for (let e = 1; e < epochs; e *= 2) counts.push(e);
  counts.push(epochs);
  console.log(`${w.name}: loss on the first ${EVAL_ROWS} rows after the steps, bf16 against float32`);
  const points = [];
  for (const e of counts) {
    const float32 = await lossAfter(ae, init, x, w, e, 'float32');
    const bf16 = await lossAfter(ae, init, x, w, e, 'bf16');
    const point = { steps: e * stepsPerEpoch, float32, bf16, gapPercent: gapPercent(bf16, float32) };
    points.push(point);
    console.log(`  ${String(point.steps).padStart(4)} steps: float32 ${float32.toFixed(6)}, bf16 ${bf16.toFixed(6)}, ${point.gapPercent.toFixed(2)}%`);
  }
  ae.dispose();
  return points;
}

interface StartResult {
  start: number;
  float32: number;
  bf16: number;
  float32FromRounded: number;
  gapPercent: number;
  controlGapPercent: number;
}

/** PyTorch's losses after the same steps from each start's weights: float32 and bf16 autocast. */
function torchLosses(w: WorkloadSpec, x: Float32Array, epochs: number, inits: WeightTensor[][]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-bf16-loss-'));
  try {
    const rows = x.length / w.widths[0];
    fs.writeFileSync(path.join(dir, 'x.f32'), x);
    const names = inits.map((init, i) => {
      const name = `${w.name}.start${i + 1}`;
      fs.writeFileSync(path.join(dir, `${name}.w.f32`), Buffer.concat(init.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))));
      fs.symlinkSync('x.f32', path.join(dir, `${name}.x.f32`));
      fs.symlinkSync(`${name}.w.f32`, path.join(dir, `${name}.autocast.w.f32`));
      fs.symlinkSync('x.f32', path.join(dir, `${name}.autocast.x.f32`));
      return name;
    });
    const run = { rows, afterRows: EVAL_ROWS, epochs };
    const answer = torchRun({
      dir,
      threads: [2],
      beforeRows: EVAL_ROWS,
      workloads: names.flatMap((name) => [torchWorkload(w, { ...run, name }), { ...torchWorkload(w, { ...run, name: `${name}.autocast` }), autocast: 'bf16' }]),
    });
    const lossOf = (name: string) => answer.workloads[name]['2'].lossAfter;
    return names.map((name) => ({ float32: lossOf(name), autocast: lossOf(`${name}.autocast`) }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function startStudy(w: WorkloadSpec, x: Float32Array, epochs: number, steps: number) {
  console.log(`${w.name}: ${STARTS} starts, ${steps} steps each: bf16, and float32 from the initial weights rounded to bf16, against float32`);
  const starts: StartResult[] = [];
  const inits: WeightTensor[][] = [];
  for (let start = 1; start <= STARTS; start++) {
    const ae = buildWorkload(w, start);
    const init = ae.getWeights();
    inits.push(init);
    const rounded = init.map((t) => ({ ...t, data: roundToBf16(t.data) }));
    const float32 = await lossAfter(ae, init, x, w, epochs, 'float32');
    const bf16 = await lossAfter(ae, init, x, w, epochs, 'bf16');
    const roundedStart = await lossAfter(ae, rounded, x, w, epochs, 'float32');
    ae.dispose();
    const result = { start, float32, bf16, float32FromRounded: roundedStart, gapPercent: gapPercent(bf16, float32), controlGapPercent: gapPercent(roundedStart, float32) };
    starts.push(result);
    console.log(`  start ${String(start).padStart(3)}: float32 ${float32.toFixed(6)}, bf16 ${result.gapPercent.toFixed(2).padStart(6)}%, control ${result.controlGapPercent.toFixed(2).padStart(6)}%`);
  }
  const bf16 = summary(starts.map((s) => s.gapPercent));
  const control = summary(starts.map((s) => s.controlGapPercent));
  console.log(`  bf16:    ${describe(bf16)}`);
  console.log(`  control: ${describe(control)}`);
  console.log(`  the mean bf16 gap's 95% interval lies within ±1%: ${bf16.interval95[0] > -1 && bf16.interval95[1] < 1 ? 'yes' : 'no'}`);
  if (!TORCH) return { steps, starts, bf16, control, torch: null };
  const torch = torchLosses(w, x, epochs, inits).map((t, i) => ({
    ...t,
    autocastGapPercent: gapPercent(t.autocast, t.float32),
    float32AgainstOursPercent: gapPercent(t.float32, starts[i].float32),
  }));
  const autocast = summary(torch.map((t) => t.autocastGapPercent));
  const float32AgainstOurs = summary(torch.map((t) => t.float32AgainstOursPercent));
  console.log(`  PyTorch's autocast against its float32: ${describe(autocast)}`);
  console.log(`  PyTorch's float32 against ours:         ${describe(float32AgainstOurs)}`);
  return { steps, starts, bf16, control, torch: { starts: torch, autocast, float32AgainstOurs } };
}

async function main(): Promise<void> {
  const info = backendInfo();
  if (!info.bf16) {
    console.log(`bf16 is not available here: ${info.bf16Reason}`);
    return;
  }
  setThreads(2);
  const results = [];
  for (const { w, rows, seed, epochs, benchEpochs } of plans) {
    const x = makeData(rows, w.widths[0], seed);
    const stepsPerEpoch = Math.ceil(rows / w.batch);
    const steps = await stepStudy(w, x, epochs, stepsPerEpoch);
    const starts = STARTS > 0 ? await startStudy(w, x, benchEpochs, benchEpochs * stepsPerEpoch) : null;
    results.push({ workload: w.name, rows, stepsPerEpoch, steps, starts });
  }
  const out = path.resolve('bench-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'bf16-loss.json'), JSON.stringify({ bf16Kernels: info.bf16, evalRows: EVAL_ROWS, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
