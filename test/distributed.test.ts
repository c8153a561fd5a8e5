// Data-parallel fits under mpirun on localhost: two ranks end with the weights of one process
// training on the same global batches; the ranks refuse different data together; a rank that stops
// or dies ends the job within a bounded time; a checkpoint from two ranks resumes on one.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, backendInfo, initDistributed, setThreads } from 'native-autoencoder';

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.resolve(here, '../dist/cjs/index.js');
const rankScript = path.join(here, 'mpi/rank.cjs');
const mpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const builtWithMpi = backendInfo().mpi;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ae-mpi-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface RankResult {
  rank: number;
  size: number;
  library: string;
  loss: number[];
  valLoss: number[];
  steps: number;
  communicationSeconds: number[];
  weights: { name: string; data: number[] }[];
  error?: { code: string; message: string };
}

interface Scenario {
  rows: number;
  dim: number;
  epochs: number;
  batchSize: number;
  modelSeed: number;
  validationSplit?: number;
  rowsByRank?: number[];
  checkpoint?: string;
  resumeFrom?: string;
  killRank?: number;
  stopRank?: number;
  timeoutSeconds?: number;
  precision?: 'bf16';
  /** Gaussian input noise of this standard deviation. */
  noise?: number;
}

function launch(name: string, ranks: number, scenario: Scenario) {
  const out = path.join(dir, name);
  const started = Date.now();
  const run = spawnSync(
    'mpirun',
    ['--allow-run-as-root', '--oversubscribe', '-np', String(ranks), process.execPath, rankScript, entry, JSON.stringify({ ...scenario, out })],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const results: RankResult[] = [];
  for (let rank = 0; rank < ranks; rank++) {
    const file = `${out}.${rank}.json`;
    if (fs.existsSync(file)) results[rank] = JSON.parse(fs.readFileSync(file, 'utf8')) as RankResult;
  }
  return { status: run.status, output: run.stdout + run.stderr, seconds: (Date.now() - started) / 1000, results };
}

// The rows every rank trains on, made by the ranks' own module.
const { rows } = createRequire(import.meta.url)('./mpi/rows.cjs') as { rows: (count: number, dim: number) => Float32Array };

/** The largest difference of each tensor relative to the tensor's largest magnitude. */
function worstRelative(a: { name: string; data: ArrayLike<number> }[], b: { name: string; data: ArrayLike<number> }[]): number {
  let worst = 0;
  for (const [i, tensor] of a.entries()) {
    expect(tensor.name).toBe(b[i].name);
    let scale = 0;
    let diff = 0;
    for (let j = 0; j < tensor.data.length; j++) {
      scale = Math.max(scale, Math.abs(b[i].data[j]));
      diff = Math.max(diff, Math.abs(tensor.data[j] - b[i].data[j]));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

// 1,001 rows of 24 with validationSplit 0.1: 901 train rows and 100 held out. Global batches of 64:
// 15 per epoch, the last of 5 rows (2 on rank 0, 3 on rank 1); 10 epochs, 150 steps.
const base: Scenario = { rows: 1001, dim: 24, epochs: 10, batchSize: 64, modelSeed: 1000, validationSplit: 0.1 };

async function singleProcess(scenario: Scenario) {
  setThreads(1);
  const ae = new Autoencoder({ inputDim: scenario.dim, latentDim: 4, seed: scenario.modelSeed, ...(scenario.noise ? { noise: { type: 'gaussian', stddev: scenario.noise } } : {}) });
  const history = await ae.fit(rows(scenario.rows, scenario.dim), {
    epochs: scenario.epochs,
    batchSize: scenario.batchSize,
    seed: 7,
    optimizer: 'adam',
    validationSplit: scenario.validationSplit,
    ...(scenario.precision ? { precision: scenario.precision } : {}),
  });
  return { history, weights: ae.getWeights() };
}

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('distributed options', () => {
  it('are refused, naming the option, when they are not valid', async () => {
    const ae = new Autoencoder({ inputDim: 4, latentDim: 2 });
    await expect(ae.fit(new Float32Array(8), { distributed: 'nccl' as never })).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/options\.distributed/) });
    await expect(ae.fitStream(() => [new Float32Array(8)], { distributed: 'mpi' } as never)).rejects.toMatchObject({ name: 'RangeError', message: expect.stringMatching(/options\.distributed/) });
    expect(thrown(() => initDistributed({ timeoutSeconds: 0 }))).toMatchObject({ name: 'RangeError', message: expect.stringMatching(/options\.timeoutSeconds/) });
    expect(thrown(() => initDistributed({ timeout: 5 } as never))).toMatchObject({ name: 'RangeError', message: expect.stringMatching(/options\.timeout/) });
    expect(thrown(() => initDistributed('mpi' as never))).toMatchObject({ name: 'TypeError', message: expect.stringMatching(/options/) });
    ae.dispose();
  });

  it.runIf(!builtWithMpi)('throw ERR_MPI_UNAVAILABLE, saying how to build with MPI, in a build without it', async () => {
    expect(thrown(() => initDistributed())).toMatchObject({ code: 'ERR_MPI_UNAVAILABLE', message: expect.stringMatching(/no MPI support.*libopenmpi-dev/) });
    const ae = new Autoencoder({ inputDim: 4, latentDim: 2 });
    await expect(ae.fit(new Float32Array(8), { distributed: 'mpi' })).rejects.toMatchObject({ code: 'ERR_MPI_UNAVAILABLE' });
    // Nothing else changed: the same model trains without the option.
    expect((await ae.fit(new Float32Array(8), { epochs: 1 })).steps).toBe(1);
    ae.dispose();
  });
});

describe.skipIf(!mpirun || !builtWithMpi)('data-parallel training over MPI (mpirun on localhost)', () => {
  it('two ranks end with the weights of one process on the same global batches, within 1e-6 relative', async () => {
    const run = launch('equal', 2, base);
    expect(run.status, run.output).toBe(0);
    const [zero, one] = run.results;
    expect(zero.size).toBe(2);
    expect(zero.library).toMatch(/MPI/);
    expect(zero.steps).toBe(150);
    // Every rank holds the same weights after every step: they are bit-identical.
    expect(worstRelative(one.weights, zero.weights)).toBe(0);
    const alone = await singleProcess(base);
    expect(alone.history.steps).toBe(150);
    const worst = worstRelative(zero.weights, alone.weights);
    console.log(`2 ranks against 1 process after 150 steps: largest weight difference ${worst.toExponential(2)} of each tensor's largest weight; ` +
      `losses ${zero.loss.at(-1)} and ${alone.history.loss.at(-1)}; allreduce ${(zero.communicationSeconds.reduce((a, b) => a + b, 0) * 1000).toFixed(0)} ms over 10 epochs`);
    expect(worst).toBeLessThan(1e-6);
    expect(worst).toBeGreaterThanOrEqual(0);
    for (const [i, loss] of alone.history.loss.entries()) expect(zero.loss[i]).toBeCloseTo(loss, 5);
    for (const [i, loss] of alone.history.valLoss.entries()) expect(zero.valLoss[i]).toBeCloseTo(loss, 6);
  }, 150_000);

  it('with input noise, two ranks draw for each row what one process draws, and end with its weights', async () => {
    const noisy: Scenario = { ...base, epochs: 3, noise: 0.05 };
    const run = launch('noise', 2, noisy);
    expect(run.status, run.output).toBe(0);
    const alone = await singleProcess(noisy);
    // Noise drawn per rank, as it was, gives each rank other draws than the one process makes for the same rows.
    expect(worstRelative(run.results[0].weights, alone.weights)).toBeLessThan(1e-5);
    for (const [i, loss] of alone.history.loss.entries()) expect(run.results[0].loss[i]).toBeCloseTo(loss, 5);
  }, 150_000);

  // Each rank starts from weights of its own; the bf16 copy of the weights that the products read
  // must be rounded from rank 0's, once the ranks agree on them. Batches of 32 rows per rank scale
  // each rank's loss gradient by a power of two, so both sides round the same values to bf16, and
  // two steps keep Adam from amplifying the float32 sums' different order.
  it.skipIf(!backendInfo().bf16)('in bf16, two ranks take the steps of one process on the same global batches', async () => {
    const scenario: Scenario = { rows: 64, dim: 24, epochs: 2, batchSize: 64, modelSeed: 1000, precision: 'bf16' };
    const run = launch('bf16', 2, scenario);
    expect(run.status, run.output).toBe(0);
    const [zero, one] = run.results;
    expect(zero.steps).toBe(2);
    expect(worstRelative(one.weights, zero.weights)).toBe(0);
    const alone = await singleProcess(scenario);
    const worst = worstRelative(zero.weights, alone.weights);
    console.log(`bf16, 2 ranks against 1 process after 2 steps: largest weight difference ${worst.toExponential(2)} of each tensor's largest weight`);
    expect(worst).toBeLessThan(1e-5);
  }, 150_000);

  it('refuses on every rank, naming the difference, when the ranks hold different rows', () => {
    const run = launch('mismatch', 2, { ...base, epochs: 1, rowsByRank: [1001, 1000] });
    expect(run.status).not.toBe(0);
    for (const result of run.results) {
      expect(result.error?.code).toBe('ERR_DISTRIBUTED_MISMATCH');
    }
    expect(run.results[1].error?.message).toMatch(/rank 1 differs from rank 0: rows 900 where rank 0 has 901/);
  }, 150_000);

  it('a checkpoint written by rank 0 of two resumes on one rank to the weights of the uninterrupted run', () => {
    const checkpoint = path.join(dir, 'half.safetensors');
    const first = launch('first-half', 2, { ...base, epochs: 5, checkpoint });
    expect(first.status, first.output).toBe(0);
    const resumed = launch('resumed', 1, { ...base, resumeFrom: checkpoint });
    expect(resumed.status, resumed.output).toBe(0);
    const straight = launch('straight', 2, base);
    expect(straight.status, straight.output).toBe(0);
    expect(resumed.results[0].steps).toBe(150);
    expect(worstRelative(resumed.results[0].weights, straight.results[0].weights)).toBeLessThan(1e-6);
  }, 150_000);

  it('a rank that stops answering makes the others reject with ERR_DISTRIBUTED_TIMEOUT, and the job ends', () => {
    const run = launch('stopped', 2, { ...base, epochs: 100, stopRank: 1, timeoutSeconds: 3 });
    expect(run.status).not.toBe(0);
    expect(run.results[0].error?.code).toBe('ERR_DISTRIBUTED_TIMEOUT');
    expect(run.results[0].error?.message).toMatch(/did not complete within 3 s on rank 0 of 2/);
    expect(run.seconds).toBeLessThan(60);
  }, 150_000);

  it('a rank that dies ends the job within a bounded time', () => {
    const run = launch('killed', 2, { ...base, epochs: 100, killRank: 1, timeoutSeconds: 3 });
    expect(run.status).not.toBe(0);
    expect(run.results[1]).toBeUndefined();
    expect(run.results[0]?.steps).toBeUndefined();
    expect(run.output).toMatch(/signal 9|Killed/);
    expect(run.seconds).toBeLessThan(60);
  }, 150_000);
});
