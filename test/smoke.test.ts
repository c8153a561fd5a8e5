// The package loads through its public entry and reports its backend.
import { describe, expect, it } from 'vitest';
import { backendInfo } from 'native-autoencoder';

describe('backendInfo', () => {
  it('reports the CPU backend', () => {
    const info = backendInfo();
    expect(info.backend).toBe('cpu');
    expect(['openblas', 'builtin']).toContain(info.blas);
    expect(['avx512', 'avx2', 'neon', 'scalar']).toContain(info.simd);
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });
});
