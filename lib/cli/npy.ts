// The NumPy .npy format: reading and checking its header, and writing float32 arrays. Only what a
// data matrix needs is accepted: float32 or float64, little-endian, C order.
import { dataError } from './errors';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export interface NpyHeader {
  itemSize: 4 | 8;
  shape: number[];
  /** Bytes before the data: magic, version, header length and header. */
  dataOffset: number;
}

/** Bytes to read before the header's length is known. */
export const NPY_PREAMBLE = 12;

/** The header's total size in bytes, from the first NPY_PREAMBLE bytes of the file. */
export function npyHeaderSize(name: string, start: Buffer): number {
  if (start.length < 10 || !start.subarray(0, 6).equals(MAGIC)) throw dataError(`${name}: not a NumPy .npy file (it does not start with \\x93NUMPY)`);
  const [major, minor] = [start[6], start[7]];
  if (minor !== 0 || major < 1 || major > 3) throw dataError(`${name}: .npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  if (major === 1) return 10 + start.readUInt16LE(8);
  if (start.length < 12) throw dataError(`${name}: the .npy header is cut short`);
  return 12 + start.readUInt32LE(8);
}

/** Parses the header (the first `npyHeaderSize` bytes): a Python dict literal. */
export function parseNpyHeader(name: string, bytes: Buffer): NpyHeader {
  const preamble = bytes[6] === 1 ? 10 : 12;
  const text = bytes.subarray(preamble).toString(bytes[6] === 3 ? 'utf8' : 'latin1');
  const field = (key: string, pattern: string) => {
    const match = new RegExp(`['"]${key}['"]\\s*:\\s*${pattern}`).exec(text);
    if (!match) throw dataError(`${name}: the .npy header has no readable '${key}'`);
    return match[1];
  };
  const descr = field('descr', `['"]([^'"]*)['"]`);
  if (field('fortran_order', '(True|False)') === 'True') {
    throw dataError(`${name}: the array is in Fortran order; save it in C order (numpy.ascontiguousarray)`);
  }
  const shapeText = field('shape', '\\(([^)]*)\\)');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (shape.length === 0 || !shape.every((s) => /^\d+$/.test(s))) throw dataError(`${name}: the .npy shape (${shapeText}) is not a list of sizes`);
  if (descr === '>f4' || descr === '>f8') {
    throw dataError(`${name}: the array is big-endian (dtype '${descr}'); save it little-endian (astype('<f${descr[2]}'))`);
  }
  if (descr !== '<f4' && descr !== '<f8') throw dataError(`${name}: dtype '${descr}' is not supported; save the array as float32 or float64`);
  return { itemSize: descr === '<f4' ? 4 : 8, shape: shape.map(Number), dataOffset: bytes.length };
}

/** A version 1.0 header for a little-endian float32 array of `shape`, padded so the data starts on a 64-byte boundary as NumPy does it. */
export function npyHeader(shape: number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + dict.length + 1;
  const text = `${dict}${' '.repeat(Math.ceil(unpadded / 64) * 64 - unpadded)}\n`;
  const header = Buffer.alloc(10 + text.length);
  MAGIC.copy(header, 0);
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(text.length, 8);
  header.write(text, 10, 'latin1');
  return header;
}

/** Writes `data` into `out` from `offset` as little-endian float32: raw float32 files, and the data of a .npy file. */
export function writeFloat32LE(out: Buffer, offset: number, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], offset + i * 4);
}

/** A whole .npy file holding `data` with `shape`. */
export function npyBytes(data: Float32Array, shape: number[]): Buffer {
  const header = npyHeader(shape);
  const out = Buffer.alloc(header.length + data.length * 4);
  header.copy(out, 0);
  writeFloat32LE(out, header.length, data);
  return out;
}
