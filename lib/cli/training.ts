// A training run as the command runs it: progress on the terminal, and Ctrl-C stopping the fit
// after the current batch (a second Ctrl-C quits at once), ending with exit status 130.
import type { Autoencoder } from '../autoencoder';
import type { CodedError } from '../errors';
import type { EpochLogs, FitOptions, History } from '../fit';
import * as path from 'node:path';
import { CliError, EXIT, inputError, outputError } from './errors';
import type { OutputFolder } from './files';
import { trainingProgress } from './progress';

export interface RunPlan {
  fit: Omit<FitOptions, 'signal' | 'onBatchEnd' | 'onEpochEnd'>;
  /** Rows trained on per epoch (after the validation split), for the progress bar. */
  trainRows: number;
  json: boolean;
  quiet: boolean;
  /** The line to end with when Ctrl-C stopped the fit, given the epochs completed. */
  interrupted: (epochsDone: number) => string;
  /** The run's output folder: the folders made for it go again where training fails or is stopped. */
  folder: OutputFolder;
}

/** Trains on `x`, or on the chunks `x()` yields for each epoch (a file larger than memory). */
export async function runTraining(model: Autoencoder, x: Float32Array | (() => AsyncIterable<Float32Array>), plan: RunPlan): Promise<History> {
  const controller = new AbortController();
  const epochs = plan.fit.epochs ?? 1;
  const progress = trainingProgress({ epochs, rows: plan.trainRows, batchSize: plan.fit.batchSize ?? 32, json: plan.json, quiet: plan.quiet });
  const onInterrupt = () => {
    if (controller.signal.aborted) {
      // The progress bar gives the terminal back its cursor and line wrapping.
      progress.stop();
      plan.folder.removeIfEmpty();
      process.exit(EXIT.interrupted);
    }
    // On a terminal the progress bar holds the current line.
    const newline = process.stdout.isTTY && !plan.json ? '\n' : '';
    if (!plan.quiet) process.stderr.write(`${newline}stopping after the current batch (Ctrl-C again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  let epochsDone = 0;
  try {
    const onEpochEnd = (logs: EpochLogs) => {
      epochsDone = logs.epoch + 1;
      progress.epoch(logs);
    };
    if (typeof x === 'function') {
      // Batches count within each chunk there, so progress moves epoch by epoch.
      return await model.fitStream(x, { ...plan.fit, signal: controller.signal, onEpochEnd });
    }
    return await model.fit(x, { ...plan.fit, signal: controller.signal, onBatchEnd: (logs) => progress.batch(logs), onEpochEnd });
  } catch (error) {
    plan.folder.removeIfEmpty();
    if ((error as CodedError).code === 'ABORT_ERR') throw new CliError(plan.interrupted(epochsDone), EXIT.interrupted);
    // The files a fit reads and writes itself: the checkpoint it resumes from, and the one it saves,
    // through a temporary file beside it.
    const failed = (error as NodeJS.ErrnoException).path;
    if (failed !== undefined && (error as NodeJS.ErrnoException).syscall !== undefined) {
      const at = path.resolve(failed);
      const { resumeFrom: resume, checkpoint } = plan.fit;
      if (typeof resume === 'string' && at === path.resolve(resume)) throw inputError(resume, error);
      // The checkpoint, its temporary file and the folder synced after the rename all lie in one folder.
      const folder = checkpoint && path.dirname(path.resolve(checkpoint.path));
      if (checkpoint && (at === folder || path.dirname(at) === folder)) throw outputError(checkpoint.path, error);
    }
    throw error;
  } finally {
    progress.stop();
    process.off('SIGINT', onInterrupt);
  }
}
