// Data in and out: rows of numbers in several shapes become one row-major Float32Array; results
// come back as a Float32Array with its shape.
import { constants } from 'node:buffer';
import { totalmem } from 'node:os';
import { types } from 'node:util';
import { native } from './binding';
import { codedError, typeError, rangeError } from './errors';
import { integer, knownKeys, oneOf, optionalObject } from './validate';
import { pooledResult } from './result-pool';

/** A row-major matrix: `data` holds `rows × cols` values, row after row. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * Rows of data:
 * - a Float32Array holding whole rows back to back (its length a multiple of the width),
 * - a Matrix (`{ data, rows, cols }`, as every method returns),
 * - an array of rows, each a number[] or a typed array.
 */
export type DataInput = Float32Array | Matrix | ReadonlyArray<ArrayLike<number>>;

/**
 * A zeroed Float32Array of `length` values in memory the library owns. `fit` trains on such an
 * array (or a subarray of it) where it is, without a copy, so a large dataset is held once; any
 * other array is copied when a fit starts. Writes to the array during a fit reach the fit.
 */
export function allocateFloat32(length: number): Float32Array {
  return native.allocateFloat32(integer('length', length, 0, MAX_FLOATS));
}

/**
 * A zeroed Float32Array for rows that a fit may train on: large ones in library-owned memory (see
 * allocateFloat32), so that a dataset the library builds or reads is held once, not twice, while a
 * fit runs. Like large results, they go into V8's memory instead while many such arrays await their
 * release (Node frees them only when its event loop turns), so a synchronous loop does not pile them up.
 */
export function rowsFloat32(length: number): Float32Array {
  return native.allocateRows(length);
}

export function matrix(data: Float32Array, rows: number, cols: number): Matrix {
  return { data, rows, cols };
}

function isMatrix(value: unknown): value is Matrix {
  return (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !Array.isArray(value) &&
    'data' in value &&
    'rows' in value &&
    'cols' in value
  );
}

/**
 * Converts rows into one Float32Array of `cols` columns. A Float32Array or Matrix is used as it is
 * (no copy); arrays of rows are copied once, into library-owned memory that a fit need not copy again.
 */
export function toRows(name: string, value: unknown, cols: number, minRows = 0): Matrix {
  let out: Matrix;
  // util.types reads the internal slot: `instanceof` also passes a Proxy of a Float32Array, whose
  // length getter then throws a TypeError with no code.
  if (types.isFloat32Array(value)) {
    const length = lengthOf(value);
    if (length % cols !== 0) {
      throw rangeError(`${name}.length`, `a multiple of the input width ${cols}`, length);
    }
    out = matrix(value, length / cols, cols);
  } else if (isMatrix(value)) {
    const { data, rows, cols: c } = value;
    if (!types.isFloat32Array(data)) throw typeError(`${name}.data`, 'a Float32Array', data);
    if (typeof c !== 'number') throw typeError(`${name}.cols`, 'an integer', c);
    if (typeof rows !== 'number') throw typeError(`${name}.rows`, 'an integer', rows);
    if (c !== cols) throw rangeError(`${name}.cols`, `${cols} (the model's input width)`, c);
    const length = lengthOf(data);
    if (!Number.isInteger(rows) || rows < 0 || rows * cols !== length) {
      throw rangeError(`${name}.rows`, `data.length / cols = ${length / cols}`, rows);
    }
    out = matrix(data, rows, cols);
  } else if (Array.isArray(value)) {
    // Refused before anything is allocated, naming the argument, where the rows could never fit.
    checkResultSize(`the rows of ${name}`, value.length, cols);
    const data = rowsFloat32(value.length * cols);
    for (let r = 0; r < value.length; r++) {
      const row: unknown = value[r];
      if (!Array.isArray(row) && !(ArrayBuffer.isView(row) && !(row instanceof DataView))) {
        throw typeError(`${name}[${r}]`, 'an array of numbers or a typed array', row);
      }
      const cells = row as ArrayLike<unknown>;
      if (cells.length !== cols) throw rangeError(`${name}[${r}].length`, `${cols} (the model's input width)`, cells.length);
      for (let c = 0; c < cols; c++) {
        const v = cells[c];
        if (typeof v !== 'number') throw typeError(`${name}[${r}][${c}]`, 'a number', v);
        data[r * cols + c] = v;
      }
    }
    out = matrix(data, value.length, cols);
  } else {
    throw typeError(name, 'a Float32Array, a { data, rows, cols } matrix, or an array of rows', value);
  }
  if (out.rows < minRows) throw rangeError(`${name}`, `at least ${minRows} row${minRows === 1 ? '' : 's'}`, value);
  return out;
}

const typedArrayLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Float32Array.prototype), 'length')?.get as () => number;

/** The element count in a typed array's internal slot, which the addon reads: a subclass can override `length`. */
export function lengthOf(array: Float32Array): number {
  return typedArrayLength.call(array);
}

/** Splits off the last `fraction` of the rows (as Keras does, before any shuffling), without copying. */
export function splitTail(data: Matrix, fraction: number): { head: Matrix; tail: Matrix } {
  // The relative allowance keeps binary rounding from losing a row: 100 × 0.29 is 28.999999999999996.
  const tailRows = Math.floor(data.rows * fraction * (1 + 1e-12));
  const headRows = data.rows - tailRows;
  const cut = headRows * data.cols;
  return {
    head: matrix(data.data.subarray(0, cut), headRows, data.cols),
    tail: matrix(data.data.subarray(cut), tailRows, data.cols),
  };
}

/** The most floats one array holds: buffer.constants.MAX_LENGTH is in bytes (2^32 on Node.js 20). */
const MAX_FLOATS = Math.floor(constants.MAX_LENGTH / Float32Array.BYTES_PER_ELEMENT);

/** The precisions of a prediction's matrix products. */
export const INFERENCE_PRECISIONS = ['float32', 'bf16'] as const;
export type InferencePrecision = (typeof INFERENCE_PRECISIONS)[number];

/**
 * Options of `predictAsync`, `encodeAsync`, `decodeAsync` and `reconstructAsync`. Their results are
 * always new arrays: the worker writes while the caller runs, so they take no `out`.
 */
export interface AsyncPredictOptions {
  /**
   * 'bf16' rounds each matrix product's operands to bfloat16 (sums in float32), as fits with
   * `precision: 'bf16'` do: faster on large layers where the CPU has AMX-BF16 or AVX512-BF16 and
   * oneDNN is installed (see `backendInfo().bf16`), else the call fails with ERR_BF16_UNAVAILABLE.
   * Results move by about 1% of their scale. Default: 'float32'.
   */
  precision?: InferencePrecision;
}

/** Options of the synchronous predictions: `predict`, `encode`, `decode` and `reconstruct`. */
export interface PredictOptions extends AsyncPredictOptions {
  /**
   * Writes the result into this array, which becomes the returned matrix's `data`, instead of a new
   * one: exactly rows × output-width values, not overlapping the input. For small predictions in a
   * loop. Without it, a result of up to 4 KiB is a view into a shared 8 KiB ArrayBuffer (as Node's
   * Buffer.allocUnsafe does): its `buffer` holds other results, so read it through `byteOffset` and
   * `byteLength`, or `slice()` it.
   */
  out?: Float32Array;
}

/** The options object of a prediction, its keys checked against `allowed`; empty when undefined. */
export function predictionOptions(options: unknown, allowed: readonly string[]): Record<string, unknown> {
  const o = optionalObject('options', options);
  knownKeys('options', o, allowed);
  return o;
}

/** options.precision, checked; undefined (float32) when absent. */
export function precisionOption(o: Record<string, unknown>): InferencePrecision | undefined {
  return o.precision === undefined ? undefined : oneOf('options.precision', o.precision, INFERENCE_PRECISIONS);
}

/**
 * Where a result of `rows` × `cols` values from the rows `input` (named `name`) goes: `out`, the
 * caller's array, checked; without it a pooled array for a small result (see result-pool.ts), or
 * undefined for a larger one, which the addon makes. A prediction writes each chunk of its result
 * before it reads the next chunk's rows, so `out` must not overlap the input.
 */
export function outputInto(out: unknown, rows: number, cols: number, name: string, input: Float32Array): Float32Array | undefined {
  if (out === undefined) {
    checkResultSize('the output', rows, cols);
    return pooledResult(rows * cols, input);
  }
  if (!types.isFloat32Array(out)) throw typeError('options.out', 'a Float32Array', out);
  const length = lengthOf(out);
  if (length !== rows * cols) {
    throw rangeError('options.out.length', `${rows * cols} (${rows} rows × ${cols} columns)`, length);
  }
  if (overlap(out, input)) throw rangeError('options.out', `an array apart from "${name}"`, 'an array over the same memory');
  return out;
}

function overlap(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer || a.byteLength === 0 || b.byteLength === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Physical memory, read once: os.totalmem() reads /proc/meminfo on every call. */
const MEMORY = totalmem();

/**
 * Refuses, before anything is allocated, a result of `rows` × `cols` float32 values that cannot
 * exist: longer than the longest typed array, or larger than the machine's memory (as the native
 * core refuses its own buffers). Allocated anyway, it throws a RangeError with no code in
 * JavaScript, and inside the addon it ends the process: V8 treats that failed allocation as fatal.
 */
export function checkResultSize(what: string, rows: number, cols: number): void {
  const values = rows * cols;
  const bytes = values * Float32Array.BYTES_PER_ELEMENT;
  const limit =
    values > MAX_FLOATS
      ? `the longest array holds ${constants.MAX_LENGTH} bytes (${MAX_FLOATS} float32 values)`
      : bytes > MEMORY
        ? `the machine has ${MEMORY} bytes (${gib(MEMORY)}) of memory`
        : undefined;
  if (limit !== undefined) {
    throw codedError(Error, 'ERR_OUT_OF_MEMORY', `refused to allocate ${bytes} bytes (${gib(bytes)}) for ${what}, ${rows} × ${cols} values: ${limit}`);
  }
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
