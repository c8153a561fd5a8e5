// Model files: save → load → save is byte-identical, a reload predicts bit for bit, the file is plain safetensors, bad arguments are refused.
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, Decoder, Encoder } from 'native-autoencoder';
import { expectCoded, rejection, syntheticData, thrown } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'na-model-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 24;
const x = syntheticData(64, D, 31);
const z = Float32Array.from({ length: 10 * 8 }, (_, i) => Math.sin(i * 0.7) * 2);

/** The bytes of a Float32Array, to compare bit patterns (NaN and -0 included). */
function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** An autoencoder with a non-default layer of every kind the file records, trained briefly. */
async function trainedAutoencoder(): Promise<Autoencoder> {
  const encoder = new Encoder({
    inputDim: D,
    layers: [
      { units: 16, activation: 'leakyRelu', alpha: 0.2, dropout: 0.1, kernelInitializer: 'heNormal' },
      { units: 8, activation: 'elu', alpha: 0.5 },
    ],
    seed: 11,
  });
  const decoder = new Decoder({
    latentDim: 8,
    layers: [
      { units: 16, activation: 'gelu', dropout: 0.25 },
      { units: D, activation: 'softmax', groupSize: 6 },
    ],
    seed: 12,
  });
  const model = new Autoencoder({ encoder, decoder, seed: 13, regularization: { l2: 1e-4, latentL1: 1e-3 }, noise: { type: 'masking', rate: 0.1 } });
  await model.fit(x, { epochs: 2, batchSize: 16, optimizer: { type: 'adam', learningRate: 0.01 } });
  return model;
}

function standaloneEncoder(): Encoder {
  return new Encoder({ inputDim: D, layers: [{ units: 12, activation: 'tanh' }, { units: 8, activation: 'leakyRelu', alpha: 0.05 }], seed: 21 });
}

function standaloneDecoder(): Decoder {
  return new Decoder({ latentDim: 8, layers: [{ units: 12, activation: 'swish', kernelInitializer: 'lecunNormal' }, { units: D, activation: 'sigmoid' }], seed: 22 });
}

/** The parsed header, data section and raw header text of a safetensors file. */
function parse(file: Buffer): { header: Record<string, unknown>; text: string; data: Buffer } {
  const length = Number(file.readBigUInt64LE(0));
  const text = file.subarray(8, 8 + length).toString('utf8');
  return { header: JSON.parse(text) as Record<string, unknown>, text, data: file.subarray(8 + length) };
}

describe('Autoencoder files', () => {
  it('save → load → save gives the same bytes, and the reload predicts bit for bit', async () => {
    const model = await trainedAutoencoder();
    const first = join(dir, 'ae-1.safetensors');
    const second = join(dir, 'ae-2.safetensors');
    await model.save(first);
    const loaded = await Autoencoder.load(first);
    await loaded.save(second);
    expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
    expect(readFileSync(first).equals(model.toBuffer())).toBe(true);
    expect(loaded.toBuffer().equals(model.toBuffer())).toBe(true);

    expect(loaded.layers).toEqual(model.layers);
    expect(loaded.layers.map((l) => [l.activation, l.alpha, l.groupSize])).toEqual([
      ['leakyRelu', 0.2, undefined],
      ['elu', 0.5, undefined],
      ['gelu', undefined, undefined],
      ['softmax', undefined, 6],
    ]);
    expect(bytes(loaded.predict(x).data).equals(bytes(model.predict(x).data))).toBe(true);
    expect(bytes(loaded.encode(x).data).equals(bytes(model.encode(x).data))).toBe(true);
    expect(bytes(loaded.decode(z).data).equals(bytes(model.decode(z).data))).toBe(true);
    expect(bytes(loaded.reconstructionError(x)).equals(bytes(model.reconstructionError(x)))).toBe(true);
  });

  it('a reload trains as the original does: dropout, noise and regularization come back with it', async () => {
    const model = await trainedAutoencoder();
    const buffer = model.toBuffer();
    const loaded = Autoencoder.fromBuffer(buffer);
    // The same layers and weights without the autoencoder's regularization and noise: it must train differently.
    const bare = new Autoencoder({ encoder: Encoder.fromBuffer(buffer), decoder: Decoder.fromBuffer(buffer), seed: 0 });
    const options = { epochs: 2, batchSize: 16, seed: 77 };
    for (const m of [model, loaded, bare]) await m.fit(x, options);
    const same = (a: Autoencoder, b: Autoencoder) => a.getWeights().every((w, i) => bytes(w.data).equals(bytes(b.getWeights()[i].data)));
    expect(same(loaded, model)).toBe(true);
    expect(same(bare, model)).toBe(false);
  });

  it('records noise and regularization as checked, also when given as objects with inherited properties', () => {
    class Gaussian {
      constructor(readonly stddev: number) {}
      get type(): 'gaussian' {
        return 'gaussian';
      }
    }
    const given = new Autoencoder({ inputDim: 6, latentDim: 2, seed: 1, noise: new Gaussian(0.1) as never, regularization: Object.create({ l2: 0.5 }) as never });
    const reloaded = Autoencoder.fromBuffer(given.toBuffer());
    const plain = new Autoencoder({ inputDim: 6, latentDim: 2, seed: 1, noise: { type: 'gaussian', stddev: 0.1 }, regularization: { l2: 0.5 } });
    expect(reloaded.toBuffer().equals(plain.toBuffer())).toBe(true);
  });

  it('reads config.regularization and config.noise once: what trains is what the file records', () => {
    const answers = { regularization: [{ l2: 0.5 }, undefined], noise: [{ type: 'masking', rate: 0.2 }, undefined] };
    const config = { inputDim: 6, latentDim: 2, seed: 1 };
    Object.defineProperty(config, 'regularization', { enumerable: true, get: () => answers.regularization.shift() });
    Object.defineProperty(config, 'noise', { enumerable: true, get: () => answers.noise.shift() });
    const given = new Autoencoder(config as never);
    const plain = new Autoencoder({ inputDim: 6, latentDim: 2, seed: 1, regularization: { l2: 0.5 }, noise: { type: 'masking', rate: 0.2 } });
    expect(given.toBuffer().equals(plain.toBuffer())).toBe(true);
  });

  it('fromBuffer reads a Buffer cut from a larger one at an odd offset (its tensors then start unaligned)', () => {
    const source = new Autoencoder({ inputDim: 6, latentDim: 2, seed: 4 });
    const bytes = source.toBuffer();
    const cut = Buffer.concat([Buffer.from('X'), bytes]).subarray(1);
    expect(cut.byteOffset % 4).not.toBe(0);
    expect(Autoencoder.fromBuffer(cut).toBuffer().equals(bytes)).toBe(true);
  });

  it('toBuffer → fromBuffer round-trips, also from a Uint8Array view at an odd offset', async () => {
    const model = await trainedAutoencoder();
    const buffer = model.toBuffer();
    const copy = Autoencoder.fromBuffer(buffer);
    expect(copy.toBuffer().equals(buffer)).toBe(true);
    expect(bytes(copy.predict(x).data).equals(bytes(model.predict(x).data))).toBe(true);

    const backing = new Uint8Array(buffer.length + 8);
    backing.set(buffer, 3);
    const view = backing.subarray(3, 3 + buffer.length);
    const fromView = Autoencoder.fromBuffer(view);
    expect(fromView.toBuffer().equals(buffer)).toBe(true);
    expect(bytes(fromView.predict(x).data).equals(bytes(model.predict(x).data))).toBe(true);
  });

  it('Encoder.load and Decoder.load of an autoencoder file give its halves', async () => {
    const model = await trainedAutoencoder();
    const path = join(dir, 'ae-halves.safetensors');
    await model.save(path);
    const encoder = await Encoder.load(path);
    const decoder = await Decoder.load(path);
    expect(encoder.layers).toEqual(model.encoder.layers);
    expect(decoder.layers).toEqual(model.decoder.layers);
    expect(bytes(encoder.encode(x).data).equals(bytes(model.encode(x).data))).toBe(true);
    expect(bytes(decoder.decode(z).data).equals(bytes(model.decode(z).data))).toBe(true);
    expect(bytes(decoder.decode(encoder.encode(x)).data).equals(bytes(model.predict(x).data))).toBe(true);
    // The halves saved on their own are the halves' own files.
    expect(encoder.toBuffer().equals(model.encoder.toBuffer())).toBe(true);
    expect(decoder.toBuffer().equals(model.decoder.toBuffer())).toBe(true);
    const buffer = model.toBuffer();
    expect(bytes(Encoder.fromBuffer(buffer).encode(x).data).equals(bytes(model.encode(x).data))).toBe(true);
    expect(bytes(Decoder.fromBuffer(buffer).decode(z).data).equals(bytes(model.decode(z).data))).toBe(true);
  });

  it('Autoencoder.load of an Encoder or Decoder file fails with ERR_MODEL_FORMAT', async () => {
    const encoderPath = join(dir, 'encoder-only.safetensors');
    const decoderPath = join(dir, 'decoder-only.safetensors');
    await standaloneEncoder().save(encoderPath);
    await standaloneDecoder().save(decoderPath);
    const error = await rejection(Autoencoder.load(encoderPath));
    expectCoded(error, Error, 'ERR_MODEL_FORMAT');
    expect((error as Error).message).toBe(`${encoderPath}: holds an Encoder, not an Autoencoder`);
    expectCoded(await rejection(Autoencoder.load(decoderPath)), Error, 'ERR_MODEL_FORMAT');
    const noDecoder = await rejection(Decoder.load(encoderPath));
    expectCoded(noDecoder, Error, 'ERR_MODEL_FORMAT');
    expect((noDecoder as Error).message.startsWith(`${encoderPath}: `)).toBe(true);
    expect((noDecoder as Error).message).toContain('Encoder file holds no decoder');
    const noEncoder = await rejection(Encoder.load(decoderPath));
    expectCoded(noEncoder, Error, 'ERR_MODEL_FORMAT');
    expect((noEncoder as Error).message.startsWith(`${decoderPath}: `)).toBe(true);
    expect((noEncoder as Error).message).toContain('Decoder file holds no encoder');
  });
});

describe('where save writes', () => {
  const source = new Autoencoder({ inputDim: 6, latentDim: 2, seed: 5 });
  const bytes = source.toBuffer();

  it('through a link, the file it names (the link stays a link)', async () => {
    writeFileSync(join(dir, 'named.safetensors'), 'old');
    symlinkSync(join(dir, 'named.safetensors'), join(dir, 'link.safetensors'));
    await source.save(join(dir, 'link.safetensors'));
    expect(lstatSync(join(dir, 'link.safetensors')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'named.safetensors')).equals(bytes)).toBe(true);
  });

  it('through a link to a file not yet made (relative, in two hops), that file (the links stay links)', async () => {
    mkdirSync(join(dir, 'later'));
    symlinkSync('later/made.safetensors', join(dir, 'first-hop.safetensors'));
    symlinkSync('first-hop.safetensors', join(dir, 'dangling.safetensors'));
    await source.save(join(dir, 'dangling.safetensors'));
    expect([lstatSync(join(dir, 'dangling.safetensors')).isSymbolicLink(), lstatSync(join(dir, 'first-hop.safetensors')).isSymbolicLink()]).toEqual([true, true]);
    expect(readFileSync(join(dir, 'later', 'made.safetensors')).equals(bytes)).toBe(true);
  });

  it("through a dangling link in a linked folder, the file the system resolves its '..' to, not a namesake", async () => {
    // a/linked → ../x/y, and x/y/model → ../t: the link names x/t. Resolved as text, a/linked/../t is a/t.
    for (const folder of ['a', 'x/y']) mkdirSync(join(dir, 'climb', folder), { recursive: true });
    writeFileSync(join(dir, 'climb', 'a', 't'), 'unrelated');
    symlinkSync('../x/y', join(dir, 'climb', 'a', 'linked'));
    symlinkSync('../t', join(dir, 'climb', 'x', 'y', 'model'));
    await source.save(join(dir, 'climb', 'a', 'linked', 'model'));
    expect(readFileSync(join(dir, 'climb', 'x', 't')).equals(bytes)).toBe(true);
    expect(readFileSync(join(dir, 'climb', 'a', 't'), 'utf8')).toBe('unrelated');
  });

  it("through a descriptor's link (/dev/fd/N), after what was written through it, not over it", async () => {
    const file = join(dir, 'appended.bin');
    writeFileSync(file, 'head');
    const fd = openSync(file, 'a');
    try {
      await source.save(`/dev/fd/${fd}`);
    } finally {
      closeSync(fd);
    }
    const written = readFileSync(file);
    expect(written.subarray(0, 4).toString()).toBe('head');
    expect(written.subarray(4).equals(bytes)).toBe(true);
  });
});

describe('Encoder and Decoder files', () => {
  for (const [name, make, load, input] of [
    ['Encoder', standaloneEncoder, (p: string) => Encoder.load(p), x],
    ['Decoder', standaloneDecoder, (p: string) => Decoder.load(p), z],
  ] as const) {
    it(`a standalone ${name}: save → load → save gives the same bytes and the same outputs`, async () => {
      const model = make();
      const first = join(dir, `${name}-1.safetensors`);
      const second = join(dir, `${name}-2.safetensors`);
      await model.save(first);
      const loaded = await load(first);
      await loaded.save(second);
      expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
      expect(loaded.toBuffer().equals(model.toBuffer())).toBe(true);
      expect(loaded.layers).toEqual(model.layers);
      expect(bytes(loaded.predict(input).data).equals(bytes(model.predict(input).data))).toBe(true);
      expect(JSON.parse((parse(readFileSync(first)).header['__metadata__'] as { architecture: string }).architecture)).toHaveProperty('kind', name);
    });
  }

  it('Encoder.fromBuffer and Decoder.fromBuffer round-trip', () => {
    const encoder = standaloneEncoder();
    const decoder = standaloneDecoder();
    const e2 = Encoder.fromBuffer(encoder.toBuffer());
    const d2 = Decoder.fromBuffer(new Uint8Array(decoder.toBuffer()));
    expect(e2.toBuffer().equals(encoder.toBuffer())).toBe(true);
    expect(d2.toBuffer().equals(decoder.toBuffer())).toBe(true);
    expect(bytes(e2.encode(x).data).equals(bytes(encoder.encode(x).data))).toBe(true);
    expect(bytes(d2.decode(z).data).equals(bytes(decoder.decode(z).data))).toBe(true);
  });
});

describe('the file is plain safetensors', () => {
  it('has an 8-byte little-endian length, a JSON header of strings in __metadata__ and nn.Linear tensors laid out back to back', async () => {
    const model = await trainedAutoencoder();
    const file = model.toBuffer();
    const length = file.readBigUInt64LE(0);
    expect(length).toBeLessThan(BigInt(file.length - 8));
    const { header, text, data } = parse(file);
    expect(text.startsWith('{')).toBe(true);
    // The only padding: spaces after the JSON, up to a multiple of 8 bytes (so the data is 8-byte aligned).
    expect(text.trimEnd()).toBe(JSON.stringify(header));
    expect(/^ *$/.test(text.slice(JSON.stringify(header).length))).toBe(true);
    expect((8 + text.length) % 8).toBe(0);

    const metadata = header['__metadata__'] as Record<string, unknown>;
    expect(Object.values(metadata).every((v) => typeof v === 'string')).toBe(true);
    expect(metadata.format).toBe('native-autoencoder');
    expect(metadata.format_version).toBe('1');
    expect(metadata.library_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(JSON.parse(metadata.architecture as string)).toMatchObject({
      kind: 'Autoencoder',
      encoder: { inputDim: D, layers: [{ units: 16, activation: 'leakyRelu', alpha: 0.2, dropout: 0.1 }, { units: 8 }] },
      decoder: { latentDim: 8, layers: [{ units: 16 }, { units: D, activation: 'softmax', groupSize: 6 }] },
      regularization: { l2: 1e-4, latentL1: 1e-3 },
      noise: { type: 'masking', rate: 0.1 },
    });

    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names).toEqual([
      'encoder.0.weight', 'encoder.0.bias', 'encoder.1.weight', 'encoder.1.bias',
      'decoder.0.weight', 'decoder.0.bias', 'decoder.1.weight', 'decoder.1.bias',
    ]);
    const weights = model.getWeights();
    let offset = 0;
    names.forEach((name, i) => {
      const entry = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
      expect(entry.dtype).toBe('F32');
      expect(weights[i].name).toBe(name);
      expect(entry.shape).toEqual(weights[i].shape);
      expect(entry.data_offsets[0]).toBe(offset);
      offset = entry.data_offsets[1];
      const values = data.subarray(entry.data_offsets[0], entry.data_offsets[1]);
      const decoded = Float32Array.from({ length: values.length / 4 }, (_, k) => values.readFloatLE(k * 4));
      expect(bytes(decoded).equals(bytes(weights[i].data))).toBe(true);
    });
    expect(offset).toBe(data.length);
    expect((header['encoder.0.weight'] as { shape: number[] }).shape).toEqual([16, D]); // [out, in], as nn.Linear
    expect((header['decoder.1.bias'] as { shape: number[] }).shape).toEqual([D]);

    // The checksum: SHA-256 of the header without it (compact JSON) followed by the data.
    const { checksum, ...unsummed } = metadata;
    const body = JSON.stringify({ ...header, __metadata__: unsummed });
    const expected = createHash('sha256').update(body).update(data).digest('hex');
    expect(checksum).toBe(`sha256:${expected}`);
  });
});

describe('bad arguments', () => {
  it('save of a non-string or empty path rejects with a TypeError naming "path"', async () => {
    const model = standaloneEncoder();
    expectCoded(await rejection(model.save(123 as unknown as string)), TypeError, 'ERR_INVALID_ARG_TYPE', 'path');
    expectCoded(await rejection(model.save('')), TypeError, 'ERR_INVALID_ARG_TYPE', 'path');
    expectCoded(await rejection(Autoencoder.load(undefined as unknown as string)), TypeError, 'ERR_INVALID_ARG_TYPE', 'path');
    expectCoded(await rejection(Encoder.load(42 as unknown as string)), TypeError, 'ERR_INVALID_ARG_TYPE', 'path');
  });

  it('fromBuffer of a non-buffer throws a TypeError naming "buffer"', () => {
    expectCoded(thrown(() => Autoencoder.fromBuffer('x' as unknown as Uint8Array)), TypeError, 'ERR_INVALID_ARG_TYPE', 'buffer');
    expectCoded(thrown(() => Encoder.fromBuffer([1, 2, 3] as unknown as Uint8Array)), TypeError, 'ERR_INVALID_ARG_TYPE', 'buffer');
    expectCoded(thrown(() => Decoder.fromBuffer(new ArrayBuffer(16) as unknown as Uint8Array)), TypeError, 'ERR_INVALID_ARG_TYPE', 'buffer');
  });

  it('load of a missing file rejects with ENOENT', async () => {
    const missing = join(dir, 'no-such-file.safetensors');
    for (const load of [Autoencoder.load, Encoder.load, Decoder.load]) {
      const error = await rejection(load(missing));
      expect(error).toHaveProperty('code', 'ENOENT');
      expect((error as Error).message).toContain(missing);
    }
  });
});

describe('a W2-sized network (784-512-256-64-256-512-784)', () => {
  it('saves and loads in milliseconds into a file the size of its raw weights', async () => {
    const encoder = new Encoder({ inputDim: 784, layers: [{ units: 512, activation: 'relu' }, { units: 256, activation: 'relu' }, { units: 64 }], seed: 1 });
    const decoder = new Decoder({ latentDim: 64, layers: [{ units: 256, activation: 'relu' }, { units: 512, activation: 'relu' }, { units: 784, activation: 'sigmoid' }], seed: 2 });
    const model = new Autoencoder({ encoder, decoder, seed: 3 });
    const path = join(dir, 'w2.safetensors');
    const saves: number[] = [];
    const loads: number[] = [];
    let loaded: Autoencoder | undefined;
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      await model.save(path);
      saves.push(performance.now() - t);
      t = performance.now();
      loaded = await Autoencoder.load(path);
      loads.push(performance.now() - t);
    }
    const size = statSync(path).size;
    const raw = 4 * model.parameterCount;
    const median = (a: number[]) => [...a].sort((p, q) => p - q)[1];
    console.log(
      `W2 model file: ${model.parameterCount.toLocaleString('en-US')} parameters, ${size.toLocaleString('en-US')} bytes ` +
        `(raw weights ${raw.toLocaleString('en-US')} bytes, overhead ${(size - raw).toLocaleString('en-US')} bytes = ${((100 * (size - raw)) / raw).toFixed(3)}%); ` +
        `save ${median(saves).toFixed(1)} ms (median of 3: ${saves.map((s) => s.toFixed(1)).join(', ')}), ` +
        `load ${median(loads).toFixed(1)} ms (median of 3: ${loads.map((s) => s.toFixed(1)).join(', ')})`,
    );
    expect(model.parameterCount).toBe(1_100_112);
    expect(size).toBeGreaterThan(raw);
    expect(size).toBeLessThanOrEqual(raw * 1.01 + 64 * 1024);
    const probe = syntheticData(4, 784, 9);
    expect(bytes(loaded!.predict(probe).data).equals(bytes(model.predict(probe).data))).toBe(true);
  });
});
