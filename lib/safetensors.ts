// The safetensors format: an 8-byte little-endian header length, a JSON header giving each
// tensor's dtype, shape and byte offsets, then the raw little-endian data. The reader checks
// every field before trusting it; each failure names the file and the check.
import { createHash } from 'node:crypto';
import { codedError, type CodedError } from './errors';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, Tensor>;
}

/** The largest header accepted: far above any real model's, far below what could exhaust memory. */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function formatError(source: string, check: string): Error & CodedError {
  return codedError(Error, 'ERR_MODEL_FORMAT', `${source}: ${check}`);
}

/**
 * The `__metadata__.checksum` of a file: SHA-256 of the header without the checksum (as compact
 * JSON, `__metadata__` first) followed by the data section. It covers the header too, because a
 * flipped bit there (an activation, an alpha) would otherwise load as a silently different model.
 */
export function checksum(header: Record<string, unknown>, data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(header)).update(data).digest('hex')}`;
}

function floatBytes(data: Float32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/**
 * Writes tensors (in the given order, contiguous) with `metadata`; a `checksum` entry over the
 * header and the data section is added. The same inputs always give the same bytes.
 */
export function encodeSafetensors(tensors: [string, Tensor][], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    const bytes = floatBytes(t.data);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    parts.push(bytes);
  }
  const data = Buffer.concat(parts);
  const sum = checksum({ __metadata__: metadata, ...header }, data);
  const json = JSON.stringify({ __metadata__: { ...metadata, checksum: sum }, ...header });
  let headerBytes = Buffer.from(json, 'utf8');
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  headerBytes = Buffer.concat([headerBytes, Buffer.alloc(padded - headerBytes.length, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.length));
  return Buffer.concat([length, headerBytes, data]);
}

interface Entry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
  dtype: string;
}

function parseEntry(source: string, name: string, raw: unknown): Entry {
  const where = `tensor '${name}'`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw formatError(source, `${where} is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  // Own keys only: `in` would also take 'constructor' or 'toString' from Object.prototype for a dtype.
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    throw formatError(source, `${where} has unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw formatError(source, `${where} has a shape that is not a list of non-negative integers`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw formatError(source, `${where} has data_offsets that are not [begin, end] with 0 <= begin <= end`);
  }
  let bytes = DTYPE_BYTES[dtype];
  for (const d of shape as number[]) {
    bytes *= d;
    if (!Number.isSafeInteger(bytes)) throw formatError(source, `${where}: shape × dtype size overflows`);
  }
  if (bytes !== offsets[1] - offsets[0]) {
    throw formatError(source, `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes but data_offsets span ${offsets[1] - offsets[0]}`);
  }
  return { name, shape: shape as number[], begin: offsets[0], end: offsets[1], dtype };
}

/** Reads and checks a whole safetensors file held in memory. Only F32 tensors are returned. */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  if (bytes.byteLength < 8) throw formatError(source, `file of ${bytes.byteLength} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw formatError(source, `header length ${headerLength} exceeds the cap of ${MAX_HEADER_BYTES} bytes`);
  }
  const n = Number(headerLength);
  if (n > bytes.byteLength - 8) throw formatError(source, `header length ${n} runs past the end of the ${bytes.byteLength}-byte file`);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (e) {
    throw formatError(source, `header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw formatError(source, 'header is not a JSON object');

  const { __metadata__: rawMetadata, ...rawTensors } = header as Record<string, unknown>;
  if (typeof rawMetadata !== 'object' || rawMetadata === null || Array.isArray(rawMetadata)) {
    throw formatError(source, '__metadata__ is missing or not an object');
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawMetadata)) {
    if (typeof v !== 'string') throw formatError(source, `__metadata__.${k} is not a string`);
    metadata[k] = v;
  }

  const entries = Object.entries(rawTensors).map(([name, raw]) => parseEntry(source, name, raw));
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  let expected = 0;
  for (const e of entries) {
    if (e.begin !== expected) {
      throw formatError(source, `tensor '${e.name}' starts at byte ${e.begin} of the data, expected ${expected} (gap or overlap)`);
    }
    expected = e.end;
  }
  if (expected !== dataLength) {
    throw formatError(source, `tensors end at byte ${expected} of the data but the file holds ${dataLength} data bytes`);
  }

  const data = bytes.subarray(dataStart);
  if (metadata.checksum !== undefined) {
    const { checksum: stored, ...unsummed } = rawMetadata as Record<string, unknown>;
    if (stored !== checksum({ __metadata__: unsummed, ...rawTensors }, data)) {
      throw formatError(source, 'checksum of the header and tensor data does not match __metadata__.checksum');
    }
  }

  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    if (e.dtype !== 'F32') throw formatError(source, `tensor '${e.name}' is ${e.dtype}; this library reads F32`);
    // Uint8Array's slice, a copy at offset 0: a Buffer's slice is a view, which may start at an
    // offset that is not a multiple of 4 (a header of any length, a file cut from a larger buffer).
    const copy = Uint8Array.prototype.slice.call(data, e.begin, e.end);
    let values: Float32Array;
    if (littleEndian) {
      values = new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
    } else {
      const dv = new DataView(copy.buffer);
      values = Float32Array.from({ length: copy.byteLength / 4 }, (_, i) => dv.getFloat32(i * 4, true));
    }
    tensors.set(e.name, { shape: e.shape, data: values });
  }
  return { metadata, tensors };
}
