// `autoencoder info`: what this installation runs on (versions, GEMM, SIMD level, threads), the
// first thing to paste into a bug report.
import * as os from 'node:os';
import type { Command } from 'commander';
import { backendInfo, defaultBackend } from '../../backend';
import { addOutputModeOptions } from '../options';

/** The default backend, or why it has none: info reports a bad NATIVE_AUTOENCODER_BACKEND rather than failing. */
function defaultBackendOrWhyNot(): string {
  try {
    return defaultBackend();
  } catch (error) {
    return `none: ${(error as Error).message}`;
  }
}

export function registerInfo(program: Command): void {
  addOutputModeOptions(program.command('info').description('show versions, the matrix-product library, the SIMD level and the threads'))
    .action((options: { json?: boolean; quiet?: boolean }) => {
      const backend = backendInfo();
      const cpus = os.cpus();
      const info = {
        version: backend.version,
        node: process.version,
        napi: process.versions.napi,
        v8: process.versions.v8,
        platform: `${process.platform} ${process.arch}`,
        cpu: cpus[0]?.model.trim() ?? 'unknown',
        cores: cpus.length,
        backend: backend.backend,
        blas: backend.blas,
        blasKernels: backend.blasKernels,
        gemmReason: backend.gemmReason,
        simd: backend.simd,
        threads: backend.threads,
        flushDenormals: backend.flushDenormals,
        bf16: backend.bf16,
        bf16Reason: backend.bf16Reason,
        mpi: backend.mpi,
        // What models that name no backend run on (NATIVE_AUTOENCODER_BACKEND), and the GPU where there is one.
        defaultBackend: defaultBackendOrWhyNot(),
        cuda: backend.cuda,
        cudaBuilt: backend.cudaBuilt,
        cudaReason: backend.cudaReason,
      };
      if (options.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      if (options.quiet) return;
      const lines: [string, string][] = [
        ['native-autoencoder', info.version],
        ['node', `${info.node} (N-API ${info.napi}, V8 ${info.v8})`],
        ['platform', `${info.platform}, ${info.cores} cores, ${info.cpu}`],
        ['default backend', info.defaultBackend],
        ['GEMM', `${info.blas}${info.gemmReason ? ` (${info.gemmReason})` : ''}`],
        ['OpenBLAS kernels', info.blasKernels || 'none'],
        ['SIMD', info.simd],
        ['threads', String(info.threads)],
        ['denormals', info.flushDenormals ? 'flushed to zero' : 'kept'],
        ['bfloat16', info.bf16 || info.bf16Reason],
        ['MPI', info.mpi ? 'built in' : 'not built'],
        ['CUDA', info.cuda || info.cudaReason],
      ];
      const width = Math.max(...lines.map(([k]) => k.length));
      process.stdout.write(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');
    });
}
