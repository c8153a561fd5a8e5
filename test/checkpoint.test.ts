// Checkpoints: fit writes loadable checkpoints, a fresh process resumes from one bit for bit, and resuming or writing checkpoints fails cleanly.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder, type FitOptions, type WeightTensor } from 'native-autoencoder';
import { decodeSafetensors, encodeSafetensors } from '../lib/safetensors';
import { allFinite, expectCoded, rejection, syntheticData } from './helpers';

const entry = path.resolve(__dirname, '../dist/cjs/index.js');
const dir = mkdtempSync(path.join(tmpdir(), 'na-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 16;
const ROWS = 96;
const x = syntheticData(ROWS, D, 41);

/** A model whose training draws on every random stream (shuffles, dropout, noise) and on optimizer state. */
function model(): Autoencoder {
  const encoder = new Encoder({ inputDim: D, layers: [{ units: 12, activation: 'relu', dropout: 0.2 }, { units: 6 }], seed: 5 });
  const decoder = new Decoder({ latentDim: 6, layers: [{ units: 12, activation: 'tanh' }, { units: D, activation: 'sigmoid' }], seed: 6 });
  return new Autoencoder({ encoder, decoder, seed: 7, noise: { type: 'gaussian', stddev: 0.05 }, regularization: { l2: 1e-4 } });
}

const options: FitOptions = { batchSize: 16, optimizer: { type: 'adam', learningRate: 0.01 }, schedule: { type: 'cosine', decaySteps: 40 } };

function bytes(weights: WeightTensor[]): Buffer {
  return Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
}

function trainingMetadata(file: string): Record<string, unknown> {
  const buffer = readFileSync(file);
  const length = Number(buffer.readBigUInt64LE(0));
  const metadata = (JSON.parse(buffer.subarray(8, 8 + length).toString('utf8')) as { __metadata__: Record<string, string> }).__metadata__;
  return JSON.parse(metadata.training) as Record<string, unknown>;
}

/**
 * Runs in a fresh process: builds the same model (the same seeds and data, rebuilt there), fits
 * with `{ epochs: 10, resumeFrom }` and saves the result.
 */
const resumer = `
const { Autoencoder, Encoder, Decoder } = require(process.argv[1]);
const [checkpoint, out, D, ROWS] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const x = Float32Array.from(JSON.parse(process.argv[6]));
const encoder = new Encoder({ inputDim: D, layers: [{ units: 12, activation: 'relu', dropout: 0.2 }, { units: 6 }], seed: 5 });
const decoder = new Decoder({ latentDim: 6, layers: [{ units: 12, activation: 'tanh' }, { units: D, activation: 'sigmoid' }], seed: 6 });
const model = new Autoencoder({ encoder, decoder, seed: 7, noise: { type: 'gaussian', stddev: 0.05 }, regularization: { l2: 1e-4 } });
const options = JSON.parse(process.argv[7]);
model.fit(x, { ...options, epochs: 10, resumeFrom: checkpoint }).then(() => model.save(out)).catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

function runResumer(checkpoint: string, out: string): Promise<void> {
  const args = [entry, checkpoint, out, String(D), String(ROWS), JSON.stringify(Array.from(x)), JSON.stringify(options)];
  const child = spawn(process.execPath, ['-e', resumer, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the resuming process failed (${code}): ${stderr}`))));
  });
}

describe('fit with a checkpoint', () => {
  it('writes a checkpoint every everyEpochs epochs that Autoencoder.load reads', async () => {
    const file = path.join(dir, 'every-3.safetensors');
    const trained = model();
    await trained.fit(x, { ...options, epochs: 4, checkpoint: { path: file, everyEpochs: 3 } });
    const threeEpochs = model();
    await threeEpochs.fit(x, { ...options, epochs: 3 });

    const loaded = await Autoencoder.load(file);
    expect(loaded.layers).toEqual(trained.layers);
    // The checkpoint holds epoch 3, not the final epoch 4.
    expect(bytes(loaded.getWeights()).equals(bytes(threeEpochs.getWeights()))).toBe(true);
    expect(bytes(loaded.getWeights()).equals(bytes(trained.getWeights()))).toBe(false);
    expect(trainingMetadata(file)).toMatchObject({ epoch: 3, step: 3 * (ROWS / 16), optimizer: { type: 'adam' }, loss: 'mse' });
    // The halves load from a checkpoint too, past its optimizer slots.
    expect(bytes((await Encoder.load(file)).getWeights()).equals(bytes(threeEpochs.encoder.getWeights()))).toBe(true);
    expect(bytes((await Decoder.load(file)).getWeights()).equals(bytes(threeEpochs.decoder.getWeights()))).toBe(true);

    const last = path.join(dir, 'every-2.safetensors');
    const other = model();
    await other.fit(x, { ...options, epochs: 4, checkpoint: { path: last, everyEpochs: 2 } });
    expect(bytes((await Autoencoder.load(last)).getWeights()).equals(bytes(other.getWeights()))).toBe(true);
    expect(trainingMetadata(last)).toMatchObject({ epoch: 4 });
  });

  it('five epochs, a checkpoint, then a fresh process resuming to ten gives the weights of ten epochs straight', async () => {
    const checkpoint = path.join(dir, 'five.safetensors');
    const first = model();
    await first.fit(x, { ...options, epochs: 5, checkpoint: { path: checkpoint, everyEpochs: 5 } });
    expect(trainingMetadata(checkpoint)).toMatchObject({ epoch: 5 });

    const resumed = path.join(dir, 'resumed.safetensors');
    await runResumer(checkpoint, resumed);

    const straight = model();
    await straight.fit(x, { ...options, epochs: 10 });
    const fromOtherProcess = (await Autoencoder.load(resumed)).getWeights();
    expect(bytes(fromOtherProcess).equals(bytes(straight.getWeights()))).toBe(true);
    // Five epochs more from the checkpoint's weights without its optimizer state and generator end elsewhere.
    const restarted = Autoencoder.fromBuffer(first.toBuffer());
    await restarted.fit(x, { ...options, epochs: 5 });
    expect(bytes(restarted.getWeights()).equals(bytes(straight.getWeights()))).toBe(false);
  });

  it('a resumed fit reports the steps taken in all, also when no epoch is left to train', async () => {
    const checkpoint = path.join(dir, 'steps.safetensors');
    const first = await model().fit(x, { ...options, epochs: 2, checkpoint: { path: checkpoint } });
    expect(first.steps).toBeGreaterThan(0);
    const nothingLeft = await model().fit(x, { ...options, epochs: 2, resumeFrom: checkpoint });
    expect(nothingLeft.loss).toEqual([]);
    expect(nothingLeft.steps).toBe(first.steps);
    expect((await model().fit(x, { ...options, epochs: 3, resumeFrom: checkpoint })).steps).toBe(first.steps * 1.5);
  });

  it('resuming with another optimizer type throws a RangeError naming "options.optimizer.type"', async () => {
    const checkpoint = path.join(dir, 'adam.safetensors');
    await model().fit(x, { ...options, epochs: 1, checkpoint: { path: checkpoint } });
    const resuming = model();
    const before = bytes(resuming.getWeights());
    const error = await rejection(resuming.fit(x, { ...options, optimizer: 'sgd', epochs: 2, resumeFrom: checkpoint }));
    expectCoded(error, RangeError, 'ERR_OUT_OF_RANGE', 'options.optimizer.type');
    expect((error as Error).message).toContain("'adam'");
    expect(bytes(resuming.getWeights()).equals(before)).toBe(true);
  });

  it('a resumed fit refused after the checkpoint is read (a precision this backend lacks) leaves the weights as they were', async () => {
    const checkpoint = path.join(dir, 'refused.safetensors');
    await model().fit(x, { ...options, epochs: 1, checkpoint: { path: checkpoint } });
    const resuming = new Autoencoder({ encoder: new Encoder({ inputDim: D, layers: [{ units: 12, activation: 'relu', dropout: 0.2 }, { units: 6 }], seed: 50 }), decoder: new Decoder({ latentDim: 6, layers: [{ units: 12, activation: 'tanh' }, { units: D, activation: 'sigmoid' }], seed: 60 }), seed: 7, noise: { type: 'gaussian', stddev: 0.05 }, regularization: { l2: 1e-4 } });
    const before = bytes(resuming.getWeights());
    expect(before.equals(bytes(Autoencoder.fromBuffer(readFileSync(checkpoint)).getWeights()))).toBe(false);
    const error = await rejection(resuming.fit(x, { ...options, precision: 'tf32', epochs: 2, resumeFrom: checkpoint }));
    expectCoded(error, Error, 'ERR_TF32_UNAVAILABLE');
    expect(bytes(resuming.getWeights()).equals(before)).toBe(true);
    // The same fit allowed takes the checkpoint's weights.
    await resuming.fit(x, { ...options, epochs: 1, resumeFrom: checkpoint });
    expect(bytes(resuming.getWeights()).equals(bytes(Autoencoder.fromBuffer(readFileSync(checkpoint)).getWeights()))).toBe(true);
  });

  it('resuming with momentum given where the checkpoint had none, or left out where it had some, names options.optimizer.momentum', async () => {
    const plainSgd = path.join(dir, 'sgd.safetensors');
    const momentumSgd = path.join(dir, 'sgd-momentum.safetensors');
    await model().fit(x, { ...options, optimizer: 'sgd', epochs: 1, checkpoint: { path: plainSgd } });
    await model().fit(x, { ...options, optimizer: { type: 'sgd', momentum: 0.9 }, epochs: 1, checkpoint: { path: momentumSgd } });
    for (const [file, optimizer, wanted] of [
      [plainSgd, { type: 'sgd', momentum: 0.9 }, 'no momentum'],
      [momentumSgd, 'sgd', 'had momentum'],
    ] as const) {
      const resuming = model();
      const before = bytes(resuming.getWeights());
      const error = await rejection(resuming.fit(x, { ...options, optimizer, epochs: 2, resumeFrom: file }));
      expectCoded(error, RangeError, 'ERR_OUT_OF_RANGE', 'options.optimizer.momentum');
      expect((error as Error).message).toContain(wanted);
      expect(bytes(resuming.getWeights()).equals(before)).toBe(true);
    }
    // A momentum too small for float32 is none, as the optimizer reads it: such a checkpoint resumes.
    const tiny = path.join(dir, 'sgd-tiny-momentum.safetensors');
    await model().fit(x, { ...options, optimizer: { type: 'sgd', momentum: 1e-50 }, epochs: 1, checkpoint: { path: tiny } });
    await model().fit(x, { ...options, optimizer: { type: 'sgd', momentum: 1e-50 }, epochs: 2, resumeFrom: tiny });
  });

  it('a signal aborted while the checkpoint is read stops the fit before it trains', async () => {
    const checkpoint = path.join(dir, 'aborted.safetensors');
    await model().fit(x, { ...options, epochs: 1, checkpoint: { path: checkpoint } });
    const resuming = model();
    const before = bytes(resuming.getWeights());
    const controller = new AbortController();
    const fitting = resuming.fit(x, { ...options, epochs: 3, resumeFrom: checkpoint, signal: controller.signal });
    controller.abort();
    const error = await rejection(fitting);
    expect(error).toHaveProperty('name', 'AbortError');
    expect(bytes(resuming.getWeights()).equals(before)).toBe(true);
  });

  it('resuming into other layers (another activation) names options.resumeFrom and leaves the weights as they were', async () => {
    const checkpoint = path.join(dir, 'layers.safetensors');
    await model().fit(x, { ...options, epochs: 1, checkpoint: { path: checkpoint } });
    const encoder = new Encoder({ inputDim: D, layers: [{ units: 12, activation: 'elu', dropout: 0.2 }, { units: 6 }], seed: 5 });
    const decoder = new Decoder({ latentDim: 6, layers: [{ units: 12, activation: 'tanh' }, { units: D, activation: 'sigmoid' }], seed: 6 });
    const other = new Autoencoder({ encoder, decoder, seed: 7 });
    const before = bytes(other.getWeights());
    const error = await rejection(other.fit(x, { ...options, epochs: 2, resumeFrom: checkpoint }));
    expectCoded(error, RangeError, 'ERR_INVALID_ARG_VALUE', 'options.resumeFrom');
    expect((error as Error).message).toContain('encoder layer 0');
    expect(bytes(other.getWeights()).equals(before)).toBe(true);
  });

  it('resuming from a plain model file fails with ERR_MODEL_FORMAT: not a checkpoint', async () => {
    const plain = path.join(dir, 'plain.safetensors');
    await model().save(plain);
    const error = await rejection(model().fit(x, { ...options, epochs: 2, resumeFrom: plain }));
    expectCoded(error, Error, 'ERR_MODEL_FORMAT');
    expect((error as Error).message).toBe(`${plain}: not a checkpoint: __metadata__.training is missing`);
  });

  it('a checkpoint whose optimizer state is damaged is refused before the fit writes anything (ERR_MODEL_FORMAT)', async () => {
    const checkpoint = path.join(dir, 'state.ckpt');
    await model().fit(x, { ...options, epochs: 1, checkpoint: { path: checkpoint } });
    const damaged = (change: (tensors: Map<string, { shape: number[]; data: Float32Array }>) => void) => {
      const file = decodeSafetensors(readFileSync(checkpoint), checkpoint);
      change(file.tensors);
      const { checksum: _, ...metadata } = file.metadata;
      const out = path.join(dir, 'damaged.ckpt');
      writeFileSync(out, encodeSafetensors([...file.tensors.entries()], metadata));
      return out;
    };
    const slot = (tensors: Map<string, { shape: number[]; data: Float32Array }>, name: string) => tensors.get(name)?.data as Float32Array;
    const cases: [string, (tensors: Map<string, { shape: number[]; data: Float32Array }>) => void, RegExp][] = [
      ['NaN in the first moments', (t) => slot(t, 'optimizer.s1.encoder.0.weight').fill(NaN), /tensor 'optimizer\.s1\.encoder\.0\.weight' holds a non-finite value at index 0$/],
      ['a negative second moment', (t) => (slot(t, 'optimizer.s2.decoder.1.bias')[3] = -1), /tensor 'optimizer\.s2\.decoder\.1\.bias' holds a negative value in a sum of squares at index 3$/],
      ['an infinite second moment', (t) => (slot(t, 'optimizer.s2.encoder.0.bias')[0] = Infinity), /tensor 'optimizer\.s2\.encoder\.0\.bias' holds a non-finite value at index 0$/],
      ['a missing slot', (t) => t.delete('optimizer.s1.decoder.1.bias'), /tensor 'optimizer\.s1\.decoder\.1\.bias' is missing$/],
      ['a stray tensor', (t) => t.set('optimizer.s3.encoder.0.bias', { shape: [1], data: new Float32Array(1) }), /unexpected tensor 'optimizer\.s3\.encoder\.0\.bias' for 'adam'$/],
    ];
    for (const [what, change, message] of cases) {
      const other = model();
      const before = bytes(other.getWeights());
      const error = await rejection(other.fit(x, { ...options, epochs: 2, resumeFrom: damaged(change) }));
      expectCoded(error, Error, 'ERR_MODEL_FORMAT');
      expect((error as Error).message, what).toMatch(message);
      expect(bytes(other.getWeights()).equals(before), what).toBe(true);
    }
  });

  it('a checkpoint that cannot be written rejects the fit with the fs error and leaves the model usable', async () => {
    const unwritable = path.join(dir, 'no-such-folder', 'checkpoint.safetensors');
    const broken = model();
    const error = await rejection(broken.fit(x, { ...options, epochs: 3, checkpoint: { path: unwritable } }));
    expect(error).toHaveProperty('code', 'ENOENT');
    expect((error as Error).message).toContain(path.dirname(unwritable));
    expect(existsSync(path.dirname(unwritable))).toBe(false);

    expect(broken.busy).toBe(false);
    expect(allFinite(broken.getWeights())).toBe(true);
    expect(broken.predict(x).data.every(Number.isFinite)).toBe(true);
    const history = await broken.fit(x, { ...options, epochs: 1 });
    expect(history.epochs).toHaveLength(1);
    const saved = path.join(dir, 'after-failure.safetensors');
    await broken.save(saved);
    expect(bytes((await Autoencoder.load(saved)).getWeights()).equals(bytes(broken.getWeights()))).toBe(true);
  });
});
