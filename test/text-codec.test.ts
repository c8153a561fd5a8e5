// TextCodec: strings to one-hot rows and back, its vocabulary, and its refusals.
import { describe, expect, it } from 'vitest';
import { TextCodec } from 'native-autoencoder';
import { expectCoded, thrown } from './helpers';

describe('TextCodec', () => {
  const codec = TextCodec.fromCorpus(['anna', 'bob', 'éva']);

  it('builds a sorted vocabulary after the end symbol, long enough for the longest string', () => {
    expect(codec.vocabulary).toEqual([TextCodec.END, 'a', 'b', 'n', 'o', 'v', 'é']);
    expect(codec.length).toBe(5);
    expect(codec.symbols).toBe(7);
    expect(codec.width).toBe(35);
  });

  it('encodes one-hot per position with END after the text, and decodes back', () => {
    const m = codec.encode(['bob', '']);
    expect(m.rows).toBe(2);
    expect(m.cols).toBe(35);
    const hot = (r: number, p: number) => Array.from(m.data.subarray(r * 35 + p * 7, r * 35 + p * 7 + 7)).indexOf(1);
    expect([0, 1, 2, 3, 4].map((p) => hot(0, p))).toEqual([2, 4, 2, 0, 0]);
    expect([0, 1, 2, 3, 4].map((p) => hot(1, p))).toEqual([0, 0, 0, 0, 0]);
    for (let r = 0; r < 2; r++) for (let p = 0; p < 5; p++) expect(m.data.subarray(r * 35 + p * 7, r * 35 + p * 7 + 7).reduce((a, b) => a + b)).toBe(1);
    expect(codec.decode(m)).toEqual(['bob', '']);
    expect(codec.decode(codec.encode(['anna', 'éva']))).toEqual(['anna', 'éva']);
  });

  it('decodes probabilities by argmax, or by sampling with a temperature and a seed', () => {
    const probs = new Float32Array(35);
    for (let p = 0; p < 5; p++) probs.set([0.05, 0.6, 0.3, 0.01, 0.01, 0.02, 0.01], p * 7);
    expect(codec.decode(probs)).toEqual(['aaaaa']);
    const a = codec.decode(probs, { temperature: 1, seed: 3 });
    expect(codec.decode(probs, { temperature: 1, seed: 3 })).toEqual(a);
    const samples = new Set(Array.from({ length: 40 }, (_, s) => codec.decode(probs, { temperature: 2, seed: s })[0]));
    expect(samples.size).toBeGreaterThan(5);
  });

  it('samples at low temperatures from scores above 1 and below it alike: the likeliest symbol, nearly always', () => {
    for (const [best, other] of [[3, 0.5], [1e-30, 1e-32]]) {
      const scores = new Float32Array(35);
      for (let p = 0; p < 5; p++) scores.set([0, best, other, 0, 0, 0, 0], p * 7);
      // p^(1/0.001) overflowed to Infinity above 1, and the last symbol came out (below 1 it underflows
      // to 0, where the most likely symbol is taken).
      for (const seed of [1, 2, 3]) expect(codec.decode(scores, { temperature: 0.001, seed })).toEqual(['aaaaa']);
      // At temperature 1 the other symbol is drawn in proportion: 1 in 7 (3 against 0.5) and 1 in 101.
      const draws = codec.decode(new Float32Array(35 * 2000).map((_, i) => scores[i % 35]), { temperature: 1, seed: 9 }).join('');
      const share = [...draws].filter((c) => c === 'b').length / draws.length;
      expect(share).toBeCloseTo(other / (best + other), 2);
    }
  });

  it('refuses strings too long or with characters outside the vocabulary, unless told otherwise', () => {
    expectCoded(thrown(() => codec.encode(['abababa'])), RangeError, 'ERR_OUT_OF_RANGE', 'strings[0]');
    expectCoded(thrown(() => codec.encode(['ab', 'xyz'])), RangeError, 'ERR_INVALID_ARG_VALUE', 'strings[1]');
    expect((thrown(() => codec.encode(['xyz'])) as Error).message).toContain('"x" at position 0');
    const lenient = new TextCodec({ vocabulary: 'ab', length: 3, unknown: '?', truncate: true });
    expect(lenient.decode(lenient.encode(['abzab']))).toEqual(['ab?']);
    expectCoded(thrown(() => codec.encode('bob' as never)), TypeError, 'ERR_INVALID_ARG_TYPE', 'strings');
    expectCoded(thrown(() => codec.encode([42 as never])), TypeError, 'ERR_INVALID_ARG_TYPE', 'strings[0]');
    expectCoded(thrown(() => new TextCodec({ vocabulary: ['ab'], length: 3 })), TypeError, 'ERR_INVALID_ARG_TYPE', 'options.vocabulary[0]');
    expectCoded(thrown(() => new TextCodec({ vocabulary: 'ab', length: 0 })), RangeError, 'ERR_OUT_OF_RANGE', 'options.length');
    expectCoded(thrown(() => codec.decode(new Float32Array(34))), RangeError, 'ERR_OUT_OF_RANGE', 'rows.length');
  });

  it('refuses a corpus of typed arrays, or of anything passing for one, naming corpus', () => {
    // A Proxy of a typed array is no view, yet iterating it throws a TypeError with no code.
    for (const corpus of [new Float32Array(2), new Proxy(new Float32Array(0), {}), Object.create(Uint8Array.prototype)]) {
      expectCoded(thrown(() => TextCodec.fromCorpus(corpus)), TypeError, 'ERR_INVALID_ARG_TYPE', 'corpus');
    }
  });

  it('round-trips its settings through JSON', () => {
    const again = new TextCodec(JSON.parse(JSON.stringify(codec)));
    expect(again.vocabulary).toEqual(codec.vocabulary);
    expect(again.decode(codec.encode(['bob']))).toEqual(['bob']);
  });

  it('round-trips a vocabulary of lone surrogates, which a joined string would pair into one character', () => {
    const lone = TextCodec.fromCorpus(['a\uD83D', '\uDE00b']);
    expect(lone.symbols).toBe(5);
    const again = new TextCodec(JSON.parse(JSON.stringify(lone)));
    expect(again.vocabulary).toEqual(lone.vocabulary);
    expect(again.decode(lone.encode(['a\uD83D']))).toEqual(['a\uD83D']);
  });

  it('refuses END as the unknown symbol, and a corpus that holds END (no codec could encode it)', () => {
    expectCoded(thrown(() => new TextCodec({ vocabulary: 'ab', length: 4, unknown: TextCodec.END })), RangeError, 'ERR_INVALID_ARG_VALUE', 'options.unknown');
    expectCoded(thrown(() => TextCodec.fromCorpus(['ab', `a${TextCodec.END}b`])), RangeError, 'ERR_INVALID_ARG_VALUE', 'corpus[1]');
  });
});

