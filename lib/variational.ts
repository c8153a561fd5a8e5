// VariationalAutoencoder: the encoder emits a mean and a log-variance per latent unit, training
// decodes a sample drawn by the reparameterization trick and adds β · KL(q(z|x) ‖ N(0, I)) to the
// loss, and new data comes from decoding draws from the prior.
import { Autoencoder, type AutoencoderConfig } from './autoencoder';
import { type AsyncPredictOptions, type DataInput, type Matrix, type PredictOptions, checkResultSize, matrix, outputInto, precisionOption, toRows } from './data';
import { rangeError } from './errors';
import { pooledResult } from './result-pool';
import { modelFromBuffer, readModelFile } from './model-file';
import type { LoadOptions } from './backend';
import { normalFrom, seededRandom } from './random';
import { checkReceivers, finiteNumber, integer, knownKeys, optionalBoolean, optionalObject, seedArg } from './validate';

/** The largest sampling temperature: a standard normal draw (under 9 in size) times it stays within float32. */
const MAX_TEMPERATURE = 3e37;

/**
 * As for an Autoencoder; with `encoder`, its last layer must be linear with 2 × latentDim units
 * (the mean, then the log-variance). `{ inputDim, latentDim }` builds inputDim → max(64, 4·latentDim)
 * relu → 2·latentDim, then latentDim → the same hidden width relu → inputDim sigmoid.
 */
export type VariationalAutoencoderConfig = AutoencoderConfig;

/** The encoder's distribution q(z|x) for each row. */
export interface LatentDistribution {
  mean: Matrix;
  logVariance: Matrix;
}

export interface SampleOptions {
  /** Seed of the draws from the prior. Default: random. */
  seed?: number;
  /** Scales the prior's standard deviation: below 1 gives more typical samples, above 1 more varied. Default 1. */
  temperature?: number;
}

export class VariationalAutoencoder extends Autoencoder {
  protected static override readonly variational: boolean = true;

  static {
    checkReceivers(this, 'a VariationalAutoencoder', (value) => #split in value);
  }

  /** Loads a VariationalAutoencoder saved with `save()` (or a checkpoint written during `fit`). */
  static override async load(path: string, options?: LoadOptions): Promise<VariationalAutoencoder> {
    return VariationalAutoencoder.fromModelFile(VariationalAutoencoder, await readModelFile(path), options);
  }

  /** `load` from bytes made by `toBuffer()`. */
  static override fromBuffer(buffer: Uint8Array, options?: LoadOptions): VariationalAutoencoder {
    return VariationalAutoencoder.fromModelFile(VariationalAutoencoder, modelFromBuffer(buffer), options);
  }

  /**
   * The latent means of the rows of `x`, into `options.out` when given; with `{ withVariance: true }`,
   * means and log-variances.
   */
  override encode(x: DataInput, options?: PredictOptions & { withVariance?: false }): Matrix;
  override encode(x: DataInput, options: PredictOptions & { withVariance: true }): LatentDistribution;
  override encode(x: DataInput, options: PredictOptions & { withVariance?: boolean } = {}): Matrix | LatentDistribution {
    const o = optionalObject('options', options);
    knownKeys('options', o, ['withVariance', 'out', 'precision']);
    const rows = toRows('x', x, this.inputDim);
    const mean = outputInto(o.out, rows.rows, this.latentDim, 'x', rows.data);
    const withVariance = optionalBoolean('options.withVariance', o.withVariance, false);
    const stats = this.encoder.encode(rows, { precision: precisionOption(o) });
    return withVariance ? this.#split(stats, mean) : matrix(this.#half(stats, 0, mean), stats.rows, this.latentDim);
  }

  /** `encode` on a worker thread: the means, or with `{ withVariance: true }` means and log-variances. */
  override encodeAsync(x: DataInput, options?: AsyncPredictOptions & { withVariance?: false }): Promise<Matrix>;
  override encodeAsync(x: DataInput, options: AsyncPredictOptions & { withVariance: true }): Promise<LatentDistribution>;
  override async encodeAsync(x: DataInput, options: AsyncPredictOptions & { withVariance?: boolean } = {}): Promise<Matrix | LatentDistribution> {
    const o = optionalObject('options', options);
    knownKeys('options', o, ['withVariance', 'precision']);
    const withVariance = optionalBoolean('options.withVariance', o.withVariance, false);
    const stats = await this.encoder.encodeAsync(x, { precision: precisionOption(o) });
    return withVariance ? this.#split(stats, undefined) : matrix(this.#half(stats, 0, undefined), stats.rows, this.latentDim);
  }

  /** `n` new rows: latent draws from N(0, temperature² I), decoded. */
  sample(n: number, options: SampleOptions = {}): Matrix {
    const count = integer('n', n, 1, 1 << 24);
    const o = optionalObject('options', options);
    knownKeys('options', o, ['seed', 'temperature']);
    const temperature = o.temperature === undefined ? 1 : finiteNumber('options.temperature', o.temperature, { min: 0, max: MAX_TEMPERATURE });
    const normal = normalFrom(seededRandom(seedArg('options.seed', o.seed)));
    checkResultSize('the latent draws', count, this.latentDim);
    const z = new Float32Array(count * this.latentDim);
    for (let i = 0; i < z.length; i++) z[i] = normal() * temperature;
    return this.decode(matrix(z, count, this.latentDim));
  }

  /** `steps` rows decoded along the straight line between the latent means of rows `a` and `b`, both ends included. */
  interpolate(a: DataInput, b: DataInput, steps: number): Matrix {
    const count = integer('steps', steps, 2, 1 << 20);
    const [from, to] = (['a', 'b'] as const).map((name, i) => {
      const row = toRows(name, i === 0 ? a : b, this.inputDim);
      if (row.rows !== 1) throw rangeError(name, 'exactly one row', `${row.rows} rows`);
      return this.encode(row).data;
    });
    const latent = this.latentDim;
    checkResultSize('the latent path', count, latent);
    const z = new Float32Array(count * latent);
    for (let s = 0; s < count; s++) {
      const t = s / (count - 1);
      for (let j = 0; j < latent; j++) z[s * latent + j] = (1 - t) * from[j] + t * to[j];
    }
    return this.decode(matrix(z, count, latent));
  }

  #split(stats: Matrix, meanInto: Float32Array | undefined): LatentDistribution {
    const latent = stats.cols / 2;
    return {
      mean: matrix(this.#half(stats, 0, meanInto), stats.rows, latent),
      logVariance: matrix(this.#half(stats, latent, undefined), stats.rows, latent),
    };
  }

  /** The columns [from, from + latentDim) of the encoder's [mean | log-variance] rows, into `into` when given. */
  #half(stats: Matrix, from: number, into: Float32Array | undefined): Float32Array {
    const latent = stats.cols / 2;
    const half = into ?? pooledResult(stats.rows * latent) ?? new Float32Array(stats.rows * latent);
    for (let r = 0; r < stats.rows; r++) half.set(stats.data.subarray(r * stats.cols + from, r * stats.cols + from + latent), r * latent);
    return half;
  }
}
