// Encoder: maps input rows to latent vectors. Usable on its own, or as part of an Autoencoder
// (then it shares the autoencoder's weights).
import type { AsyncPredictOptions, DataInput, Matrix, PredictOptions } from './data';
import { checkReceivers, knownKeys, objectArg, integer, seedArg } from './validate';
import { nativeLayers, type DenseLayerConfig } from './layers';
import { LayerStack, createShared } from './stack';
import { loadBackend, resolveBackend, type BackendChoice, type LoadOptions } from './backend';
import { formatError } from './safetensors';
import { buildFrom, modelFromBuffer, readModelFile, type Architecture, type EncoderArchitecture, type ModelFile } from './model-file';

export interface EncoderConfig {
  /** Width of each input row. */
  inputDim: number;
  /** The dense layers, in order; the last one's `units` is the latent size. */
  layers: DenseLayerConfig[];
  /** Seed of the weight initializer (and of training, if this encoder trains on its own model). Default: random. */
  seed?: number;
  /** Where the weights live and computations run: 'cpu' (default), 'cuda', or 'auto' (CUDA when usable). */
  backend?: BackendChoice;
}

export class Encoder extends LayerStack {
  static {
    checkReceivers(this, 'an Encoder', (value) => value instanceof Encoder);
  }

  constructor(config: EncoderConfig) {
    const c = objectArg('config', config);
    knownKeys('config', c, ['inputDim', 'layers', 'seed', 'backend']);
    const inputDim = integer('config.inputDim', c.inputDim, 1, 1 << 24);
    const layers = nativeLayers('config.layers', c.layers, inputDim, 'encoder');
    const shared = createShared(layers, layers.length - 1, seedArg('config.seed', c.seed), false, resolveBackend('config.backend', c.backend));
    super('Encoder', shared, 0, layers.length);
  }

  /** Width of the latent vectors. */
  get latentDim(): number {
    return this.outputDim;
  }

  /** Latent vectors of the rows of `x`; into `options.out` when given. */
  encode(x: DataInput, options?: PredictOptions): Matrix {
    return this.predict(x, options);
  }

  /** `encode` on a worker thread. */
  encodeAsync(x: DataInput, options?: AsyncPredictOptions): Promise<Matrix> {
    return this.predictAsync(x, options);
  }

  /** Loads an Encoder saved with `save()`, or the encoder half of a saved Autoencoder. */
  static async load(path: string, options?: LoadOptions): Promise<Encoder> {
    return Encoder.#fromFile(await readModelFile(path), options);
  }

  /** `load` from bytes made by `toBuffer()`. */
  static fromBuffer(buffer: Uint8Array, options?: LoadOptions): Encoder {
    return Encoder.#fromFile(modelFromBuffer(buffer), options);
  }

  static #fromFile(file: ModelFile, options?: LoadOptions): Encoder {
    const backend = loadBackend(options);
    const arch = file.architecture;
    const config: Omit<EncoderArchitecture, 'kind'> | undefined =
      arch.kind === 'Encoder' ? arch : arch.kind === 'Autoencoder' || arch.kind === 'VariationalAutoencoder' ? arch.encoder : undefined;
    if (!config) throw formatError(file.source, `a ${arch.kind} file holds no encoder`);
    const encoder = buildFrom(file, 'the encoder', () => new Encoder({ inputDim: config.inputDim, layers: config.layers, seed: 0, backend }));
    // Besides this half, an autoencoder file holds the decoder's tensors and, in a checkpoint, optimizer slots;
    // an encoder file holds nothing else.
    const training = file.metadata.training !== undefined;
    encoder.loadTensors(file, (name) => arch.kind !== 'Encoder' && (name.startsWith('decoder.') || (training && name.startsWith('optimizer.'))));
    return encoder;
  }

  /** @internal */
  protected architecture(): Architecture {
    return { kind: 'Encoder', inputDim: this.inputDim, layers: this.layerConfigs() };
  }
}
