// Small prediction results carved from shared ArrayBuffers, as Node's Buffer.allocUnsafe carves
// small Buffers from its pool: V8 gives every new ArrayBuffer its own backing store, which it
// allocates, tracks and later sweeps, about 1.2 µs each here, as long as a one-row W1 prediction.
import { markAsUntransferable } from 'node:worker_threads';

/** Bytes in each shared buffer (Node's Buffer.poolSize). */
const POOL_BYTES = 8192;
/** Results of more bytes than this get an ArrayBuffer of their own. */
export const POOLED_MAX_BYTES = POOL_BYTES / 2;
/** Results start on 16-byte boundaries of the buffer, the alignment malloc gives the buffer itself. */
const ALIGN = 16;

let pool = new ArrayBuffer(0);
let used = 0;

/**
 * A Float32Array of `length` values for a result, viewing part of a shared buffer that no other
 * result views; undefined when the result is too large to pool (the caller makes its own array).
 * The shared buffers are marked untransferable, as Node's Buffer pool is, so that a transfer list
 * cannot detach the results around one (Node 18 and 20 copy such a buffer, later versions throw a
 * DataCloneError). `input`, the rows the addon reads while it writes the result, may lie in the
 * current pool (a previous result, as in decode(encode(x))); where it reaches into the part not yet
 * handed out, the pool is left for a new one, so that the result cannot overlap it. A detached pool
 * has no bytes left and is replaced the same way.
 */
export function pooledResult(length: number, input?: Float32Array): Float32Array | undefined {
  const bytes = length * Float32Array.BYTES_PER_ELEMENT;
  if (bytes === 0 || bytes > POOLED_MAX_BYTES) return undefined;
  const reachesAhead = input !== undefined && input.buffer === pool && input.byteOffset + input.byteLength > used;
  if (used + bytes > pool.byteLength || reachesAhead) {
    pool = new ArrayBuffer(POOL_BYTES);
    markAsUntransferable(pool);
    used = 0;
  }
  const view = new Float32Array(pool, used, length);
  used += Math.ceil(bytes / ALIGN) * ALIGN;
  return view;
}
