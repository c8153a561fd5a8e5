// Data-parallel efficiency on this machine: W3 trained by 2 MPI ranks of 1 thread each against
// one process of 1 thread, in the same run, and the share of the ranks' time spent in allreduce.
//   npm run bench:mpi [-- --ranks 2 --rows 3072 --epochs 3]
// Under mpirun this same file is each rank (--rank); it prints its epochs as one JSON line.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initDistributed, setThreads } from 'native-autoencoder';
import { flag, integerOption } from './args';
import { W3, buildWorkload, median, smoothRows as data } from './workloads';

const RANKS = integerOption('--ranks', 2, 2);
const ROWS = integerOption('--rows', 3072, 1);
const EPOCHS = integerOption('--epochs', 3, 1); // timed, after one warm-up epoch

interface Run {
  samplesPerSecond: number;
  seconds: number[];
  communicationSeconds: number[];
  loss: number;
}

async function train(distributed: boolean): Promise<Run> {
  setThreads(1);
  const ae = buildWorkload(W3);
  const history = await ae.fit(data(ROWS, W3.widths[0]), {
    epochs: EPOCHS + 1,
    batchSize: W3.batch,
    shuffle: false,
    loss: W3.loss,
    optimizer: { type: W3.optimizer, learningRate: W3.learningRate },
    ...(distributed ? { distributed: 'mpi' as const } : {}),
  });
  const timed = history.epochs.slice(1);
  return {
    samplesPerSecond: median(timed.map((e) => e.samplesPerSecond)),
    seconds: timed.map((e) => e.seconds),
    communicationSeconds: timed.map((e) => e.communicationSeconds ?? 0),
    loss: history.loss[history.loss.length - 1],
  };
}

async function main(): Promise<void> {
  if (flag('--rank')) {
    const run = await train(true);
    if (initDistributed().isRoot) console.log(JSON.stringify(run));
    return;
  }
  const alone = await train(false);
  const mpi = spawnSync(
    'mpirun',
    ['--allow-run-as-root', '-np', String(RANKS), '--bind-to', 'core', process.execPath, '--import', 'tsx', __filename, '--rank', '--rows', String(ROWS), '--epochs', String(EPOCHS)],
    { encoding: 'utf8' },
  );
  if (mpi.status !== 0) throw new Error(`mpirun failed (${mpi.status}): ${mpi.stderr}`);
  const ranks = JSON.parse(mpi.stdout.trim().split('\n').pop() ?? '') as Run;
  const speedup = ranks.samplesPerSecond / alone.samplesPerSecond;
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const share = sum(ranks.communicationSeconds) / sum(ranks.seconds);
  console.log(`W3 (${W3.widths.join('-')}, batch ${W3.batch}, ${ROWS} rows, median of ${EPOCHS} epochs after a warm-up)`);
  console.log('| run | samples/s | loss after the last epoch | time in allreduce |');
  console.log('|---|---|---|---|');
  console.log(`| 1 process × 1 thread | ${alone.samplesPerSecond.toFixed(0)} | ${alone.loss.toPrecision(6)} | — |`);
  console.log(`| ${RANKS} ranks × 1 thread | ${ranks.samplesPerSecond.toFixed(0)} | ${ranks.loss.toPrecision(6)} | ${(share * 100).toFixed(1)}% |`);
  console.log(`speed-up ${speedup.toFixed(2)}× (target 1.8×)`);
  const out = path.resolve('bench-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'distributed.json'), JSON.stringify({ ranks: RANKS, rows: ROWS, alone, distributed: ranks, speedup, allreduceShare: share }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
