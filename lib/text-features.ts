// HashedTfidf: text to fixed-size vectors without a vocabulary. Word n-grams and character n-grams
// are hashed into `dimensions` buckets, counts are damped (1 + log tf) and weighted by inverse
// document frequency learned in `fit`, and each row is scaled to unit length.
import { type Matrix, checkResultSize, matrix, rowsFloat32 } from './data';
import { typeError } from './errors';
import { checkReceivers, integer, knownKeys, oneOf, optionalBoolean, optionalObject } from './validate';

export interface HashedTfidfOptions {
  /** Buckets per row. Default 4096. */
  dimensions?: number;
  /** Longest word n-gram. Default 2 (words and word pairs). */
  wordNgrams?: number;
  /** Character n-gram length inside words (0: none). Default 3. */
  charNgrams?: number;
  /** Lower-case the text first. Default true. */
  lowercase?: boolean;
  /** 'words': runs of letters, digits and a few symbols ($ € £ ! ? '); 'whitespace': everything between spaces (keeps addresses and URLs whole). Default 'words'. */
  tokens?: 'words' | 'whitespace';
}

export class HashedTfidf {
  readonly dimensions: number;
  readonly wordNgrams: number;
  readonly charNgrams: number;
  readonly lowercase: boolean;
  readonly tokens: 'words' | 'whitespace';
  #idf: Float32Array | undefined;

  static {
    checkReceivers(this, 'a HashedTfidf', (value) => #idf in value);
  }

  constructor(options: HashedTfidfOptions = {}) {
    const o = optionalObject('options', options);
    knownKeys('options', o, ['dimensions', 'wordNgrams', 'charNgrams', 'lowercase', 'tokens']);
    this.dimensions = o.dimensions === undefined ? 4096 : integer('options.dimensions', o.dimensions, 1, 1 << 24);
    this.wordNgrams = o.wordNgrams === undefined ? 2 : integer('options.wordNgrams', o.wordNgrams, 1, 8);
    this.charNgrams = o.charNgrams === undefined ? 3 : integer('options.charNgrams', o.charNgrams, 0, 16);
    this.lowercase = optionalBoolean('options.lowercase', o.lowercase, true);
    this.tokens = o.tokens === undefined ? 'words' : oneOf('options.tokens', o.tokens, ['words', 'whitespace'] as const);
  }

  /** Learns the inverse document frequencies of the buckets: log((1 + n) / (1 + df)) + 1, as scikit-learn smooths them. */
  fit(texts: readonly string[]): this {
    const docs = this.#check(texts);
    const df = new Float64Array(this.dimensions);
    for (const text of docs) for (const bucket of new Set(this.#buckets(text).keys())) df[bucket]++;
    this.#idf = Float32Array.from(df, (d) => Math.log((1 + docs.length) / (1 + d)) + 1);
    return this;
  }

  /** One unit-length row per text. */
  transform(texts: readonly string[]): Matrix {
    const docs = this.#check(texts);
    const idf = this.#idf;
    if (!idf) throw typeError('this', 'a HashedTfidf that has been fitted (call fit first)', this);
    checkResultSize('the feature rows', docs.length, this.dimensions);
    const data = rowsFloat32(docs.length * this.dimensions);
    docs.forEach((text, r) => {
      const row = data.subarray(r * this.dimensions, (r + 1) * this.dimensions);
      let norm = 0;
      for (const [bucket, count] of this.#buckets(text)) {
        const v = (1 + Math.log(count)) * idf[bucket];
        row[bucket] = v;
        norm += v * v;
      }
      if (norm > 0) {
        const scale = 1 / Math.sqrt(norm);
        for (let i = 0; i < row.length; i++) row[i] *= scale;
      }
    });
    return matrix(data, docs.length, this.dimensions);
  }

  #check(texts: unknown): string[] {
    if (!Array.isArray(texts)) throw typeError('texts', 'an array of strings', texts);
    // By index, each read once: forEach would skip a sparse array's holes.
    const list: string[] = [];
    for (let i = 0; i < texts.length; i++) {
      const t: unknown = texts[i];
      if (typeof t !== 'string') throw typeError(`texts[${i}]`, 'a string', t);
      list.push(t);
    }
    return list;
  }

  /** Bucket → count of the text's word and character n-grams. */
  #buckets(text: string): Map<number, number> {
    const pattern = this.tokens === 'whitespace' ? /\S+/gu : /[\p{L}\p{N}$€£!?']+/gu;
    const words = (this.lowercase ? text.toLowerCase() : text).match(pattern) ?? [];
    const counts = new Map<number, number>();
    const add = (feature: string) => {
      const bucket = fnv1a(feature) % this.dimensions;
      counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    };
    for (let n = 1; n <= this.wordNgrams; n++) {
      for (let i = 0; i + n <= words.length; i++) add(`w${n}:${words.slice(i, i + n).join(' ')}`);
    }
    if (this.charNgrams > 0) {
      for (const word of words) {
        const padded = `<${word}>`;
        for (let i = 0; i + this.charNgrams <= padded.length; i++) add(`c:${padded.slice(i, i + this.charNgrams)}`);
      }
    }
    return counts;
  }
}

/** 32-bit FNV-1a over UTF-16 code units: fast, and the same on every platform. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
