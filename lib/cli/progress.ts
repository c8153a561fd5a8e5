// Training progress: a live bar (epoch, batch, loss, samples/s, time left) when stdout is a
// terminal, a plain line per epoch when it is not (so logs stay readable), nothing with --quiet.
import { MultiBar } from 'cli-progress';
import type { BatchLogs, EpochLogs } from '../fit';
import { countText, durationText, lossText } from './format';

export interface Progress {
  batch(logs: BatchLogs): void;
  epoch(logs: EpochLogs): void;
  stop(): void;
}

export interface ProgressPlan {
  epochs: number;
  /** Rows trained per epoch and the batch size: the batch count and the samples/s while an epoch runs. */
  rows: number;
  batchSize: number;
  json: boolean;
  quiet: boolean;
}

function epochLine(logs: EpochLogs, epochs: number): string {
  const val = logs.valLoss === undefined ? '' : `  val_loss ${lossText(logs.valLoss)}`;
  const width = String(epochs).length;
  return `epoch ${String(logs.epoch + 1).padStart(width)}/${epochs}  loss ${lossText(logs.loss)}${val}  ${countText(logs.samplesPerSecond)} samples/s  ${durationText(logs.seconds)}`;
}

export function trainingProgress(plan: ProgressPlan): Progress {
  if (plan.quiet) return { batch() {}, epoch() {}, stop() {} };
  if (!plan.json && process.stdout.isTTY) return progressBar(plan);
  // With --json, stdout carries only the JSON document.
  const out = plan.json ? process.stderr : process.stdout;
  return { batch() {}, epoch: (logs) => out.write(`${epochLine(logs, plan.epochs)}\n`), stop() {} };
}

function progressBar(plan: ProgressPlan): Progress {
  const batches = Math.ceil(plan.rows / plan.batchSize);
  const bars = new MultiBar({
    stream: process.stdout,
    format: 'epoch {epoch}/{epochs} {bar} batch {batch}/{batches} | loss {loss} | {rate} samples/s | {eta_formatted} left',
    barsize: 24,
    hideCursor: true,
    // Ctrl-C is the training run's to handle: it stops the fit after the current batch.
    gracefulExit: false,
    etaBuffer: 50,
    barCompleteChar: '\u2588',
    barIncompleteChar: '\u2591',
  });
  let bar: ReturnType<MultiBar['create']> | undefined;
  let firstEpoch = -1;
  let epochStart = process.hrtime.bigint();
  return {
    batch({ epoch, batch, loss }) {
      // A resumed fit starts counting at the checkpoint's epoch.
      if (firstEpoch < 0) firstEpoch = epoch;
      const done = (epoch - firstEpoch) * batches + batch + 1;
      const seconds = Number(process.hrtime.bigint() - epochStart) / 1e9;
      const payload = {
        epoch: epoch + 1,
        epochs: plan.epochs,
        batch: batch + 1,
        batches,
        loss: lossText(loss),
        rate: countText(Math.min((batch + 1) * plan.batchSize, plan.rows) / Math.max(seconds, 1e-9)),
      };
      bar ??= bars.create((plan.epochs - firstEpoch) * batches, 0, payload);
      bar.update(done, payload);
    },
    epoch(logs) {
      bars.log(`${epochLine(logs, plan.epochs)}\n`);
      epochStart = process.hrtime.bigint();
    },
    stop() {
      // Logged lines are written on the next redraw, which stop() alone never makes.
      bars.update();
      bars.stop();
    },
  };
}
