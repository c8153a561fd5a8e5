// Data input forms: every accepted form gives the same numbers, views and chains work, results and inputs are copies where documented.
import { describe, expect, it } from 'vitest';
import { Autoencoder, VariationalAutoencoder, type DataInput, type Matrix } from 'native-autoencoder';
import { expectCoded, rejection, rowsOf, sameBits, sameWeights, sameWithinRounding, syntheticData, thrown, toFloat32Rows, toNumberRows } from './helpers';

const D = 16;
const x = syntheticData(40, D, 11);

function forms(flat: Float32Array, cols: number): DataInput[] {
  return [
    flat,
    toNumberRows(flat, cols),
    toFloat32Rows(flat, cols),
    { data: flat, rows: flat.length / cols, cols },
    // Rows may be any typed array or number[]: Float64Array rows are converted.
    toNumberRows(flat, cols).map((row, i) => (i % 2 === 0 ? Float64Array.from(row) : row)),
  ];
}

describe('input forms', () => {
  const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 1 });

  it('give bit-identical predictions, encodings and scores', async () => {
    const predicted = ae.predict(x).data;
    const encoded = ae.encode(x).data;
    const scores = ae.reconstructionError(x);
    for (const input of forms(x, D)) {
      expect(sameBits(ae.predict(input).data, predicted)).toBe(true);
      expect(sameBits((await ae.predictAsync(input)).data, predicted)).toBe(true);
      expect(sameBits(ae.encode(input).data, encoded)).toBe(true);
      expect(sameBits(ae.reconstructionError(input), scores)).toBe(true);
      expect(ae.evaluate(input)).toBe(ae.evaluate(x));
    }
  });

  it('give identical training: a fit on number[][] equals a fit on the Float32Array', async () => {
    const a = new Autoencoder({ inputDim: D, latentDim: 6, seed: 2 });
    const b = new Autoencoder({ inputDim: D, latentDim: 6, seed: 2 });
    const ha = await a.fit(x, { epochs: 2, batchSize: 8, seed: 3, validationData: x });
    const hb = await b.fit(toNumberRows(x, D), { epochs: 2, batchSize: 8, seed: 3, validationData: toFloat32Rows(x, D) });
    expect(sameWeights(a.getWeights(), b.getWeights())).toBe(true);
    expect(hb.loss).toEqual(ha.loss);
    expect(hb.valLoss).toEqual(ha.valLoss);
  });

  it('a subarray view reads only its own rows', () => {
    const all = ae.predict(x).data;
    const part = ae.predict(rowsOf(x, D, 13, 21));
    expect(part.rows).toBe(8);
    expect(sameBits(part.data, rowsOf(all, D, 13, 21))).toBe(true);
    // Four rows may take a differently blocked product than forty, which rounds differently in the last bit.
    const scores = ae.reconstructionError(rowsOf(x, D, 5, 9));
    expect(sameWithinRounding(scores, ae.reconstructionError(x).subarray(5, 9))).toBe(true);
    expect(sameWithinRounding(scores, ae.reconstructionError(x).subarray(6, 10))).toBe(false);
  });

  it('a Matrix returned by encode feeds decode, and decode(encode(x)) equals predict(x)', async () => {
    const z = ae.encode(x);
    expect(sameBits(ae.decode(z).data, ae.predict(x).data)).toBe(true);
    expect(sameBits((await ae.decodeAsync(await ae.encodeAsync(x))).data, ae.predict(x).data)).toBe(true);
  });

  it('reconstructionError computes the mean error of each row under each metric', () => {
    const recon = ae.predict(x).data;
    const mse = ae.reconstructionError(x, { metric: 'mse' });
    const mae = ae.reconstructionError(x, { metric: 'mae' });
    const bce = ae.reconstructionError(x, { metric: 'binaryCrossentropy' });
    expect(sameBits(ae.reconstructionError(x), mse)).toBe(true);
    for (let r = 0; r < 40; r++) {
      let se = 0;
      let ae1 = 0;
      let ce = 0;
      for (let c = 0; c < D; c++) {
        const t = x[r * D + c];
        const p = recon[r * D + c];
        se += (p - t) ** 2;
        ae1 += Math.abs(p - t);
        ce -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
      }
      expect(mse[r]).toBeCloseTo(se / D, 6);
      expect(mae[r]).toBeCloseTo(ae1 / D, 6);
      expect(bce[r]).toBeCloseTo(ce / D, 5);
    }
    // evaluate('mse') is the mean over rows of the per-row MSE.
    const mean = mse.reduce((a, b) => a + b, 0) / 40;
    expect(ae.evaluate(x, { loss: 'mse' })).toBeCloseTo(mean, 6);
  });

  it('zero rows give empty results for inference', async () => {
    const empty = new Float32Array(0);
    expect(ae.predict(empty)).toEqual({ data: new Float32Array(0), rows: 0, cols: D });
    expect(ae.encode([])).toEqual({ data: new Float32Array(0), rows: 0, cols: 6 });
    expect((await ae.predictAsync(empty)).rows).toBe(0);
    expect(ae.reconstructionError([]).length).toBe(0);
    expect((await ae.reconstructionErrorAsync(empty)).length).toBe(0);
  });

  it('fit and evaluate need at least one row', async () => {
    expectCoded(await rejection(ae.fit(new Float32Array(0))), RangeError, 'ERR_OUT_OF_RANGE', 'x');
    expectCoded(thrown(() => ae.evaluate([])), RangeError, 'ERR_OUT_OF_RANGE', 'x');
  });
});

describe('copies', () => {
  it('predictAsync copies its input first, so changing it afterwards does not change the result', async () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 4 });
    const input = x.slice();
    const expected = ae.predict(input).data;
    const running = ae.predictAsync(input);
    input.fill(0);
    expect(sameBits((await running).data, expected)).toBe(true);
  });

  it('getWeights returns copies and results are fresh arrays', () => {
    const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 5 });
    const before = ae.getWeights();
    const prediction = ae.predict(x).data.slice();
    ae.getWeights()[0].data.fill(123);
    ae.predict(x).data.fill(-1);
    expect(sameWeights(ae.getWeights(), before)).toBe(true);
    expect(sameBits(ae.predict(x).data, prediction)).toBe(true);
  });

  it('validationSplit holds out the last rows, rounding 0.29 of 100 rows to 29', async () => {
    const rows = syntheticData(100, D, 12);
    const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 6 });
    let batches = 0;
    const history = await ae.fit(rows, { validationSplit: 0.29, batchSize: 71, onBatchEnd: (b) => (batches = b.batches) });
    // 71 training rows fill exactly one batch of 71; the validation loss is that of the last 29 rows.
    expect(batches).toBe(1);
    expect(history.valLoss[0]).toBe(ae.evaluate(rowsOf(rows, D, 71, 100)));
  });
});

describe('small results share pooled buffers', () => {
  const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 8 });
  const oneRow = (r: number) => rowsOf(x, D, r, r + 1);
  // Predicts until a result opens a new shared buffer, so that the next few share it.
  const openPool = () => {
    while (ae.predict(oneRow(0)).data.byteOffset !== 0);
  };

  it('one-row results view disjoint parts of one shared buffer, each keeps its values as more follow', () => {
    openPool();
    const results = Array.from({ length: 400 }, (_, i) => ae.predict(oneRow(i % 40)).data);
    for (let i = 0; i < 400; i++) {
      expect(results[i].length).toBe(D);
      expect(sameBits(results[i], ae.predict(oneRow(i % 40), { out: new Float32Array(D) }).data), `result ${i}`).toBe(true);
    }
    // 64 bytes each, 127 more to the buffer just opened, 128 to each after it: four buffers.
    expect(new Set(results.map((d) => d.buffer)).size).toBe(4);
    let misaligned = 0;
    let overlapping = 0;
    for (const a of results) {
      if (a.byteOffset % 16 !== 0) misaligned++;
      for (const b of results) {
        if (a !== b && a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength) overlapping++;
      }
    }
    expect(misaligned).toBe(0);
    expect(overlapping).toBe(0);
  });

  it('encode, decode and reconstruct take theirs from the pool too, and decode(encode(x)) of one row works', () => {
    openPool();
    const z = ae.encode(oneRow(3));
    const y = ae.decode(z);
    expect(z.data.buffer).toBe(y.data.buffer);
    expect(sameBits(y.data, ae.predict(oneRow(3)).data)).toBe(true);
    expect(sameBits(ae.reconstruct(oneRow(3)).data, y.data)).toBe(true);
  });

  it('an input that reaches past its own result into the buffer not yet handed out gets its result elsewhere', () => {
    openPool();
    const last = ae.predict(oneRow(2)).data;
    const input = new Float32Array(last.buffer, last.byteOffset + 8, D);
    const expected = ae.predict(input.slice(), { out: new Float32Array(D) }).data;
    const result = ae.predict(input).data;
    expect(result.buffer).not.toBe(input.buffer);
    expect(sameBits(result, expected)).toBe(true);
    const scores = ae.reconstructionError(new Float32Array(result.buffer, result.byteOffset, D + 1).subarray(1));
    expect(scores.length).toBe(1);
  });

  it('a transfer list cannot detach a shared buffer: Node 18 and 20 copy it, later versions throw', () => {
    openPool();
    const first = ae.predict(oneRow(0)).data;
    const second = ae.predict(oneRow(1)).data;
    expect(first.buffer).toBe(second.buffer);
    const expected = second.slice();
    const transfer = () => structuredClone(first, { transfer: [first.buffer as ArrayBuffer] });
    if (Number(process.versions.node.split('.')[0]) <= 20) {
      expect(sameBits(transfer(), first)).toBe(true);
    } else {
      expect(thrown(transfer)).toMatchObject({ name: 'DataCloneError' });
    }
    expect(first.buffer.byteLength).toBe(8192);
    expect(sameBits(second, expected)).toBe(true);
  });

  it('so do the scores of reconstructionError', () => {
    openPool();
    const first = ae.reconstructionError(oneRow(0));
    const second = ae.reconstructionError(oneRow(1));
    expect(first.length).toBe(1);
    expect(first.buffer).toBe(second.buffer);
    expect(sameBits(first, ae.reconstructionError(oneRow(0), { out: new Float32Array(1) }))).toBe(true);
    expect(ae.reconstructionError(syntheticData(1025, D, 14)).buffer.byteLength).toBe(1025 * 4);
  });

  it('and the means and log-variances of a variational encode', () => {
    const vae = new VariationalAutoencoder({ inputDim: D, latentDim: 3, seed: 9 });
    const { mean, logVariance } = vae.encode(oneRow(0), { withVariance: true });
    expect(mean.data.buffer).toBe(logVariance.data.buffer);
    expect(mean.data.buffer.byteLength).toBe(8192);
    expect(sameBits(vae.encode(oneRow(0)).data, mean.data)).toBe(true);
  });

  it('results over 4 KiB get an ArrayBuffer of their own', () => {
    const small = ae.predict(rowsOf(x, D, 0, 16)).data; // 16 rows × 16 floats: 1 KiB
    const large = ae.predict(syntheticData(64, D, 15)).data; // 64 rows: 4 KiB, the most that is pooled
    expect(large.byteLength).toBe(4096);
    expect(small.buffer.byteLength).toBe(8192);
    expect(large.buffer.byteLength).toBe(8192);
    const own = ae.predict(syntheticData(65, D, 13)).data; // 65 rows: 4,160 bytes
    expect(own.buffer.byteLength).toBe(own.byteLength);
    expect(own.byteOffset).toBe(0);
  });
});

describe('results into options.out', () => {
  const ae = new Autoencoder({ inputDim: D, latentDim: 6, seed: 7 });

  it('predict, encode, decode and reconstruct write into the given array and return it as the data', () => {
    const z = ae.encode(x);
    const calls: [string, (out: Float32Array) => Matrix, Float32Array][] = [
      ['predict', (out) => ae.predict(x, { out }), ae.predict(x).data],
      ['reconstruct', (out) => ae.reconstruct(x, { out }), ae.predict(x).data],
      ['encode', (out) => ae.encode(x, { out }), z.data],
      ['encoder.encode', (out) => ae.encoder.encode(x, { out }), z.data],
      ['decode', (out) => ae.decode(z, { out }), ae.decode(z).data],
      ['decoder.predict', (out) => ae.decoder.predict(z, { out }), ae.decode(z).data],
    ];
    for (const [name, call, expected] of calls) {
      const out = new Float32Array(expected.length).fill(Number.NaN);
      const result = call(out);
      expect(result.data, name).toBe(out);
      expect(result.rows, name).toBe(40);
      expect(sameBits(out, expected), name).toBe(true);
    }
  });

  it('a reused array takes each new result whole, one row at a time as in a serving loop', () => {
    const out = new Float32Array(D);
    for (let r = 0; r < 40; r++) {
      const row = rowsOf(x, D, r, r + 1);
      ae.predict(row, { out });
      expect(sameBits(out, ae.predict(row).data)).toBe(true);
    }
  });

  it('may lie in the same buffer as the input, just not over it', () => {
    const shared = new Float32Array(2 * D);
    shared.set(rowsOf(x, D, 0, 1));
    const input = shared.subarray(0, D);
    const expected = ae.predict(input).data;
    expect(sameBits(ae.predict(input, { out: shared.subarray(D) }).data, expected)).toBe(true);
    for (const [from, to] of [[0, D], [D / 2, D + D / 2]]) {
      const out = shared.subarray(from, to);
      const before = shared.slice();
      const error = thrown(() => ae.predict(input, { out }));
      expectCoded(error, RangeError, 'ERR_OUT_OF_RANGE', 'options.out');
      expect((error as Error).message).toContain('apart from "x"');
      expect(sameBits(shared, before)).toBe(true);
    }
    const latent = new Float32Array(6 + D);
    const z = latent.subarray(0, 6);
    expect((thrown(() => ae.decode(z, { out: latent.subarray(3, 3 + D) })) as Error).message).toContain('apart from "z"');
  });

  it('is refused over the input even through another SharedArrayBuffer object on the same memory', () => {
    // structuredClone shares a SharedArrayBuffer's memory under a new object: only the addon, which
    // compares addresses, can tell.
    const memory = new SharedArrayBuffer(2 * D * 4);
    const input = new Float32Array(memory, 0, D);
    input.set(rowsOf(x, D, 0, 1));
    const alias = new Float32Array(structuredClone(memory), (D / 2) * 4, D);
    expect(alias.buffer).not.toBe(input.buffer);
    const error = thrown(() => ae.predict(input, { out: alias }));
    expectCoded(error, RangeError, 'ERR_OUT_OF_RANGE');
    expect((error as Error).message).toContain('options.out must not share memory with x');
    expect(sameBits(ae.predict(input, { out: new Float32Array(structuredClone(memory), D * 4, D) }).data, ae.predict(input).data)).toBe(true);
  });

  it('a NaN in a row makes that row of predict, encode and the scores NaN, not a plausible value, and no other row', () => {
    const poisoned = x.slice();
    poisoned[2 * D + 5] = Number.NaN;
    // ReLU took NaN to 0, and the row came out finite (0.5 in every column of a fresh model).
    const rowOf = (m: Matrix, r: number) => Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols));
    for (const m of [ae.predict(poisoned), ae.encode(poisoned)]) {
      expect(rowOf(m, 2).every(Number.isNaN)).toBe(true);
      expect(rowOf(m, 1).concat(rowOf(m, 3)).every(Number.isFinite)).toBe(true);
    }
    const scores = ae.reconstructionError(poisoned);
    expect(Number.isNaN(scores[2])).toBe(true);
    expect(scores.filter((_, r) => r !== 2).every(Number.isFinite)).toBe(true);
  });

  it('binaryCrossentropy of a sigmoid output is taken from its logits, as evaluate takes it, where outputs round to 1', () => {
    const saturated = new Autoencoder({ inputDim: D, latentDim: 6, seed: 1 });
    const weights = saturated.getWeights();
    // The output layer's biases at 40 put every output at exactly 1 in float32.
    weights[weights.length - 1].data.fill(40);
    saturated.setWeights(weights);
    expect(saturated.predict(x).data.every((p) => p === 1)).toBe(true);
    const scores = saturated.reconstructionError(x, { metric: 'binaryCrossentropy' });
    const mean = scores.reduce((sum, s) => sum + s, 0) / scores.length;
    const evaluated = saturated.evaluate(x, { loss: 'binaryCrossentropy' });
    // Clipped at 1e-7, an output of 1 against a target t scores 16.1 · (1 - t) rather than about 40 · (1 - t).
    expect(mean).toBeGreaterThan(15);
    expect(mean).toBeCloseTo(evaluated, 4);
    saturated.dispose();
  });

  it('reconstructionError writes its scores into options.out under the same rules', () => {
    for (const metric of ['mse', 'mae', 'binaryCrossentropy'] as const) {
      const out = new Float32Array(40).fill(Number.NaN);
      expect(ae.reconstructionError(x, { metric, out })).toBe(out);
      expect(sameBits(out, ae.reconstructionError(x, { metric })), metric).toBe(true);
    }
    const shared = new Float32Array(D + 1);
    shared.set(rowsOf(x, D, 0, 1));
    const input = shared.subarray(0, D);
    expect(sameBits(ae.reconstructionError(input, { out: shared.subarray(D) }), ae.reconstructionError(input))).toBe(true);
    const before = shared.slice();
    const error = thrown(() => ae.reconstructionError(input, { out: shared.subarray(D - 1, D) }));
    expectCoded(error, RangeError, 'ERR_OUT_OF_RANGE', 'options.out');
    expect((error as Error).message).toContain('apart from "x"');
    expect(sameBits(shared, before)).toBe(true);
    expectCoded(thrown(() => ae.reconstructionError(x, { out: new Float32Array(39) })), RangeError, 'ERR_OUT_OF_RANGE', 'options.out.length');
    expectCoded(thrown(() => ae.reconstructionError(x, { out: new Float64Array(40) as never })), TypeError, 'ERR_INVALID_ARG_TYPE', 'options.out');
  });

  it('reconstructionErrorAsync takes no out: its scores come from another thread', async () => {
    expectCoded(await rejection(ae.reconstructionErrorAsync(x, { out: new Float32Array(40) } as never)), RangeError, 'ERR_INVALID_ARG_VALUE', 'options.out');
  });

  it('predictAsync, encodeAsync and decodeAsync take no out: one given there is refused, not ignored', async () => {
    const z = ae.encode(x);
    const calls: [string, (options: unknown) => Promise<unknown>][] = [
      ['predictAsync', (o) => ae.predictAsync(x, o as never)],
      ['reconstructAsync', (o) => ae.reconstructAsync(x, o as never)],
      ['encodeAsync', (o) => ae.encodeAsync(x, o as never)],
      ['decodeAsync', (o) => ae.decodeAsync(z, o as never)],
      ['encoder.encodeAsync', (o) => ae.encoder.encodeAsync(x, o as never)],
      ['encoder.predictAsync', (o) => ae.encoder.predictAsync(x, o as never)],
      ['decoder.decodeAsync', (o) => ae.decoder.decodeAsync(z, o as never)],
    ];
    for (const [name, call] of calls) {
      const error = await rejection(call({ out: new Float32Array(40 * D) }));
      expectCoded(error, RangeError, 'ERR_INVALID_ARG_VALUE', 'options.out');
      expect((error as Error).message, name).toContain('known options (precision)');
      expectCoded(await rejection(call(5)), TypeError, 'ERR_INVALID_ARG_TYPE', 'options');
      expect(((await call({})) as Matrix).rows, name).toBe(40);
      expect(((await call(undefined)) as Matrix).rows, name).toBe(40);
    }
  });

  it('refuses what is not a Float32Array of exactly rows × width values, and unknown options', () => {
    for (const out of [new Float64Array(40 * D), Array.from({ length: 40 * D }, () => 0), 'out', null]) {
      expectCoded(thrown(() => ae.predict(x, { out: out as unknown as Float32Array })), TypeError, 'ERR_INVALID_ARG_TYPE', 'options.out');
    }
    for (const length of [0, 40 * D - 1, 40 * D + 1]) {
      const out = new Float32Array(length);
      expectCoded(thrown(() => ae.predict(x, { out })), RangeError, 'ERR_OUT_OF_RANGE', 'options.out.length');
      expect(out.every((v) => v === 0)).toBe(true);
    }
    expectCoded(thrown(() => ae.encode(x, { out: new Float32Array(40 * D) })), RangeError, 'ERR_OUT_OF_RANGE', 'options.out.length');
    expectCoded(thrown(() => ae.predict(x, { into: new Float32Array(40 * D) } as never)), RangeError, 'ERR_INVALID_ARG_VALUE', 'options.into');
    expectCoded(thrown(() => ae.predict(x, 5 as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'options');
  });
});
