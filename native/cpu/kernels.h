// The table of element-wise kernels and the GEMM micro-kernel, one table per instruction set,
// chosen once at run time from the CPU's features.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/activation.h"
#include "core/loss.h"
#include "core/optimizer.h"

namespace ae::cpu {

enum class SimdLevel { Scalar, Avx2, Avx512 };
const char* simd_level_name(SimdLevel level);

struct KernelTable {
  SimdLevel level;
  void (*bias_activation_forward)(const ActivationSpec& act, const float* bias, float* z, float* y, long rows,
                                  long cols);
  void (*activation_backward)(const ActivationSpec& act, const float* z, const float* y, const float* dy, float* dz,
                              long rows, long cols);
  // db (cols) = Σ over rows of dz (rows ld apart); overwrites db.
  void (*bias_gradient)(const float* dz, long ld, float* db, long rows, long cols);
  double (*loss_forward_backward)(const LossSpec& loss, LossInput input, int group, const float* z, const float* y,
                                  const float* target, float* grad, long rows, long cols, float scale);
  double (*sum_squares)(const float* x, size_t n);
  void (*axpy)(float a, const float* x, float* y, size_t n);
  void (*multiply)(const float* x, const float* m, float* y, size_t n);
  // y = x rounded to bfloat16 (nearest even; NaN stays NaN).
  void (*round_bf16)(const float* x, uint16_t* y, size_t n);
  double (*l1_penalty)(const float* h, float* dh, float coeff, size_t n);
  // See Backend::optimizer_step.
  double (*optimizer_step)(const UpdateStep& step, const UpdateBuffers& buffers, size_t n);
  // Vector math, exposed for the accuracy tests.
  void (*exp)(const float* x, float* y, size_t n);
  void (*log)(const float* x, float* y, size_t n);
  void (*tanh)(const float* x, float* y, size_t n);
  // C[mr × nr] = alpha · Σ_k A[i, k] B[k, j] + beta · C, with A[i, k] at a[i · a_row + k · a_depth]
  // (a packed panel: a_row 1, a_depth gemm_mr; or A read in place: a_row lda, a_depth 1) and B a packed
  // panel (k-major groups of gemm_nr columns). Rows i ≥ mr of A are never read; beta == 0 never reads C.
  void (*gemm_micro)(long kc, const float* a, long a_row, long a_depth, const float* b, float* c, long ldc,
                     float alpha, float beta, long mr, long nr);
  int gemm_mr;
  int gemm_nr;
  // C = alpha · A · op(B) + beta · C straight from the operands, for a few rows of A (one-row
  // inference), where packing would cost as much as the product.
  void (*gemm_few_rows)(bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
                        long ldb, float beta, float* c, long ldc);
  // C = alpha · op(A) · op(B) + beta · C on the calling thread, unpacked, for products that fit in the
  // caches and have at least a vector's width of columns (W1's layers); null in the portable table.
  void (*gemm_small)(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
                     const float* b, long ldb, float beta, float* c, long ldc);
};

const KernelTable& scalar_kernels();
const KernelTable* avx2_kernels();    // null when not compiled for this architecture
const KernelTable* avx512_kernels();  // null when not compiled for this architecture

SimdLevel detect_simd_level();
// Whether the CPU has AVX-512 F, BW, DQ and VL: the subsets that OpenBLAS's SkylakeX kernels and
// oneDNN's avx512_core kernels use.
bool cpu_has_avx512_core();
// The widest table this CPU runs; AE_SIMD=scalar|avx2|avx512 narrows the choice (for tests).
const KernelTable& kernels_for(SimdLevel level);
const KernelTable& best_kernels();

}  // namespace ae::cpu
