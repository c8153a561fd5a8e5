// Property-based fuzzing of the whole public API (fast-check, in a child process): no crash or abort, and every refusal is a coded TypeError or RangeError naming its argument, or an error with a documented code.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.resolve(here, '../dist/cjs/index.js');
const runner = path.resolve(here, 'fuzz/runner.mjs');

// FUZZ_RUNS raises the number of cases locally (the runner spreads them over its properties); a
// replay (FUZZ_PATH) runs the one case.
const runs = process.env.FUZZ_PATH === undefined ? Number(process.env.FUZZ_RUNS ?? 10_000) : 1;
const limitMs = 120_000 * Math.max(1, runs / 10_000);

interface PropertyReport {
  property: string;
  runs: number;
  seed: number;
  ms: number;
  path?: string;
  counterexample?: string;
  error?: string;
  cause?: string;
}
interface Summary {
  summary: true;
  seed: number;
  cases: number;
  ms: number;
  outcomes: Record<string, number>;
  processFailures: string[];
}

// Scratch folder: the file properties save and load there. On tmpfs, when there is one, fsync is free.
const base = (() => {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
})();
const scratch = mkdtempSync(path.join(base, 'na-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let exit: { code: number | null; signal: NodeJS.Signals | null };
let stderr = '';
const reports: PropertyReport[] = [];
let summary: Summary | undefined;

beforeAll(async () => {
  const child = spawn(process.execPath, [runner, entry], { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  exit = await new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  clearTimeout(timer);
  for (const line of stdout.split('\n')) {
    let parsed: PropertyReport | Summary;
    try {
      parsed = JSON.parse(line) as PropertyReport | Summary;
    } catch {
      continue; // a blank line, or the last one cut short by a crash
    }
    if ('summary' in parsed) summary = parsed;
    else reports.push(parsed);
  }
  if (summary) {
    const byOutcome = Object.entries(summary.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    console.log(`fuzz: ${summary.cases} cases in ${reports.length} properties, ${(summary.ms / 1000).toFixed(1)} s, seed ${summary.seed}; calls: ${byOutcome}`);
  }
}, limitMs + 10_000);

/** The property the runner was in when it stopped, from its progress lines. */
function lastProperty(): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('property '));
  return lines[lines.length - 1] ?? '(none started)';
}

describe('the fuzz runner', () => {
  it('runs every property to the end, without a crash or an abort', () => {
    const stopped = exit.signal ?? `exit status ${exit.code}`;
    const replay = lastProperty().match(/^property (.*): \d+ runs, seed (-?\d+)$/);
    expect(
      exit.signal === null && exit.code === 0 && summary !== undefined,
      `the runner ended by ${stopped} in ${lastProperty()}.\n` +
        (replay ? `Replay, printing each case before it runs: FUZZ_VERBOSE=1 FUZZ_ONLY='${replay[1]}' FUZZ_SEED=${replay[2]} npx vitest run test/fuzz.test.ts\n` : '') +
        stderr.slice(-4000),
    ).toBe(true);
  });

  it(`runs at least ${runs.toLocaleString('en-US')} cases`, () => {
    expect(summary?.cases ?? 0).toBeGreaterThanOrEqual(runs);
  });

  it('finds every call returned or refused as documented', () => {
    const failed = reports.filter((r) => r.error !== undefined);
    for (const r of failed) {
      console.error(
        `property "${r.property}" failed (seed ${r.seed}, path ${r.path}):\n  ${r.counterexample}\n${r.error}\n${r.cause ? `caused by ${r.cause}\n` : ''}` +
          `Replay: FUZZ_ONLY='${r.property}' FUZZ_SEED=${r.seed} FUZZ_PATH='${r.path}' npx vitest run test/fuzz.test.ts`,
      );
    }
    expect(failed.map((r) => `${r.property}: ${r.error?.split('\n')[0]}`)).toEqual([]);
    expect(summary?.processFailures ?? []).toEqual([]);
  });
});
