// The PyTorch side of the benchmarks: bench/torch_reference.py, run with Debian's python3-torch
// where it imports. Every request and answer is described in that script's docstring.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ADAM_EPSILON, type WorkloadSpec } from './workloads';

export const PYTHON = '/usr/bin/python3';

/** Per thread count: the best and median rep (one product, or a window of them), every rep, and the fastest single product. */
type MmRates = Record<string, { best: number; median: number; all: number[]; bestProduct: number }>;

export interface TorchAnswer {
  torch: string;
  openblasCoretype: string | null;
  blasCore: string | null;
  sgemm: MmRates;
  bf16mm: MmRates;
  workloads: Record<string, Record<string, { epochSeconds: number[]; epochCpuSeconds: number[]; epochLoss: number[]; lossBefore: number; lossAfter: number; steps: number }>>;
}

/** PyTorch's version, or null where `import torch, numpy` fails. */
export function torchAvailable(): string | null {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

export function torchRun(request: object, env: NodeJS.ProcessEnv = process.env): TorchAnswer {
  const run = spawnSync(PYTHON, [path.join(__dirname, 'torch_reference.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`torch_reference.py exited with status ${run.status}`);
  return JSON.parse(run.stdout) as TorchAnswer;
}

/**
 * A workload as torch_reference.py reads it: the files <dir>/<name>.x.f32 and <name>.w.f32 hold its
 * rows and initial weights; it trains `epochs` epochs on `rows` rows, then evaluates the first `afterRows`.
 */
export function torchWorkload(w: WorkloadSpec, run: { name?: string; rows: number; afterRows: number; epochs: number }): object {
  return {
    name: run.name ?? w.name,
    widths: w.widths,
    activations: w.activations,
    loss: w.loss,
    optimizer: w.optimizer,
    lr: w.learningRate,
    epsilon: ADAM_EPSILON,
    batch: w.batch,
    rows: run.rows,
    afterRows: run.afterRows,
    epochs: run.epochs,
  };
}
