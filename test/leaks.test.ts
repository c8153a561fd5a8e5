// Memory over 10,000 cycles of create, one training step, predict and dispose (in a child process with --expose-gc): RSS and heap after a final GC grow less than 10 MB past their level after the first 100 cycles.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cjs/index.js');
const CYCLES = 10_000;
const BASELINE_AFTER = 100;
const MB = 1024 * 1024;
// The cycles take 2–4 s, but 110–220 s (11–22 ms each) on some machines in the AddressSanitizer build CI also runs.
const TIMEOUT_MS = 600_000;

// Each cycle's model holds about 700 parameters, their Adam moments, a fit thread with its channel and
// the workspaces of a fit and a prediction: a cycle that leaked any of it would add kilobytes, tens of
// megabytes over the run.
const script = `
const { Autoencoder } = require(process.argv[1]);
const [cycles, baselineAfter] = process.argv.slice(2).map(Number);
const x = Float32Array.from({ length: 64 }, (_, i) => (i % 10) / 10); // two rows of 32: one batch of 2
function usage() {
  for (let i = 0; i < 3; i++) gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}
(async () => {
  const started = Date.now();
  let baseline;
  for (let i = 0; i < cycles; i++) {
    const ae = new Autoencoder({ inputDim: 32, latentDim: 8, seed: i });
    const history = await ae.fit(x, { epochs: 1, batchSize: 2 });
    if (history.steps !== 1) throw new Error('cycle ' + i + ' trained ' + history.steps + ' steps, not 1');
    if (ae.predict(x).rows !== 2) throw new Error('cycle ' + i + ' predicted the wrong number of rows');
    ae.dispose();
    if (i + 1 === baselineAfter) baseline = usage();
  }
  console.log(JSON.stringify({ baseline, final: usage(), ms: Date.now() - started }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

interface Usage {
  rss: number;
  heap: number;
}

function run(): Promise<{ baseline: Usage; final: Usage; ms: number }> {
  return new Promise((resolve, reject) => {
    // Two sources of growth that hold nothing are pinned: glibc opens a new malloc arena now and then
    // for the fit threads (each a few MB of RSS, up to 8 per core), and V8 doubles its young
    // generation (8, 16, 32 MB) as the run goes on. With one arena and 1 MB semi-spaces, RSS stays
    // flat over 70,000 cycles, so growth here is memory the cycles kept.
    const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=1', '-e', script, entry, String(CYCLES), String(BASELINE_AFTER)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MALLOC_ARENA_MAX: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) =>
      code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`the cycles ended with ${signal ?? `status ${code}`}: ${stderr}`)),
    );
  });
}

describe('create, fit one step, predict, dispose', () => {
  it(`${CYCLES.toLocaleString('en-US')} times leaves RSS and heap within 10 MB of their level after ${BASELINE_AFTER} cycles`, async () => {
    const { baseline, final, ms } = await run();
    const mb = (bytes: number) => (bytes / MB).toFixed(1);
    console.log(
      `${CYCLES} cycles in ${(ms / 1000).toFixed(1)} s (${(ms / CYCLES).toFixed(2)} ms each): ` +
        `RSS ${mb(baseline.rss)} MB after ${BASELINE_AFTER} → ${mb(final.rss)} MB after ${CYCLES} (${mb(final.rss - baseline.rss)} MB); ` +
        `heap ${mb(baseline.heap)} MB → ${mb(final.heap)} MB (${mb(final.heap - baseline.heap)} MB)`,
    );
    expect(final.rss - baseline.rss).toBeLessThan(10 * MB);
    expect(final.heap - baseline.heap).toBeLessThan(10 * MB);
  }, TIMEOUT_MS);
});
