// Autoencoder: an Encoder and a Decoder trained together to rebuild their input. The three share
// one native model, so training the autoencoder trains its encoder and decoder.
import type { NativeCheckpoint, NativeEpoch, NativeFitResult, NativeModel } from './binding';
import { type AsyncPredictOptions, type DataInput, type InferencePrecision, type Matrix, type PredictOptions, outputInto, precisionOption, splitTail, toRows } from './data';
import { abortError, codedError, disposedError, typeError, rangeError, valueError } from './errors';
import { Decoder } from './decoder';
import { Encoder } from './encoder';
import {
  type EpochLogs,
  type FitOptions,
  type History,
  type LossConfig,
  type NoiseConfig,
  type RegularizationConfig,
  lossOptions,
  normalizeFit,
  regularizationOptions,
} from './fit';
import { type DenseLayerConfig } from './layers';
import { LayerStack, createShared, rebindStack, sharedOf } from './stack';
import { loadBackend, resolveBackend, type BackendChoice, type LoadOptions } from './backend';
import { writeFileAtomic } from './atomic-file';
import { initDistributed } from './distributed';
import { buildFrom, encodeModel, modelFromBuffer, readModelFile, type Architecture, type ModelFile } from './model-file';
import { formatError, type Tensor } from './safetensors';
import { checkReceivers, integer, knownKeys, objectArg, oneOf, optionalObject, seedArg, typedArrayLike } from './validate';

export interface AutoencoderConfig {
  /** With latentDim: the design document's network (Encoder: two Dense relu layers of latentDim units; Decoder: Dense relu, Dense sigmoid). */
  inputDim?: number;
  latentDim?: number;
  /** Or bring your own encoder and decoder; the autoencoder adopts them and their weights. */
  encoder?: Encoder;
  decoder?: Decoder;
  /**
   * Seed of training (shuffles, noise, dropout) and, with `{ inputDim, latentDim }`, of the initial
   * weights. Adopted halves keep the weights they were built with: seed those in their own configs.
   * Default: random.
   */
  seed?: number;
  regularization?: RegularizationConfig;
  noise?: NoiseConfig;
  /**
   * Where the weights live and computations run: 'cpu', 'cuda', or 'auto' (CUDA when usable, else the
   * CPU). Default: the adopted encoder's backend, else 'cpu'.
   */
  backend?: BackendChoice;
}

export const ROW_METRICS = ['mse', 'mae', 'binaryCrossentropy'] as const;
export type RowMetric = (typeof ROW_METRICS)[number];

/** Options of `reconstructionErrorAsync`. */
export interface ReconstructionErrorAsyncOptions {
  /** How each row's error is measured. Default: 'mse'. */
  metric?: RowMetric;
  /** The reconstruction's matrix products in bfloat16 or float32 (see AsyncPredictOptions). Default: 'float32'. */
  precision?: InferencePrecision;
}

/** Options of `reconstructionError`. */
export interface ReconstructionErrorOptions extends ReconstructionErrorAsyncOptions {
  /**
   * Writes the scores into this array (one value per row, not overlapping the input), which is
   * returned, instead of a new one: for scoring a few rows at a time in a loop.
   */
  out?: Float32Array;
}

const adopted = new WeakSet<LayerStack>();

export class Autoencoder extends LayerStack {
  /** @internal Subclasses with a variational latent layer set this. */
  protected static readonly variational: boolean = false;
  /** The encoder half; shares this autoencoder's weights. */
  readonly encoder: Encoder;
  /** The decoder half; shares this autoencoder's weights. */
  readonly decoder: Decoder;
  #regularization: Record<string, unknown>;
  #config: Pick<AutoencoderConfig, 'regularization' | 'noise'>;
  #lastLoss: LossConfig = 'mse';

  static {
    checkReceivers(this, 'an Autoencoder', (value) => #config in value);
  }

  constructor(config: AutoencoderConfig) {
    const c = objectArg('config', config);
    knownKeys('config', c, ['inputDim', 'latentDim', 'encoder', 'decoder', 'seed', 'regularization', 'noise', 'backend']);
    const seed = seedArg('config.seed', c.seed);
    // Read once: a getter answering differently the second time would train with one setting and record another.
    const [regularizationGiven, noiseGiven] = [c.regularization, c.noise];
    const regularization = regularizationOptions(regularizationGiven, noiseGiven);
    const variational = (new.target as typeof Autoencoder).variational;
    const [encoder, decoder] = Autoencoder.#halves(c, seed, variational);
    const layers = [...sharedOf(encoder).layers, ...sharedOf(decoder).layers];
    const backend = c.backend === undefined ? encoder.backend : resolveBackend('config.backend', c.backend);
    const shared = createShared(layers, sharedOf(encoder).layers.length - 1, seed, variational, backend);
    super(variational ? 'VariationalAutoencoder' : 'Autoencoder', shared, 0, layers.length);
    for (const half of [encoder, decoder]) {
      const old = sharedOf(half);
      for (const w of half.getWeights()) shared.native.setTensor(w.name, w.data);
      old.disposed = true;
      old.native.dispose();
      adopted.add(half);
    }
    const split = sharedOf(encoder).layers.length;
    rebindStack(encoder, shared, 0, split);
    rebindStack(decoder, shared, split, layers.length);
    this.encoder = encoder;
    this.decoder = decoder;
    this.#regularization = regularization;
    this.#config = {};
    // What a model file records comes from the checked values, not the caller's objects, whose
    // inherited properties or getters the checks read but a spread would not copy alike.
    if (regularizationGiven !== undefined) {
      const recorded: RegularizationConfig = {};
      if (regularization.l2 !== 0) recorded.l2 = regularization.l2 as number;
      if (regularization.latentL1 !== 0) recorded.latentL1 = regularization.latentL1 as number;
      this.#config.regularization = recorded;
    }
    if (noiseGiven !== undefined) {
      const level = regularization.noiseLevel as number;
      this.#config.noise = regularization.noise === 'gaussian' ? { type: 'gaussian', stddev: level } : { type: 'masking', rate: level };
    }
  }

  static #halves(c: Record<string, unknown>, seed: number, variational: boolean): [Encoder, Decoder] {
    if (c.encoder !== undefined || c.decoder !== undefined) {
      if (c.inputDim !== undefined || c.latentDim !== undefined) {
        throw rangeError('config', 'either { inputDim, latentDim } or { encoder, decoder }, not both', c);
      }
      if (!(c.encoder instanceof Encoder)) throw typeError('config.encoder', 'an Encoder', c.encoder);
      if (!(c.decoder instanceof Decoder)) throw typeError('config.decoder', 'a Decoder', c.decoder);
      const encoder = c.encoder;
      const decoder = c.decoder;
      for (const [name, half] of [['config.encoder', encoder], ['config.decoder', decoder]] as const) {
        if (half.disposed) throw disposedError(name.slice(7));
        if (adopted.has(half)) {
          throw codedError(Error, 'ERR_IN_USE', `${name} already belongs to another Autoencoder`);
        }
        if (half.busy) throw codedError(Error, 'ERR_BUSY', `${name} is busy`);
      }
      if (variational) {
        const head = encoder.layers[encoder.layers.length - 1];
        if (head.activation !== 'linear' || head.units !== 2 * decoder.latentDim) {
          throw rangeError(
            'config.encoder',
            `an encoder whose last layer is linear with 2 × latentDim = ${2 * decoder.latentDim} units (mean and log-variance)`,
            `${head.activation} with ${head.units} units`,
          );
        }
      } else if (decoder.latentDim !== encoder.latentDim) {
        throw rangeError('config.decoder.latentDim', `${encoder.latentDim} (the encoder's latent size)`, decoder.latentDim);
      }
      if (decoder.outputDim !== encoder.inputDim) {
        throw rangeError('config.decoder output width', `${encoder.inputDim} (the encoder's input width)`, decoder.outputDim);
      }
      return [encoder, decoder];
    }
    const inputDim = integer('config.inputDim', c.inputDim, 1, 1 << 24);
    // A variational network's hidden layers are 4 · latentDim wide, within the same limit of 2^24 units.
    const latentDim = integer('config.latentDim', c.latentDim, 1, variational ? 1 << 22 : 1 << 24);
    // The design document's network; a variational one gets a wider hidden layer and a [mean | log-variance] head.
    const hidden = variational ? Math.max(64, 4 * latentDim) : latentDim;
    const encoder = new Encoder({
      inputDim,
      layers: [
        { units: hidden, activation: 'relu' },
        variational ? { units: 2 * latentDim, activation: 'linear' } : { units: latentDim, activation: 'relu' },
      ],
      seed,
    });
    const decoder = new Decoder({
      latentDim,
      layers: [
        { units: hidden, activation: 'relu' },
        { units: inputDim, activation: 'sigmoid' },
      ],
      seed: (seed + 1) % Number.MAX_SAFE_INTEGER,
    });
    return [encoder, decoder];
  }

  /** Width of the latent vectors. */
  get latentDim(): number {
    return this.decoder.latentDim;
  }

  /**
   * Trains on the rows of `x` (the target is `x` itself) on a native thread; the event loop stays
   * free and callbacks arrive on it. Other calls on this model throw ERR_BUSY until it settles.
   */
  async fit(x: DataInput, options: FitOptions = {}): Promise<History> {
    const variational = (this.constructor as typeof Autoencoder).variational;
    const o = normalizeFit(options, this.#regularization);
    if (!variational && (o.native.beta !== undefined || o.native.klWarmupEpochs !== undefined)) {
      throw rangeError('options.beta', 'given only to a VariationalAutoencoder', o.native.beta ?? o.native.klWarmupEpochs);
    }
    this.#checkLoss(o.native.loss);
    let train = toRows('x', x, this.inputDim, 1);
    let validation: Matrix | undefined;
    if (o.validationData !== undefined) {
      validation = toRows('options.validationData', o.validationData, this.inputDim, 1);
    } else if (o.validationSplit > 0) {
      const { head, tail } = splitTail(train, o.validationSplit);
      if (tail.rows === 0) throw rangeError('options.validationSplit', `large enough to hold out a row of ${train.rows}`, o.validationSplit);
      if (head.rows === 0) throw rangeError('options.validationSplit', `small enough to leave a training row of ${train.rows}`, o.validationSplit);
      train = head;
      validation = tail;
    }
    const { signal, onBatchEnd, onEpochEnd } = o;
    if (signal?.aborted) throw abortError(signal.reason);
    const model = this.nativeModel();
    if (o.resumeFrom !== undefined) {
      const file = await readModelFile(o.resumeFrom);
      // Checked again after the read: an abort, a dispose or a fitStream may have come in between.
      if (signal?.aborted) throw abortError(signal.reason);
      this.nativeModel();
      o.native.resume = this.#resumeState(file, o.native);
    }
    const onBatch = onBatchEnd
      ? (epoch: number, batch: number, batches: number, loss: number) => onBatchEnd({ epoch, batch, batches, loss })
      : null;
    const distributed = o.native.distributed === true;
    const onEpoch = onEpochEnd ? (e: NativeEpoch) => onEpochEnd(epochLogs(e, variational, distributed)) : null;
    // Checkpoints are written in order, while training goes on; a failed write stops the fit.
    let writes = Promise.resolve();
    let writeError: unknown;
    // Every rank holds the same checkpoint; rank 0 writes it.
    const checkpointPath = distributed && initDistributed().rank !== 0 ? undefined : o.checkpointPath;
    const onCheckpoint = checkpointPath
      ? (snapshot: NativeCheckpoint) => {
          const bytes = this.#checkpointBytes(snapshot, o.native);
          writes = writes
            .then(() => writeFileAtomic(checkpointPath, bytes))
            .catch((error: unknown) => {
              writeError ??= error;
              model.cancel();
            });
        }
      : null;
    let result: NativeFitResult;
    try {
      result = await this.#train(model, train, validation, o.native, { onBatch, onEpoch, onCheckpoint }, signal);
    } catch (error) {
      await writes;
      // A failed checkpoint write cancels the fit: the write's error says why it stopped, not the AbortError.
      throw writeError ?? error;
    }
    await writes;
    if (writeError !== undefined) throw writeError;
    this.#lastLoss = o.loss;
    return history(result, variational, distributed);
  }

  /**
   * Trains on data that arrive in chunks, for data sets larger than memory: `open()` yields the
   * chunks of one pass (rows as `fit` takes them), and is called once per epoch. Each chunk is
   * copied into native memory while it trains, then let go; the optimizer state, the step count and
   * the generator carry over from chunk to chunk, so a pass over the chunks is one epoch of `fit`
   * with the rows shuffled within each chunk. Validation, early stopping and checkpoints are for
   * `fit`.
   */
  async fitStream(
    open: () => AsyncIterable<DataInput> | Iterable<DataInput>,
    options: Omit<FitOptions, 'validationSplit' | 'validationData' | 'earlyStopping' | 'checkpoint' | 'resumeFrom' | 'distributed'> = {},
  ): Promise<History> {
    if (typeof open !== 'function') throw typeError('open', 'a function that returns the chunks of one pass', open);
    const variational = (this.constructor as typeof Autoencoder).variational;
    const o = normalizeFit(options, this.#regularization);
    for (const key of ['validationSplit', 'validationData', 'earlyStopping', 'checkpoint', 'resumeFrom', 'distributed'] as const) {
      if ((options as FitOptions)[key] !== undefined) throw rangeError(`options.${key}`, 'left out: fitStream does not support it', (options as FitOptions)[key]);
    }
    if (!variational && (o.native.beta !== undefined || o.native.klWarmupEpochs !== undefined)) {
      throw rangeError('options.beta', 'given only to a VariationalAutoencoder', o.native.beta ?? o.native.klWarmupEpochs);
    }
    this.#checkLoss(o.native.loss);
    const { signal, onBatchEnd, onEpochEnd } = o;
    const epochs = o.native.epochs as number;
    const model = this.nativeModel();
    // Busy for the whole pass, as during a fit: between chunks no native fit holds the model.
    const shared = this.shared;
    shared.streaming = true;
    try {
      let resume: Record<string, unknown> | undefined;
      let chunksDone = 0;
      const epochsLog: NativeEpoch[] = [];
      for (let epoch = 0; epoch < epochs; epoch++) {
        const started = Date.now();
        const sums = { rows: 0, loss: 0, reconstruction: 0, kl: 0, penalty: 0, seconds: 0, skipped: 0 };
        let learningRate = 0;
        let beta = 0;
        let chunk = 0;
        const chunks: unknown = open();
        // `for await` throws a TypeError with no code on a result that is not iterable, and on a typed
        // array whose buffer has been detached or a Proxy of one (a typed array is one chunk, never the chunks).
        const iterable = chunks as { [Symbol.asyncIterator]?: unknown; [Symbol.iterator]?: unknown } | null | undefined;
        if (typedArrayLike(chunks) || (typeof iterable?.[Symbol.asyncIterator] !== 'function' && typeof iterable?.[Symbol.iterator] !== 'function')) {
          throw typeError('open()', 'an iterable or an async iterable of chunks (a typed array is one chunk: return [array])', chunks);
        }
        for await (const data of chunks as AsyncIterable<DataInput> | Iterable<DataInput>) {
          if (signal?.aborted) throw abortError(signal.reason);
          const rows = toRows(`chunk ${chunk}`, data, this.inputDim, 1);
          let snapshot: NativeCheckpoint | undefined;
          // Each chunk is one native epoch; the KL warm-up counts passes.
          const native = { ...o.native, epochs: chunksDone + 1, warmupEpoch: epoch, checkpointEvery: 1, ...(resume ? { resume } : {}) };
          const onBatch = onBatchEnd
            ? (_: number, batch: number, batches: number, loss: number) => onBatchEnd({ epoch, batch, batches, loss })
            : null;
          const result = await this.#train(model, rows, undefined, native, { onBatch, onEpoch: null, onCheckpoint: (s) => (snapshot = s) }, signal);
          const e = result.epochs[0];
          if (!snapshot || !e) throw new Error('internal: a chunk finished without its epoch statistics');
          resume = resumeFromSnapshot(snapshot);
          chunksDone++;
          chunk++;
          sums.rows += rows.rows;
          sums.loss += e.loss * rows.rows;
          sums.reconstruction += e.reconstruction * rows.rows;
          sums.kl += e.kl * rows.rows;
          sums.penalty += e.penalty * rows.rows;
          sums.seconds += e.seconds;
          sums.skipped += e.skippedBatches;
          learningRate = e.learningRate;
          beta = e.beta;
        }
        if (sums.rows === 0) throw rangeError('open', 'a function whose chunks hold at least one row', 'no rows');
        const seconds = (Date.now() - started) / 1000;
        const stats: NativeEpoch = {
          epoch,
          loss: sums.loss / sums.rows,
          reconstruction: sums.reconstruction / sums.rows,
          kl: sums.kl / sums.rows,
          beta,
          penalty: sums.penalty / sums.rows,
          valLoss: undefined,
          learningRate,
          samplesPerSecond: sums.rows / Math.max(sums.seconds, 1e-9),
          seconds,
          skippedBatches: sums.skipped,
          communicationSeconds: 0,
        };
        epochsLog.push(stats);
        onEpochEnd?.(epochLogs(stats, variational));
      }
      if (this.disposed) throw disposedError('Autoencoder');
      this.#lastLoss = o.loss;
      return history({ epochs: epochsLog, reason: 'completed', bestEpoch: -1, steps: Number(resume?.step ?? 0), restoredBestWeights: false }, variational);
    } finally {
      shared.streaming = false;
    }
  }

  /** Refuses here, naming the option, a loss the addon refuses for this output with a message that names none. */
  #checkLoss(loss: unknown): void {
    const output = this.layers[this.layers.length - 1].activation;
    if (loss === 'categoricalCrossentropy' && output !== 'softmax' && output !== 'sigmoid' && output !== 'linear') {
      throw valueError('options.loss', `a loss other than 'categoricalCrossentropy', which needs a softmax, sigmoid or linear output (this one is ${output})`, loss);
    }
  }

  /** One native fit, cancelled by `signal`; rejects with AbortError or ERR_DISPOSED when it was cut short. */
  async #train(
    model: NativeModel,
    train: Matrix,
    validation: Matrix | undefined,
    native: Record<string, unknown>,
    callbacks: {
      onBatch: ((epoch: number, batch: number, batches: number, loss: number) => void) | null;
      onEpoch: ((epoch: NativeEpoch) => void) | null;
      onCheckpoint: ((checkpoint: NativeCheckpoint) => void) | null;
    },
    signal: AbortSignal | undefined,
  ): Promise<NativeFitResult> {
    const running = model.fit(train.data, train.rows, validation?.data ?? null, validation?.rows ?? 0, native, callbacks.onBatch, callbacks.onEpoch, callbacks.onCheckpoint);
    const cancel = () => model.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    let result: NativeFitResult;
    try {
      result = await running;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    // A dispose() in the last epoch's callbacks comes after the fit's end: the trained weights are gone all the same.
    if (this.disposed) throw disposedError('Autoencoder');
    if (result.reason === 'cancelled') throw abortError(signal?.reason);
    return result;
  }

  #checkpointBytes(snapshot: NativeCheckpoint, native: Record<string, unknown>): Buffer {
    const tensors: [string, Tensor][] = Object.entries(snapshot.tensors).map(([name, data]) => [
      name,
      { shape: this.#tensorShape(name), data },
    ]);
    const training = {
      epoch: snapshot.epoch,
      step: snapshot.step,
      rng: Array.from(snapshot.rng, (w) => w.toString(16)),
      bestMonitor: Number.isFinite(snapshot.bestMonitor) ? snapshot.bestMonitor : null,
      wait: snapshot.wait,
      bestEpoch: snapshot.bestEpoch,
      optimizer: native.optimizer,
      loss: native.loss,
    };
    return encodeModel(this.architecture(), tensors, { training: JSON.stringify(training) });
  }

  /** The shape of a parameter (or of its optimizer slot), from the layer table: the weights are busy while a fit runs. */
  #tensorShape(name: string): number[] {
    const parameter = name.startsWith('optimizer.') ? name.split('.').slice(2).join('.') : name;
    for (const l of this.layers) {
      if (parameter === `${l.name}.weight`) return [l.units, l.inputs];
      if (parameter === `${l.name}.bias`) return [l.units];
    }
    throw formatError('checkpoint', `no parameter named '${parameter}'`);
  }

  /** Loads a checkpoint's weights into this model and returns the state the native fit resumes from. */
  #resumeState(file: ModelFile, native: Record<string, unknown>): Record<string, unknown> {
    if (file.metadata.training === undefined) throw formatError(file.source, 'not a checkpoint: __metadata__.training is missing');
    let training: Record<string, unknown>;
    try {
      training = JSON.parse(file.metadata.training) as Record<string, unknown>;
    } catch {
      throw formatError(file.source, '__metadata__.training is not JSON');
    }
    if (training === null || typeof training !== 'object' || Array.isArray(training)) throw formatError(file.source, '__metadata__.training is not a JSON object');
    const counts: [string, number, number][] = [['epoch', 0, 2 ** 30], ['step', 0, 2 ** 53 - 1], ['wait', 0, 2 ** 30], ['bestEpoch', -1, 2 ** 30]];
    for (const [key, min, max] of counts) {
      const value = training[key];
      if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
        throw formatError(file.source, `training.${key} is ${JSON.stringify(value)}, not an integer in [${min}, ${max}]`);
      }
    }
    if (training.bestMonitor !== null && typeof training.bestMonitor !== 'number') {
      throw formatError(file.source, `training.bestMonitor is ${JSON.stringify(training.bestMonitor)}, not a number or null`);
    }
    const saved = (training.optimizer as { type?: unknown } | undefined)?.type;
    const wanted = (native.optimizer as { type: string }).type;
    if (saved !== wanted) {
      throw rangeError('options.optimizer.type', `'${String(saved)}', the checkpoint's optimizer`, wanted);
    }
    const mismatch = layersMismatch(file.architecture, this.architecture());
    if (mismatch !== undefined) throw valueError('options.resumeFrom', `a checkpoint of this model's layers (${mismatch})`, file.source);
    const rng = training.rng;
    if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => typeof w === 'string' && /^[0-9a-f]{1,16}$/.test(w))) {
      throw formatError(file.source, 'training.rng is not four 64-bit hex words');
    }
    // The generator never leaves the all-zero state: drawing from it would never end.
    if (rng.every((w) => /^0+$/.test(w as string))) throw formatError(file.source, 'training.rng is all zeros, a state no generator reaches');
    // The native fit writes the checkpoint's weights once it has checked its settings against this
    // backend: a fit refused (a precision this backend lacks, say) leaves the model as it was.
    const weights = this.checkedTensors(file, (name) => name.startsWith('optimizer.'));
    const slotNames = [...file.tensors.keys()].filter((name) => name.startsWith('optimizer.'));
    const held = [1, 2].filter((slot) => slotNames.some((name) => name.startsWith(`optimizer.s${slot}.`))).length;
    const optimizer = native.optimizer as { type: string; momentum?: number };
    const needed = optimizerSlots(optimizer);
    if (held !== needed) {
      // sgd and rmsprop keep a slot more with momentum; the others keep a fixed number.
      if (optimizer.type === 'sgd' || optimizer.type === 'rmsprop') {
        const wanted = held > needed ? "non-zero, as the checkpoint's optimizer had momentum" : "0 or left out, as the checkpoint's optimizer had no momentum";
        throw rangeError('options.optimizer.momentum', wanted, optimizer.momentum ?? 0);
      }
      throw formatError(file.source, `holds ${held} optimizer state slot(s) per parameter, where '${optimizer.type}' keeps ${needed}`);
    }
    // Checked whole before the fit writes anything: a damaged slot would turn the model's weights to NaN.
    const squares = SLOT_OF_SQUARES[optimizer.type];
    const slots: Record<string, Float32Array> = {};
    for (let slot = 1; slot <= needed; slot++) {
      for (const [name, values] of Object.entries(weights)) {
        const key = `optimizer.s${slot}.${name}`;
        const state = file.tensors.get(key);
        if (!state) throw formatError(file.source, `tensor '${key}' is missing`);
        if (state.data.length !== values.length) throw formatError(file.source, `tensor '${key}' holds ${state.data.length} values; '${name}' has ${values.length}`);
        const bad = state.data.findIndex((v) => !Number.isFinite(v) || (slot === squares && v < 0));
        if (bad >= 0) {
          const what = Number.isFinite(state.data[bad]) ? 'a negative value in a sum of squares' : 'a non-finite value';
          throw formatError(file.source, `tensor '${key}' holds ${what} at index ${bad}`);
        }
        slots[key] = state.data;
      }
    }
    const stray = slotNames.find((name) => !(name in slots));
    if (stray !== undefined) throw formatError(file.source, `unexpected tensor '${stray}' for '${optimizer.type}'`);
    return {
      weights,
      epoch: training.epoch,
      step: training.step,
      rng: BigUint64Array.from(rng as string[], (w) => BigInt(`0x${w}`)),
      bestMonitor: typeof training.bestMonitor === 'number' ? training.bestMonitor : Infinity,
      wait: training.wait,
      bestEpoch: training.bestEpoch,
      slots,
    };
  }

  /** Loads an Autoencoder saved with `save()` (or a checkpoint written during `fit`). */
  static async load(path: string, options?: LoadOptions): Promise<Autoencoder> {
    return Autoencoder.fromModelFile(Autoencoder, await readModelFile(path), options);
  }

  /** `load` from bytes made by `toBuffer()`. */
  static fromBuffer(buffer: Uint8Array, options?: LoadOptions): Autoencoder {
    return Autoencoder.fromModelFile(Autoencoder, modelFromBuffer(buffer), options);
  }

  /** @internal Builds an autoencoder of class `cls` from a model file, after checking its kind. */
  protected static fromModelFile<T extends typeof Autoencoder>(cls: T, file: ModelFile, options?: LoadOptions): InstanceType<T> {
    const backend = loadBackend(options);
    const arch = file.architecture;
    const kind = cls.kindName();
    const an = (word: string) => (/^[AEIOU]/.test(word) ? `an ${word}` : `a ${word}`);
    if (arch.kind !== kind) throw formatError(file.source, `holds ${an(arch.kind)}, not ${an(kind)}`);
    const model = buildFrom(file, kind === 'Autoencoder' ? 'the autoencoder' : 'the variational autoencoder', () => {
      const config: AutoencoderConfig = {
        encoder: new Encoder({ inputDim: arch.encoder?.inputDim, layers: arch.encoder?.layers, seed: 0, backend }),
        decoder: new Decoder({ latentDim: arch.decoder?.latentDim, layers: arch.decoder?.layers, seed: 0, backend }),
        seed: 0,
        backend,
      };
      if (arch.regularization !== undefined) config.regularization = arch.regularization;
      if (arch.noise !== undefined) config.noise = arch.noise;
      return new cls(config) as InstanceType<T>;
    });
    model.loadTensors(file, (name) => name.startsWith('optimizer.') && file.metadata.training !== undefined);
    return model;
  }

  /** @internal */
  static kindName(): 'Autoencoder' | 'VariationalAutoencoder' {
    return this.variational ? 'VariationalAutoencoder' : 'Autoencoder';
  }

  /** @internal */
  protected architecture(): Architecture {
    const layers = this.layerConfigs();
    const split = this.encoder.layers.length;
    const arch: Architecture = {
      kind: (this.constructor as typeof Autoencoder).kindName(),
      encoder: { inputDim: this.inputDim, layers: layers.slice(0, split) },
      decoder: { latentDim: this.latentDim, layers: layers.slice(split) },
    };
    if (this.#config.regularization) arch.regularization = this.#config.regularization;
    if (this.#config.noise) arch.noise = this.#config.noise;
    return arch;
  }

  /** Mean reconstruction loss over the rows of `x`. Default loss: the last fit's, else 'mse'. */
  evaluate(x: DataInput, options: { loss?: LossConfig } = {}): number {
    const o = optionalObject('options', options);
    knownKeys('options', o, ['loss']);
    const { loss, huberDelta } = lossOptions('options.loss', o.loss ?? this.#lastLoss);
    const rows = toRows('x', x, this.inputDim, 1);
    return this.nativeModel().evaluate(rows.data, rows.rows, loss, huberDelta);
  }

  /** Latent vectors of the rows of `x`; into `options.out` when given. */
  encode(x: DataInput, options?: PredictOptions): Matrix {
    return this.encoder.encode(x, options);
  }

  /** `encode` on a worker thread. */
  encodeAsync(x: DataInput, options?: AsyncPredictOptions): Promise<Matrix> {
    return this.encoder.encodeAsync(x, options);
  }

  /** Rows rebuilt from latent vectors; into `options.out` when given. */
  decode(z: DataInput, options?: PredictOptions): Matrix {
    return this.decoder.decode(z, options);
  }

  /** `decode` on a worker thread. */
  decodeAsync(z: DataInput, options?: AsyncPredictOptions): Promise<Matrix> {
    return this.decoder.decodeAsync(z, options);
  }

  /** The reconstruction of each row of `x` (the same as `predict`). */
  reconstruct(x: DataInput, options?: PredictOptions): Matrix {
    return this.predict(x, options);
  }

  /** `reconstruct` on a worker thread (the same as `predictAsync`). */
  reconstructAsync(x: DataInput, options?: AsyncPredictOptions): Promise<Matrix> {
    return this.predictAsync(x, options);
  }

  /**
   * One anomaly score per row: the mean reconstruction error of the row under `metric` (default
   * 'mse'), into `options.out` when given. Up to 1,024 scores share a pooled buffer as small
   * predictions do.
   */
  reconstructionError(x: DataInput, options: ReconstructionErrorOptions = {}): Float32Array {
    const { o, rows, metric, precision } = this.#errorArgs(x, options, ['metric', 'out', 'precision']);
    const out = outputInto(o.out, rows.rows, 1, 'x', rows.data);
    return this.nativeModel().reconstructionError(rows.data, rows.rows, metric, out, precision);
  }

  /** `reconstructionError` on a worker thread. */
  async reconstructionErrorAsync(x: DataInput, options: ReconstructionErrorAsyncOptions = {}): Promise<Float32Array> {
    const { rows, metric, precision } = this.#errorArgs(x, options, ['metric', 'precision']);
    return this.nativeModel().reconstructionErrorAsync(rows.data, rows.rows, metric, precision);
  }

  #errorArgs(
    x: DataInput,
    options: unknown,
    keys: string[],
  ): { o: Record<string, unknown>; rows: Matrix; metric: RowMetric; precision: InferencePrecision | undefined } {
    const o = optionalObject('options', options);
    knownKeys('options', o, keys);
    const metric = o.metric === undefined ? 'mse' : oneOf('options.metric', o.metric, ROW_METRICS);
    return { o, rows: toRows('x', x, this.inputDim), metric, precision: precisionOption(o) };
  }
}

/** Where a checkpoint's layers differ from this model's, in words; undefined where they agree (initializers aside, which only start a model). */
function layersMismatch(saved: Architecture, mine: Architecture): string | undefined {
  if (saved.kind !== mine.kind) return `it holds ${JSON.stringify(saved.kind)}, this model is ${JSON.stringify(mine.kind)}`;
  const layers = (arch: Architecture, half: 'encoder' | 'decoder'): unknown[] => {
    const list = (arch as unknown as Record<string, { layers?: unknown } | undefined>)[half]?.layers;
    return Array.isArray(list) ? list : [];
  };
  const summary = (layer: unknown): string => {
    if (layer === null || typeof layer !== 'object') return 'none';
    const l = layer as DenseLayerConfig;
    // Spellings of one layer compare equal: swish is silu, a softmax group of all the units is no group.
    const activation = l.activation === 'swish' ? 'silu' : (l.activation ?? 'linear');
    const groupSize = l.groupSize === l.units ? undefined : l.groupSize;
    return JSON.stringify({ units: l.units, activation, alpha: l.alpha, groupSize, dropout: l.dropout ?? 0 });
  };
  for (const half of ['encoder', 'decoder'] as const) {
    const theirs = layers(saved, half);
    const ours = layers(mine, half);
    for (let i = 0; i < Math.max(theirs.length, ours.length); i++) {
      const [a, b] = [summary(theirs[i]), summary(ours[i])];
      if (a !== b) return `${half} layer ${i}: ${a} there, ${b} here`;
    }
  }
  return undefined;
}

/** The slot that holds a running sum or mean of squared gradients, whose square root the update takes. */
const SLOT_OF_SQUARES: Record<string, number | undefined> = { adam: 2, adamw: 2, rmsprop: 1, adagrad: 1 };

/** The state slots per parameter that an optimizer keeps, as optimizer_state_slots (native/core/optimizer.cpp) counts them. */
function optimizerSlots(optimizer: { type: string; momentum?: number }): number {
  // As the native side reads it: a momentum too small for float32 is none.
  const momentum = Math.fround(optimizer.momentum ?? 0) !== 0;
  switch (optimizer.type) {
    case 'sgd':
      return momentum ? 1 : 0;
    case 'rmsprop':
      return momentum ? 2 : 1;
    case 'adagrad':
      return 1;
    default:
      return 2;
  }
}

/** The native fit's resume state from a checkpoint snapshot held in memory (fitStream's chunks). */
function resumeFromSnapshot(snapshot: NativeCheckpoint): Record<string, unknown> {
  const slots: Record<string, Float32Array> = {};
  for (const [name, data] of Object.entries(snapshot.tensors)) if (name.startsWith('optimizer.')) slots[name] = data;
  return {
    epoch: snapshot.epoch,
    step: snapshot.step,
    rng: snapshot.rng,
    bestMonitor: snapshot.bestMonitor,
    wait: snapshot.wait,
    bestEpoch: snapshot.bestEpoch,
    slots,
  };
}

function epochLogs(e: NativeEpoch, variational: boolean, distributed = false): EpochLogs {
  const logs: EpochLogs = {
    epoch: e.epoch,
    loss: e.loss,
    penalty: e.penalty,
    learningRate: e.learningRate,
    samplesPerSecond: e.samplesPerSecond,
    seconds: e.seconds,
    skippedBatches: e.skippedBatches,
  };
  if (e.valLoss !== undefined) logs.valLoss = e.valLoss;
  if (variational) Object.assign(logs, { reconstruction: e.reconstruction, kl: e.kl, beta: e.beta });
  if (distributed) logs.communicationSeconds = e.communicationSeconds;
  return logs;
}

function history(result: NativeFitResult, variational: boolean, distributed = false): History {
  const epochs = result.epochs.map((e) => epochLogs(e, variational, distributed));
  return {
    epochs,
    loss: epochs.map((e) => e.loss),
    valLoss: epochs.flatMap((e) => (e.valLoss === undefined ? [] : [e.valLoss])),
    learningRate: epochs.map((e) => e.learningRate),
    stopReason: result.reason === 'earlyStopping' ? 'earlyStopping' : 'completed',
    bestEpoch: result.bestEpoch,
    restoredBestWeights: result.restoredBestWeights,
    steps: result.steps,
  };
}
