// allocateFloat32: rows in library-owned memory that fit() reads where they are. The fit holds a
// share of that memory, so garbage collection or a transfer of the array cannot pull it away. Large
// prediction results live in such memory too, recycled once their arrays are collected.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Autoencoder, TextCodec, allocateFloat32, type FitOptions } from 'native-autoencoder';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MB = 1024 * 1024;

/**
 * How far resident memory rises above its level after one warm-up call and a collection while `call`
 * runs `calls` times in a synchronous loop (sampled every `every` calls), never letting the event loop turn.
 */
function residentGrowth(call: () => unknown, calls: number, every: number): number {
  call();
  gc();
  const before = process.memoryUsage().rss;
  let peak = before;
  for (let i = 0; i < calls; i++) {
    call();
    if (i % every === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  return peak - before;
}

/** Collects unreachable arrays and lets their memory go back: once V8's sweeper has freed them and the event loop has turned. */
async function handBack(): Promise<void> {
  gc();
  await nextTurn();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await nextTurn();
}

function fill(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = 0.5 + 0.4 * Math.sin(i * 0.37);
  return x;
}

const options: FitOptions = { epochs: 3, batchSize: 16, seed: 5, validationSplit: 0.25 };

async function losses(x: Float32Array): Promise<number[]> {
  const ae = new Autoencoder({ inputDim: 12, latentDim: 3, seed: 9 });
  const history = await ae.fit(x, options);
  ae.dispose();
  return [...history.loss, ...(history.valLoss ?? [])];
}

describe('allocateFloat32', () => {
  it('returns a zeroed Float32Array of the length asked, and checks the length', () => {
    const x = allocateFloat32(1000);
    expect(x).toBeInstanceOf(Float32Array);
    expect(x.length).toBe(1000);
    expect(x.every((v) => v === 0)).toBe(true);
    expect(allocateFloat32(0).length).toBe(0);
    expect(() => allocateFloat32(-1)).toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringMatching(/length/) }));
    expect(() => allocateFloat32(1.5)).toThrow(expect.objectContaining({ message: expect.stringMatching(/length/) }));
    // Past the longest array (4 GiB of floats on Node.js 20): refused before anything is allocated.
    expect(() => allocateFloat32(2 ** 32)).toThrow(expect.objectContaining({ name: 'RangeError', message: expect.stringMatching(/length/) }));
    expect(() => allocateFloat32('8' as never)).toThrow(expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/length/) }));
  });

  it('trains exactly as a plain Float32Array with the same rows, validation split included', async () => {
    const plain = fill(new Float32Array(12 * 200));
    const owned = allocateFloat32(plain.length);
    owned.set(plain);
    expect(await losses(owned)).toEqual(await losses(plain));
  });

  it('keeps the rows for a running fit when the array is collected or transferred away', async () => {
    const reference = await losses(fill(new Float32Array(12 * 400)));
    const ae = new Autoencoder({ inputDim: 12, latentDim: 3, seed: 9 });
    let x: Float32Array | null = fill(allocateFloat32(12 * 400));
    const running = ae.fit(x, options);
    try {
      structuredClone(x.buffer, { transfer: [x.buffer as ArrayBuffer] });
    } catch {
      // Arrays over addon memory may refuse to be transferred; then collection is what is tried.
    }
    x = null;
    gc();
    const history = await running;
    expect([...history.loss, ...(history.valLoss ?? [])]).toEqual(reference);
    ae.dispose();
  });

  it('is read where it is: a fit on 400 MB of owned rows does not copy them, a plain array is copied', async () => {
    const cols = 1000;
    const rows = 100_000;
    const peakGrowth = async (x: Float32Array) => {
      const ae = new Autoencoder({ inputDim: cols, latentDim: 2, seed: 1 });
      const before = process.memoryUsage().rss;
      let peak = before;
      await ae.fit(x, { epochs: 1, batchSize: 256, onBatchEnd: () => void (peak = Math.max(peak, process.memoryUsage().rss)) });
      ae.dispose();
      return peak - before;
    };
    const owned = allocateFloat32(rows * cols).fill(0.5);
    const ownedGrowth = await peakGrowth(owned);
    const plain = new Float32Array(rows * cols).fill(0.5);
    const plainGrowth = await peakGrowth(plain);
    expect(plainGrowth).toBeGreaterThan(0.8 * owned.byteLength);
    expect(ownedGrowth).toBeLessThan(0.25 * owned.byteLength);
  });
});

describe('large prediction results', () => {

  it('come back zeroed from allocateFloat32 and whole from predict when their memory is reused', async () => {
    const cols = 256;
    const rows = 128; // 128 KiB of results: library-owned memory
    const ae = new Autoencoder({ inputDim: cols, latentDim: 4, seed: 3 });
    const x = fill(new Float32Array(rows * cols));
    const other = x.map((v) => 1 - v);
    const expected = ae.predict(other, { out: new Float32Array(rows * cols) }).data.slice();
    // Collected and handed back: the next arrays of this size reuse the memory (except under
    // AddressSanitizer, which frees it).
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) ae.predict(x);
      await handBack();
      expect(allocateFloat32(rows * cols).every((v) => v === 0)).toBe(true);
      for (let i = 0; i < 4; i++) ae.predict(x);
      await handBack();
      expect(ae.predict(other).data).toEqual(expected);
    }
    ae.dispose();
  });

  it('of a synchronous loop of predictions do not pile up until the event loop turns', () => {
    const cols = 784;
    const rows = 1024;
    const calls = 320; // 3.2 MB of results each, 1 GB in all
    const ae = new Autoencoder({ inputDim: cols, latentDim: 8, seed: 1 });
    const x = fill(new Float32Array(rows * cols));
    const growth = residentGrowth(() => ae.predict(x), calls, 8);
    ae.dispose();
    console.log(`RSS grew ${(growth / MB).toFixed(0)} MB over ${calls} predictions of ${((rows * cols * 4) / MB).toFixed(1)} MB`);
    expect(growth).toBeLessThan(0.35 * calls * rows * cols * 4);
  });
});

describe('rows the library makes (TextCodec.encode, arrays of rows, files the command reads)', () => {
  const codec = new TextCodec({ vocabulary: 'abcdefghijklmnopqrstuvwxyz ', length: 96 });
  const strings = Array.from({ length: 1000 }, (_, i) => 'the quick brown fox '.repeat(4).slice(i % 7, 60 + (i % 30)));

  it('are zeroed where nothing is written, whichever memory they land in', () => {
    const first = codec.encode(strings).data;
    for (let i = 0; i < 60; i++) codec.encode(strings);
    const later = codec.encode(strings).data;
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(later).equals(bytes(first))).toBe(true);
    const ones = first.reduce((sum, v) => sum + v, 0);
    expect(ones).toBe(strings.length * codec.length);
  });

  it('are trained on where they are: a fit on 215 MB of encoded strings does not copy them', async () => {
    // The earlier tests' arrays handed back first: rows made while more than 128 MiB of earlier ones
    // await their release go into V8's memory, and a fit copies those.
    await handBack();
    const many = Array.from({ length: 20 }, () => strings).flat();
    const x = codec.encode(many);
    const ae = new Autoencoder({ inputDim: codec.width, latentDim: 2, seed: 1 });
    const before = process.memoryUsage().rss;
    let peak = before;
    await ae.fit(x, { epochs: 1, batchSize: 256, onBatchEnd: () => void (peak = Math.max(peak, process.memoryUsage().rss)) });
    ae.dispose();
    expect(peak - before).toBeLessThan(0.25 * x.data.byteLength);
  });

  it('of a synchronous loop do not pile up until the event loop turns', () => {
    const calls = 120;
    const bytes = strings.length * codec.width * 4; // 11 MB each, 1.3 GB in all
    const growth = residentGrowth(() => codec.encode(strings), calls, 4);
    console.log(`RSS grew ${(growth / MB).toFixed(0)} MB over ${calls} encodings of ${(bytes / MB).toFixed(1)} MB`);
    expect(growth).toBeLessThan(0.35 * calls * bytes);
  });
});
