// The CUDA backend's element-wise stages and reductions, each one pass over memory on `stream`.
// The per-element formulas are the CPU reference's own (core/activation.h, loss.h, optimizer.h,
// marked AE_HOST_DEVICE). Reductions add into *sum (device memory, which the caller zeroes) in double.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "core/activation.h"
#include "core/loss.h"
#include "core/optimizer.h"

namespace ae::cuda {

void bias_activation_forward(cudaStream_t stream, const ActivationSpec& act, const float* bias, float* z, float* y,
                             long rows, long cols);
void activation_backward(cudaStream_t stream, const ActivationSpec& act, const float* z, const float* y,
                         const float* dy, float* dz, long rows, long cols);
void bias_gradient(cudaStream_t stream, const float* dz, float* db, long rows, long cols);
void loss_forward_backward(cudaStream_t stream, const LossSpec& loss, LossInput input, int group, const float* z,
                           const float* y, const float* target, float* grad, long rows, long cols, float scale,
                           double* sum);
void sum_squares(cudaStream_t stream, const float* x, size_t n, double* sum);
void axpy(cudaStream_t stream, float a, const float* x, float* y, size_t n);
void multiply(cudaStream_t stream, const float* x, const float* m, float* y, size_t n);
void l1_penalty(cudaStream_t stream, const float* h, float* dh, float coeff, size_t n, double* sum);
void optimizer_step(cudaStream_t stream, const UpdateStep& step, float* w, const float* grad, float* s1, float* s2,
                    size_t n);

// C = alpha · op(A) · op(B) + beta · C, row-major, with shared-memory tiles: the fallback where
// cuBLAS cannot be loaded. C is not read when beta is 0.
void tiled_gemm(cudaStream_t stream, bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a,
                long lda, const float* b, long ldb, float beta, float* c, long ldc);

}  // namespace ae::cuda
