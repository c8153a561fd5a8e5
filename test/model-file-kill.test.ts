// Atomic, durable save: a process killed with SIGKILL at any moment of a save loop leaves the old file or the new one, whole; a save that cannot write rejects and keeps the old file.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder } from 'native-autoencoder';
import { mulberry32, rejection, syntheticData } from './helpers';

const entry = path.resolve(__dirname, '../dist/cjs/index.js');
const dir = mkdtempSync(path.join(tmpdir(), 'na-model-kill-'));
afterAll(() => {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) chmodSync(path.join(dir, name), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

const INPUT = 600;
const LATENT = 200;
const SEEDS = [1, 2];
const probe = syntheticData(4, INPUT, 5);

/**
 * Builds the two weight sets (seeds 1 and 2), says 'ready', and when stdin gives it the number of a
 * set, saves them to the target in turn from that one on, forever, writing '.' after each save.
 */
const saver = `
const { Autoencoder } = require(process.argv[1]);
const target = process.argv[2];
const models = ${JSON.stringify(SEEDS)}.map((seed) => new Autoencoder({ inputDim: ${INPUT}, latentDim: ${LATENT}, seed }));
process.stdout.write('ready\\n');
process.stdin.once('data', async (first) => {
  for (let i = Number(String(first)); ; i++) {
    await models[i % 2].save(target);
    process.stdout.write('.');
  }
});
`;

function bits(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Saver {
  /**
   * Starts the save loop at set `first`, kills the saver with SIGKILL `delay` ms after it reports
   * `saves` completed saves, and returns how many it completed.
   */
  killAfter(first: number, saves: number, delay: number): Promise<number>;
}

/** Starts a saver process and resolves once it is ready (its start-up overlaps the previous saver's checks). */
async function startSaver(target: string): Promise<Saver> {
  const child = spawn(process.execPath, ['-e', saver, entry, target], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' comes after the last of its output, so every '.' is counted.
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  const completed = () => stdout.length - stdout.indexOf('\n') - 1;
  let onOutput = () => undefined as void;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onOutput();
  });
  const output = (enough: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      onOutput = () => enough() && resolve();
      onOutput();
      child.on('exit', (code) => reject(new Error(`the saver exited (${code}) too early: ${stderr}`)));
    });
  await output(() => stdout.includes('ready\n'));
  return {
    async killAfter(first: number, saves: number, delay: number): Promise<number> {
      child.stdin.write(`${first}\n`);
      await output(() => completed() >= saves);
      await sleep(delay);
      child.kill('SIGKILL');
      const signal = await exited;
      if (signal !== 'SIGKILL') throw new Error(`the saver ended by ${signal} rather than SIGKILL: ${stderr}`);
      return completed();
    },
  };
}

describe('a save loop killed with SIGKILL', () => {
  it('always leaves a whole file holding one of the two weight sets', async () => {
    const expected = SEEDS.map((seed) => {
      const model = new Autoencoder({ inputDim: INPUT, latentDim: LATENT, seed });
      return { model, output: bits(model.predict(probe).data), size: model.toBuffer().length };
    });
    expect(expected[0].model.parameterCount).toBeGreaterThan(300_000);
    expect(expected[1].size).toBe(expected[0].size);
    expect(expected[1].output.equals(expected[0].output)).toBe(false);

    const target = path.join(dir, 'model.safetensors');
    await expected[0].model.save(target);
    const random = mulberry32(0x5a7e);
    const kills = 32;
    let onDisk = 0;
    let unchanged = 0;
    let saves = 0;
    const delays: number[] = [];
    // Savers start a few ahead, so their start-up overlaps the kills and checks before them.
    const ahead = 3;
    const pending = Array.from({ length: Math.min(ahead, kills) }, () => startSaver(target));
    for (let k = 0; k < kills; k++) {
      const current = await pending.shift()!;
      // A third of the kills land early (mostly inside the first save), a third anywhere in the next
      // ~50 ms of saves, a third just after the first, second or third save is reported.
      const [after, delay] = k % 3 === 0 ? [0, random() * 6] : k % 3 === 1 ? [0, random() * 50] : [1 + Math.floor(random() * 3), random() * 3];
      delays.push(delay);
      // Each saver saves the other set first, so a kill before its first rename leaves the file unchanged.
      saves += await current.killAfter((onDisk + 1) % 2, after, delay);
      if (k + ahead < kills) pending.push(startSaver(target));
      expect(statSync(target).size).toBe(expected[0].size);
      const loaded = await Autoencoder.load(target);
      const output = bits(loaded.predict(probe).data);
      const which = expected.findIndex((e) => e.output.equals(output));
      if (which < 0) throw new Error(`after kill ${k} (${delay.toFixed(1)} ms) the target predicts neither weight set`);
      expect(loaded.getWeights().every((w, i) => bits(w.data).equals(bits(expected[which].model.getWeights()[i].data)))).toBe(true);
      if (which === onDisk) unchanged++;
      onDisk = which;
      loaded.dispose();
    }
    const others = readdirSync(dir).filter((name) => name !== 'model.safetensors');
    const temps = others.filter((name) => /^\.model\.safetensors\.\d+\.[0-9a-f]{12}\.tmp$/.test(name));
    console.log(
      `SIGKILL during a save loop: ${kills} kills at ${Math.min(...delays).toFixed(1)}–${Math.max(...delays).toFixed(1)} ms after the start or a reported save, ` +
        `${saves} saves completed in all; the target was whole every time: unchanged after ${unchanged} kills, the other weight set after ${kills - unchanged}; ` +
        `${temps.length} stray temporary files left by kills mid-write`,
    );
    expect(others).toEqual(temps);
    // The kills landed at different points of the loop: before a save's rename and after it.
    expect(saves).toBeGreaterThan(0);
    expect(unchanged).toBeGreaterThan(0);
    expect(unchanged).toBeLessThan(kills);
  });
});

describe('a save that cannot write', () => {
  it('rejects with the fs error and leaves the old file whole and loadable', async () => {
    const folder = path.join(dir, 'read-only');
    mkdirSync(folder);
    const target = path.join(folder, 'model.safetensors');
    const old = new Autoencoder({ inputDim: 16, latentDim: 4, seed: 7 });
    await old.save(target);
    const before = readFileSync(target);
    const newer = new Autoencoder({ inputDim: 16, latentDim: 4, seed: 8 });

    chmodSync(folder, 0o555);
    let writable = true;
    try {
      writeFileSync(path.join(folder, 'probe'), '');
      rmSync(path.join(folder, 'probe'));
    } catch {
      writable = false;
    }
    let error: unknown;
    if (!writable) {
      error = await rejection(newer.save(target));
      expect(error).toHaveProperty('code', 'EACCES');
    } else {
      // The mode binds no privileged user (root): make the target's parent a file instead, so the open fails.
      error = await rejection(newer.save(path.join(target, 'model.safetensors')));
      expect(error).toHaveProperty('code', 'ENOTDIR');
    }
    chmodSync(folder, 0o755);
    expect((error as Error).message).toContain(folder);
    expect(readdirSync(folder)).toEqual(['model.safetensors']);
    expect(readFileSync(target).equals(before)).toBe(true);
    const loaded = await Autoencoder.load(target);
    expect(bits(loaded.predict(probe.subarray(0, 16)).data).equals(bits(old.predict(probe.subarray(0, 16)).data))).toBe(true);
  });

  it('a failed rename (the target is a folder) removes the temporary file', async () => {
    const folder = path.join(dir, 'rename');
    const target = path.join(folder, 'model.safetensors');
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(target, 'keep'), 'x');
    const error = await rejection(new Autoencoder({ inputDim: 16, latentDim: 4, seed: 9 }).save(target));
    expect(['EISDIR', 'ENOTEMPTY', 'EEXIST']).toContain((error as NodeJS.ErrnoException).code);
    expect(readdirSync(folder)).toEqual(['model.safetensors']);
    expect(readdirSync(target)).toEqual(['keep']);
  });
});
