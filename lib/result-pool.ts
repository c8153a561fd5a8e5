// Small prediction results carved from shared ArrayBuffers, as Node's Buffer.allocUnsafe carves
// small Buffers from its pool: V8 gives every new ArrayBuffer its own backing store, which it
// allocates, tracks and later sweeps, about 1.2 µs each here, as long as a one-row W1 prediction.
import { markAsUntransferable } from 'node:worker_threads';

/** Bytes in each shared buffer (Node's Buffer.poolSize). */
const POOL_BYTES = 8192;
/** Results of more bytes than this get an ArrayBuffer of their own. */
export const POOLED_MAX_BYTES = POOL_BYTES / 2;
/** Each result starts on a 64-byte line, so no two results share a cache line. */
const ALIGN = 64;

let pool = new ArrayBuffer(0);
let used = 0;

/**
 * A Float32Array of `length` values for a result, viewing part of a shared buffer that no other
 * result views; undefined when the result is too large to pool (the caller makes its own array).
 * The shared buffers are marked untransferable, so a transfer list copies them instead of detaching
 * the results around them; one detached anyway (ArrayBuffer.prototype.transfer) is replaced.
 */
export function pooledResult(length: number): Float32Array | undefined {
  const bytes = length * Float32Array.BYTES_PER_ELEMENT;
  if (bytes === 0 || bytes > POOLED_MAX_BYTES) return undefined;
  if (used + bytes > pool.byteLength) {
    pool = new ArrayBuffer(POOL_BYTES);
    markAsUntransferable(pool);
    used = 0;
  }
  const view = new Float32Array(pool, used, length);
  used += Math.ceil(bytes / ALIGN) * ALIGN;
  return view;
}
