// The fallback GEMM where cuBLAS cannot be loaded: 32 × 32 tiles of C per block, each thread 4 × 1
// of them, staged through shared memory a K-slice at a time. Correct for any shape, transposes
// and leading dimensions; cuBLAS is several times faster.
#include "cuda/kernels.h"

namespace ae::cuda {

namespace {

constexpr int kTile = 32;
constexpr int kRowsPerThread = 4;

__global__ void tiled_gemm_kernel(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a,
                                  long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  __shared__ float a_tile[kTile][kTile + 1];
  __shared__ float b_tile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;  // 32 × 8 threads
  const long col = long(blockIdx.x) * kTile + tx;
  // Column tiles on x (up to 2^31 - 1 blocks); row tiles on y, looped where there are more than 65535.
  for (long row0 = long(blockIdx.y) * kTile; row0 < m; row0 += long(gridDim.y) * kTile) {
    float acc[kRowsPerThread] = {0, 0, 0, 0};
    for (long k0 = 0; k0 < k; k0 += kTile) {
      for (int j = 0; j < kRowsPerThread; ++j) {
        const int r = ty + j * (kTile / kRowsPerThread);
        const long row = row0 + r, ka = k0 + tx;  // A[row, ka] of op(A)
        a_tile[r][tx] = row < m && ka < k ? (trans_a ? a[ka * lda + row] : a[row * lda + ka]) : 0.0f;
        const long kb = k0 + r;  // B[kb, col] of op(B)
        b_tile[r][tx] = kb < k && col < n ? (trans_b ? b[col * ldb + kb] : b[kb * ldb + col]) : 0.0f;
      }
      __syncthreads();
      for (int kk = 0; kk < kTile; ++kk) {
        const float bv = b_tile[kk][tx];
        for (int j = 0; j < kRowsPerThread; ++j) acc[j] += a_tile[ty + j * (kTile / kRowsPerThread)][kk] * bv;
      }
      __syncthreads();
    }
    if (col >= n) continue;
    for (int j = 0; j < kRowsPerThread; ++j) {
      const long row = row0 + ty + j * (kTile / kRowsPerThread);
      if (row >= m) continue;
      float* out = c + row * ldc + col;
      *out = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * *out;
    }
  }
}

}  // namespace

void tiled_gemm(cudaStream_t stream, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a,
                long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  if (m <= 0 || n <= 0) return;
  const dim3 threads(kTile, kTile / kRowsPerThread);
  const long row_tiles = (m + kTile - 1) / kTile;
  const dim3 blocks(unsigned((n + kTile - 1) / kTile), unsigned(row_tiles < 65535 ? row_tiles : 65535));
  tiled_gemm_kernel<<<blocks, threads, 0, stream>>>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace ae::cuda
