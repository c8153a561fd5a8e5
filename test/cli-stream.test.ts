// `autoencoder train --stream-rows`: a multi-gigabyte file trains under a small heap, chunk by
// chunk, without ever being held whole.
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder } from 'native-autoencoder';
import { MAIN, cli } from './cli-helpers';

const dir = mkdtempSync(join(tmpdir(), 'na-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIM = 64;
const GIB = 1024 ** 3;

/** Raw float32 rows in [0, 1] with a learnable pattern, written 64 MiB at a time. */
function writeRows(file: string, bytes: number): number {
  const block = new Float32Array((64 * 1024 * 1024) / 4);
  for (let i = 0; i < block.length; i++) block[i] = 0.5 + 0.4 * Math.sin((i % DIM) * 0.7 + Math.floor(i / DIM) * 0.013);
  const fd = openSync(file, 'w');
  let written = 0;
  while (written < bytes) {
    const n = Math.min(block.byteLength, bytes - written);
    writeSync(fd, new Uint8Array(block.buffer, 0, n));
    written += n;
  }
  closeSync(fd);
  return written;
}

describe('train --stream-rows', () => {
  it('trains on a 2.25 GiB file under a 96 MB heap, holding at most a fraction of it', async () => {
    const file = join(dir, 'big.f32');
    const size = writeRows(file, 2.25 * GIB);
    expect(statSync(file).size).toBe(size);
    const out = join(dir, 'model');
    const run = spawnSync(
      process.execPath,
      ['--max-old-space-size=96', MAIN, 'train', '--data', file, '--dim', String(DIM), '--stream-rows', '250000', '--epochs', '1',
        '--layers', '32', '--latent', '8', '--batch-size', '256', '--learning-rate', '0.003', '--seed', '1', '--json', '--out', out],
      { encoding: 'utf8', timeout: 240_000, maxBuffer: 1 << 24 },
    );
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.rows).toBe(size / (4 * DIM));
    console.log(`streamed ${(size / GIB).toFixed(2)} GiB in ${summary.seconds.toFixed(1)} s; peak resident memory ${(summary.peakResidentBytes / 2 ** 20).toFixed(0)} MiB`);
    expect(summary.peakResidentBytes).toBeLessThan(size / 4);
    const model = await Autoencoder.load(join(out, 'model.safetensors'));
    expect(model.inputDim).toBe(DIM);
    expect(summary.epochs[0].loss).toBeLessThan(0.01);
  }, 300_000);

  it('refuses CSV data and whole-file missing-value policies', async () => {
    const csv = join(dir, 'rows.csv');
    writeRows(join(dir, 'small.f32'), 4 * DIM * 100);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(csv, '1,2\n3,4\n');
    const a = await cli(['train', '--data', csv, '--stream-rows', '10', '--out', join(dir, 'x')]);
    expect(a.code).toBe(64);
    expect(a.stderr).toMatch(/--stream-rows reads \.npy and raw float32 files/);
    const b = await cli(['train', '--data', join(dir, 'small.f32'), '--dim', String(DIM), '--stream-rows', '10', '--missing', 'mean', '--out', join(dir, 'y')]);
    expect(b.code).toBe(64);
    expect(b.stderr).toMatch(/--missing mean needs the whole file/);
    const c = await cli(['train', '--data', join(dir, 'small.f32'), '--dim', String(DIM), '--stream-rows', '10', '--validation-split', '0.5', '--out', join(dir, 'z')]);
    expect(c.code).toBe(64);
    expect(c.stderr).toMatch(/--validation-split is not available with --stream-rows/);
  });

  it('a network the library refuses leaves no --out folder behind', async () => {
    writeRows(join(dir, 'few.f32'), 4 * DIM * 10);
    const run = await cli(['train', '--data', join(dir, 'few.f32'), '--dim', String(DIM), '--stream-rows', '10', '--latent', '99999999', '--out', join(dir, 'refused')]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/^autoencoder: The value of a width of --layers or --latent is out of range/);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
  });
});
