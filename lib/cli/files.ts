// Output files. The output folder is made and checked before training, so a bad path fails at once
// rather than after the work; every file is written whole or not at all (a temporary file renamed
// into place), so an interrupted run leaves nothing half-written.
import { constants, statSync } from 'node:fs';
import { access, mkdir, rmdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic-file';
import type { LayerStack } from '../stack';
import { outputError, usageError } from './errors';

/**
 * Makes `dir` and any missing parents. Node's own recursive mkdir never returns for some paths
 * (under /proc it retries ENOENT for ever), so this one gives up after one try per level.
 */
async function makeFolder(dir: string): Promise<boolean> {
  try {
    await mkdir(dir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(dir)).isDirectory()) return false;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await makeFolder(parent);
    await mkdir(dir);
    return true;
  }
}

/** Makes `dir` if needed and checks that it can be written; `created` says whether it was made here. */
export async function prepareFolder(dir: string): Promise<{ created: boolean }> {
  try {
    const created = await makeFolder(path.resolve(dir));
    await access(dir, constants.W_OK);
    return { created };
  } catch (error) {
    throw outputError(dir, error);
  }
}

/** Removes a folder this run made, if nothing was written into it. */
export async function removeEmptyFolder(dir: string): Promise<void> {
  await rmdir(dir).catch(() => undefined);
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
