// Reading a data file into one Float32Array of rows: the reader is chosen by format, the file is
// streamed rather than read whole, and empty or non-finite values meet the --missing policy.
import { fstatSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { rowsFloat32 } from '../data';
import { readCsv } from './csv';
import { dataError, inputError, usageError } from './errors';
import { NPY_PREAMBLE, npyHeaderSize, parseNpyHeader } from './npy';

export const FORMATS = ['csv', 'tsv', 'npy', 'f32'] as const;
export type Format = (typeof FORMATS)[number];

/** .npy and raw float32: laid out by their size and read at offsets, unlike CSV and TSV. */
const isBinary = (format: Format): format is 'npy' | 'f32' => format === 'npy' || format === 'f32';
export const MISSING = ['error', 'zero', 'mean', 'drop'] as const;
export type Missing = (typeof MISSING)[number];

export interface ReadOptions {
  format?: Format;
  /** Values per row of a raw float32 file (or of a 1-D .npy array). */
  dim?: number;
  missing?: Missing;
}

export interface Table {
  data: Float32Array;
  rows: number;
  cols: number;
  /** Column names, when a CSV or TSV file has a header row. */
  header?: string[];
  /** Missing values filled in (--missing zero or mean). */
  filled: number;
  /** Rows left out for a missing value (--missing drop). */
  dropped: number;
}

type Raw = Omit<Table, 'filled' | 'dropped'>;

const EXTENSIONS: Record<string, Format> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.npy': 'npy',
  '.f32': 'f32',
  '.bin': 'f32',
  '.raw': 'f32',
};

/** The format a file's name says it holds, CSV where it says none: how results are written. */
export function formatOfName(file: string): Format {
  return EXTENSIONS[path.extname(file).toLowerCase()] ?? 'csv';
}

function formatOf(file: string, options: ReadOptions): Format {
  if (options.format) return options.format;
  if (file === '-') return 'csv';
  const format = EXTENSIONS[path.extname(file).toLowerCase()];
  if (format) return format;
  if (options.dim !== undefined) return 'f32';
  throw usageError(`cannot tell the format of ${file} from its name; give --format ${FORMATS.join('|')}`);
}

/**
 * Opens `file` to read, or throws the input error (exit 66) that names it. A .npy or raw float32
 * file (`binary`) must be a regular file: its layout comes from its size, and it is read at offsets,
 * which a pipe or a device (`<(cat rows.npy)`) lacks. That is checked before opening, which would
 * wait for a pipe's writer.
 */
async function openInput(file: string, binary: boolean): Promise<{ handle: FileHandle; size: number }> {
  try {
    const stats = await stat(file);
    if (stats.isDirectory()) throw inputError(file, { code: 'EISDIR' });
    if (binary && !stats.isFile()) {
      throw usageError(`${file} is a pipe or a device: .npy and raw float32 data are read from a file (CSV and TSV can come through a pipe)`);
    }
    return { handle: await open(file, 'r'), size: stats.size };
  } catch (error) {
    throw (error as NodeJS.ErrnoException).syscall ? inputError(file, error) : error;
  }
}

/** Reads `file` ('-' for standard input) as rows of float32 values. */
export async function readTable(file: string, options: ReadOptions = {}): Promise<Table> {
  const format = formatOf(file, options);
  const missing = options.missing ?? 'error';
  if (options.dim !== undefined && (format === 'csv' || format === 'tsv')) {
    throw usageError('--dim is for raw float32 files and 1-D .npy arrays; a CSV or TSV row is as wide as it is');
  }
  const delimiter = format === 'tsv' ? '\t' : ',';
  if (file === '-') {
    if (format !== 'csv' && format !== 'tsv') throw usageError('standard input can be read as csv or tsv only');
    // A folder redirected to standard input reads as no bytes, not as the error it is.
    if (fstatSync(0).isDirectory()) throw inputError('<stdin>', { code: 'EISDIR' });
    return applyMissing(await readCsv('<stdin>', process.stdin, delimiter, missing !== 'error'), missing, '<stdin>');
  }
  const { handle, size } = await openInput(file, isBinary(format));
  try {
    const raw = isBinary(format) ? await readBinary(handle, file, size, format, options.dim) : await readCsv(file, handle.createReadStream({ autoClose: false }), delimiter, missing !== 'error');
    return applyMissing(raw, missing, file);
  } catch (error) {
    throw (error as NodeJS.ErrnoException).syscall ? inputError(file, error) : error;
  } finally {
    await handle.close();
  }
}

/** Where the rows of a .npy or raw float32 file lie, from its header and size, with every check of both formats. */
async function layoutOf(handle: FileHandle, name: string, size: number, format: 'npy' | 'f32', dim: number | undefined): Promise<Layout> {
  if (format === 'f32') {
    if (size === 0) throw dataError(`${name}: no data (an empty file)`);
    if (dim === undefined) throw usageError(`${name} is raw float32 data; give --dim N, the values per row`);
    const rowBytes = 4 * dim;
    if (size % rowBytes !== 0) {
      throw dataError(`${name}: ${size} bytes is not a whole number of rows of ${dim} float32 values (${rowBytes} bytes a row; ${size % rowBytes} bytes left over)`);
    }
    return { format, offset: 0, itemSize: 4, rows: size / rowBytes, cols: dim };
  }
  const start = Buffer.alloc(NPY_PREAMBLE);
  const { bytesRead } = await handle.read(start, 0, NPY_PREAMBLE, 0);
  const headerSize = npyHeaderSize(name, start.subarray(0, bytesRead));
  if (headerSize > size) throw dataError(`${name}: the .npy header says it is ${headerSize} bytes long, but the file has ${size} bytes`);
  const headerBytes = Buffer.alloc(headerSize);
  await handle.read(headerBytes, 0, headerSize, 0);
  const { shape, itemSize, dataOffset } = parseNpyHeader(name, headerBytes);
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = dataOffset + count * itemSize;
  if (size !== expected) {
    throw dataError(
      `${name}: expected ${expected} bytes (a ${dataOffset}-byte header and shape (${shape.join(', ')}) of float${itemSize * 8}), but the file has ${size} bytes`,
    );
  }
  if (shape.length > 1 && dim !== undefined) throw usageError(`--dim is for 1-D arrays; ${name} has shape (${shape.join(', ')})`);
  if (count === 0) throw dataError(`${name}: no data (shape (${shape.join(', ')}))`);
  const cols = shape.length > 1 ? count / shape[0] : (dim ?? 1);
  if (count % cols !== 0) throw dataError(`${name}: ${count} values do not make rows of ${cols}`);
  return { format, offset: dataOffset, itemSize, rows: count / cols, cols };
}

async function readBinary(handle: FileHandle, name: string, size: number, format: 'npy' | 'f32', dim: number | undefined): Promise<Raw> {
  const { offset, itemSize, rows, cols } = await layoutOf(handle, name, size, format, dim);
  return { data: await readFloats(handle, name, offset, rows * cols, itemSize, cols), rows, cols };
}

/** Where value i of rows `cols` wide lies, from row `firstRow` (0-based) on, for messages. */
const cellOf = (name: string, i: number, cols: number, firstRow = 0) => `${name}, row ${firstRow + Math.floor(i / cols) + 1}, column ${(i % cols) + 1}`;

/**
 * Value k of little-endian floats of itemSize bytes, as float32, stored at out[i]. A float64 beyond
 * float32's range is refused: it is a value, not a missing one for --missing to fill.
 */
function storeFloat32(bytes: Buffer, k: number, itemSize: 4 | 8, out: Float32Array, i: number, name: string, cols: number, firstRow = 0): void {
  if (itemSize === 4) {
    out[i] = bytes.readFloatLE(k * 4);
    return;
  }
  const value = bytes.readDoubleLE(k * 8);
  out[i] = value;
  if (Number.isFinite(value) && !Number.isFinite(out[i])) throw dataError(`${cellOf(name, i, cols, firstRow)}: ${value} is outside the float32 range`);
}

/**
 * Reads `count` little-endian floats from `offset` into rows that a fit holds without a copy. float32
 * on a little-endian machine is read straight into them; float64 is streamed chunk by chunk (a value
 * may straddle two chunks) and rounded.
 */
async function readFloats(handle: FileHandle, name: string, offset: number, count: number, itemSize: 4 | 8, cols: number): Promise<Float32Array> {
  const out = rowsFloat32(count);
  if (itemSize === 4 && littleEndian) {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let done = 0; done < bytes.length; ) {
      // At most 1 GiB a read: larger ones return short on Linux and fail on some systems.
      const { bytesRead } = await handle.read(bytes, done, Math.min(bytes.length - done, 1 << 30), offset + done);
      if (bytesRead === 0) throw dataError(`${name}: the file ended after ${Math.floor(done / 4)} of ${count} values (did it change while being read?)`);
      done += bytesRead;
    }
    return out;
  }
  let i = 0;
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of handle.createReadStream({ start: offset, autoClose: false, highWaterMark: 1 << 20 })) {
    const bytes: Buffer = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const whole = Math.min(Math.floor(bytes.length / itemSize), count - i);
    for (let k = 0; k < whole; k++, i++) storeFloat32(bytes, k, itemSize, out, i, name, cols);
    carry = bytes.subarray(whole * itemSize);
  }
  if (i !== count) throw dataError(`${name}: the file ended after ${i} of ${count} values (did it change while being read?)`);
  return out;
}

/** Applies the --missing policy to NaN and ±Inf values (the CSV reader stores empty and NaN cells as NaN). */
function applyMissing(raw: Raw, missing: Missing, name: string): Table {
  const { data, rows, cols } = raw;
  if (rows === 0) throw dataError(`${name}: no rows of data`);
  const bad: number[] = [];
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad.push(i);
  const table: Table = { ...raw, filled: 0, dropped: 0 };
  if (bad.length === 0) return table;
  const at = (i: number) => cellOf(name, i, cols);
  if (missing === 'error') {
    throw dataError(`${at(bad[0])}: ${data[bad[0]]} is not a finite number (--missing zero|mean|drop accepts missing values)`);
  }
  if (missing === 'zero') {
    for (const i of bad) data[i] = 0;
    table.filled = bad.length;
  } else if (missing === 'mean') {
    const sum = new Float64Array(cols);
    const count = new Float64Array(cols);
    for (let i = 0; i < data.length; i++) {
      if (Number.isFinite(data[i])) {
        sum[i % cols] += data[i];
        count[i % cols]++;
      }
    }
    for (const i of bad) {
      const c = i % cols;
      if (count[c] === 0) throw dataError(`${name}, column ${c + 1}: no finite values to take the mean of`);
      data[i] = sum[c] / count[c];
    }
    table.filled = bad.length;
  } else {
    const drop = new Set(bad.map((i) => Math.floor(i / cols)));
    if (drop.size === rows) throw dataError(`${name}: every row has a missing value, so --missing drop leaves none`);
    const kept = rowsFloat32((rows - drop.size) * cols);
    let k = 0;
    for (let r = 0; r < rows; r++) {
      if (drop.has(r)) continue;
      kept.set(data.subarray(r * cols, (r + 1) * cols), k * cols);
      k++;
    }
    Object.assign(table, { data: kept, rows: k, dropped: drop.size });
  }
  return table;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface Layout {
  format: 'npy' | 'f32';
  offset: number;
  itemSize: 4 | 8;
  rows: number;
  cols: number;
}

/** Where the rows of a .npy or raw float32 file lie, from its header and size alone, checked as readTable checks them. */
export async function binaryLayout(file: string, options: ReadOptions): Promise<Layout> {
  const format = formatOf(file, options);
  if (file === '-' || !isBinary(format)) {
    throw usageError('--stream-rows reads .npy and raw float32 files; convert CSV or TSV data to one of them first');
  }
  const { handle, size } = await openInput(file, true);
  try {
    return await layoutOf(handle, file, size, format, options.dim);
  } finally {
    await handle.close();
  }
}

/**
 * The rows of a .npy or raw float32 file, `rowsPerChunk` at a time, so a file larger than memory
 * can train (see Autoencoder.fitStream). Non-finite values are refused, or zeroed with --missing zero.
 */
export async function* readChunks(file: string, layout: Layout, rowsPerChunk: number, missing: Missing): AsyncGenerator<Float32Array> {
  if (missing === 'mean' || missing === 'drop') throw usageError(`--missing ${missing} needs the whole file; with --stream-rows use --missing zero or error`);
  const { handle } = await openInput(file, true);
  try {
    const rowBytes = layout.cols * layout.itemSize;
    for (let first = 0; first < layout.rows; first += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, layout.rows - first);
      const bytes = Buffer.alloc(rows * rowBytes);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, layout.offset + first * rowBytes);
      if (bytesRead !== bytes.length) throw dataError(`${file}: the file ended early (did it change while being read?)`);
      const out = new Float32Array(rows * layout.cols);
      // float32 on a little-endian machine is already the layout: one copy, no per-value decoding.
      if (layout.itemSize === 4 && littleEndian) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, out.length));
      else for (let i = 0; i < out.length; i++) storeFloat32(bytes, i, layout.itemSize, out, i, file, layout.cols, first);
      for (let i = 0; i < out.length; i++) {
        if (!Number.isFinite(out[i])) {
          if (missing === 'zero') out[i] = 0;
          else throw dataError(`${cellOf(file, i, layout.cols, first)}: ${out[i]} is not a finite number (--missing zero accepts missing values)`);
        }
      }
      yield out;
    }
  } catch (error) {
    throw (error as NodeJS.ErrnoException).syscall ? inputError(file, error) : error;
  } finally {
    await handle.close();
  }
}
