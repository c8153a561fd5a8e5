// Training options: their types, their checks, and the form the native trainer reads.
import { typeError, rangeError } from './errors';
import {
  finiteNumber,
  integer,
  knownKeys,
  objectArg,
  oneOf,
  optionalBoolean,
  optionalFunction,
  optionalInteger,
  optionalNumber,
  optionalObject,
} from './validate';
import type { DataInput } from './data';

export const LOSSES = ['mse', 'mae', 'huber', 'binaryCrossentropy', 'categoricalCrossentropy'] as const;
export type LossName = (typeof LOSSES)[number];
/** A loss by name, or Huber with its threshold. Cross-entropy after a sigmoid or softmax output is computed from the logits. */
export type LossConfig = LossName | { type: 'huber'; delta?: number };

export const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Optimizer settings. Update rules follow PyTorch's published formulas; defaults follow Keras. */
export interface OptimizerConfig {
  type: OptimizerName;
  /** Default 0.01 for sgd, 0.001 otherwise. */
  learningRate?: number;
  /** sgd and rmsprop. Default 0. */
  momentum?: number;
  /** sgd: Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** adam, adamw. Defaults 0.9 and 0.999. */
  beta1?: number;
  beta2?: number;
  /** adam, adamw, rmsprop, adagrad. Default 1e-7. */
  epsilon?: number;
  /** rmsprop: decay of the squared-gradient average. Default 0.9. */
  rho?: number;
  /** adagrad: starting accumulator. Default 0.1. */
  initialAccumulatorValue?: number;
  /** L2 weight decay: added to the gradient, except for adamw where it is decoupled. Default 0 (adamw 0.01). */
  weightDecay?: number;
  /** Scale all gradients together so their global L2 norm is at most this. */
  clipNorm?: number;
  /** Clip every gradient element to [-clipValue, clipValue]. */
  clipValue?: number;
}

/** Learning-rate schedule, evaluated per batch (step). `warmupSteps` ramps linearly from 0 first. */
export type ScheduleConfig = (
  | { type: 'constant' }
  | { type: 'step'; stepSize: number; gamma?: number }
  | { type: 'exponential'; decaySteps: number; decayRate?: number; staircase?: boolean }
  | { type: 'cosine'; decaySteps: number; alpha?: number }
) & { warmupSteps?: number };

export interface BatchLogs {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
}

export interface EpochLogs {
  epoch: number;
  /** Mean loss over the epoch's batches (for a VariationalAutoencoder: reconstruction + β · KL / loss terms per row). */
  loss: number;
  /** Validation loss, when there is validation data. */
  valLoss?: number;
  /** Mean regularization penalty (L2 and latent L1) over the epoch. */
  penalty: number;
  /** Learning rate of the epoch's last step. */
  learningRate: number;
  samplesPerSecond: number;
  seconds: number;
  /** Batches skipped for a non-finite loss or gradient (with `onNonFinite: 'skip'`). */
  skippedBatches: number;
  /** VariationalAutoencoder: the reconstruction part of `loss`. */
  reconstruction?: number;
  /** VariationalAutoencoder: mean KL divergence per row (summed over latent units); `loss` holds β · kl / (loss terms per row). */
  kl?: number;
  /** VariationalAutoencoder: this epoch's β (after warm-up). */
  beta?: number;
  /** Distributed fits: seconds of the epoch spent reducing gradients and statistics across the ranks (included in `seconds`). */
  communicationSeconds?: number;
}

export interface EarlyStoppingConfig {
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** The least change that counts as an improvement. Default 0. */
  minDelta?: number;
  /**
   * Restore the weights of the best epoch at the end. Default false. A fit resumed from a checkpoint
   * (`resumeFrom`) holds no weights of the epochs before it: where none of its own epochs improves on
   * the checkpoint's best, it keeps its last weights.
   */
  restoreBestWeights?: boolean;
}

export interface FitOptions {
  /** Default 1. */
  epochs?: number;
  /** Default 32. The last partial batch is trained too. */
  batchSize?: number;
  /** Shuffle the rows each epoch. Default true. */
  shuffle?: boolean;
  /** Reseed the model's generator (shuffles, noise, dropout) before training. */
  seed?: number;
  /** Default 'mse'. */
  loss?: LossConfig;
  /** Default 'adam'. */
  optimizer?: OptimizerName | OptimizerConfig;
  schedule?: ScheduleConfig;
  /** Fraction of the rows, taken from the end before shuffling, held out for validation. */
  validationSplit?: number;
  /** Rows to validate on after each epoch (instead of validationSplit). */
  validationData?: DataInput;
  onBatchEnd?: (logs: BatchLogs) => void;
  onEpochEnd?: (logs: EpochLogs) => void;
  /** Stop when the validation loss (or the training loss without validation data) stops improving. */
  earlyStopping?: EarlyStoppingConfig;
  /** Aborts the fit after the current batch; it then rejects with an AbortError and keeps the last completed step. */
  signal?: AbortSignal;
  /** What a non-finite loss or gradient does: 'error' stops with ERR_NON_FINITE (default), 'skip' skips the batch. */
  onNonFinite?: 'error' | 'skip';
  /** Save a checkpoint (weights, optimizer state, epoch, generator state) every `everyEpochs` epochs (default 1). */
  checkpoint?: CheckpointConfig;
  /** VariationalAutoencoder only: the weight β of the KL term (default 1). */
  beta?: number;
  /** VariationalAutoencoder only: raise β linearly from β/N to β over the first N epochs (KL annealing). Default 0. */
  klWarmupEpochs?: number;
  /** Continue from a checkpoint: its weights, optimizer state, epoch and generator. `epochs` counts from the start, so 5 + 5 equals 10 straight, bit for bit. */
  resumeFrom?: string;
  /**
   * 'mpi': data-parallel training across the processes of an MPI job (`mpirun -np N node train.js`).
   * Every rank passes the same rows and options; each trains on its share of every batch
   * (`batchSize` is the global batch), gradients are averaged, and rank 0's initial weights are
   * everyone's, so the weights stay equal on every rank. Losses, validation and early stopping are
   * over all ranks; only rank 0 writes checkpoints. See initDistributed().
   */
  distributed?: 'mpi';
  /**
   * The matrix products of the forward and backward passes: 'float32' (default), or 'bf16': operands
   * rounded to bfloat16 and products summed in float32, through oneDNN on CPUs with AMX-BF16 or
   * AVX512-BF16. Weights, gradients, activations, losses and the optimizer stay float32. Rejects with
   * ERR_BF16_UNAVAILABLE elsewhere (backendInfo().bf16Reason says why). Or 'tf32', on models with
   * `backend: 'cuda'`: float32 data multiplied in TF32 on the GPU's tensor cores (cuBLAS); rejects
   * with ERR_TF32_UNAVAILABLE on the CPU.
   */
  precision?: 'float32' | 'bf16' | 'tf32';
}

export interface CheckpointConfig {
  path: string;
  everyEpochs?: number;
}

export interface History {
  epochs: EpochLogs[];
  loss: number[];
  valLoss: number[];
  learningRate: number[];
  stopReason: 'completed' | 'earlyStopping';
  /** Index of the epoch with the best monitored loss. */
  bestEpoch: number;
  restoredBestWeights: boolean;
  steps: number;
}

/** Regularization that applies to every fit of a model. */
export interface RegularizationConfig {
  /** Adds l2 · ΣW² over all weight matrices. */
  l2?: number;
  /** Adds latentL1 · Σ|h| / rows over the latent activations (a sparse autoencoder). */
  latentL1?: number;
}

/** Input corruption while training (a denoising autoencoder); the target stays the clean input. */
export type NoiseConfig = { type: 'gaussian'; stddev: number } | { type: 'masking'; rate: number };

export interface NormalizedFit {
  native: Record<string, unknown>;
  checkpointPath?: string;
  resumeFrom?: string;
  loss: LossConfig;
  validationSplit: number;
  validationData: unknown;
  onBatchEnd?: (logs: BatchLogs) => void;
  onEpochEnd?: (logs: EpochLogs) => void;
  signal?: AbortSignal;
}

const FIT_KEYS = [
  'epochs',
  'batchSize',
  'shuffle',
  'seed',
  'loss',
  'optimizer',
  'schedule',
  'validationSplit',
  'validationData',
  'onBatchEnd',
  'onEpochEnd',
  'earlyStopping',
  'signal',
  'onNonFinite',
  'checkpoint',
  'resumeFrom',
  'beta',
  'klWarmupEpochs',
  'distributed',
  'precision',
] as const;

const OPTIMIZER_KEYS = [
  'type',
  'learningRate',
  'momentum',
  'nesterov',
  'beta1',
  'beta2',
  'epsilon',
  'rho',
  'initialAccumulatorValue',
  'weightDecay',
  'clipNorm',
  'clipValue',
] as const;

export function lossOptions(name: string, loss: unknown): { loss: LossName; huberDelta: number } {
  if (typeof loss === 'object' && loss !== null) {
    const o = objectArg(name, loss);
    knownKeys(name, o, ['type', 'delta']);
    oneOf(`${name}.type`, o.type, ['huber'] as const);
    return { loss: 'huber', huberDelta: optionalNumber(`${name}.delta`, o.delta, 1, { min: 0, minExclusive: true, float32: true }) };
  }
  return { loss: oneOf(name, loss, LOSSES), huberDelta: 1 };
}

function optimizerOptions(value: unknown): Record<string, unknown> {
  const o = typeof value === 'string' ? { type: value } : objectArg('options.optimizer', value);
  knownKeys('options.optimizer', o, OPTIMIZER_KEYS);
  const type = oneOf('options.optimizer.type', o.type, OPTIMIZERS);
  // The addon computes with 32-bit floats: a beta of 1 - 1e-8 would be 1 there, and Adam's bias
  // correction would divide by 0.
  const positive = { min: 0, minExclusive: true, float32: true };
  const unit = { min: 0, max: 1, maxExclusive: true, float32: true };
  const nonNegative = { min: 0, float32: true };
  const clip = { ...nonNegative, zeroOnlyAsGiven: true };
  return {
    type,
    learningRate: optionalNumber('options.optimizer.learningRate', o.learningRate, type === 'sgd' ? 0.01 : 0.001, positive),
    momentum: optionalNumber('options.optimizer.momentum', o.momentum, 0, unit),
    nesterov: optionalBoolean('options.optimizer.nesterov', o.nesterov, false),
    beta1: optionalNumber('options.optimizer.beta1', o.beta1, 0.9, unit),
    beta2: optionalNumber('options.optimizer.beta2', o.beta2, 0.999, unit),
    epsilon: optionalNumber('options.optimizer.epsilon', o.epsilon, 1e-7, positive),
    rho: optionalNumber('options.optimizer.rho', o.rho, 0.9, unit),
    initialAccumulatorValue: optionalNumber('options.optimizer.initialAccumulatorValue', o.initialAccumulatorValue, 0.1, nonNegative),
    weightDecay: optionalNumber('options.optimizer.weightDecay', o.weightDecay, type === 'adamw' ? 0.01 : 0, nonNegative),
    clipNorm: optionalNumber('options.optimizer.clipNorm', o.clipNorm, 0, clip),
    clipValue: optionalNumber('options.optimizer.clipValue', o.clipValue, 0, clip),
  };
}

function scheduleOptions(value: unknown): Record<string, unknown> {
  if (value === undefined) return { type: 'constant' };
  const o = objectArg('options.schedule', value);
  const type = oneOf('options.schedule.type', o.type, ['constant', 'step', 'exponential', 'cosine'] as const);
  const keys: Record<typeof type, string[]> = {
    constant: [],
    step: ['stepSize', 'gamma'],
    exponential: ['decaySteps', 'decayRate', 'staircase'],
    cosine: ['decaySteps', 'alpha'],
  };
  knownKeys('options.schedule', o, ['type', 'warmupSteps', ...keys[type]]);
  // The addon takes step counts up to 2^40 and refuses more with a message that names no argument.
  const maxSteps = 2 ** 40;
  const out: Record<string, unknown> = {
    type,
    warmupSteps: optionalInteger('options.schedule.warmupSteps', o.warmupSteps, 0, 0, maxSteps),
  };
  if (type === 'step') {
    out.stepSize = integer('options.schedule.stepSize', o.stepSize, 1, maxSteps);
    out.gamma = optionalNumber('options.schedule.gamma', o.gamma, 0.1, { min: 0, minExclusive: true, float32: true });
  } else if (type === 'exponential') {
    out.decaySteps = integer('options.schedule.decaySteps', o.decaySteps, 1, maxSteps);
    out.decayRate = optionalNumber('options.schedule.decayRate', o.decayRate, 0.96, { min: 0, minExclusive: true, float32: true });
    out.staircase = optionalBoolean('options.schedule.staircase', o.staircase, false);
  } else if (type === 'cosine') {
    out.decaySteps = integer('options.schedule.decaySteps', o.decaySteps, 1, maxSteps);
    out.alpha = optionalNumber('options.schedule.alpha', o.alpha, 0, { min: 0, max: 1 });
  }
  return out;
}

export function regularizationOptions(regularization: unknown, noise: unknown): Record<string, unknown> {
  const r = optionalObject('config.regularization', regularization);
  knownKeys('config.regularization', r, ['l2', 'latentL1']);
  const out: Record<string, unknown> = {
    l2: optionalNumber('config.regularization.l2', r.l2, 0, { min: 0 }),
    latentL1: optionalNumber('config.regularization.latentL1', r.latentL1, 0, { min: 0 }),
    noise: 'none',
    noiseLevel: 0,
  };
  if (noise !== undefined) {
    const n = objectArg('config.noise', noise);
    const type = oneOf('config.noise.type', n.type, ['gaussian', 'masking'] as const);
    if (type === 'gaussian') {
      knownKeys('config.noise', n, ['type', 'stddev']);
      out.noiseLevel = finiteNumber('config.noise.stddev', n.stddev, { min: 0 });
    } else {
      knownKeys('config.noise', n, ['type', 'rate']);
      out.noiseLevel = finiteNumber('config.noise.rate', n.rate, { min: 0, max: 1, maxExclusive: true, float32: true });
    }
    out.noise = type;
  }
  return out;
}

export function normalizeFit(options: unknown, regularization: Record<string, unknown>): NormalizedFit {
  const o = optionalObject('options', options);
  knownKeys('options', o, FIT_KEYS);
  const loss = (o.loss ?? 'mse') as LossConfig;
  const { loss: lossName, huberDelta } = lossOptions('options.loss', loss);
  const early = o.earlyStopping === undefined ? undefined : objectArg('options.earlyStopping', o.earlyStopping);
  if (early) knownKeys('options.earlyStopping', early, ['patience', 'minDelta', 'restoreBestWeights']);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw typeError('options.signal', 'an AbortSignal', o.signal);
  const validationSplit = optionalNumber('options.validationSplit', o.validationSplit, 0, { min: 0, max: 1, maxExclusive: true });
  if (validationSplit > 0 && o.validationData !== undefined) {
    throw rangeError('options.validationSplit', '0 when validationData is given', validationSplit);
  }
  const native: Record<string, unknown> = {
    epochs: optionalInteger('options.epochs', o.epochs, 1, 0, 2 ** 30),
    batchSize: optionalInteger('options.batchSize', o.batchSize, 32, 1, 2 ** 30),
    shuffle: optionalBoolean('options.shuffle', o.shuffle, true),
    loss: lossName,
    huberDelta,
    optimizer: optimizerOptions(o.optimizer ?? 'adam'),
    schedule: scheduleOptions(o.schedule),
    patience: early ? optionalInteger('options.earlyStopping.patience', early.patience, 0, 0, 2 ** 30) : -1,
    minDelta: early ? optionalNumber('options.earlyStopping.minDelta', early.minDelta, 0, { min: 0 }) : 0,
    restoreBestWeights: early ? optionalBoolean('options.earlyStopping.restoreBestWeights', early.restoreBestWeights, false) : false,
    skipNonFinite: (o.onNonFinite === undefined ? 'error' : oneOf('options.onNonFinite', o.onNonFinite, ['error', 'skip'] as const)) === 'skip',
    ...regularization,
  };
  if (o.precision !== undefined) native.precision = oneOf('options.precision', o.precision, ['float32', 'bf16', 'tf32'] as const);
  if (o.distributed !== undefined) native.distributed = oneOf('options.distributed', o.distributed, ['mpi'] as const) === 'mpi';
  if (o.seed !== undefined) native.seed = integer('options.seed', o.seed, 0);
  if (o.beta !== undefined) native.beta = finiteNumber('options.beta', o.beta, { min: 0 });
  if (o.klWarmupEpochs !== undefined) native.klWarmupEpochs = integer('options.klWarmupEpochs', o.klWarmupEpochs, 0, 2 ** 30);
  let checkpointPath: string | undefined;
  if (o.checkpoint !== undefined) {
    const ck = objectArg('options.checkpoint', o.checkpoint);
    knownKeys('options.checkpoint', ck, ['path', 'everyEpochs']);
    if (typeof ck.path !== 'string' || ck.path.length === 0) throw typeError('options.checkpoint.path', 'a non-empty string', ck.path);
    checkpointPath = ck.path;
    native.checkpointEvery = optionalInteger('options.checkpoint.everyEpochs', ck.everyEpochs, 1, 1, 2 ** 30);
  }
  if (o.resumeFrom !== undefined && (typeof o.resumeFrom !== 'string' || o.resumeFrom.length === 0)) {
    throw typeError('options.resumeFrom', 'a non-empty string', o.resumeFrom);
  }
  return {
    native,
    checkpointPath,
    resumeFrom: o.resumeFrom as string | undefined,
    loss,
    validationSplit,
    validationData: o.validationData,
    onBatchEnd: optionalFunction('options.onBatchEnd', o.onBatchEnd),
    onEpochEnd: optionalFunction('options.onEpochEnd', o.onEpochEnd),
    signal: o.signal as AbortSignal | undefined,
  };
}
