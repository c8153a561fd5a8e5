// What the library runs on, and the threads setting.
import { native } from './binding';
import { integer } from './validate';

export interface BackendInfo {
  /** 'cpu' */
  backend: string;
  /** The GEMM in use: 'openblas', or 'builtin' (the library's own; see gemmReason). */
  blas: string;
  /** OpenBLAS's kernel family for this CPU, when it reports one. */
  blasKernels: string;
  /** Why that GEMM: OpenBLAS missing at build time, AE_GEMM set, or OpenBLAS running generic kernels on this CPU. */
  gemmReason: string;
  /** The widest SIMD the element-wise kernels use: 'avx512', 'avx2', 'neon' or 'scalar'. */
  simd: string;
  /** Threads for matrix products and the library's own parallel work. */
  threads: number;
  /** Whether denormals are flushed to zero inside the library's compute threads. */
  flushDenormals: boolean;
  /** The package version. */
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
