// Shared by the command-line tests: runs the built `autoencoder` command and writes small data files.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const MAIN = resolve(fileURLToPath(new URL('.', import.meta.url)), '../dist/cjs/cli/main.js');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `autoencoder …args` in `cwd`, its standard input `input` or the file or folder `stdinFrom`;
 * `onStdout` sees the output as it comes (to send a signal mid-run). A run still going after
 * `killAfterMs` (50 s by default) is killed.
 */
export function cli(
  args: string[],
  options: { cwd?: string; input?: string; stdinFrom?: string; killAfterMs?: number; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {},
): Promise<Run> {
  return new Promise((done, fail) => {
    const stdin = options.stdinFrom === undefined ? 'pipe' : openSync(options.stdinFrom, 'r');
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: options.cwd, stdio: [stdin, 'pipe', 'pipe'] });
    if (typeof stdin === 'number') closeSync(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      options.onStdout?.(stdout, child);
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // A run that hangs is killed before the test times out, so no process outlives the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 50_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}

/** A user error: the exit status, and exactly one line on stderr that matches `pattern`, with no stack trace. */
export function expectFailure(run: Run, code: number, pattern: RegExp): void {
  expect({ code: run.code, stderr: run.stderr.trimEnd() }).toMatchObject({ code, stderr: expect.stringMatching(pattern) });
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^autoencoder: /);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

/** Rows of smooth values in [0, 1], the same for the same seed. */
export function rows(count: number, cols: number, seed = 1): number[][] {
  return Array.from({ length: count }, (_, r) =>
    Array.from({ length: cols }, (_, c) => Math.fround(0.5 + 0.45 * Math.sin(seed * 1.7 + r * 0.31 + c * 0.9 + Math.cos(r * c))))
  );
}

export function writeDelimited(file: string, data: number[][], options: { delimiter?: string; header?: string[] } = {}): void {
  const d = options.delimiter ?? ',';
  const lines = data.map((row) => row.join(d));
  if (options.header) lines.unshift(options.header.join(d));
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** The header of a .npy file of `shape` in `descr` (such as '<f4'), format `version`. */
export function npyHeader(descr: string, shape: number[], options: { version?: 1 | 2 | 3; fortran?: boolean } = {}): Buffer {
  const version = options.version ?? 1;
  const dict = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const prefix = version === 1 ? 10 : 12;
  const padded = dict.padEnd(Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix - 1) + '\n';
  const header = Buffer.alloc(prefix + padded.length);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(header);
  if (version === 1) header.writeUInt16LE(padded.length, 8);
  else header.writeUInt32LE(padded.length, 8);
  header.write(padded, prefix, 'latin1');
  return header;
}

/** A .npy file: `descr` such as '<f4', a header of format `version`, and the data as given. */
export function writeNpy(
  file: string,
  data: number[][],
  options: { descr?: string; version?: 1 | 2 | 3; fortran?: boolean; shape?: number[]; truncate?: number } = {},
): void {
  const descr = options.descr ?? '<f4';
  const header = npyHeader(descr, options.shape ?? [data.length, data[0].length], options);
  const values = data.flat();
  const size = descr[2] === '8' ? 8 : 4;
  const body = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (descr === '<f4') body.writeFloatLE(v, i * 4);
    else if (descr === '<f8') body.writeDoubleLE(v, i * 8);
    else if (descr === '>f4') body.writeFloatBE(v, i * 4);
    else body.writeInt32LE(Math.round(v), i * 4);
  });
  const bytes = Buffer.concat([header, body]);
  writeFileSync(file, options.truncate ? bytes.subarray(0, bytes.length - options.truncate) : bytes);
}

export function writeF32(file: string, data: number[][]): void {
  writeFileSync(file, Buffer.from(Float32Array.from(data.flat()).buffer));
}

/** Parses CSV text written by the command into its header and rows of numbers. */
export function parseCsv(text: string): { header: string[]; rows: number[][] } {
  const [first, ...rest] = text.trimEnd().split('\n');
  return { header: first.split(','), rows: rest.map((line) => line.split(',').map(Number)) };
}
