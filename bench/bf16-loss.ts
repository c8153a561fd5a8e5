// The loss of precision 'bf16' against float32 at more step counts than the speed benchmark's
// (W2 128 steps, W3 8), by the benchmark's own measure: the same data, initial weights and steps as
// `npm run bench`, then the loss on the first 256 rows. Each step count is a fit of its own from
// the initial weights.
//   npm run bench:bf16-loss [-- --w2-epochs N --w3-epochs N]   (the longest fit of each; default 12, 64)
// Writes bench-results/bf16-loss.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendInfo, setThreads } from 'native-autoencoder';
import { W2, W3, buildWorkload, fitOptions, makeData, type WorkloadSpec } from './workloads';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
};

// Rows and data seeds as compare.ts gives these two workloads (seed 7 + the workload's index there).
const plans: { w: WorkloadSpec; rows: number; seed: number; epochs: number }[] = [
  { w: W2, rows: 8192, seed: 8, epochs: option('--w2-epochs', 12) },
  { w: W3, rows: 1024, seed: 9, epochs: option('--w3-epochs', 64) },
];
const EVAL_ROWS = 256;

async function main(): Promise<void> {
  const info = backendInfo();
  if (!info.bf16) {
    console.log(`bf16 is not available here: ${info.bf16Reason}`);
    return;
  }
  setThreads(2);
  const results = [];
  for (const { w, rows, seed, epochs } of plans) {
    const x = makeData(rows, w.widths[0], seed);
    const evalRows = x.subarray(0, EVAL_ROWS * w.widths[0]);
    const ae = buildWorkload(w);
    const init = ae.getWeights();
    const lossAfter = async (fitEpochs: number, precision: 'float32' | 'bf16') => {
      ae.setWeights(init);
      await ae.fit(x, fitOptions(w, fitEpochs, precision));
      return ae.evaluate(evalRows, { loss: w.loss });
    };
    const stepsPerEpoch = Math.ceil(rows / w.batch);
    const counts: number[] = [];
    for (let e = 1; e < epochs; e *= 2) counts.push(e);
    counts.push(epochs);
    console.log(`${w.name}: loss on the first ${EVAL_ROWS} rows after the steps, bf16 against float32`);
    const points = [];
    for (const e of counts) {
      const float32 = await lossAfter(e, 'float32');
      const bf16 = await lossAfter(e, 'bf16');
      const gapPercent = ((bf16 - float32) / float32) * 100;
      points.push({ steps: e * stepsPerEpoch, float32, bf16, gapPercent });
      console.log(`  ${String(e * stepsPerEpoch).padStart(4)} steps: float32 ${float32.toFixed(6)}, bf16 ${bf16.toFixed(6)}, ${gapPercent.toFixed(2)}%`);
    }
    ae.dispose();
    results.push({ workload: w.name, rows, stepsPerEpoch, points });
  }
  const out = path.resolve('bench-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'bf16-loss.json'), JSON.stringify({ bf16Kernels: info.bf16, evalRows: EVAL_ROWS, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
