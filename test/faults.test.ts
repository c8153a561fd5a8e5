// Faults: a non-finite row and a diverging fit, allocations beyond memory, saves that cannot finish, GC forced every millisecond during async work, inputs transferred away mid-fit, and eight models training at once.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, type EpochLogs, type FitOptions, type History } from 'native-autoencoder';
import { allFinite, expectCoded, rejection, rowsOf, sameBits, sameWeights, syntheticData, toNumberRows } from './helpers';

const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cjs/index.js');
const dir = mkdtempSync(path.join(tmpdir(), 'na-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` in a child process (argv[1] is the library's entry) and returns its stdout, parsed. */
function child<T>(args: string[], script: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = args;
    const proc = spawn(command, [...rest, '-e', script, entry, ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('close', (code, signal) =>
      code === 0 ? resolve(JSON.parse(stdout) as T) : reject(new Error(`the child ended with ${signal ?? `status ${code}`}: ${stderr}`)),
    );
  });
}

const D = 16;
const x = syntheticData(48, D, 91);

describe('a non-finite value in one input row', () => {
  // 48 rows in batches of 8 without shuffling: row 29 is in batch 3.
  const rows = toNumberRows(x, D);
  rows[29][3] = NaN;

  it('stops the fit with ERR_NON_FINITE naming the epoch and batch; the model stays usable', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 4, seed: 1 });
    const error = await rejection(ae.fit(rows, { shuffle: false, batchSize: 8, epochs: 2 }));
    expectCoded(error, Error, 'ERR_NON_FINITE');
    expect((error as Error).message).toMatch(/epoch 0, batch 3\b/);
    expect(ae.busy).toBe(false);
    expect(allFinite(ae.getWeights())).toBe(true);
    const clean = await ae.fit(x, { epochs: 1, batchSize: 8 });
    expect(clean.loss.every(Number.isFinite)).toBe(true);
  });

  it("with onNonFinite: 'skip' completes, reports the skipped batch of every epoch, and keeps the weights finite", async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 4, seed: 1 });
    const logs: EpochLogs[] = [];
    const history = await ae.fit(rows, { batchSize: 8, epochs: 3, onNonFinite: 'skip', onEpochEnd: (l) => logs.push(l) });
    expect(history.epochs.map((e) => e.skippedBatches)).toEqual([1, 1, 1]);
    expect(logs.map((e) => e.skippedBatches)).toEqual([1, 1, 1]);
    expect(history.steps).toBe(3 * 5);
    expect(history.loss.every(Number.isFinite)).toBe(true);
    expect(allFinite(ae.getWeights())).toBe(true);
    expect(ae.predict(x).data.every(Number.isFinite)).toBe(true);
  });
});

describe('a learning rate that makes training diverge (sgd, 1e6, a linear network)', () => {
  const linear = () =>
    new Autoencoder({
      encoder: new Encoder({ inputDim: D, layers: [{ units: 4 }], seed: 1 }),
      decoder: new Decoder({ latentDim: 4, layers: [{ units: D }], seed: 2 }),
      seed: 3,
    });
  const options: FitOptions = { optimizer: { type: 'sgd', learningRate: 1e6 }, batchSize: 8, epochs: 3 };

  it('rejects with ERR_NON_FINITE naming the epoch and batch, and leaves finite weights', async () => {
    const ae = linear();
    const error = await rejection(ae.fit(x, options));
    expectCoded(error, Error, 'ERR_NON_FINITE');
    expect((error as Error).message).toMatch(/epoch \d+, batch \d+/);
    expect(allFinite(ae.getWeights())).toBe(true);
    expect(ae.predict(x).data.every(Number.isFinite)).toBe(true);
  });

  it("with onNonFinite: 'skip' skips every step past the blow-up and keeps finite weights", async () => {
    const ae = linear();
    const history = await ae.fit(x, { ...options, onNonFinite: 'skip' });
    const skipped = history.epochs.reduce((s, e) => s + e.skippedBatches, 0);
    expect(skipped).toBeGreaterThan(0);
    expect(history.steps + skipped).toBe(3 * 6);
    expect(allFinite(ae.getWeights())).toBe(true);
  });
});

describe('an allocation far larger than memory', () => {
  const refusal = /refused to allocate (\d+) bytes \(.*GiB\).*: the machine has \d+ bytes/;

  it("inside a fit (the batch's workspace) is refused with ERR_OUT_OF_MEMORY before it is made, naming the bytes", async () => {
    // 65,536 one-value rows in one batch through a hidden layer of 2^20 units: a 2^36-float (256 GiB) workspace.
    const wide = new Autoencoder({
      encoder: new Encoder({ inputDim: 1, layers: [{ units: 2 ** 20 }], seed: 1 }),
      decoder: new Decoder({ latentDim: 2 ** 20, layers: [{ units: 1 }], seed: 2 }),
    });
    const before = process.memoryUsage().rss;
    const error = await rejection(wide.fit(new Float32Array(2 ** 16), { batchSize: 2 ** 16 }));
    expectCoded(error, Error, 'ERR_OUT_OF_MEMORY');
    expect(Number((error as Error).message.match(refusal)?.[1])).toBeGreaterThanOrEqual(2 ** 38);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    expect(wide.busy).toBe(false);
    wide.dispose();
  });

  it('for a result (predict, predictAsync) is refused with ERR_OUT_OF_MEMORY before anything is allocated', async () => {
    // 2^20 latent rows decoded to 2^20 values each: 2^40 floats (4 TiB) from a 4 MiB input.
    const decoder = new Decoder({ latentDim: 1, layers: [{ units: 2 ** 20 }], seed: 1 });
    const z = new Float32Array(2 ** 20);
    let error: unknown;
    try {
      decoder.decode(z);
    } catch (e) {
      error = e;
    }
    expectCoded(error, Error, 'ERR_OUT_OF_MEMORY');
    expect((error as Error).message).toMatch(/refused to allocate 4398046511104 bytes \(4096\.0 GiB\) for the output, 1048576 × 1048576 values/);
    expectCoded(await rejection(decoder.predictAsync(z)), Error, 'ERR_OUT_OF_MEMORY');
    expect(decoder.busy).toBe(false);
    expect(decoder.decode(z.subarray(0, 2)).rows).toBe(2);
    decoder.dispose();
  });
});

describe('a save that cannot finish', () => {
  const probe = rowsOf(x, D, 0, 4);
  const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

  /** Saves an old model to `target` and returns what a later check needs. */
  async function oldModel(target: string) {
    const old = new Autoencoder({ inputDim: D, latentDim: 4, seed: 5 });
    await old.save(target);
    return { bytes: readFileSync(target), output: bytesOf(old.predict(probe).data) };
  }

  it('out of room mid-write (a file-size limit: EFBIG) rejects, and the old file stays byte-identical and loadable', async () => {
    // The shell sets RLIMIT_FSIZE to 64 blocks (32 or 64 KiB) for node: the old model's file is
    // smaller, the new one's temporary file grows past it, as on a disk that fills during the save.
    const folder = path.join(dir, 'full');
    mkdirSync(folder);
    const target = path.join(folder, 'model.safetensors');
    const old = await oldModel(target);
    const script = `
      process.on('SIGXFSZ', () => undefined); // past the limit, write() then fails with EFBIG instead of the signal ending node
      const { Autoencoder } = require(process.argv[1]);
      new Autoencoder({ inputDim: 600, latentDim: 200, seed: 6 }).save(process.argv[2]).then(
        () => console.log(JSON.stringify({ saved: true })),
        (error) => console.log(JSON.stringify({ code: error.code, message: error.message })),
      );`;
    const result = await child<{ saved?: boolean; code?: string; message?: string }>(
      ['sh', '-c', 'ulimit -f 64 && exec "$0" "$@"', process.execPath],
      script,
      [target],
    );
    expect(result.saved).toBeUndefined();
    expect(result.code).toBe('EFBIG');
    expect(readFileSync(target).equals(old.bytes)).toBe(true);
    expect(readdirSync(folder)).toEqual(['model.safetensors']);
    const loaded = await Autoencoder.load(target);
    expect(bytesOf(loaded.predict(probe).data).equals(old.output)).toBe(true);
  });

  it("into a folder that is a file (ENOTDIR) rejects, for save and for a fit's checkpoint, and the file stays byte-identical", async () => {
    const file = path.join(dir, 'a-file');
    const old = await oldModel(file);
    const ae = new Autoencoder({ inputDim: D, latentDim: 4, seed: 7 });
    const error = await rejection(ae.save(path.join(file, 'model.safetensors')));
    expect(error).toHaveProperty('code', 'ENOTDIR');
    // Epochs of 4,096 rows, 200 of them: the failed write of the first checkpoint stops the fit midway,
    // which then rejects with the write's error (not the AbortError of its cancellation).
    const epochs: number[] = [];
    const checkpoint = { path: path.join(file, 'checkpoint.safetensors') };
    const fitError = await rejection(ae.fit(syntheticData(4096, D, 92), { epochs: 200, checkpoint, onEpochEnd: (l) => epochs.push(l.epoch) }));
    expect(fitError).toHaveProperty('code', 'ENOTDIR');
    expect(epochs.length).toBeLessThan(200);
    expect(ae.busy).toBe(false);
    expect(readFileSync(file).equals(old.bytes)).toBe(true);
    expect(bytesOf((await Autoencoder.load(file)).predict(probe).data).equals(old.output)).toBe(true);
  });

  it('onto an empty folder (EISDIR) rejects, leaving the folder empty and no temporary file beside it', async () => {
    const folder = path.join(dir, 'beside');
    const target = path.join(folder, 'model.safetensors');
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(folder, 'other'), 'untouched');
    const error = await rejection(new Autoencoder({ inputDim: D, latentDim: 4, seed: 8 }).save(target));
    expect(error).toHaveProperty('code', 'EISDIR');
    expect(readdirSync(folder).sort()).toEqual(['model.safetensors', 'other']);
    expect(readdirSync(target)).toEqual([]);
  });
});

describe('garbage collection forced every millisecond', () => {
  it('during predictAsync, reconstructionErrorAsync and fit on inputs nothing else holds changes no result', async () => {
    // Each input is made inside the call's argument list, so once the call returns only the library
    // could hold it; every result is compared with one computed from a copy that is kept.
    const script = `
      const { Autoencoder } = require(process.argv[1]);
      let collections = 0;
      setInterval(() => { gc(); collections++; }, 1);
      function rows(seed, count, cols) {
        let s = seed >>> 0;
        return Float32Array.from({ length: count * cols }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32));
      }
      const asRows = (flat, cols) => Array.from({ length: flat.length / cols }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
      const same = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      const seen = [];
      /** Awaits one asynchronous call, counting the collections that ran while it was in flight. */
      async function during(start) {
        const before = collections;
        const result = await start();
        seen.push(collections - before);
        return result;
      }
      (async () => {
        const ae = new Autoencoder({ inputDim: 64, latentDim: 16, seed: 1 });
        const bytes = ae.toBuffer();
        let mismatches = 0;
        for (let round = 0; round < 8; round++) {
          const kept = rows(round, 16384, 64);
          const predicted = await during(() => ae.predictAsync(rows(round, 16384, 64)));
          if (!same(ae.predict(kept).data, predicted.data)) mismatches++;
          const scores = await during(() => ae.reconstructionErrorAsync(asRows(rows(round, 16384, 64), 64)));
          if (!same(ae.reconstructionError(kept), scores)) mismatches++;
          const a = Autoencoder.fromBuffer(bytes);
          const b = Autoencoder.fromBuffer(bytes);
          const options = { epochs: 2, batchSize: 64, seed: round };
          await a.fit(kept.subarray(0, 2048 * 64), options);
          await during(() => b.fit(asRows(rows(round, 2048, 64), 64), options));
          if (!a.getWeights().every((w, i) => same(w.data, b.getWeights()[i].data))) mismatches++;
          a.dispose();
          b.dispose();
        }
        console.log(JSON.stringify({ calls: seen.length, mismatches, during: seen.reduce((s, n) => s + n, 0), fewest: Math.min(...seen) }));
        process.exit(0);
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const result = await child<{ calls: number; mismatches: number; during: number; fewest: number }>([process.execPath, '--expose-gc'], script);
    console.log(
      `GC every ms: ${result.calls} async calls on unreachable inputs, ${result.mismatches} results differed; ` +
        `${result.during} forced collections while they ran (at least ${result.fewest} per call)`,
    );
    expect(result.calls).toBe(24);
    expect(result.mismatches).toBe(0);
    expect(result.during).toBeGreaterThanOrEqual(result.calls);
  }, 60_000);
});

describe("the input's ArrayBuffer transferred to a worker right after the call", () => {
  const sumOf = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
  const receiver = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', (buffer) => {
      const values = new Float32Array(buffer);
      parentPort.postMessage({ bytes: buffer.byteLength, sum: values.reduce((s, v) => s + v, 0) });
    });`;

  it('leaves fit and predictAsync with the results of an undisturbed run (the inputs were copied first)', async () => {
    const worker = new Worker(receiver, { eval: true });
    try {
      const data = syntheticData(1024, 32, 93);
      const options: FitOptions = { epochs: 3, batchSize: 32, seed: 4, validationSplit: 0.25 };
      const undisturbed = new Autoencoder({ inputDim: 32, latentDim: 8, seed: 2 });
      const expected = await undisturbed.fit(data.slice(), options);

      const moved = data.slice();
      const ae = new Autoencoder({ inputDim: 32, latentDim: 8, seed: 2 });
      const running = ae.fit(moved, options);
      worker.postMessage(moved.buffer, [moved.buffer]);
      expect(moved.byteLength).toBe(0);
      const [received] = (await once(worker, 'message')) as [{ bytes: number; sum: number }];
      const history = await running;
      expect(received).toEqual({ bytes: data.byteLength, sum: sumOf(data) });
      expect(sameWeights(ae.getWeights(), undisturbed.getWeights())).toBe(true);
      expect(history.loss).toEqual(expected.loss);
      expect(history.valLoss).toEqual(expected.valLoss);

      const input = data.slice();
      const predicted = ae.predictAsync(input);
      worker.postMessage(input.buffer, [input.buffer]);
      expect(input.byteLength).toBe(0);
      expect(sameBits((await predicted).data, ae.predict(data).data)).toBe(true);
    } finally {
      await worker.terminate();
    }
  });
});

describe('eight models training at once through the async API', () => {
  it('each ends bit-identical to the same model trained alone', async () => {
    // Fits of some tens of milliseconds each, long enough to overlap on a loaded machine.
    const specs = Array.from({ length: 8 }, (_, k) => ({
      x: syntheticData(1024, 256, 100 + k),
      latent: [16, 32, 48, 64][k % 4],
      options: {
        epochs: 2,
        batchSize: 16 + 8 * (k % 3),
        seed: k,
        optimizer: (['adam', 'sgd', 'rmsprop', 'adamw'] as const)[k % 4],
        validationSplit: 0.1,
      } satisfies FitOptions,
    }));
    const make = (k: number) => new Autoencoder({ inputDim: 256, latentDim: specs[k].latent, seed: 10 + k });
    const alone: { model: Autoencoder; history: History }[] = [];
    for (const [k, s] of specs.entries()) {
      const model = make(k);
      alone.push({ model, history: await model.fit(s.x, s.options) });
    }
    const log: number[] = [];
    const models = specs.map((_, k) => make(k));
    const started = Date.now();
    const running = models.map((m, k) => m.fit(specs[k].x, { ...specs[k].options, onBatchEnd: () => log.push(k) }));
    expect(models.every((m) => m.busy)).toBe(true);
    const histories = await Promise.all(running);
    // How the batches interleaved (the addon runs one parallel region at a time, so they take turns).
    const switches = log.filter((k, i) => i > 0 && k !== log[i - 1]).length;
    console.log(`eight fits in flight at once: ${log.length} batches in ${Date.now() - started} ms, ${switches} switches from one model's batch to another's`);
    models.forEach((m, k) => {
      expect(sameWeights(m.getWeights(), alone[k].model.getWeights()), `model ${k}`).toBe(true);
      expect(histories[k].loss, `model ${k}`).toEqual(alone[k].history.loss);
      expect(histories[k].valLoss, `model ${k}`).toEqual(alone[k].history.valLoss);
    });
  });
});
