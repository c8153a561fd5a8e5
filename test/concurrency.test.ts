// Concurrency: two models training at once match each trained alone, and the addon trains inside worker_threads, one or two at a time.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Autoencoder, type FitOptions, type History } from 'native-autoencoder';
import { sameWeights, syntheticData } from './helpers';

// Fits of about 300 ms each, long enough that the two threads overlap even on a loaded machine.
const D = 512;

/** Loss numbers of a history, without the timings. */
const losses = (h: History) => ({ loss: h.loss, valLoss: h.valLoss, steps: h.steps });

describe('two models at once', () => {
  it('train concurrently, each ending bit-identical to the same model trained alone', async () => {
    const xa = syntheticData(2048, D, 61);
    const xb = syntheticData(2048, D, 62);
    const options = (seed: number, log: string[], tag: string): FitOptions => ({
      epochs: 3,
      batchSize: 32,
      seed,
      validationSplit: 0.1,
      onBatchEnd: () => log.push(tag),
    });
    const aloneA = new Autoencoder({ inputDim: D, latentDim: 128, seed: 1 });
    const aloneB = new Autoencoder({ inputDim: D, latentDim: 32, seed: 2 });
    const ignored: string[] = [];
    const ha = await aloneA.fit(xa, options(3, ignored, 'a'));
    const hb = await aloneB.fit(xb, options(4, ignored, 'b'));

    const a = new Autoencoder({ inputDim: D, latentDim: 128, seed: 1 });
    const b = new Autoencoder({ inputDim: D, latentDim: 32, seed: 2 });
    const log: string[] = [];
    const [ca, cb] = await Promise.all([a.fit(xa, options(3, log, 'a')), b.fit(xb, options(4, log, 'b'))]);

    // They really overlapped: each one's batches arrived between the other's first and last.
    expect(log.indexOf('b')).toBeLessThan(log.lastIndexOf('a'));
    expect(log.indexOf('a')).toBeLessThan(log.lastIndexOf('b'));
    expect(sameWeights(a.getWeights(), aloneA.getWeights())).toBe(true);
    expect(sameWeights(b.getWeights(), aloneB.getWeights())).toBe(true);
    expect(losses(ca)).toEqual(losses(ha));
    expect(losses(cb)).toEqual(losses(hb));
  });
});

describe('worker_threads', () => {
  // The built CommonJS entry, found from this file.
  const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cjs', 'index.js');
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Autoencoder } = require(workerData.entry);
    const ae = new Autoencoder({ inputDim: workerData.cols, latentDim: 16, seed: workerData.seed });
    ae.fit(workerData.x, workerData.options).then(
      (history) => {
        parentPort.postMessage({ loss: history.loss, weights: ae.getWeights(), evaluation: ae.evaluate(workerData.x) });
        ae.dispose();
      },
      (error) => parentPort.postMessage({ error: String(error && error.stack) }),
    );
  `;
  interface Result {
    loss: number[];
    weights: ReturnType<Autoencoder['getWeights']>;
    evaluation: number;
    error?: string;
  }
  const x = syntheticData(512, 64, 63);
  const options = { epochs: 5, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.01 }, seed: 1 } as const;

  function inWorker(seed: number): Promise<Result> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { entry, cols: 64, seed, x, options } });
      let result: Result | undefined;
      worker.once('message', (message: Result) => (result = message));
      worker.once('error', reject);
      // The worker exits by itself once its fit is done and nothing is left on its event loop.
      worker.once('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker exited with ${code}`))));
    });
  }

  async function onMainThread(seed: number): Promise<Result> {
    const ae = new Autoencoder({ inputDim: 64, latentDim: 16, seed });
    const history = await ae.fit(x, options);
    return { loss: history.loss, weights: ae.getWeights(), evaluation: ae.evaluate(x) };
  }

  it('a worker trains a model, and gets what the main thread gets', async () => {
    const [worker, main] = await Promise.all([inWorker(1), onMainThread(1)]);
    expect(worker.error).toBeUndefined();
    expect(worker.loss).toHaveLength(5);
    expect(worker.loss[4]).toBeLessThan(worker.loss[0] / 2);
    expect(worker.loss).toEqual(main.loss);
    expect(sameWeights(worker.weights, main.weights)).toBe(true);
    expect(worker.evaluation).toBe(main.evaluation);
  });

  it('two workers train at once, each matching its own seed', async () => {
    const [one, two] = await Promise.all([inWorker(1), inWorker(2)]);
    const [mainOne, mainTwo] = [await onMainThread(1), await onMainThread(2)];
    expect(one.loss).toEqual(mainOne.loss);
    expect(two.loss).toEqual(mainTwo.loss);
    expect(one.loss).not.toEqual(two.loss);
  });
});

describe('a worker ended mid-fit', () => {
  // worker.terminate() tears the worker's environment down while its fit thread still runs; the
  // process must outlive it. Each run is its own process, since a failure would abort it.
  const script = (entry: string) => `
    const { Worker } = require('node:worker_threads');
    const code = \`
      const { parentPort } = require('node:worker_threads');
      const { Autoencoder } = require(${JSON.stringify(entry)});
      const x = new Float32Array(2048 * 256).map(() => Math.random());
      const ae = new Autoencoder({ inputDim: 256, latentDim: 64, seed: 1 });
      ae.fit(x, { epochs: 1000, onBatchEnd: () => undefined }).catch(() => undefined);
      setTimeout(() => parentPort.postMessage('training'), 200);
    \`;
    const worker = new Worker(code, { eval: true });
    worker.once('message', async () => {
      await worker.terminate();
      setTimeout(() => console.log('alive'), 200);
    });`;

  it('leaves the process running', async () => {
    const { spawnSync } = await import('node:child_process');
    const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cjs/index.js');
    for (let run = 0; run < 4; run++) {
      const child = spawnSync(process.execPath, ['-e', script(entry)], { encoding: 'utf8', timeout: 30_000 });
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout.trim()).toBe('alive');
    }
  });

  // A termination that lands inside a callback's JavaScript (the checkpoint writer, a callback of
  // some length) reaches the addon as a pending exception that is not an object; wrapping it for a
  // C++ exception failed and aborted the whole process.
  // Half the workers spend their time in callbacks of a millisecond; the other half in the
  // checkpoint writer, with epochs of a few rows and no other callback.
  const workerWithCallbacks = (entry: string, checkpoint: string) => `
    const { Worker } = require('node:worker_threads');
    const code = (rows, callbacks) => \`
      const { parentPort } = require('node:worker_threads');
      const { Autoencoder } = require(${JSON.stringify(entry)});
      const x = new Float32Array(\${rows} * 32).map((_, i) => (i % 13) / 13);
      const ae = new Autoencoder({ inputDim: 32, latentDim: 8, seed: 1 });
      const busy = () => { const end = Date.now() + 1; while (Date.now() < end); };
      ae.fit(x, { epochs: 100000, checkpoint: { path: ${JSON.stringify(checkpoint)} }, \${callbacks} }).catch(() => undefined);
      parentPort.postMessage('training');
    \`;
    (async () => {
      for (let i = 0; i < 12; i++) {
        const worker = new Worker(i % 2 === 0 ? code(20000, 'onBatchEnd: busy, onEpochEnd: busy') : code(64, ''), { eval: true });
        await new Promise((started) => worker.once('message', started));
        await new Promise((later) => setTimeout(later, 20 + (i % 5) * 30));
        await worker.terminate();
      }
      console.log('alive');
    })();`;

  it('leaves the process running when the end lands inside a callback or the checkpoint writer', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cjs/index.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'na-terminate-'));
    try {
      const child = spawnSync(process.execPath, ['-e', workerWithCallbacks(entry, path.join(dir, 'fit.ckpt'))], { encoding: 'utf8', timeout: 60_000 });
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout.trim()).toBe('alive');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a worker ended inside any call into the addon', () => {
  // While a worker ends, the addon cannot throw its errors into JavaScript; node-addon-api then threw
  // a C++ exception that nothing caught, and the whole process aborted (exit 134) within a few ends.
  const script = (entry: string) => `
    const { Worker } = require('node:worker_threads');
    const code = \`
      const library = require(${JSON.stringify(entry)});
      const x = new Float32Array(200 * 64).fill(0.5);
      const ae = new library.Autoencoder({ inputDim: 64, latentDim: 8, seed: 1 });
      (async () => {
        for (;;) {
          await ae.predictAsync(x);
          await ae.reconstructionErrorAsync(x);
          ae.predict(x);
          ae.getWeights();
          new library.Autoencoder({ inputDim: 64, latentDim: 8, seed: 2 }).dispose();
          library.allocateFloat32(100000);
        }
      })().catch(() => undefined);
    \`;
    (async () => {
      for (let i = 0; i < 16; i++) {
        const worker = new Worker(code, { eval: true });
        worker.on('error', () => undefined);
        await new Promise((done) => setTimeout(done, 60 + ((i * 37) % 120)));
        await worker.terminate();
      }
      console.log('alive');
    })();`;

  it('leaves the process running', async () => {
    const { spawnSync } = await import('node:child_process');
    const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cjs/index.js');
    const child = spawnSync(process.execPath, ['-e', script(entry)], { encoding: 'utf8', timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('alive');
  });
});

describe('process.exit() while native work runs', () => {
  // exit() runs OpenBLAS's finalizer, which frees its buffers; a fit thread inside a product then
  // crashed the process (SIGSEGV, about one exit in ten at these sizes).
  const script = (entry: string, delayMs: number) => `
    const { Autoencoder, Encoder, Decoder } = require(${JSON.stringify(entry)});
    const x = new Float32Array(108 * 16).map((_, i) => (Math.sin(i) + 1) / 2);
    const ae = new Autoencoder({
      encoder: new Encoder({ inputDim: 16, layers: [{ units: 256, activation: 'relu' }, { units: 64, activation: 'relu' }, { units: 16 }], seed: 1 }),
      decoder: new Decoder({ latentDim: 16, layers: [{ units: 64, activation: 'relu' }, { units: 256, activation: 'relu' }, { units: 16, activation: 'sigmoid' }], seed: 2 }),
    });
    ae.fit(x, { epochs: 100000, batchSize: 32 });
    const other = new Autoencoder({ inputDim: 16, latentDim: 4, seed: 3 });
    const rows = new Float32Array(4096 * 16).fill(0.5);
    const predict = () => other.predictAsync(rows).then(predict);
    predict();
    setTimeout(() => process.exit(7), ${delayMs});`;

  it('exits with its status: running fits stop after their batch and the exit waits for them', async () => {
    const { spawn } = await import('node:child_process');
    const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cjs/index.js');
    const run = (delayMs: number) =>
      new Promise<{ code: number | null; signal: string | null }>((done) => {
        const child = spawn(process.execPath, ['-e', script(entry, delayMs)], { stdio: 'ignore' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          done({ code, signal });
        });
      });
    const outcomes = [];
    // Two at a time, at delays that land in the first batches and later ones.
    for (let i = 0; i < 20; i++) outcomes.push(...(await Promise.all([run(i % 6), run((i % 6) + 3)])));
    expect(outcomes.filter((o) => o.code !== 7)).toEqual([]);
  });
});
