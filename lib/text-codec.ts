// TextCodec: strings to fixed-length one-hot rows and back. Each of `length` positions holds one
// symbol out of the vocabulary, the end/pad symbol first; a decoder whose output is a softmax per
// position (groupSize = symbols) trained with categorical cross-entropy reads and writes this layout.
import { type DataInput, type Matrix, checkResultSize, matrix, rowsFloat32, toRows } from './data';
import { codedError, rangeError, typeError, valueError } from './errors';
import { seededRandom } from './random';
import { checkReceivers, finiteNumber, integer, knownKeys, objectArg, optionalBoolean, optionalObject, seedArg, typedArrayLike } from './validate';

export interface TextCodecOptions {
  /** The characters it encodes, as a string or an array of single characters (code points). */
  vocabulary: string | readonly string[];
  /** Positions per string: longer strings are refused, or cut with `truncate`. */
  length: number;
  /** A character that stands for every character outside the vocabulary; without it those are refused. */
  unknown?: string;
  /** Cut strings longer than `length` instead of refusing them. Default false. */
  truncate?: boolean;
}

export interface DecodeOptions {
  /** 0 (the default) takes the most likely symbol at each position; above 0, samples from p^(1/temperature). */
  temperature?: number;
  /** Seed of the sampling. Default: random. */
  seed?: number;
}

export class TextCodec {
  /** The end/pad symbol: it fills every position after the text (shown in `vocabulary` at index 0). */
  static readonly END = '\u0003';

  /** The symbols, END first; position p of a row holds one of them, one-hot. */
  readonly vocabulary: readonly string[];
  readonly length: number;
  readonly unknown: string | undefined;
  readonly truncate: boolean;
  readonly #index: Map<string, number>;

  static {
    checkReceivers(this, 'a TextCodec', (value) => #index in value);
  }

  constructor(options: TextCodecOptions) {
    const o = objectArg('options', options);
    knownKeys('options', o, ['vocabulary', 'length', 'unknown', 'truncate']);
    let chars: string[];
    if (typeof o.vocabulary === 'string') chars = Array.from(o.vocabulary);
    else if (Array.isArray(o.vocabulary)) chars = Array.from(o.vocabulary as unknown[], (c, i) => single(`options.vocabulary[${i}]`, c));
    else throw typeError('options.vocabulary', 'a string or an array of characters', o.vocabulary);
    this.length = integer('options.length', o.length, 1, 1 << 16);
    this.truncate = optionalBoolean('options.truncate', o.truncate, false);
    this.unknown = o.unknown === undefined ? undefined : single('options.unknown', o.unknown);
    // Unknown characters encoded as END would end the text there, silently.
    if (this.unknown === TextCodec.END) throw valueError('options.unknown', 'a character other than TextCodec.END', this.unknown);
    const symbols = [TextCodec.END, ...new Set(chars.filter((c) => c !== TextCodec.END))];
    if (this.unknown !== undefined && !symbols.includes(this.unknown)) symbols.push(this.unknown);
    if (symbols.length < 2) throw rangeError('options.vocabulary', 'at least one character', o.vocabulary);
    this.vocabulary = Object.freeze(symbols);
    this.#index = new Map(symbols.map((c, i) => [c, i]));
  }

  /** A codec for the characters of `corpus` (sorted), long enough for its longest string unless `length` is given. */
  static fromCorpus(corpus: Iterable<string>, options: Partial<TextCodecOptions> = {}): TextCodec {
    const o = optionalObject('options', options);
    knownKeys('options', o, ['length', 'unknown', 'truncate']);
    // A typed array holds no strings, and iterating one whose buffer is detached, or a Proxy of one,
    // throws a TypeError with no code.
    if (corpus === null || typeof corpus !== 'object' || !(Symbol.iterator in corpus) || typedArrayLike(corpus)) {
      throw typeError('corpus', 'an iterable of strings', corpus);
    }
    const chars = new Set<string>();
    let longest = 0;
    let i = 0;
    for (const text of corpus) {
      if (typeof text !== 'string') throw typeError(`corpus[${i}]`, 'a string', text);
      // END marks the end of a text: a codec could never encode a text that holds it.
      if (text.includes(TextCodec.END)) throw valueError(`corpus[${i}]`, 'a string without TextCodec.END (U+0003)', text);
      const cps = Array.from(text);
      cps.forEach((c) => chars.add(c));
      longest = Math.max(longest, cps.length);
      i++;
    }
    return new TextCodec({
      vocabulary: [...chars].sort(),
      length: o.length === undefined ? longest + 1 : (o.length as number),
      ...(o.unknown === undefined ? {} : { unknown: o.unknown as string }),
      ...(o.truncate === undefined ? {} : { truncate: o.truncate as boolean }),
    });
  }

  /** Symbols per position, END included. */
  get symbols(): number {
    return this.vocabulary.length;
  }

  /** Width of an encoded row: length × symbols. */
  get width(): number {
    return this.length * this.symbols;
  }

  /** One row per string: at each position the symbol's one-hot vector, END after the text. */
  encode(strings: readonly string[]): Matrix {
    if (!Array.isArray(strings)) throw typeError('strings', 'an array of strings', strings);
    const { symbols, width } = this;
    checkResultSize('the encoded rows', strings.length, width);
    const data = rowsFloat32(strings.length * width);
    // By index: forEach would skip a sparse array's holes, leaving their rows empty.
    for (let r = 0; r < strings.length; r++) {
      const text: unknown = strings[r];
      if (typeof text !== 'string') throw typeError(`strings[${r}]`, 'a string', text);
      let cps = Array.from(text);
      if (cps.length > this.length) {
        if (!this.truncate) {
          throw rangeError(`strings[${r}]`, `at most ${this.length} characters (or pass truncate: true)`, `${cps.length} characters`);
        }
        cps = cps.slice(0, this.length);
      }
      for (let p = 0; p < this.length; p++) {
        let symbol = 0;
        if (p < cps.length) {
          const found = this.#index.get(cps[p]);
          if (found === undefined || found === 0) {
            if (this.unknown === undefined) {
              throw codedError(
                RangeError,
                'ERR_INVALID_ARG_VALUE',
                `The "strings[${r}]" argument holds ${JSON.stringify(cps[p])} at position ${p}, which is not in the vocabulary (pass unknown: to map such characters)`,
              );
            }
            symbol = this.#index.get(this.unknown) as number;
          } else {
            symbol = found;
          }
        }
        data[r * width + p * symbols + symbol] = 1;
      }
    }
    return matrix(data, strings.length, width);
  }

  /** Strings from rows of per-position probabilities (or one-hot rows), up to the first END. */
  decode(rows: DataInput, options: DecodeOptions = {}): string[] {
    const o = optionalObject('options', options);
    knownKeys('options', o, ['temperature', 'seed']);
    const temperature = o.temperature === undefined ? 0 : finiteNumber('options.temperature', o.temperature, { min: 0 });
    const random = temperature > 0 ? seededRandom(seedArg('options.seed', o.seed)) : undefined;
    const m = toRows('rows', rows, this.width);
    const { symbols } = this;
    const out: string[] = [];
    const weights = new Float64Array(symbols);
    for (let r = 0; r < m.rows; r++) {
      let text = '';
      for (let p = 0; p < this.length; p++) {
        const base = r * this.width + p * symbols;
        const symbol = random ? sampleSymbol(m.data, base, symbols, temperature, random, weights) : argmax(m.data, base, symbols);
        if (symbol === 0) break;
        text += this.vocabulary[symbol];
      }
      out.push(text);
    }
    return out;
  }

  /**
   * The codec's settings, to rebuild it with `new TextCodec(...)` (for example from JSON). The
   * vocabulary is a list: joined into one string, lone surrogates next to each other would pair up
   * into one character.
   */
  toJSON(): TextCodecOptions {
    const json: TextCodecOptions = { vocabulary: this.vocabulary.slice(1), length: this.length, truncate: this.truncate };
    if (this.unknown !== undefined) json.unknown = this.unknown;
    return json;
  }
}

function single(name: string, value: unknown): string {
  if (typeof value !== 'string' || Array.from(value).length !== 1) throw typeError(name, 'a single character', value);
  return value;
}

function argmax(data: Float32Array, base: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (data[base + i] > data[base + best]) best = i;
  return best;
}

/**
 * Draws a symbol with probability proportional to p^(1/temperature). The powers are taken relative
 * to the largest, in logarithms: at low temperatures p^(1/temperature) overflows for p above 1 and
 * underflows for p below it.
 */
function sampleSymbol(data: Float32Array, base: number, n: number, temperature: number, random: () => number, weights: Float64Array): number {
  let largest = -Infinity;
  for (let i = 0; i < n; i++) {
    const p = data[base + i];
    weights[i] = p > 0 ? Math.log(p) / temperature : -Infinity;
    largest = Math.max(largest, weights[i]);
  }
  if (!Number.isFinite(largest)) return argmax(data, base, n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    weights[i] = Math.exp(weights[i] - largest);
    total += weights[i];
  }
  let u = random() * total;
  for (let i = 0; i < n; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return n - 1;
}
