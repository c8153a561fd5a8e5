// Decoder: maps latent vectors back to data rows. Usable on its own, or as part of an Autoencoder
// (then it shares the autoencoder's weights).
import type { AsyncPredictOptions, DataInput, Matrix, PredictOptions } from './data';
import { checkReceivers, knownKeys, objectArg, integer, seedArg } from './validate';
import { nativeLayers, type DenseLayerConfig } from './layers';
import { LayerStack, createShared } from './stack';
import { loadBackend, resolveBackend, type BackendChoice, type LoadOptions } from './backend';
import { formatError } from './safetensors';
import { buildFrom, modelFromBuffer, readModelFile, type Architecture, type DecoderArchitecture, type ModelFile } from './model-file';

export interface DecoderConfig {
  /** Width of the latent vectors it reads. */
  latentDim: number;
  /** The dense layers, in order; the last one's `units` is the output width. */
  layers: DenseLayerConfig[];
  /** Seed of the weight initializer. Default: random. */
  seed?: number;
  /** Where the weights live and computations run: 'cpu' (default), 'cuda', or 'auto' (CUDA when usable). */
  backend?: BackendChoice;
}

export class Decoder extends LayerStack {
  static {
    checkReceivers(this, 'a Decoder', (value) => value instanceof Decoder);
  }

  constructor(config: DecoderConfig) {
    const c = objectArg('config', config);
    knownKeys('config', c, ['latentDim', 'layers', 'seed', 'backend']);
    const latentDim = integer('config.latentDim', c.latentDim, 1, 1 << 24);
    const layers = nativeLayers('config.layers', c.layers, latentDim, 'decoder');
    const shared = createShared(layers, -1, seedArg('config.seed', c.seed), false, resolveBackend('config.backend', c.backend));
    super('Decoder', shared, 0, layers.length);
  }

  /** Width of the latent vectors it reads. */
  get latentDim(): number {
    return this.inputDim;
  }

  /** Rows rebuilt from the latent vectors `z`; into `options.out` when given. */
  decode(z: DataInput, options?: PredictOptions): Matrix {
    return this.forward('z', z, options);
  }

  /** `decode` on a worker thread. */
  decodeAsync(z: DataInput, options?: AsyncPredictOptions): Promise<Matrix> {
    return this.forwardAsync('z', z, options);
  }

  /** Loads a Decoder saved with `save()`, or the decoder half of a saved Autoencoder. */
  static async load(path: string, options?: LoadOptions): Promise<Decoder> {
    return Decoder.#fromFile(await readModelFile(path), options);
  }

  /** `load` from bytes made by `toBuffer()`. */
  static fromBuffer(buffer: Uint8Array, options?: LoadOptions): Decoder {
    return Decoder.#fromFile(modelFromBuffer(buffer), options);
  }

  static #fromFile(file: ModelFile, options?: LoadOptions): Decoder {
    const backend = loadBackend(options);
    const arch = file.architecture;
    const config: Omit<DecoderArchitecture, 'kind'> | undefined =
      arch.kind === 'Decoder' ? arch : arch.kind === 'Autoencoder' || arch.kind === 'VariationalAutoencoder' ? arch.decoder : undefined;
    if (!config) throw formatError(file.source, `a ${arch.kind} file holds no decoder`);
    const decoder = buildFrom(file, 'the decoder', () => new Decoder({ latentDim: config.latentDim, layers: config.layers, seed: 0, backend }));
    // Besides this half, an autoencoder file holds the encoder's tensors and, in a checkpoint, optimizer slots;
    // a decoder file holds nothing else.
    const training = file.metadata.training !== undefined;
    decoder.loadTensors(file, (name) => arch.kind !== 'Decoder' && (name.startsWith('encoder.') || (training && name.startsWith('optimizer.'))));
    return decoder;
  }

  /** @internal */
  protected architecture(): Architecture {
    return { kind: 'Decoder', latentDim: this.latentDim, layers: this.layerConfigs() };
  }
}
