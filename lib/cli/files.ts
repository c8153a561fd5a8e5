// Output files. The output folder is made and checked before training, so a bad path fails at once
// rather than after the work; every file is written whole or not at all (a temporary file renamed
// into place), so an interrupted run leaves nothing half-written.
import { constants, rmdirSync, statSync } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic-file';
import type { LayerStack } from '../stack';
import { outputError, usageError } from './errors';

/** The folders made for this process's outputs, outermost first. */
const madeFolders: string[] = [];

/**
 * Makes `dir` and any missing parents, noting those it made. Node's own recursive mkdir never
 * returns for some paths (under /proc it retries ENOENT for ever), so this one gives up after one
 * try per level.
 */
async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    madeFolders.push(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(dir)).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await makeFolder(parent);
    await mkdir(dir);
    madeFolders.push(dir);
  }
}

/**
 * Removes the folders made for outputs that are still empty, deepest first: a run that fails or is
 * stopped before writing leaves no trace. Synchronous, so that a signal handler can call it.
 */
export function removeEmptyOutputFolders(): void {
  for (const dir of [...madeFolders].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty: it holds what the run wrote, or what was put there meanwhile.
    }
  }
}

/** Makes `dir` and its missing parents if needed, and checks that it can be written. */
export async function prepareFolder(dir: string): Promise<void> {
  try {
    await makeFolder(path.resolve(dir));
    await access(dir, constants.W_OK);
  } catch (error) {
    removeEmptyOutputFolders();
    throw outputError(dir, error);
  }
}

export async function writeOutput(file: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(file, bytes);
  } catch (error) {
    throw outputError(file, error);
  }
}

export async function saveModel(model: LayerStack, file: string): Promise<void> {
  try {
    await model.save(file);
  } catch (error) {
    throw outputError(file, error);
  }
}

/** Whether two paths name one file: the same path, or one reached through a link to the other. */
function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;  // one of them does not exist (yet)
  }
}

/** Refuses (exit 64) an output that names one of the input files (stdin aside), which `writer` would overwrite. */
export function refuseOverwritingInputs(outputFlag: string, output: string | undefined, inputs: [flag: string, file: string | undefined][], writer: string): void {
  if (output === undefined) return;
  for (const [flag, input] of inputs) {
    if (input !== undefined && input !== '-' && sameFile(output, input)) {
      throw usageError(`${outputFlag} ${output} is the ${flag} file, which ${writer} would overwrite`);
    }
  }
}
