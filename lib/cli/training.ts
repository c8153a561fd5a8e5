// A training run as the command runs it: progress on the terminal, and Ctrl-C stopping the fit
// after the current batch (a second Ctrl-C quits at once), ending with exit status 130.
import type { Autoencoder } from '../autoencoder';
import type { CodedError } from '../errors';
import type { EpochLogs, FitOptions, History } from '../fit';
import * as path from 'node:path';
import { CliError, EXIT, inputError, outputError } from './errors';
import { removeEmptyOutputFolders } from './files';
import { trainingProgress } from './progress';

export interface RunPlan {
  fit: Omit<FitOptions, 'signal' | 'onBatchEnd' | 'onEpochEnd'>;
  /** Rows trained on per epoch (after the validation split), for the progress bar. */
  trainRows: number;
  json: boolean;
  quiet: boolean;
  /** The line to end with when Ctrl-C stopped the fit, given the epochs completed. */
  interrupted: (epochsDone: number) => string;
}

/**
 * Runs `work` with a signal that the first Ctrl-C aborts, so that training stops after the current
 * batch, and the run ends with the line `interrupted()` and exit 130; a second Ctrl-C quits at once,
 * removing the folders made for outputs that are still empty. `progress`, where a progress bar holds
 * the terminal's current line, is stopped first.
 */
export async function interruptible<T>(
  work: (signal: AbortSignal) => Promise<T>,
  how: { json: boolean; quiet: boolean; progress?: { stop(): void }; interrupted: () => string },
): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) {
      // The progress bar gives the terminal back its cursor and line wrapping.
      how.progress?.stop();
      removeEmptyOutputFolders();
      process.exit(EXIT.interrupted);
    }
    const newline = how.progress && process.stdout.isTTY && !how.json ? '\n' : '';
    if (!how.quiet) process.stderr.write(`${newline}stopping after the current batch (Ctrl-C again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } catch (error) {
    if ((error as CodedError).code === 'ABORT_ERR') throw new CliError(how.interrupted(), EXIT.interrupted);
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** Trains on `x`, or on the chunks `x()` yields for each epoch (a file larger than memory). */
export async function runTraining(model: Autoencoder, x: Float32Array | (() => AsyncIterable<Float32Array>), plan: RunPlan): Promise<History> {
  const epochs = plan.fit.epochs ?? 1;
  const progress = trainingProgress({ epochs, rows: plan.trainRows, batchSize: plan.fit.batchSize ?? 32, json: plan.json, quiet: plan.quiet });
  let epochsDone = 0;
  const onEpochEnd = (logs: EpochLogs) => {
    epochsDone = logs.epoch + 1;
    progress.epoch(logs);
  };
  try {
    return await interruptible(
      (signal) =>
        typeof x === 'function'
          ? // Batches count within each chunk there, so progress moves epoch by epoch.
            model.fitStream(x, { ...plan.fit, signal, onEpochEnd })
          : model.fit(x, { ...plan.fit, signal, onBatchEnd: (logs) => progress.batch(logs), onEpochEnd }),
      { json: plan.json, quiet: plan.quiet, progress, interrupted: () => plan.interrupted(epochsDone) },
    );
  } catch (error) {
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
  }
}
