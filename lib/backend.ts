// What the library runs on (the CPU, or a GPU through the CUDA backend), and the threads setting.
import { native, type NativeBackendInfo } from './binding';
import { integer, knownKeys, objectArg, oneOf } from './validate';

/** Where a model's weights live and its computations run: 'cpu' (default), 'cuda', or 'auto' (CUDA when usable, else the CPU). */
export type BackendChoice = 'cpu' | 'cuda' | 'auto';
export const BACKENDS = ['cpu', 'cuda', 'auto'] as const;

/** Options of the `load` and `fromBuffer` methods of every model. */
export interface LoadOptions {
  /** Where the loaded model lives and runs (see BackendChoice). Default: NATIVE_AUTOENCODER_BACKEND, or 'cpu' where it is unset. */
  backend?: BackendChoice;
}

/**
 * @internal The backend that `load(path, options)` asks for, checked, or the default one: read before
 * the file's model is built, so that a bad NATIVE_AUTOENCODER_BACKEND is not taken for the file's fault.
 */
export function loadBackend(options: unknown): BackendChoice {
  if (options === undefined) return defaultBackend();
  const o = objectArg('options', options);
  knownKeys('options', o, ['backend']);
  return o.backend === undefined ? defaultBackend() : oneOf('options.backend', o.backend, BACKENDS);
}

/**
 * The backend of models that name none: NATIVE_AUTOENCODER_BACKEND ('cpu', 'cuda' or 'auto') where
 * it is set, else 'cpu'. (scripts/gpu-check.sh runs the whole test suite on the GPU this way.)
 */
export function defaultBackend(): BackendChoice {
  const chosen = process.env.NATIVE_AUTOENCODER_BACKEND;
  return chosen ? oneOf('NATIVE_AUTOENCODER_BACKEND', chosen, BACKENDS) : 'cpu';
}

/**
 * @internal The backend a model is created on: 'auto' becomes 'cuda' where backendInfo().cuda names
 * a device, else 'cpu' (backendInfo().cudaReason says why). 'cuda' without a usable GPU makes the
 * model's constructor throw ERR_CUDA_UNAVAILABLE.
 */
export function resolveBackend(name: string, value: unknown): 'cpu' | 'cuda' {
  const choice = value === undefined ? defaultBackend() : oneOf(name, value, BACKENDS);
  if (choice !== 'auto') return choice;
  return native.backendInfo().cuda ? 'cuda' : 'cpu';
}

/**
 * What the library runs on: `backend` ('cpu'); `blas`, the GEMM in use ('openblas' or 'builtin',
 * the library's own); `blasKernels`, OpenBLAS's kernel family for this CPU; `gemmReason`, why that
 * GEMM (OpenBLAS missing, AE_GEMM set, or OpenBLAS running generic kernels here), and whether the
 * products of fits on one thread (or split between threads) run on oneDNN's float32 matmul
 * primitives; `simd`, the widest
 * SIMD of the element-wise kernels ('avx512', 'avx2', 'neon' or 'scalar'); `threads`;
 * `flushDenormals`, whether denormals are flushed inside the library's compute threads; `mpi`,
 * whether this build can train data-parallel over MPI (see initDistributed); `bf16`, the kernels of
 * `precision: 'bf16'` fits (for example 'oneDNN matmul primitives (brgemm) on AMX-BF16 ...'), empty
 * where they are unavailable, and `bf16Reason`, why; `cuda`, the GPU that `backend: 'cuda'` runs on
 * (its name, memory and compute capability), empty where there is none, and `cudaReason`, why (a
 * build without CUDA, no driver, no device); `cudaBuilt`, whether this build has the CUDA backend;
 * `device`, the GPU this backend runs on (empty for the CPU), and `memoryFree`, its free memory in
 * bytes (0 for the CPU); `version`.
 */
export interface BackendInfo extends NativeBackendInfo {
  version: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

/**
 * What the library runs on: the CPU backend by default, or with 'cuda' the GPU backend (which throws
 * ERR_CUDA_UNAVAILABLE, saying why, where there is none).
 */
export function backendInfo(backend: 'cpu' | 'cuda' = 'cpu'): BackendInfo {
  return { ...native.backendInfo(oneOf('backend', backend, ['cpu', 'cuda'] as const)), version };
}

/** Sets the threads used by matrix products and the library's own parallel work (default: the number of cores). Refused while a fit runs. */
export function setThreads(threads: number): void {
  native.setThreads(integer('threads', threads, 1, 1024));
}

export function getThreads(): number {
  return native.backendInfo().threads;
}
