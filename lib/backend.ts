// What the library runs on, and the threads setting.
import { native, type NativeBackendInfo } from './binding';
import { integer } from './validate';

/**
 * What the library runs on: `backend` ('cpu'); `blas`, the GEMM in use ('openblas' or 'builtin',
 * the library's own); `blasKernels`, OpenBLAS's kernel family for this CPU; `gemmReason`, why that
 * GEMM (OpenBLAS missing, AE_GEMM set, or OpenBLAS running generic kernels here); `simd`, the widest
 * SIMD of the element-wise kernels ('avx512', 'avx2', 'neon' or 'scalar'); `threads`;
 * `flushDenormals`, whether denormals are flushed inside the library's compute threads; `mpi`,
 * whether this build can train data-parallel over MPI (see initDistributed); `bf16`, the kernels of
 * `precision: 'bf16'` fits (for example 'brg:avx512_core_amx_bf16'), empty where they are unavailable,
 * and `bf16Reason`, why; `version`.
 */
export interface BackendInfo extends NativeBackendInfo {
  version: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

export function backendInfo(): BackendInfo {
  return { ...native.backendInfo(), version };
}

/** Sets the threads used by matrix products and the library's own parallel work (default: the number of cores). Refused while a fit runs. */
export function setThreads(threads: number): void {
  native.setThreads(integer('threads', threads, 1, 1024));
}

export function getThreads(): number {
  return native.backendInfo().threads;
}
