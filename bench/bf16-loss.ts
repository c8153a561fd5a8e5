// The training loss of precision 'bf16' against float32 over longer fits than the speed benchmark's
// (W2 128 steps, W3 8): the same data, initial weights and steps as `npm run bench`, one fit each.
//   npm run bench:bf16-loss [-- --w2-epochs N --w3-epochs N]
// Prints the mean training loss of both at doubling step counts and the loss on the first 256 rows
// after the last step; writes bench-results/bf16-loss.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendInfo, setThreads } from 'native-autoencoder';
import { W2, W3, buildWorkload, makeData, type WorkloadSpec } from './workloads';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
};

// Rows and data seeds as in compare.ts (seed 7 + the workload's index there).
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
    const ae = buildWorkload(w);
    const init = ae.getWeights();
    const run = async (precision: 'float32' | 'bf16') => {
      ae.setWeights(init);
      const history = await ae.fit(x, {
        epochs,
        precision,
        batchSize: w.batch,
        shuffle: false,
        loss: w.loss,
        optimizer: { type: 'adam', learningRate: w.learningRate, epsilon: 1e-7 },
      });
      return { epochLoss: history.loss, after: ae.evaluate(x.subarray(0, EVAL_ROWS * w.widths[0]), { loss: w.loss }) };
    };
    const float32 = await run('float32');
    const bf16 = await run('bf16');
    ae.dispose();
    const stepsPerEpoch = Math.ceil(rows / w.batch);
    const gap = (a: number, b: number) => ((b - a) / a) * 100;
    console.log(`${w.name} (${stepsPerEpoch} steps an epoch): mean training loss of the epoch ending at each step count`);
    const points = [];
    for (let e = 1; e <= epochs; e *= 2) {
      const a = float32.epochLoss[e - 1], b = bf16.epochLoss[e - 1];
      points.push({ steps: e * stepsPerEpoch, float32: a, bf16: b, gapPercent: gap(a, b) });
      console.log(`  ${String(e * stepsPerEpoch).padStart(4)} steps: float32 ${a.toFixed(6)}, bf16 ${b.toFixed(6)}, ${gap(a, b).toFixed(2)}%`);
    }
    console.log(
      `  after all ${epochs * stepsPerEpoch} steps, on the first ${EVAL_ROWS} rows: float32 ${float32.after.toFixed(6)}, bf16 ${bf16.after.toFixed(6)}, ${gap(float32.after, bf16.after).toFixed(2)}%`,
    );
    results.push({ workload: w.name, stepsPerEpoch, epochs, points, after: { float32: float32.after, bf16: bf16.after } });
  }
  const out = path.resolve('bench-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'bf16-loss.json'), JSON.stringify({ bf16Kernels: info.bf16, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
