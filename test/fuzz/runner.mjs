// The property-based fuzz suite of test/fuzz.test.ts, run in a process of its own so that a crash or
// an abort fails that test instead of ending vitest. Usage: node runner.mjs <built CJS entry>, in an
// empty scratch folder (the file properties write there). Prints a line of JSON on stdout as each
// property ends (its cases, and a failure with the seed and path that replay it), then a summary
// (all cases, how the calls ended). Environment: FUZZ_RUNS (cases, spread over the properties by
// weight; default 10000, the deterministic sweeps add theirs), FUZZ_SEED (the first property's
// seed; the others count up from it), FUZZ_ONLY (a property's name, or several, comma-separated),
// FUZZ_PATH (with FUZZ_ONLY and that property's seed: replay one case), FUZZ_VERBOSE=1 (print each
// case on stderr before running it: the last one printed before a crash is the crashing input).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as fc from 'fast-check';

const entry = process.argv[2];
if (!entry) throw new Error('usage: node runner.mjs <path of dist/cjs/index.js>');
const load = createRequire(import.meta.url);
const lib = load(entry);
// The library's own seeded generator, beside its entry.
const { seededRandom: mulberry32 } = load(entry.replace(/index\.js$/, 'random.js'));
const { Autoencoder, VariationalAutoencoder, Encoder, Decoder, LayerStack, TextCodec, HashedTfidf } = lib;
const { ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZERS, ROW_METRICS } = lib;

const TOTAL = Number(process.env.FUZZ_RUNS ?? 10_000);
const ONLY = process.env.FUZZ_ONLY;
const VERBOSE = process.env.FUZZ_VERBOSE === '1';
const BASE_SEED = process.env.FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(process.env.FUZZ_SEED);
const REPLAY_PATH = process.env.FUZZ_PATH;

// ---------------------------------------------------------------------------------------------
// What counts as a correct refusal.

/** Thrown by the fuzz's own getters, proxy traps and callbacks: seeing it again is correct propagation. */
class UserError extends Error {
  constructor() {
    super('thrown by a user getter, proxy trap or callback');
    this.code = 'FUZZ_USER_ERROR';
  }
}
const userThrow = () => {
  throw new UserError();
};
/** A class: calling it without `new`, as the library calls a callback, throws V8's TypeError, the caller's own. */
class UserClass {}

/** Codes the README documents for errors other than bad arguments. */
const STATE_CODES = new Set([
  'ERR_BUSY',
  'ERR_DISPOSED',
  'ERR_IN_USE',
  'ERR_NON_FINITE',
  'ERR_OUT_OF_MEMORY',
  'ERR_MODEL_FORMAT',
  'ABORT_ERR',
  'ERR_CUDA_UNAVAILABLE',
  'ERR_TF32_UNAVAILABLE',
  'ERR_BF16_UNAVAILABLE',
]);
/** Codes of bad arguments: a TypeError or RangeError whose message names the argument in quotes. */
const ARGUMENT_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE']);

/** An error of the caller's own code (a getter, a trap, a callback, a class called as a function), propagating. */
function callersOwn(error) {
  return error instanceof UserError || (error instanceof TypeError && error.message === "Class constructor UserClass cannot be invoked without 'new'");
}

/** Why `error` is not an acceptable refusal, or undefined when it is. `files`: the call touches the file system. */
function badRefusal(error, files) {
  if (callersOwn(error)) return undefined;
  if (!(error instanceof Error)) return `threw a non-Error: ${safeString(error)}`;
  const { code } = error;
  if (typeof code !== 'string') return `${error.name} without a code: ${error.message}`;
  if (STATE_CODES.has(code)) return undefined;
  if (ARGUMENT_CODES.has(code)) {
    if (!(error instanceof TypeError || error instanceof RangeError)) return `${code} on a ${error.name}, not a TypeError or RangeError`;
    if (!/"[^"]+"|'[^']+'/.test(error.message)) return `${error.name} ${code} whose message names no argument: ${error.message}`;
    return undefined;
  }
  // A file that cannot be read or written: the system's error (ENOENT, EISDIR, …) with its syscall.
  if (files && /^E[A-Z]+$/.test(code) && typeof error.syscall === 'string') return undefined;
  return `${error.name} with unexpected code ${code}: ${error.message}`;
}

/** Whether `own()` throws an error of the same class with the same message as `error`. */
function sameError(error, own) {
  if (own === undefined) return false;
  try {
    own();
  } catch (again) {
    return again?.constructor === error?.constructor && again?.message === error?.message;
  }
  return false;
}

function safeString(value) {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** How calls ended, across all properties: 'returned', or the refusal's code. */
const outcomes = {};
const count = (key) => (outcomes[key] = (outcomes[key] ?? 0) + 1);

/**
 * Runs `call` (sync or async) and checks how it ended; `check` vets a returned value. Records the
 * outcome; throws (failing the property) when the refusal or the result is wrong. `own` does what
 * the library does with a value the caller made (iterate it): an error it throws too, the same
 * class with the same message, is that value's own, propagating.
 */
async function expectSafe(label, call, { files = false, check, own } = {}) {
  let result;
  try {
    result = await call();
  } catch (error) {
    const why = badRefusal(error, files);
    const valuesOwn = why !== undefined && sameError(error, own);
    count(callersOwn(error) || valuesOwn ? 'user error propagated' : String(error?.code));
    if (why && !valuesOwn) throw new Error(`${label}: ${why}`, { cause: error });
    return { error };
  }
  count('returned');
  const wrong = check?.(result);
  if (wrong) throw new Error(`${label}: returned ${wrong}`);
  return { result };
}

function isMatrixOf(value, rows, cols) {
  if (typeof value !== 'object' || value === null || !(value.data instanceof Float32Array)) return 'no { data: Float32Array, rows, cols }';
  if (rows !== undefined && value.rows !== rows) return `${value.rows} rows, expected ${rows}`;
  if (cols !== undefined && value.cols !== cols) return `${value.cols} columns, expected ${cols}`;
  if (value.data.length !== value.rows * value.cols) return `data of ${value.data.length} values for ${value.rows} × ${value.cols}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Inputs are generated as recipes (plain data, so fast-check prints and shrinks them) and built
// fresh for every run: detached buffers, disposed models and throwing proxies exist only then.

/** One run's state: the subject's widths, the models it made, work left running. */
class Run {
  constructor() {
    this.models = [];
    this.pending = [];
    this.widths = { in: 4, out: 4, latent: 2 };
    this.subject = undefined;
  }
  track(model) {
    this.models.push(model);
    return model;
  }
  /** Waits for the work left running, disposes the models, and fails the run if that work failed. */
  async finish() {
    const settled = await Promise.allSettled(this.pending);
    for (const model of this.models) model.dispose();
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

const SPECIAL_NUMBERS = [
  NaN, -0, 0, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, 2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER, 2 ** 31, 2 ** 32, -(2 ** 31), 2 ** 30 + 1, 2 ** 40 + 1, 1e300, 1 - 2 ** -30, 2 ** -30, 1e-50,
  0.5, 1.5, -1, -0.5, 3.4028235677973366e38,
];
// Huge numbers here are all refused where they would be costly (epochs, widths, counts).
const number = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
  { weight: 4, arbitrary: fc.integer({ min: -2, max: 8 }) },
  { weight: 2, arbitrary: fc.double({ noInteger: true }) },
);
// No '/', '\' or '.': a string used as a file name stays a file in the scratch folder.
const CHARS = ['a', 'b', 'z', 'A', ' ', '-', '_', '0', '7', '\0', '\u0003', 'é', '😀', '\n', '"', "'", '?'];
const string = fc.oneof(
  fc.constantFrom('', 'mse', 'adam', 'sgd', 'relu', 'huber', 'gaussian', 'masking', 'words', 'whitespace', 'skip', 'error', 'constructor', '__proto__', 'toString'),
  fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 6 }),
);
const KEYS = [
  'data', 'rows', 'cols', 'length', 'type', 'epochs', 'batchSize', 'loss', 'optimizer', 'learningRate', 'metric', 'layers', 'units',
  'inputDim', 'latentDim', 'seed', 'encoder', 'decoder', 'vocabulary', 'path', 'then', '0', '__proto__', 'constructor', 'valueOf',
];
const TYPED = ['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'BigInt64Array'];
const SPECIALS = [
  'Object.create(null)', 'Map', 'Date', 'RegExp', 'Error', 'Promise', 'WeakRef', 'ArrayBuffer', 'SharedArrayBuffer', 'Buffer',
  'aborted signal', 'signal', 'globalThis', 'frozen object', 'array with holes', 'instance of a class', 'Object.create(Autoencoder.prototype)',
  'Object.create(LayerStack.prototype)', 'a class', 'Float32Array subclass', 'array-like',
];
const FUNCTIONS = ['noop', 'value', 'throws', 'async noop', 'dispose the subject', 'call the subject', 'generator'];
const MODEL_KINDS = ['ae', 'vae', 'enc', 'dec', 'custom'];
const MODEL_STATES = ['fresh', 'fresh', 'fresh', 'disposed', 'busy', 'adopted', 'encoder half', 'decoder half'];
const FILLS = ['random', 'random', 'random', 'zeros', 'nan', 'infinity', 'huge'];

const rowsRecipe = fc.record({
  t: fc.constant('rows'),
  form: fc.constantFrom('f32', 'f32', 'matrix', 'numbers', 'typed rows'),
  rows: fc.integer({ min: 0, max: 5 }),
  rel: fc.constantFrom('in', 'in', 'in', 'out', 'latent'),
  delta: fc.constantFrom(0, 0, 0, 0, 0, 0, -1, 1),
  lengthDelta: fc.constantFrom(0, 0, 0, 0, 0, -1, 1),
  fill: fc.constantFrom(...FILLS),
  backing: fc.constantFrom('plain', 'plain', 'plain', 'shared', 'detached'),
  offset: fc.constantFrom(0, 0, 1, 3),
  rowClass: fc.constantFrom(...TYPED.slice(0, 4)),
  seed: fc.integer({ min: 0, max: 1000 }),
});
const modelRecipe = fc.record({ t: fc.constant('model'), kind: fc.constantFrom(...MODEL_KINDS), state: fc.constantFrom(...MODEL_STATES) });
const bytesRecipe = fc.record({
  t: fc.constant('bytes'),
  of: fc.constantFrom('ae', 'vae', 'enc', 'dec', 'random', 'empty'),
  damage: fc.constantFrom('none', 'none', 'truncate', 'flip'),
  at: fc.nat(),
  backing: fc.constantFrom('plain', 'shared', 'offset', 'detached'),
});

const leaves = [
  { weight: 6, arbitrary: number.map((v) => ({ t: 'num', v })) },
  { weight: 4, arbitrary: string.map((v) => ({ t: 'str', v })) },
  { weight: 1, arbitrary: fc.boolean().map((v) => ({ t: 'bool', v })) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 1n, -1n, 2n ** 64n).map((v) => ({ t: 'big', v })) },
  { weight: 1, arbitrary: fc.constant({ t: 'sym' }) },
  { weight: 2, arbitrary: fc.constantFrom({ t: 'null' }, { t: 'undefined' }) },
  { weight: 2, arbitrary: fc.constantFrom(...FUNCTIONS).map((kind) => ({ t: 'fn', kind })) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('typed'),
      cls: fc.constantFrom(...TYPED),
      length: fc.integer({ min: 0, max: 12 }),
      offset: fc.constantFrom(0, 1, 3),
      backing: fc.constantFrom('plain', 'shared', 'detached'),
    }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 16 }).map((length) => ({ t: 'dataview', length })) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIALS).map((name) => ({ t: 'special', name })) },
  { weight: 1, arbitrary: fc.constant({ t: 'getters' }) },
  { weight: 2, arbitrary: modelRecipe },
  { weight: 3, arbitrary: rowsRecipe },
  { weight: 1, arbitrary: bytesRecipe },
];

const { any } = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    ...leaves,
    { weight: 2, arbitrary: fc.record({ t: fc.constant('array'), items: fc.array(tie('any'), { maxLength: 3 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({ t: fc.constant('object'), entries: fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('any')), { maxLength: 3 }) }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('proxy'), target: tie('any'), throws: fc.boolean() }) },
  ),
}));

/** Mostly a value that fits the position, sometimes anything at all. */
const maybe = (valid) => fc.oneof({ weight: 7, arbitrary: valid }, { weight: 1, arbitrary: any });
const nums = (...values) => fc.constantFrom(...values).map((v) => ({ t: 'num', v }));
const strs = (...values) => fc.constantFrom(...values).map((v) => ({ t: 'str', v }));
const bools = fc.boolean().map((v) => ({ t: 'bool', v }));
const fns = fc.constantFrom('noop', 'noop', 'value', 'throws', 'dispose the subject', 'call the subject').map((kind) => ({ t: 'fn', kind }));

/** An options object: each key of `schema` present with probability `p`, now and then a misspelt key. */
function options(schema, p = 0.3) {
  const keys = Object.keys(schema);
  const w = Math.round(p * 100);
  return fc
    .tuple(
      fc.tuple(...keys.map((key) => fc.oneof({ weight: 100 - w, arbitrary: fc.constant(null) }, { weight: w, arbitrary: schema[key].map((v) => [key, v]) }))),
      fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('epoch', 'learningrate', 'input_dim', 'Metric'), any) }),
    )
    .map(([entries, extra]) => ({ t: 'object', entries: [...entries, extra].filter((e) => e !== null) }));
}
const array = (item, max = 3) => fc.array(item, { maxLength: max }).map((items) => ({ t: 'array', items }));

const READ_PATHS = ['saved-ae.safetensors', 'saved-vae.safetensors', 'saved-enc.safetensors', 'saved-dec.safetensors', 'checkpoint-ae.safetensors', 'garbage.bin', 'empty.bin'];
const BAD_PATHS = ['missing/x.safetensors', 'a-file/x.safetensors', 'a-folder', '', 'bad\0name', 'missing.safetensors'];
const WRITE_PATHS = ['out.safetensors', 'out.onnx', 'checkpoint.out'];
const readPath = maybe(strs(...READ_PATHS, ...BAD_PATHS));
const writePath = maybe(strs(...WRITE_PATHS, ...BAD_PATHS));

const unit = nums(0, 0.5, 0.9, 1 - 2 ** -30, 1);
const positive = nums(1e-3, 0.1, 1, 1e6, 2 ** -30, 1e-50, 3.4028235677973366e38, 0);
const nonNegative = nums(0, 1e-3, 1, 1e300);
const fitSchema = {
  epochs: maybe(nums(0, 1, 2, 3)),
  // 'bf16' is left to test/bf16.test.ts: its OpenMP threads cannot run under the leak checker.
  precision: maybe(strs('float32', 'tf32')),
  batchSize: maybe(nums(1, 2, 3, 32, 2 ** 30)),
  shuffle: maybe(bools),
  seed: maybe(nums(0, 1, 7, 2 ** 32, Number.MAX_SAFE_INTEGER)),
  loss: maybe(fc.oneof(strs(...LOSSES), options({ type: maybe(strs('huber')), delta: maybe(nums(0.5, 1, 1e-50, 1e300, 5e-324)) }, 0.6))),
  optimizer: maybe(
    fc.oneof(
      strs(...OPTIMIZERS),
      options(
        {
          type: maybe(strs(...OPTIMIZERS)),
          learningRate: maybe(positive),
          momentum: maybe(unit),
          nesterov: maybe(bools),
          beta1: maybe(unit),
          beta2: maybe(unit),
          epsilon: maybe(positive),
          rho: maybe(unit),
          initialAccumulatorValue: maybe(nonNegative),
          weightDecay: maybe(nonNegative),
          clipNorm: maybe(nonNegative),
          clipValue: maybe(nonNegative),
        },
        0.25,
      ),
    ),
  ),
  schedule: maybe(
    options(
      {
        type: maybe(strs('constant', 'step', 'exponential', 'cosine')),
        warmupSteps: maybe(nums(0, 1, 2 ** 40, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER)),
        stepSize: maybe(nums(1, 2, 2 ** 40, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER)),
        gamma: maybe(positive),
        decaySteps: maybe(nums(1, 10, 2 ** 40, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER)),
        decayRate: maybe(positive),
        staircase: maybe(bools),
        alpha: maybe(unit),
      },
      0.5,
    ),
  ),
  validationSplit: maybe(nums(0, 0.25, 0.5, 0.9, 1 - 2 ** -30)),
  validationData: maybe(rowsRecipe),
  onBatchEnd: maybe(fns),
  onEpochEnd: maybe(fns),
  earlyStopping: maybe(options({ patience: maybe(nums(0, 1, 2)), minDelta: maybe(nums(0, 1e-3)), restoreBestWeights: maybe(bools) }, 0.5)),
  signal: maybe(fc.constantFrom('aborted signal', 'signal').map((name) => ({ t: 'special', name }))),
  onNonFinite: maybe(strs('error', 'skip')),
  checkpoint: maybe(options({ path: writePath, everyEpochs: maybe(nums(1, 2)) }, 0.8)),
  resumeFrom: readPath,
  beta: maybe(nums(0, 0.5, 1)),
  klWarmupEpochs: maybe(nums(0, 1, 2)),
};
const fitOptions = fc.oneof({ weight: 6, arbitrary: options(fitSchema, 0.2) }, { weight: 1, arbitrary: any }, { weight: 1, arbitrary: fc.constant({ t: 'undefined' }) });

const dims = nums(1, 2, 3, 4, 0, 2 ** 24 + 1);
const layerRecipe = options(
  {
    units: maybe(nums(1, 2, 3, 4, 6)),
    activation: maybe(strs(...ACTIVATIONS)),
    alpha: maybe(nums(0, 0.3, 1, 1e6, 1e6 - 1, 1e6 + 1)),
    groupSize: maybe(nums(1, 2, 3)),
    kernelInitializer: maybe(strs(...INITIALIZERS)),
    dropout: maybe(nums(0, 0.5, 1 - 2 ** -30, 1)),
  },
  0.5,
);
const layers = maybe(fc.array(maybe(layerRecipe), { maxLength: 3 }).map((items) => ({ t: 'array', items })));
const seed = maybe(nums(0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER));
// 'cuda' is refused with ERR_CUDA_UNAVAILABLE where there is no GPU, as in CI.
const backend = maybe(strs('cpu', 'auto', 'cuda', 'gpu', ''));
const CONFIGS = {
  Autoencoder: options({
    inputDim: maybe(dims),
    latentDim: maybe(dims),
    encoder: maybe(modelRecipe),
    decoder: maybe(modelRecipe),
    seed,
    backend,
    regularization: maybe(options({ l2: maybe(nonNegative), latentL1: maybe(nonNegative) }, 0.5)),
    noise: maybe(
      fc.oneof(
        options({ type: maybe(strs('gaussian')), stddev: maybe(nums(0, 0.1, 1e300)) }, 0.8),
        options({ type: maybe(strs('masking')), rate: maybe(unit) }, 0.8),
      ),
    ),
  }, 0.4),
  Encoder: options({ inputDim: maybe(dims), layers, seed, backend }, 0.8),
  Decoder: options({ latentDim: maybe(dims), layers, seed, backend }, 0.8),
  TextCodec: options({
    vocabulary: maybe(fc.oneof(strs('abc', '', 'aab', '\u0003', '😀x', 'ab?'), array(maybe(strs('a', 'b', 'ab', '', '😀'))))),
    length: maybe(nums(1, 2, 8, 65_536, 65_537)),
    unknown: maybe(strs('?', 'a', 'ab', '', '\u0003')),
    truncate: maybe(bools),
  }, 0.6),
  HashedTfidf: options({
    dimensions: maybe(nums(1, 16, 4096, 65_536, 2 ** 24 + 1)),
    wordNgrams: maybe(nums(1, 2, 8, 9)),
    charNgrams: maybe(nums(0, 3, 16, 17)),
    lowercase: maybe(bools),
    tokens: maybe(strs('words', 'whitespace')),
  }),
};
CONFIGS.VariationalAutoencoder = CONFIGS.Autoencoder;

// ---------------------------------------------------------------------------------------------
// Building values from recipes.

const throwingHandler = Object.fromEntries(
  ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'defineProperty', 'deleteProperty', 'apply', 'construct', 'isExtensible', 'preventExtensions', 'setPrototypeOf'].map(
    (trap) => [trap, userThrow],
  ),
);

const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';

/** A typed array of class `cls` and `length` elements at element `offset` of its buffer, in plain, shared or detached memory. */
function typedArray(cls, length, offset, backing, fill = (i) => i + 1) {
  const Class = globalThis[cls];
  const size = Class.BYTES_PER_ELEMENT;
  const buffer = backing === 'shared' ? new SharedArrayBuffer((length + offset) * size) : new ArrayBuffer((length + offset) * size);
  const array = new Class(buffer, offset * size, length);
  for (let i = 0; i < length; i++) array[i] = cls === 'BigInt64Array' ? BigInt(i) : fill(i);
  if (backing === 'detached') structuredClone(buffer, { transfer: [buffer] });
  return array;
}

function tinyModel(kind, run) {
  switch (kind) {
    case 'ae':
      return run.track(new Autoencoder({ inputDim: 4, latentDim: 2, seed: 1 }));
    case 'vae':
      return run.track(new VariationalAutoencoder({ inputDim: 4, latentDim: 2, seed: 1 }));
    case 'enc':
      return run.track(new Encoder({ inputDim: 4, layers: [{ units: 3, activation: 'tanh' }, { units: 2 }], seed: 1 }));
    case 'dec':
      return run.track(new Decoder({ latentDim: 2, layers: [{ units: 4, activation: 'sigmoid' }], seed: 1 }));
    default:
      // Custom halves with a relu output: categoricalCrossentropy does not fit it.
      return run.track(
        new Autoencoder({
          encoder: new Encoder({ inputDim: 3, layers: [{ units: 2, activation: 'elu' }], seed: 2 }),
          decoder: new Decoder({ latentDim: 2, layers: [{ units: 3, activation: 'relu' }], seed: 3 }),
          seed: 4,
        }),
      );
  }
}

const SMALL_X = new Float32Array([0.1, 0.9, 0.4, 0.6, 0.3, 0.2, 0.8, 0.5]);

function buildModel({ kind, state }, run) {
  if (state === 'encoder half' || state === 'decoder half') {
    const whole = tinyModel(kind === 'vae' ? 'vae' : 'ae', run);
    return state === 'encoder half' ? whole.encoder : whole.decoder;
  }
  if (state === 'adopted') {
    const encoder = run.track(new Encoder({ inputDim: 4, layers: [{ units: 2 }], seed: 1 }));
    const decoder = run.track(new Decoder({ latentDim: 2, layers: [{ units: 4 }], seed: 1 }));
    run.track(new Autoencoder({ encoder, decoder, seed: 1 }));
    return kind === 'dec' ? decoder : encoder;
  }
  const model = tinyModel(kind, run);
  if (state === 'disposed') model.dispose();
  if (state === 'busy' && typeof model.fit === 'function') {
    const x = new Float32Array(model.inputDim * 2).fill(0.5);
    run.pending.push(expectSafe('the background fit of a busy model', () => model.fit(x, { epochs: 3 })));
  }
  return model;
}

function buildRows(r, run) {
  const cols = Math.max(0, run.widths[r.rel] + r.delta);
  const random = mulberry32(r.seed);
  const value = (i) => {
    if (i === 0 && r.fill === 'nan') return NaN;
    if (i === 0 && r.fill === 'infinity') return -Infinity;
    if (r.fill === 'huge') return 3e38;
    return r.fill === 'zeros' ? 0 : random();
  };
  const flat = () => typedArray('Float32Array', Math.max(0, r.rows * cols + r.lengthDelta), r.offset, r.backing, value);
  switch (r.form) {
    case 'f32':
      return flat();
    case 'matrix':
      return { data: flat(), rows: r.rows, cols };
    case 'numbers':
      return Array.from({ length: r.rows }, (_, row) => Array.from({ length: cols + (row === 0 ? r.lengthDelta : 0) }, (_, c) => value(row * cols + c)));
    default:
      return Array.from({ length: r.rows }, (_, row) => typedArray(r.rowClass, Math.max(0, cols + (row === 0 ? r.lengthDelta : 0)), r.offset, r.backing, (c) => value(row * cols + c)));
  }
}

let bytesCache;
function modelBytes(of) {
  bytesCache ??= {
    ae: new Autoencoder({ inputDim: 4, latentDim: 2, seed: 1 }).toBuffer(),
    vae: new VariationalAutoencoder({ inputDim: 4, latentDim: 2, seed: 1 }).toBuffer(),
    enc: new Encoder({ inputDim: 4, layers: [{ units: 2 }], seed: 1 }).toBuffer(),
    dec: new Decoder({ latentDim: 2, layers: [{ units: 4 }], seed: 1 }).toBuffer(),
  };
  return bytesCache[of];
}

function buildBytes(r) {
  let bytes;
  if (r.of === 'random') bytes = Uint8Array.from({ length: 8 + (r.at % 64) }, (_, i) => (i * 37 + r.at) & 255);
  else if (r.of === 'empty') bytes = new Uint8Array(0);
  else bytes = Uint8Array.from(modelBytes(r.of));
  if (bytes.length > 0 && r.damage === 'truncate') bytes = bytes.slice(0, r.at % bytes.length);
  else if (bytes.length > 0 && r.damage === 'flip') bytes[r.at % bytes.length] ^= 1 << r.at % 8;
  if (r.backing === 'plain') return bytes;
  const out = typedArray('Uint8Array', bytes.length, r.backing === 'offset' ? 3 : 0, r.backing === 'shared' ? 'shared' : 'plain', (i) => bytes[i]);
  if (r.backing === 'detached') structuredClone(out.buffer, { transfer: [out.buffer] });
  return out;
}

function buildFunction(kind, run) {
  switch (kind) {
    case 'noop':
      return () => undefined;
    case 'value':
      return () => 42;
    case 'throws':
      return userThrow;
    case 'async noop':
      return async () => undefined;
    case 'dispose the subject':
      return () => run.subject?.dispose?.();
    case 'call the subject':
      return () => run.subject?.predict?.(SMALL_X.subarray(0, run.subject.inputDim));
    default:
      return function* chunks() {
        yield SMALL_X.subarray(0, run.widths.in * Math.floor(SMALL_X.length / Math.max(run.widths.in, 1)));
      };
  }
}

function buildSpecial(name) {
  switch (name) {
    case 'Object.create(null)':
      return Object.create(null);
    case 'Map':
      return new Map([['epochs', 1]]);
    case 'Date':
      return new Date(NaN);
    case 'RegExp':
      return /x/g;
    case 'Error':
      return new Error('x');
    case 'Promise':
      return Promise.resolve(1);
    case 'WeakRef':
      return new WeakRef({});
    case 'ArrayBuffer':
      return new ArrayBuffer(16);
    case 'SharedArrayBuffer':
      return new SharedArrayBuffer(16);
    case 'Buffer':
      return Buffer.from('abcd');
    case 'aborted signal':
      return AbortSignal.abort(new UserError());
    case 'signal':
      return new AbortController().signal;
    case 'globalThis':
      return globalThis;
    case 'frozen object':
      return Object.freeze({ epochs: 1, data: new Float32Array(4), rows: 1, cols: 4 });
    case 'array with holes':
      return [, [0.5, 0.5, 0.5, 0.5], ,];
    case 'instance of a class':
      return new (class Thing {})();
    case 'Object.create(Autoencoder.prototype)':
      return Object.create(Autoencoder.prototype);
    case 'Object.create(LayerStack.prototype)':
      return Object.create(LayerStack.prototype);
    case 'a class':
      return UserClass;
    case 'Float32Array subclass':
      return new (class Wide extends Float32Array {
        get length() {
          return 4;
        }
      })(8);
    default:
      return { length: 4, 0: 0.5, 1: 0.5, 2: 0.5, 3: 0.5 };
  }
}

function build(r, run) {
  switch (r.t) {
    case 'num':
    case 'str':
    case 'bool':
    case 'big':
      return r.v;
    case 'sym':
      return Symbol('fuzz');
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'fn':
      return buildFunction(r.kind, run);
    case 'fn returning':
      return () => build(r.value, run);
    case 'typed':
      return typedArray(r.cls, r.length, r.offset, r.backing);
    case 'dataview':
      return new DataView(new ArrayBuffer(r.length));
    case 'special':
      return buildSpecial(r.name);
    case 'getters': {
      const o = {};
      for (const key of KEYS) Object.defineProperty(o, key, { get: userThrow, enumerable: true });
      return o;
    }
    case 'model':
      return buildModel(r, run);
    case 'rows':
      return buildRows(r, run);
    case 'bytes':
      return buildBytes(r);
    case 'array':
      return r.items.map((item) => build(item, run));
    case 'object': {
      const o = {};
      for (const [key, value] of r.entries) Object.defineProperty(o, key, { value: build(value, run), enumerable: true, writable: true, configurable: true });
      return o;
    }
    case 'proxy': {
      const target = build(r.target, run);
      return new Proxy(isObject(target) ? target : {}, r.throws ? throwingHandler : {});
    }
    default:
      throw new Error(`unknown recipe ${JSON.stringify(r)}`);
  }
}

/** Builds the subject model first (the widths of data recipes are relative to it), then the arguments. */
function setUp(run, subjectRecipe, argRecipes) {
  const subject = subjectRecipe === undefined ? undefined : build(subjectRecipe, run);
  if (subject instanceof LayerStack) {
    run.subject = subject;
    run.widths = { in: subject.inputDim, out: subject.outputDim, latent: subject.latentDim ?? subject.outputDim };
  }
  return { subject, args: argRecipes.map((r) => build(r, run)) };
}

// ---------------------------------------------------------------------------------------------
// The properties.

const properties = [];
/** A property: `weight` is its share of the runs; `body(run, ...values)` does one case; `examples` run every time. */
function property(name, weight, arbitraries, body, examples = []) {
  properties.push({
    name,
    weight,
    examples,
    property: fc.asyncProperty(...arbitraries, async (...values) => {
      if (VERBOSE) process.stderr.write(`case ${name} ${JSON.stringify(values, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}\n`);
      const run = new Run();
      try {
        await body(run, ...values);
      } finally {
        await run.finish();
      }
    }),
  });
}

const subjects = fc.record({ t: fc.constant('model'), kind: fc.constantFrom(...MODEL_KINDS), state: fc.constantFrom(...MODEL_STATES) });
const wholeSubjects = fc.record({ t: fc.constant('model'), kind: fc.constantFrom('ae', 'vae', 'custom'), state: fc.constantFrom('fresh', 'fresh', 'fresh', 'disposed', 'busy') });

property(
  'constructors',
  12,
  [fc.oneof(...Object.keys(CONFIGS).map((name) => fc.tuple(fc.constant(name), CONFIGS[name])))],
  async (run, [name, config]) => {
    const { args } = setUp(run, undefined, [config]);
    await expectSafe(`new ${name}`, () => {
      const made = new lib[name](args[0]);
      if (made instanceof LayerStack) run.track(made);
      return made;
    });
  },
);

property('constructors with anything', 6, [fc.constantFrom(...Object.keys(CONFIGS)), any, fc.boolean()], async (run, name, config, missing) => {
  const { args } = setUp(run, undefined, [config]);
  await expectSafe(`new ${name}`, () => {
    const made = missing ? new lib[name]() : new lib[name](args[0]);
    if (made instanceof LayerStack) run.track(made);
    return made;
  });
});

property('fit', 10, [wholeSubjects, maybe(rowsRecipe), fitOptions], async (run, subject, x, opts) => {
  const built = setUp(run, subject, [x, opts]);
  await expectSafe('fit', () => built.subject.fit(...built.args), { files: true, check: (h) => (Array.isArray(h?.loss) ? undefined : 'no history') });
});

// for await adopts a chunk with a callable `then` as a promise: one that never calls back (every
// generated kind but 'throws') would hang the fit as a never-settling promise does, by design.
const neverSettles = (chunk) =>
  chunk?.t === 'object' && chunk.entries.some(([key, value]) => key === 'then' && value.t === 'fn' && value.kind !== 'throws');
const streamOpen = fc.oneof(
  any,
  array(maybe(rowsRecipe))
    .filter((chunks) => !chunks.items.some(neverSettles))
    .map((value) => ({ t: 'fn returning', value })),
  fc.constant({ t: 'fn', kind: 'generator' }),
);
property('fitStream', 4, [wholeSubjects, streamOpen, fitOptions], async (run, subject, open, opts) => {
  const built = setUp(run, subject, [open, opts]);
  await expectSafe('fitStream', () => built.subject.fitStream(...built.args), { files: true });
});

property('evaluate', 5, [wholeSubjects, maybe(rowsRecipe), maybe(options({ loss: fitSchema.loss }, 0.6))], async (run, subject, x, opts) => {
  const built = setUp(run, subject, [x, opts]);
  await expectSafe('evaluate', () => built.subject.evaluate(...built.args), {
    check: (v) => (typeof v === 'number' ? undefined : `${typeof v}, not a number`),
  });
});

const INFERENCE = ['predict', 'predictAsync', 'encode', 'encodeAsync', 'decode', 'decodeAsync', 'reconstruct', 'reconstructAsync', 'reconstructionError', 'reconstructionErrorAsync'];
/** The methods whose options.out must be refused over the input (the …Async ones refuse any out: they copy the input and return a new array). */
const TAKES_OUT = ['predict', 'encode', 'decode', 'reconstruct', 'reconstructionError'];
property(
  'inference',
  12,
  [
    subjects,
    fc.constantFrom(...INFERENCE),
    maybe(rowsRecipe),
    maybe(options({ metric: maybe(strs(...ROW_METRICS)), withVariance: maybe(bools), out: maybe(rowsRecipe), precision: maybe(strs('float32', 'bf16')) }, 0.5)),
    fc.constantFrom('none', 'none', 'over', 'beside'),
  ],
  async (run, subject, method, x, opts, alias) => {
    const built = setUp(run, subject, [x, opts]);
    const model = built.subject;
    if (typeof model[method] !== 'function') return;
    const overInput = aliasOut(built.args, alias) && TAKES_OUT.includes(method);
    const outToAsync = !TAKES_OUT.includes(method) && hasOwnOut(built.args[1]);
    await expectSafe(method, () => model[method](...built.args), {
      check: (out) => {
        if (overInput) return 'options.out over the input was accepted';
        if (outToAsync) return `options.out was accepted by ${method}, which cannot write into it`;
        return out instanceof Float32Array || out?.mean ? undefined : isMatrixOf(out);
      },
    });
  },
);

/** Whether `options` is a plain object with an own `out` (false where looking throws: a hostile proxy). */
function hasOwnOut(options) {
  try {
    return options !== null && typeof options === 'object' && Object.getPrototypeOf(options) === Object.prototype && Object.hasOwn(options, 'out');
  } catch {
    return false;
  }
}

/**
 * Puts options.out beside the Float32Array input in one buffer ('beside', which must work) or over
 * it ('over', which must be refused), keeping the out's length (the input's when there was none).
 * Returns whether it made an out that shares memory with the input.
 */
function aliasOut(args, alias) {
  if (alias === 'none') return false;
  const [input, o] = args;
  let length;
  try {
    if (!(input instanceof Float32Array) || input.buffer.byteLength === 0) return false;
    if (o === null || typeof o !== 'object' || Object.getPrototypeOf(o) !== Object.prototype || !Object.isExtensible(o)) return false;
    length = o.out instanceof Float32Array && o.out.buffer.byteLength > 0 ? o.out.length : input.length;
  } catch {
    return false; // a throwing proxy in the input or the options stays as it is
  }
  if (alias === 'over') {
    o.out = new Float32Array(input.buffer, input.byteOffset, Math.min(length, (input.buffer.byteLength - input.byteOffset) / 4));
    return o.out.length > 0 && input.length > 0;
  }
  const both = new Float32Array(input.length + length);
  both.set(input);
  args[0] = both.subarray(0, input.length);
  o.out = both.subarray(input.length);
  return false;
}

property(
  'variational',
  6,
  [
    fc.record({ t: fc.constant('model'), kind: fc.constant('vae'), state: fc.constantFrom('fresh', 'fresh', 'disposed', 'busy') }),
    fc.constantFrom('sample', 'interpolate', 'encode'),
    maybe(nums(1, 2, 3, 0, 2 ** 24 + 1)),
    maybe(rowsRecipe),
    maybe(rowsRecipe),
    maybe(options({ seed, temperature: maybe(nums(0, 0.5, 1, 1e300)), withVariance: maybe(bools), out: maybe(rowsRecipe) }, 0.5)),
  ],
  async (run, subject, method, n, a, b, opts) => {
    const { subject: vae, args } = setUp(run, subject, [n, a, b, opts]);
    const [count, rowsA, rowsB, o] = args;
    const call = method === 'sample' ? () => vae.sample(count, o) : method === 'interpolate' ? () => vae.interpolate(rowsA, rowsB, count) : () => vae.encode(rowsA, o);
    await expectSafe(method, call, { check: (out) => (out?.mean ? isMatrixOf(out.mean) : isMatrixOf(out)) });
  },
);

const GETTERS = ['inputDim', 'outputDim', 'latentDim', 'layers', 'parameterCount', 'disposed', 'busy'];
property('model state', 8, [subjects, fc.constantFrom('summary', 'getWeights', 'toBuffer', 'toONNXBuffer', 'dispose', Symbol.dispose, ...GETTERS), array(any)], async (run, subject, member, extra) => {
  const { subject: model, args } = setUp(run, subject, [extra]);
  await expectSafe(String(member), () => (GETTERS.includes(member) ? model[member] : model[member](...args[0])));
});

const weightsRecipe = fc.record({
  t: fc.constant('weights'),
  form: fc.constantFrom('named', 'positional', 'reversed', 'renamed', 'duplicated', 'short', 'long'),
  damage: fc.constantFrom('none', 'none', 'nan', 'length', 'float64', 'shared', 'offset', 'detached', 'proxy', 'getter'),
  at: fc.nat(),
});
property('setWeights', 6, [subjects, fc.oneof({ weight: 3, arbitrary: weightsRecipe }, { weight: 1, arbitrary: any })], async (run, subject, weights) => {
  const { subject: model, args } = setUp(run, subject, [weights.t === 'weights' ? { t: 'null' } : weights]);
  const value = weights.t === 'weights' ? buildWeights(model, weights) : args[0];
  await expectSafe('setWeights', () => model.setWeights(value));
});

/** A weights argument built from the model's own getWeights(), then damaged at one tensor. */
function buildWeights(model, r) {
  let source;
  try {
    source = model.getWeights();
  } catch {
    return [];
  }
  let list = source.map((w) => ({ ...w }));
  if (r.form === 'reversed') list.reverse();
  if (r.form === 'renamed') list[r.at % list.length].name += '.x';
  if (r.form === 'duplicated') list[r.at % list.length].name = list[(r.at + 1) % list.length].name;
  if (r.form === 'short') list.pop();
  if (r.form === 'long') list.push(list[0]);
  if (r.form === 'positional') list = list.map((w) => w.data);
  const i = r.at % list.length;
  const item = list[i];
  const data = item instanceof Float32Array ? item : item.data;
  const n = data.length;
  const copy = (backing, offset) => typedArray('Float32Array', n, offset, backing, (k) => data[k]);
  const damaged = {
    none: () => data,
    nan: () => Float32Array.from(data, (v, k) => (k === r.at % n ? NaN : v)),
    length: () => data.subarray(1),
    float64: () => Float64Array.from(data),
    shared: () => copy('shared', 0),
    offset: () => copy('plain', 1),
    detached: () => copy('detached', 0),
    proxy: () => new Proxy(data, {}),
    getter: () => undefined,
  }[r.damage]();
  if (r.damage === 'getter') list[i] = Object.defineProperty({ name: item.name }, 'data', { get: userThrow });
  else if (item instanceof Float32Array) list[i] = damaged;
  else item.data = damaged;
  return list;
}

const LOADERS = ['Autoencoder', 'VariationalAutoencoder', 'Encoder', 'Decoder'];
property('fromBuffer', 6, [fc.constantFrom(...LOADERS), fc.oneof({ weight: 3, arbitrary: bytesRecipe }, { weight: 1, arbitrary: any })], async (run, name, bytes) => {
  const { args } = setUp(run, undefined, [bytes]);
  await expectSafe(`${name}.fromBuffer`, () => run.track(lib[name].fromBuffer(args[0])));
});

property(
  'files',
  5,
  [subjects, fc.constantFrom('save', 'toONNX', 'load'), fc.constantFrom(...LOADERS), fc.oneof(readPath, writePath)],
  async (run, subject, op, loader, path) => {
    const { subject: model, args } = setUp(run, subject, [path]);
    const call = op === 'load' ? async () => run.track(await lib[loader].load(args[0])) : () => model[op](args[0]);
    await expectSafe(op, call, { files: true });
  },
);

const codecRecipe = fc.oneof(fc.constant('valid'), fc.constant('corpus'), fc.constant('wide'));
const strings = maybe(array(maybe(strs('', 'ab', 'abc', 'abcdefghij', 'a?z', '😀', 'ba'))));
property(
  'TextCodec',
  6,
  [codecRecipe, fc.constantFrom('encode', 'decode', 'toJSON', 'fromCorpus', 'symbols', 'width'), strings, maybe(rowsRecipe), maybe(options({ temperature: maybe(nums(0, 0.5, 1e300)), seed, length: maybe(nums(1, 4)), unknown: maybe(strs('?')), truncate: maybe(bools) }, 0.5))],
  async (run, kind, method, texts, rows, opts) => {
    const codec = kind === 'corpus' ? TextCodec.fromCorpus(['ab', 'abc']) : new TextCodec({ vocabulary: 'abc', length: kind === 'wide' ? 6 : 3, unknown: '?' });
    run.widths = { in: codec.width, out: codec.width, latent: codec.width };
    const [t, r, o] = [texts, rows, opts].map((x) => build(x, run));
    const calls = {
      encode: () => codec.encode(t),
      decode: () => codec.decode(r, o),
      toJSON: () => new TextCodec(codec.toJSON()),
      fromCorpus: () => TextCodec.fromCorpus(t, o),
      symbols: () => codec.symbols,
      width: () => codec.width,
    };
    await expectSafe(`TextCodec ${method}`, calls[method]);
  },
);

property(
  'HashedTfidf',
  5,
  [fc.boolean(), fc.constantFrom('fit', 'transform', 'fit then transform'), strings, maybe(options({ dimensions: maybe(nums(1, 8, 64)), charNgrams: maybe(nums(0, 2)) }))],
  async (run, fitted, method, texts, opts) => {
    const [t, o] = [texts, opts].map((x) => build(x, run));
    const features = await expectSafe('new HashedTfidf', () => new HashedTfidf(o));
    if (!features.result) return;
    const tf = features.result;
    if (fitted) tf.fit(['spam and ham', 'ham only']);
    const calls = { fit: () => tf.fit(t), transform: () => tf.transform(t), 'fit then transform': () => tf.fit(t).transform(t) };
    await expectSafe(`HashedTfidf ${method}`, calls[method], { check: (out) => (out === tf ? undefined : isMatrixOf(out)) });
  },
);

const initialThreads = lib.getThreads();
property('backend', 3, [fc.constantFrom('setThreads', 'getThreads', 'backendInfo', 'allocateFloat32'), maybe(fc.oneof(nums(1, 2, 3, 0, 1025, -1, 0.5, 2 ** 53), strs('cpu', 'cuda', 'gpu')))], async (run, fn, n) => {
  const value = build(n, run);
  try {
    await expectSafe(fn, () => lib[fn](value));
  } finally {
    // After any fit the value started has ended: threads cannot change while one runs.
    await Promise.allSettled(run.pending);
    lib.setThreads(initialThreads);
  }
});

// Never a valid call: a valid one would start MPI in this process. The fit option is refused
// unless it is 'mpi'; initDistributed's argument is a primitive, or an options object whose
// timeoutSeconds is outside (0, 1e7].
const notMpi = any.filter((v) => v.t !== 'undefined' && !(v.t === 'str' && v.v === 'mpi'));
const badTimeout = nums(0, -1, Number.NaN, Infinity, -Infinity, 1e7 + 1, -0);
const badDistributedOptions = fc.oneof(
  any.filter((v) => ['num', 'str', 'bool', 'big', 'sym', 'null'].includes(v.t)),
  options({ timeoutSeconds: fc.oneof(badTimeout, any.filter((v) => v.t !== 'num' && v.t !== 'undefined')) }, 1),
);
property('distributed training, refused', 2, [fc.boolean(), notMpi, badDistributedOptions], async (run, viaFit, option, init) => {
  if (viaFit) {
    const ae = run.track(new lib.Autoencoder({ inputDim: 4, latentDim: 2 }));
    await expectSafe('fit({ distributed })', () => ae.fit(new Float32Array(8), { distributed: build(option, run) }), { check: () => 'a fit with a distributed option other than mpi' });
  } else {
    await expectSafe('initDistributed', () => lib.initDistributed(build(init, run)), { check: () => 'MPI started with bad options' });
  }
});

/** Every public method and accessor of every class, to call with a `this` that may not be one. */
const MEMBERS = [];
for (const name of ['LayerStack', 'Autoencoder', 'VariationalAutoencoder', 'Encoder', 'Decoder', 'TextCodec', 'HashedTfidf']) {
  const proto = lib[name].prototype;
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (typeof d.value === 'function') MEMBERS.push({ name, key, fn: d.value });
    if (typeof d.get === 'function') MEMBERS.push({ name, key, fn: d.get });
  }
}
const INTERNAL = new Set(['forward', 'forwardAsync', 'nativeModel', 'shared', 'rebind', 'range', 'architecture', 'layerConfigs', 'loadTensors', 'checkedTensors']);
const PUBLIC_MEMBERS = MEMBERS.filter((m) => !INTERNAL.has(m.key));
property(
  'wrong this',
  10,
  [fc.integer({ min: 0, max: PUBLIC_MEMBERS.length - 1 }), fc.oneof(any, modelRecipe, fc.constantFrom('codec', 'tfidf')), array(any)],
  async (run, index, receiver, args) => {
    const member = PUBLIC_MEMBERS[index];
    const self = receiver === 'codec' ? new TextCodec({ vocabulary: 'ab', length: 2 }) : receiver === 'tfidf' ? new HashedTfidf() : build(receiver, run);
    const values = build(args, run);
    await expectSafe(`${member.name}.prototype.${String(member.key)} on another this`, () => Reflect.apply(member.fn, self, values), { files: true });
  },
);

const OPS = ['fit', 'predict', 'predictAsync', 'reconstructionErrorAsync', 'encodeAsync', 'setWeights', 'getWeights', 'evaluate', 'dispose', 'save', 'fitStream', 'encoder.dispose', 'decoder.predict', 'toBuffer'];
property(
  'overlapping calls',
  6,
  [wholeSubjects, fc.array(fc.record({ op: fc.constantFrom(...OPS), wait: fc.boolean() }), { minLength: 1, maxLength: 6 })],
  async (run, subject, ops) => {
    const { subject: model } = setUp(run, subject, []);
    const x = new Float32Array(model.inputDim * 3).map((_, i) => (i % 7) / 7);
    const weights = tinyModel(subject.kind, run).getWeights();
    const calls = {
      fit: () => model.fit(x, { epochs: 2, batchSize: 1 }),
      predict: () => model.predict(x),
      predictAsync: () => model.predictAsync(x),
      reconstructionErrorAsync: () => model.reconstructionErrorAsync(x),
      encodeAsync: () => model.encodeAsync(x),
      setWeights: () => model.setWeights(weights),
      getWeights: () => model.getWeights(),
      evaluate: () => model.evaluate(x),
      dispose: () => model.dispose(),
      save: () => model.save('out.safetensors'),
      fitStream: () => model.fitStream(() => [x, x]),
      'encoder.dispose': () => model.encoder.dispose(),
      'decoder.predict': () => model.decoder.predict(new Float32Array(model.latentDim)),
      toBuffer: () => model.toBuffer(),
    };
    const running = [];
    for (const { op, wait } of ops) {
      const call = expectSafe(op, calls[op], { files: true });
      if (wait) await call;
      else running.push(call);
    }
    await Promise.all(running);
    await Promise.allSettled(run.pending);
    if (!model.disposed && model.busy) throw new Error('the model is still busy after every call settled');
    if (!model.disposed) {
      const out = model.predict(x);
      if (isMatrixOf(out, 3, model.inputDim)) throw new Error(`predict after the calls returned ${isMatrixOf(out, 3, model.inputDim)}`);
    }
  },
);

/** Rows in shared memory or at an odd element offset are valid: every method gives what it gives on a plain copy. */
property(
  'shared and offset memory',
  4,
  [fc.constantFrom('ae', 'enc', 'vae'), fc.integer({ min: 1, max: 5 }), fc.constantFrom('shared', 'offset', 'shared rows'), fc.integer({ min: 0, max: 1000 })],
  async (run, kind, rows, backing, seedValue) => {
    const random = mulberry32(seedValue);
    const a = tinyModel(kind, run);
    const b = tinyModel(kind, run);
    const plain = Float32Array.from({ length: rows * a.inputDim }, random);
    const odd = backing === 'shared rows'
      ? Array.from({ length: rows }, (_, r) => typedArray('Float32Array', a.inputDim, 1, 'shared', (c) => plain[r * a.inputDim + c]))
      : typedArray('Float32Array', plain.length, backing === 'offset' ? 3 : 0, backing === 'shared' ? 'shared' : 'plain', (i) => plain[i]);
    const same = (x, y, what) => {
      const bx = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      const by = Buffer.from(y.buffer, y.byteOffset, y.byteLength);
      if (!bx.equals(by)) throw new Error(`${what} differs between plain and ${backing} memory`);
    };
    same(a.predict(plain).data, a.predict(odd).data, 'predict');
    same((await a.predictAsync(plain)).data, (await a.predictAsync(odd)).data, 'predictAsync');
    if (kind !== 'enc') {
      same(a.reconstructionError(plain), a.reconstructionError(odd), 'reconstructionError');
      same(await a.reconstructionErrorAsync(plain), await a.reconstructionErrorAsync(odd), 'reconstructionErrorAsync');
      if (a.evaluate(plain) !== a.evaluate(odd)) throw new Error('evaluate differs');
      const options = { epochs: 2, batchSize: 2, seed: 3 };
      await a.fit(plain, options);
      await b.fit(odd, options);
      a.getWeights().forEach((w, i) => same(w.data, b.getWeights()[i].data, `weights after fit (${w.name})`));
    }
    const shared = a.getWeights().map((w) => ({ ...w, data: typedArray('Float32Array', w.data.length, 1, 'shared', (k) => w.data[k]) }));
    b.setWeights(shared);
    a.getWeights().forEach((w, i) => same(w.data, b.getWeights()[i].data, `weights set from shared memory (${w.name})`));
    const bytes = a.toBuffer();
    const sharedBytes = typedArray('Uint8Array', bytes.length, 3, 'shared', (i) => bytes[i]);
    const loaded = run.track(lib[a.constructor.name].fromBuffer(sharedBytes));
    same(loaded.predict(plain).data, a.predict(plain).data, 'a model read from shared memory');
    count('returned');
  },
);

/**
 * Every numeric option and argument at and around its bounds, the float32 rounding edges and the
 * integer limits: accepted, or refused by the library's own check, naming it (the addon checks
 * some of them again, with messages that name nothing). Fits stop after their first batch (the
 * callback throws), so a huge valid epoch count costs nothing; widths and counts above `cheap` that
 * are still valid (up to `max`) are skipped, as they would allocate that much.
 */
const BOUNDARY_VALUES = [
  NaN, Infinity, -Infinity, -1, -0, 0, 5e-324, 7e-46, 1.401298464324817e-45, 1e-50, 2 ** -30, 0.5, 1 - 2 ** -53, 1 - 2 ** -30, 1,
  1 + 2 ** -52, 1.5, 2, 999_999.9999999999, 1e6, 1e6 + 1, 2 ** 24, 2 ** 24 + 1, 2 ** 30, 2 ** 30 + 1, 2 ** 40, 2 ** 40 + 1,
  2 ** 53 - 1, 2 ** 53, 3.4028234663852886e38, 3.4028235677973366e38, 1e39, Number.MAX_VALUE,
];
const X2 = new Float32Array([0.1, 0.9, 0.4, 0.6, 0.3, 0.2, 0.8, 0.5]);
const fitWith = (run, options, model = 'ae') => (typeof model === 'string' ? tinyModel(model, run) : model).fit(X2, { onBatchEnd: userThrow, ...options });
const BOUNDED = {
  'options.epochs': (v, run) => fitWith(run, { epochs: v }),
  'options.batchSize': (v, run) => fitWith(run, { batchSize: v }),
  'options.seed': (v, run) => fitWith(run, { seed: v }),
  'options.validationSplit': (v, run) => fitWith(run, { validationSplit: v }),
  ...Object.fromEntries(
    ['learningRate', 'momentum', 'beta1', 'beta2', 'epsilon', 'rho', 'initialAccumulatorValue', 'weightDecay', 'clipNorm', 'clipValue'].map((key) => [
      `options.optimizer.${key}`,
      (v, run) => fitWith(run, { optimizer: { type: key === 'momentum' ? 'sgd' : 'adam', [key]: v } }),
    ]),
  ),
  'options.loss.delta': (v, run) => fitWith(run, { loss: { type: 'huber', delta: v } }),
  'evaluate options.loss.delta': (v, run) => tinyModel('ae', run).evaluate(X2, { loss: { type: 'huber', delta: v } }),
  'options.schedule.warmupSteps': (v, run) => fitWith(run, { schedule: { type: 'constant', warmupSteps: v } }),
  'options.schedule.stepSize': (v, run) => fitWith(run, { schedule: { type: 'step', stepSize: v } }),
  'options.schedule.gamma': (v, run) => fitWith(run, { schedule: { type: 'step', stepSize: 1, gamma: v } }),
  'options.schedule.decaySteps (exponential)': (v, run) => fitWith(run, { schedule: { type: 'exponential', decaySteps: v } }),
  'options.schedule.decayRate': (v, run) => fitWith(run, { schedule: { type: 'exponential', decaySteps: 1, decayRate: v } }),
  'options.schedule.decaySteps (cosine)': (v, run) => fitWith(run, { schedule: { type: 'cosine', decaySteps: v } }),
  'options.schedule.alpha': (v, run) => fitWith(run, { schedule: { type: 'cosine', decaySteps: 1, alpha: v } }),
  'options.earlyStopping.patience': (v, run) => fitWith(run, { earlyStopping: { patience: v } }),
  'options.earlyStopping.minDelta': (v, run) => fitWith(run, { earlyStopping: { minDelta: v } }),
  'options.checkpoint.everyEpochs': (v, run) => fitWith(run, { checkpoint: { path: 'checkpoint.out', everyEpochs: v } }),
  'options.beta': (v, run) => fitWith(run, { beta: v }, 'vae'),
  'options.klWarmupEpochs': (v, run) => fitWith(run, { klWarmupEpochs: v }, 'vae'),
  'config.inputDim': { cheap: 64, max: 2 ** 24, call: (v, run) => run.track(new Autoencoder({ inputDim: v, latentDim: 2 })) },
  'config.latentDim': { cheap: 64, max: 2 ** 24, call: (v, run) => run.track(new Autoencoder({ inputDim: 4, latentDim: v })) },
  'config.seed': (v, run) => run.track(new Autoencoder({ inputDim: 4, latentDim: 2, seed: v })),
  'config.regularization.l2': (v, run) => run.track(new Autoencoder({ inputDim: 4, latentDim: 2, regularization: { l2: v } })),
  'config.regularization.latentL1': (v, run) => run.track(new Autoencoder({ inputDim: 4, latentDim: 2, regularization: { latentL1: v } })),
  'config.noise.stddev': (v, run) => fitWith(run, {}, run.track(new Autoencoder({ inputDim: 4, latentDim: 2, noise: { type: 'gaussian', stddev: v } }))),
  'config.noise.rate': (v, run) => fitWith(run, {}, run.track(new Autoencoder({ inputDim: 4, latentDim: 2, noise: { type: 'masking', rate: v } }))),
  'Encoder config.inputDim': { cheap: 64, max: 2 ** 24, call: (v, run) => run.track(new Encoder({ inputDim: v, layers: [{ units: 2 }] })) },
  'Decoder config.latentDim': { cheap: 64, max: 2 ** 24, call: (v, run) => run.track(new Decoder({ latentDim: v, layers: [{ units: 2 }] })) },
  'config.layers[0].units': { cheap: 64, max: 2 ** 24, call: (v, run) => run.track(new Encoder({ inputDim: 4, layers: [{ units: v }] })) },
  'config.layers[0].alpha (leakyRelu)': (v, run) => run.track(new Encoder({ inputDim: 4, layers: [{ units: 2, activation: 'leakyRelu', alpha: v }] })),
  'config.layers[0].alpha (elu)': (v, run) => run.track(new Encoder({ inputDim: 4, layers: [{ units: 2, activation: 'elu', alpha: v }] })),
  'config.layers[0].groupSize': (v, run) => run.track(new Encoder({ inputDim: 4, layers: [{ units: 4, activation: 'softmax', groupSize: v }] })),
  'config.layers[0].dropout': (v, run) => run.track(new Encoder({ inputDim: 4, layers: [{ units: 2, dropout: v }] })),
  'sample n': { cheap: 1024, max: 2 ** 24, call: (v, run) => tinyModel('vae', run).sample(v) },
  'sample options.temperature': (v, run) => tinyModel('vae', run).sample(1, { temperature: v }),
  'sample options.seed': (v, run) => tinyModel('vae', run).sample(1, { seed: v }),
  'interpolate steps': { cheap: 1024, max: 2 ** 20, call: (v, run) => tinyModel('vae', run).interpolate(X2.subarray(0, 4), X2.subarray(4), v) },
  'TextCodec options.length': { cheap: 1024, max: 2 ** 16, call: (v) => new TextCodec({ vocabulary: 'ab', length: v }) },
  'TextCodec decode options.temperature': (v) => new TextCodec({ vocabulary: 'ab', length: 1 }).decode(new Float32Array(3), { temperature: v }),
  'TextCodec decode options.seed': (v) => new TextCodec({ vocabulary: 'ab', length: 1 }).decode(new Float32Array(3), { temperature: 1, seed: v }),
  'HashedTfidf options.dimensions': { cheap: 4096, max: 2 ** 24, call: (v) => new HashedTfidf({ dimensions: v }).fit(['a b']).transform(['a']) },
  'HashedTfidf options.wordNgrams': (v) => new HashedTfidf({ wordNgrams: v, dimensions: 8 }).fit(['a b']),
  'HashedTfidf options.charNgrams': (v) => new HashedTfidf({ charNgrams: v, dimensions: 8 }).fit(['a b']),
  setThreads: { cheap: 4, max: 1024, call: (v) => lib.setThreads(v) },
};
const BOUNDED_NAMES = Object.keys(BOUNDED);
property(
  'numbers at their bounds',
  20,
  [fc.constantFrom(...BOUNDED_NAMES), fc.constantFrom(...BOUNDARY_VALUES)],
  async (run, name, v) => {
    const entry = typeof BOUNDED[name] === 'function' ? { call: BOUNDED[name] } : BOUNDED[name];
    if (entry.cheap !== undefined && v > entry.cheap && v <= entry.max) return;
    try {
      await expectSafe(`${name} = ${v}`, () => entry.call(v, run), { files: true });
    } finally {
      if (name === 'setThreads') lib.setThreads(initialThreads);
    }
  },
  BOUNDED_NAMES.flatMap((name) => BOUNDARY_VALUES.map((v) => [name, v])),
);

/**
 * Every choice of every named option, with every output activation: fit with each loss on a model
 * whose output is each activation, and so on. Accepted, or refused by the library naming the option.
 */
const withOutput = (run, activation) =>
  run.track(
    new Autoencoder({
      encoder: new Encoder({ inputDim: 4, layers: [{ units: 2 }], seed: 1 }),
      decoder: new Decoder({ latentDim: 2, layers: [{ units: 4, activation, ...(activation === 'softmax' ? { groupSize: 2 } : {}) }], seed: 1 }),
      seed: 1,
    }),
  );
const LOSS_CHOICES = [...LOSSES, { type: 'huber', delta: 0.5 }, 'crossentropy'];
const CHOICES = [
  ...ACTIVATIONS.flatMap((activation) => [
    ...LOSS_CHOICES.flatMap((loss) => [
      [`fit with loss ${JSON.stringify(loss)} on a ${activation} output`, (run) => withOutput(run, activation).fit(X2, { loss, onBatchEnd: userThrow })],
      [`fitStream with loss ${JSON.stringify(loss)} on a ${activation} output`, (run) => withOutput(run, activation).fitStream(() => [X2], { loss })],
      [`evaluate with loss ${JSON.stringify(loss)} on a ${activation} output`, (run) => withOutput(run, activation).evaluate(X2, { loss })],
    ]),
    ...[...ROW_METRICS, 'rmse'].map((metric) => [`reconstructionError ${metric} on a ${activation} output`, (run) => withOutput(run, activation).reconstructionError(X2, { metric })]),
    [`a ${activation} hidden layer`, (run) => run.track(new Encoder({ inputDim: 4, layers: [{ units: 2, activation }, { units: 2 }] })).encode(X2)],
  ]),
  ...[...OPTIMIZERS, 'adamax'].map((type) => [`optimizer ${type}`, (run) => fitWith(run, { optimizer: type })]),
  ...[
    { type: 'constant' },
    { type: 'step', stepSize: 1 },
    { type: 'exponential', decaySteps: 1 },
    { type: 'cosine', decaySteps: 1 },
    { type: 'linear' },
  ].map((schedule) => [`schedule ${schedule.type}`, (run) => fitWith(run, { schedule })]),
  ...[{ type: 'gaussian', stddev: 0.1 }, { type: 'masking', rate: 0.1 }, { type: 'salt', rate: 0.1 }].map((noise) => [
    `noise ${noise.type}`,
    (run) => fitWith(run, {}, run.track(new Autoencoder({ inputDim: 4, latentDim: 2, noise }))),
  ]),
  ...[...INITIALIZERS, 'xavier'].map((init) => [`initializer ${init}`, (run) => run.track(new Encoder({ inputDim: 4, layers: [{ units: 2, kernelInitializer: init }] }))]),
  ...['words', 'whitespace', 'chars'].map((tokens) => [`tokens ${tokens}`, () => new HashedTfidf({ tokens, dimensions: 8 }).fit(['a b'])]),
  ...['error', 'skip', 'ignore'].map((onNonFinite) => [
    `onNonFinite ${onNonFinite}`,
    (run) => tinyModel('ae', run).fit(Float32Array.from(X2, (v, i) => (i === 0 ? NaN : v)), { onNonFinite }),
  ]),
];
property(
  'every choice of a named option',
  6,
  [fc.integer({ min: 0, max: CHOICES.length - 1 })],
  async (run, i) => {
    const [label, call] = CHOICES[i];
    await expectSafe(label, () => call(run), { files: true });
  },
  CHOICES.map((_, i) => [i]),
);

/**
 * Every form of data in every argument that takes rows: the valid ones (plain, shared memory, an
 * odd offset, number[][], rows of any typed array, a matrix) work; the rest are refused naming the
 * argument, or their own getter's error propagates.
 */
function dataForm(form, rows, cols) {
  const values = (n) => Array.from({ length: n }, (_, i) => ((i * 7) % 10) / 10);
  const f32 = (n, backing = 'plain', offset = 0) => {
    const v = values(n);
    return typedArray('Float32Array', n, offset, backing, (i) => v[i]);
  };
  const Lying = class extends Float32Array {
    get length() {
      return cols;
    }
  };
  const numberRows = () => Array.from({ length: rows }, (_, r) => values(cols).map((v) => v + r / 10));
  const n = rows * cols;
  switch (form) {
    case 'Float32Array': return f32(n);
    case 'shared Float32Array': return f32(n, 'shared');
    case 'offset subarray': return f32(n, 'plain', 1);
    case 'shared offset subarray': return f32(n, 'shared', 3);
    case 'detached Float32Array': return f32(n, 'detached');
    case 'length + 1': return f32(n + 1);
    case 'length - 1': return f32(Math.max(n - 1, 0));
    case 'empty Float32Array': return new Float32Array(0);
    case 'subclass with a lying length': return Lying.from(f32(n));
    case 'Proxy of a Float32Array': return new Proxy(f32(n), {});
    case 'throwing Proxy': return new Proxy(f32(n), throwingHandler);
    case 'DataView': return new DataView(f32(n).buffer);
    case 'Float64Array': return Float64Array.from(f32(n));
    case 'Int32Array': return new Int32Array(n);
    case 'Uint8Array': return new Uint8Array(n);
    case 'BigInt64Array': return new BigInt64Array(n);
    case 'ArrayBuffer': return f32(n).buffer;
    case 'SharedArrayBuffer': return f32(n, 'shared').buffer;
    case 'number[][]': return numberRows();
    case 'number[][] with a short row': return [values(cols - 1), ...numberRows().slice(1)];
    case 'number[][] with a string cell': return numberRows().map((row, r) => (r === 0 ? ['0.5', ...row.slice(1)] : row));
    case 'number[][] with a NaN': return numberRows().map((row, r) => (r === 0 ? [NaN, ...row.slice(1)] : row));
    case 'number[][] with a hole': return numberRows().map((row, r) => (r === 0 ? [, ...row.slice(1)] : row));
    case 'Float64Array rows': return numberRows().map((row) => Float64Array.from(row));
    case 'Uint8Array rows': return numberRows().map((row) => Uint8Array.from(row));
    case 'shared Float32Array rows': return numberRows().map((row) => typedArray('Float32Array', cols, 1, 'shared', (i) => row[i]));
    case 'DataView rows': return numberRows().map(() => new DataView(new ArrayBuffer(cols * 4)));
    case 'empty array': return [];
    case 'matrix': return { data: f32(n), rows, cols };
    case 'matrix with rows + 1': return { data: f32(n), rows: rows + 1, cols };
    case 'matrix with cols + 1': return { data: f32(n), rows, cols: cols + 1 };
    case 'matrix with fractional rows': return { data: f32(n), rows: rows + 0.5, cols };
    case 'matrix with Float64Array data': return { data: Float64Array.from(f32(n)), rows, cols };
    case 'matrix with detached data': return { data: f32(n, 'detached'), rows, cols };
    case 'matrix with shared data': return { data: f32(n, 'shared', 1), rows, cols };
    case 'matrix with Proxy data': return { data: new Proxy(f32(n), {}), rows, cols };
    case 'matrix with a lying subclass': return { data: Lying.from(f32(n)), rows, cols };
    case 'matrix with a throwing getter': return Object.defineProperty({ rows, cols }, 'data', { get: userThrow, enumerable: true });
    default: return Object.fromEntries(KEYS.map((key) => [key, undefined]));
  }
}
const DATA_FORMS = [
  'Float32Array', 'shared Float32Array', 'offset subarray', 'shared offset subarray', 'detached Float32Array', 'length + 1', 'length - 1',
  'empty Float32Array', 'subclass with a lying length', 'Proxy of a Float32Array', 'throwing Proxy', 'DataView', 'Float64Array', 'Int32Array',
  'Uint8Array', 'BigInt64Array', 'ArrayBuffer', 'SharedArrayBuffer', 'number[][]', 'number[][] with a short row', 'number[][] with a string cell',
  'number[][] with a NaN', 'number[][] with a hole', 'Float64Array rows', 'Uint8Array rows', 'shared Float32Array rows', 'DataView rows', 'empty array',
  'matrix', 'matrix with rows + 1', 'matrix with cols + 1', 'matrix with fractional rows', 'matrix with Float64Array data', 'matrix with detached data',
  'matrix with shared data', 'matrix with Proxy data', 'matrix with a lying subclass', 'matrix with a throwing getter', 'object of undefined keys',
];
/** [argument, width of its rows (from the model), call]: each method that takes rows, in each argument position. */
const DATA_TAKERS = [
  ['predict x', 'in', (m, x) => m.predict(x)],
  ['predictAsync x', 'in', (m, x) => m.predictAsync(x)],
  ['encode x', 'in', (m, x) => m.encode(x)],
  ['encodeAsync x', 'in', (m, x) => m.encodeAsync(x)],
  ['decode z', 'latent', (m, z) => m.decode(z)],
  ['decodeAsync z', 'latent', (m, z) => m.decodeAsync(z)],
  ['reconstruct x', 'in', (m, x) => m.reconstruct(x)],
  ['reconstructionError x', 'in', (m, x) => m.reconstructionError(x)],
  ['reconstructionErrorAsync x', 'in', (m, x) => m.reconstructionErrorAsync(x)],
  ['evaluate x', 'in', (m, x) => m.evaluate(x)],
  ['fit x', 'in', (m, x) => m.fit(x, { onBatchEnd: userThrow })],
  ['fit options.validationData', 'in', (m, x) => m.fit(X2, { validationData: x, onBatchEnd: userThrow })],
  ['fitStream chunk', 'in', (m, x) => m.fitStream(() => [x])],
  ['encoder.encode x', 'in', (m, x) => m.encoder.encode(x)],
  ['decoder.decode z', 'latent', (m, z) => m.decoder.decode(z)],
  ['VariationalAutoencoder encode x', 'in', (m, x, run) => tinyModel('vae', run).encode(x, { withVariance: true })],
  ['interpolate a', 'in', (m, x, run) => tinyModel('vae', run).interpolate(x, X2.subarray(0, 4), 3), 1],
  ['TextCodec decode rows', 'codec', (m, x) => new TextCodec({ vocabulary: 'a', length: 2 }).decode(x)],
];
const DATA_CASES = DATA_TAKERS.flatMap((_, t) => DATA_FORMS.map((_, f) => [t, f]));
/** Forms every taker must accept: shared memory, odd offsets, any numeric rows, a lying subclass (the addon reads the real length). */
const VALID_FORMS = new Set([
  'Float32Array', 'shared Float32Array', 'offset subarray', 'shared offset subarray', 'subclass with a lying length', 'number[][]',
  'Float64Array rows', 'Uint8Array rows', 'shared Float32Array rows', 'matrix', 'matrix with shared data', 'matrix with a lying subclass',
]);
property(
  'every form of data',
  12,
  [fc.integer({ min: 0, max: DATA_TAKERS.length - 1 }), fc.integer({ min: 0, max: DATA_FORMS.length - 1 }), fc.integer({ min: 1, max: 3 })],
  async (run, t, f, rows) => {
    const [label, width, call, onlyRows] = DATA_TAKERS[t];
    const model = tinyModel('ae', run);
    const cols = width === 'codec' ? 4 : width === 'latent' ? model.latentDim : model.inputDim;
    const form = DATA_FORMS[f];
    const { error } = await expectSafe(`${label} as ${form}`, () => call(model, dataForm(form, onlyRows ?? rows, cols), run), { files: true });
    if (VALID_FORMS.has(form) && error !== undefined && !callersOwn(error)) throw new Error(`${label} refused valid rows (${form}): ${error.message}`);
  },
  DATA_CASES.map(([t, f]) => [t, f, 2]),
);

/** One value of each kind, for every argument position. */
const HOSTILE = {
  undefined: () => undefined,
  null: () => null,
  NaN: () => NaN,
  '-0': () => -0,
  Infinity: () => Infinity,
  '2 ** 53': () => 2 ** 53,
  '-1': () => -1,
  '1.5': () => 1.5,
  "''": () => '',
  "'a'": () => 'a',
  symbol: () => Symbol('x'),
  bigint: () => 1n,
  true: () => true,
  '[]': () => [],
  '[[]]': () => [[]],
  '{}': () => ({}),
  'Object.create(null)': () => Object.create(null),
  'a function': () => () => undefined,
  'a throwing function': () => userThrow,
  'an async function': () => async () => undefined,
  Float64Array: () => new Float64Array(8),
  Int32Array: () => new Int32Array(8),
  Uint8Array: () => new Uint8Array(8),
  BigInt64Array: () => new BigInt64Array(8),
  DataView: () => new DataView(new ArrayBuffer(32)),
  ArrayBuffer: () => new ArrayBuffer(32),
  SharedArrayBuffer: () => new SharedArrayBuffer(32),
  'a detached Float32Array': () => typedArray('Float32Array', 8, 0, 'detached'),
  'a Proxy of a Float32Array': () => new Proxy(new Float32Array(8), {}),
  'a Proxy of a Uint8Array': () => new Proxy(Uint8Array.from(modelBytes('ae')), {}),
  'a Proxy of an array': () => new Proxy([[0.5, 0.5, 0.5, 0.5]], {}),
  'a throwing Proxy': () => new Proxy({}, throwingHandler),
  'an object with throwing getters': (run) => build({ t: 'getters' }, run),
  'a disposed Autoencoder': (run) => build({ t: 'model', kind: 'ae', state: 'disposed' }, run),
  'an adopted Encoder': (run) => build({ t: 'model', kind: 'enc', state: 'adopted' }, run),
  Map: () => new Map(),
  Promise: () => Promise.resolve([X2]),
  'an aborted AbortSignal': () => AbortSignal.abort(),
  Date: () => new Date(0),
  'a Float32Array subclass with a lying length': () => buildSpecial('Float32Array subclass'),
  'a frozen object': () => buildSpecial('frozen object'),
};
const HOSTILE_NAMES = Object.keys(HOSTILE);
const FIT_KEYS = Object.keys(fitSchema);
const codec = () => new TextCodec({ vocabulary: 'ab', length: 2 });
/** Every argument position of the public API: [label, (run, v) => call]. */
const POSITIONS = [
  ...['Autoencoder', 'VariationalAutoencoder', 'Encoder', 'Decoder', 'TextCodec', 'HashedTfidf'].map((name) => [`new ${name}(v)`, (run, v) => track(run, new lib[name](v))]),
  ...['inputDim', 'latentDim', 'seed', 'regularization', 'noise'].map((key) => [
    `new Autoencoder({ ${key}: v })`,
    (run, v) => track(run, new Autoencoder({ inputDim: 4, latentDim: 2, [key]: v })),
  ]),
  ['new Autoencoder({ encoder: v })', (run, v) => track(run, new Autoencoder({ encoder: v, decoder: tinyModel('dec', run) }))],
  ['new Autoencoder({ decoder: v })', (run, v) => track(run, new Autoencoder({ encoder: tinyModel('enc', run), decoder: v }))],
  ['new Encoder({ layers: v })', (run, v) => track(run, new Encoder({ inputDim: 4, layers: v }))],
  ['new Encoder({ layers: [v] })', (run, v) => track(run, new Encoder({ inputDim: 4, layers: [v] }))],
  ...['units', 'activation', 'alpha', 'groupSize', 'kernelInitializer', 'dropout'].map((key) => [
    `new Decoder({ layers: [{ ${key}: v }] })`,
    (run, v) => track(run, new Decoder({ latentDim: 2, layers: [{ units: 4, activation: key === 'alpha' ? 'elu' : key === 'groupSize' ? 'softmax' : 'linear', [key]: v }] })),
  ]),
  ['fit(v)', (run, v) => tinyModel('ae', run).fit(v)],
  ['fit(x, v)', (run, v) => tinyModel('ae', run).fit(X2, v)],
  ...FIT_KEYS.map((key) => [`fit(x, { ${key}: v })`, (run, v) => tinyModel(key === 'beta' || key === 'klWarmupEpochs' ? 'vae' : 'ae', run).fit(X2, { onBatchEnd: userThrow, [key]: v })]),
  ['fitStream(v)', (run, v) => tinyModel('ae', run).fitStream(v)],
  // Iterating open()'s result is the caller's code: a Proxy of a typed array cannot be iterated at all.
  ['fitStream(() => v)', (run, v) => tinyModel('ae', run).fitStream(() => v), (v) => () => [...v]],
  ['fitStream(() => [v])', (run, v) => tinyModel('ae', run).fitStream(() => [v])],
  ['fitStream(open, v)', (run, v) => tinyModel('ae', run).fitStream(() => [X2], v)],
  ['evaluate(v)', (run, v) => tinyModel('ae', run).evaluate(v)],
  ['evaluate(x, v)', (run, v) => tinyModel('ae', run).evaluate(X2, v)],
  ['evaluate(x, { loss: v })', (run, v) => tinyModel('ae', run).evaluate(X2, { loss: v })],
  ...['predict', 'predictAsync', 'encode', 'encodeAsync', 'decode', 'decodeAsync', 'reconstruct', 'reconstructionError', 'reconstructionErrorAsync', 'setWeights', 'save', 'toONNX'].map(
    (method) => [`${method}(v)`, (run, v) => tinyModel('ae', run)[method](v)],
  ),
  ...['summary', 'getWeights', 'toBuffer', 'toONNXBuffer', 'dispose'].map((method) => [`${method}(v)`, (run, v) => tinyModel('ae', run)[method](v)]),
  ['reconstructionError(x, v)', (run, v) => tinyModel('ae', run).reconstructionError(X2, v)],
  ['reconstructionErrorAsync(x, { metric: v })', (run, v) => tinyModel('ae', run).reconstructionErrorAsync(X2, { metric: v })],
  ['setWeights([v, ...])', (run, v) => {
    const model = tinyModel('ae', run);
    return model.setWeights([v, ...model.getWeights().slice(1)]);
  }],
  ['setWeights([{ data: v }, ...])', (run, v) => {
    const model = tinyModel('ae', run);
    const [first, ...rest] = model.getWeights();
    return model.setWeights([{ name: first.name, shape: first.shape, data: v }, ...rest]);
  }],
  ['setWeights([{ name: v }, ...])', (run, v) => {
    const model = tinyModel('ae', run);
    const [first, ...rest] = model.getWeights();
    return model.setWeights([{ name: v, shape: first.shape, data: first.data }, ...rest]);
  }],
  ...LOADERS.flatMap((name) => [
    [`${name}.load(v)`, async (run, v) => track(run, await lib[name].load(v))],
    [`${name}.fromBuffer(v)`, (run, v) => track(run, lib[name].fromBuffer(v))],
  ]),
  ['sample(v)', (run, v) => tinyModel('vae', run).sample(v)],
  ['sample(1, v)', (run, v) => tinyModel('vae', run).sample(1, v)],
  ['sample(1, { seed: v })', (run, v) => tinyModel('vae', run).sample(1, { seed: v })],
  ['sample(1, { temperature: v })', (run, v) => tinyModel('vae', run).sample(1, { temperature: v })],
  ['interpolate(v, b, 3)', (run, v) => tinyModel('vae', run).interpolate(v, X2.subarray(0, 4), 3)],
  ['interpolate(a, v, 3)', (run, v) => tinyModel('vae', run).interpolate(X2.subarray(0, 4), v, 3)],
  ['interpolate(a, b, v)', (run, v) => tinyModel('vae', run).interpolate(X2.subarray(0, 4), X2.subarray(4), v)],
  ['VariationalAutoencoder encode(x, v)', (run, v) => tinyModel('vae', run).encode(X2, v)],
  ['VariationalAutoencoder encode(x, { withVariance: v })', (run, v) => tinyModel('vae', run).encode(X2, { withVariance: v })],
  ['TextCodec.fromCorpus(v)', (run, v) => TextCodec.fromCorpus(v), (v) => () => [...v]],
  ['TextCodec.fromCorpus(corpus, v)', (run, v) => TextCodec.fromCorpus(['ab'], v)],
  ...['vocabulary', 'length', 'unknown', 'truncate'].map((key) => [`new TextCodec({ ${key}: v })`, (run, v) => new TextCodec({ vocabulary: 'ab', length: 2, [key]: v })]),
  ['TextCodec encode(v)', (run, v) => codec().encode(v)],
  ['TextCodec encode([v])', (run, v) => codec().encode([v])],
  ['TextCodec decode(v)', (run, v) => codec().decode(v)],
  ['TextCodec decode(rows, v)', (run, v) => codec().decode(new Float32Array(6), v)],
  ...['dimensions', 'wordNgrams', 'charNgrams', 'lowercase', 'tokens'].map((key) => [`new HashedTfidf({ ${key}: v })`, (run, v) => new HashedTfidf({ [key]: v })]),
  ['HashedTfidf fit(v)', (run, v) => new HashedTfidf({ dimensions: 8 }).fit(v)],
  ['HashedTfidf fit([v])', (run, v) => new HashedTfidf({ dimensions: 8 }).fit([v])],
  ['HashedTfidf transform(v)', (run, v) => new HashedTfidf({ dimensions: 8 }).fit(['a']).transform(v)],
  ['setThreads(v)', (run, v) => {
    try {
      return lib.setThreads(v);
    } finally {
      lib.setThreads(initialThreads);
    }
  }],
  ['getThreads(v)', (run, v) => lib.getThreads(v)],
  ['backendInfo(v)', (run, v) => lib.backendInfo(v)],
];
function track(run, value) {
  if (value instanceof LayerStack) run.track(value);
  return value;
}
property(
  'every kind of value in every argument',
  16,
  [fc.integer({ min: 0, max: POSITIONS.length - 1 }), fc.integer({ min: 0, max: HOSTILE_NAMES.length - 1 })],
  async (run, p, h) => {
    const [label, call, own] = POSITIONS[p];
    const name = HOSTILE_NAMES[h];
    const value = HOSTILE[name](run);
    await expectSafe(`${label} with v = ${name}`, () => call(run, value), { files: true, own: own?.(HOSTILE[name](run)) });
  },
  POSITIONS.flatMap((_, p) => HOSTILE_NAMES.map((_, h) => [p, h])),
);

/**
 * Results of 2^40 values or more, from small inputs: far larger than memory, refused with
 * ERR_OUT_OF_MEMORY before anything is allocated, in JavaScript or in the addon.
 */
const N = 2 ** 20;
let giants;
function giant() {
  giants ??= {
    decoder: new Decoder({ latentDim: 1, layers: [{ units: N }], seed: 1 }),
    vae: new VariationalAutoencoder({
      encoder: new Encoder({ inputDim: 1, layers: [{ units: 2 * N }], seed: 1 }),
      decoder: new Decoder({ latentDim: N, layers: [{ units: 1 }], seed: 1 }),
      seed: 1,
    }),
    codec: new TextCodec({ vocabulary: Array.from({ length: 1000 }, (_, i) => String.fromCodePoint(0x4e00 + i)), length: 65_536 }),
    features: new HashedTfidf({ dimensions: N, charNgrams: 0 }).fit(['a']),
  };
  return giants;
}
const GIANT_CALLS = {
  predict: (g) => g.decoder.predict(new Float32Array(N)),
  predictAsync: (g) => g.decoder.predictAsync(new Float32Array(N)),
  sample: (g) => g.vae.sample(N),
  interpolate: (g) => g.vae.interpolate([[0.5]], [[0.25]], N),
  'TextCodec encode': (g) => g.codec.encode(new Array(2 ** 14).fill('')),
  'HashedTfidf transform': (g) => g.features.transform(new Array(N).fill('')),
};
property('results larger than memory', 0.1, [fc.constantFrom(...Object.keys(GIANT_CALLS))], async (run, what) => {
  const { error } = await expectSafe(what, () => GIANT_CALLS[what](giant()));
  if (error?.code !== 'ERR_OUT_OF_MEMORY') throw new Error(`${what} was not refused with ERR_OUT_OF_MEMORY`);
  if (!/\d+ bytes/.test(error.message)) throw new Error(`${what}: the refusal does not name the bytes: ${error.message}`);
});

// ---------------------------------------------------------------------------------------------
// Files the file properties read and write, in the scratch folder (the current directory).

async function writeFixtures() {
  await new Autoencoder({ inputDim: 4, latentDim: 2, seed: 1 }).save('saved-ae.safetensors');
  await new VariationalAutoencoder({ inputDim: 4, latentDim: 2, seed: 1 }).save('saved-vae.safetensors');
  await new Encoder({ inputDim: 4, layers: [{ units: 2 }], seed: 1 }).save('saved-enc.safetensors');
  await new Decoder({ latentDim: 2, layers: [{ units: 4 }], seed: 1 }).save('saved-dec.safetensors');
  await new Autoencoder({ inputDim: 4, latentDim: 2, seed: 1 }).fit(SMALL_X, { epochs: 1, checkpoint: { path: 'checkpoint-ae.safetensors' } });
  writeFileSync('garbage.bin', Buffer.from('not a model at all'));
  writeFileSync('empty.bin', Buffer.alloc(0));
  writeFileSync('a-file', 'a file where a folder should be');
  mkdirSync('a-folder', { recursive: true });
}

// ---------------------------------------------------------------------------------------------

/** Errors no call of a property saw: a rejection nobody handled, an exception thrown from a callback of the library's. */
const processFailures = [];
process.on('unhandledRejection', (reason) => processFailures.push(`unhandled rejection: ${reason?.stack ?? safeString(reason)}`));
process.on('uncaughtException', (error) => processFailures.push(`uncaught exception: ${error?.stack ?? safeString(error)}`));

await writeFixtures();
const only = ONLY?.split(',');
const selected = properties.filter((p) => only === undefined || only.includes(p.name));
if (selected.length === 0) throw new Error(`no property named ${ONLY}`);
const weightSum = selected.reduce((s, p) => s + p.weight, 0);
const started = Date.now();
let cases = 0;
for (const [i, p] of selected.entries()) {
  const numRuns = Math.max(1, p.examples.length, Math.ceil((TOTAL * p.weight) / weightSum));
  const seedValue = BASE_SEED + i;
  process.stderr.write(`property ${p.name}: ${numRuns} runs, seed ${seedValue}\n`);
  const t0 = Date.now();
  const details = await fc.check(p.property, {
    numRuns,
    seed: seedValue,
    ...(REPLAY_PATH === undefined ? {} : { path: REPLAY_PATH }),
    timeout: 10_000,
    examples: p.examples,
  });
  const report = { property: p.name, runs: details.numRuns, seed: seedValue, ms: Date.now() - t0 };
  if (details.failed) {
    Object.assign(report, {
      path: details.counterexamplePath,
      counterexample: fc.stringify(details.counterexample),
      error: details.errorInstance?.stack ?? String(details.errorInstance),
      cause: details.errorInstance?.cause?.stack,
    });
  }
  cases += details.numRuns;
  // One line per property as it ends, so that the lines before a crash still tell what passed.
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
giants?.decoder.dispose();
giants?.vae.dispose();
process.stdout.write(`${JSON.stringify({ summary: true, seed: BASE_SEED, cases, ms: Date.now() - started, outcomes, processFailures })}\n`);
// Everything the properties started has been awaited; exit rather than wait for the GC to free the models.
process.exit(0);
