// Matrix products for the CPU backend: OpenBLAS's cblas_sgemm when it is loaded (see openblas.h),
// else the built-in cache-blocked GEMM on the vectorized micro-kernel of the kernel table.
#pragma once
#include <string>

#include "cpu/kernels.h"
#include "cpu/thread_pool.h"

namespace ae::cpu {

bool have_openblas();  // OpenBLAS was built in and loaded at run time
std::string blas_kernel_name();  // OpenBLAS's kernel family for this CPU (e.g. "SkylakeX"), or ""

// Whether matrix products should go through OpenBLAS rather than the built-in GEMM. OpenBLAS falls
// back to generic pre-AVX2 kernels on CPUs newer than its release (Debian 12's 0.3.21 runs
// "Prescott" kernels on 2023 Xeons), and then the built-in AVX2/AVX-512 GEMM is several times
// faster. AE_GEMM=openblas|builtin overrides the choice. `reason` says why.
bool prefer_openblas(const KernelTable& kernels, std::string* reason);
void set_blas_threads(int threads);

// C = alpha · op(A) · op(B) + beta · C, row-major.
void gemm(const KernelTable& kernels, ThreadPool* pool, bool trans_a, bool trans_b, long m, long n, long k,
          float alpha, const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc);

// The built-in GEMM alone (the fallback, and the reference that tests compare with OpenBLAS).
void builtin_gemm(const KernelTable& kernels, ThreadPool* pool, bool trans_a, bool trans_b, long m, long n, long k,
                  float alpha, const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc);

}  // namespace ae::cpu
