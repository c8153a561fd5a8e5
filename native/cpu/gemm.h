// Matrix products for the CPU backend: OpenBLAS's cblas_sgemm when it is loaded (see openblas.h),
// else the built-in cache-blocked GEMM on the vectorized micro-kernel of the kernel table.
#pragma once
#include <string>

#include "cpu/kernels.h"
#include "cpu/thread_pool.h"

namespace ae::cpu {

bool have_openblas();  // OpenBLAS was built in and loaded at run time
std::string blas_kernel_name();  // OpenBLAS's kernel family for this CPU (e.g. "SkylakeX"), or ""

// Which GEMM the CPU backend uses: the built-in one; OpenBLAS for the products whose size suits it
// (the backend sends middling ones to the built-in GEMM); or, with AE_GEMM=openblas, OpenBLAS for
// all. OpenBLAS is passed over where it runs generic pre-AVX2 kernels (an AVX-512 CPU it does not know,
// when OPENBLAS_CORETYPE was set by the user): the built-in AVX2/AVX-512 GEMM is several times faster
// then. AE_GEMM=builtin forces the built-in GEMM. `reason` says why.
enum class GemmChoice { Builtin, OpenBlasBySize, OpenBlasOnly };
GemmChoice choose_gemm(const KernelTable& kernels, std::string* reason);
// Whether OpenBLAS runs small products on small-matrix kernels of its own: 0.3.21 has them only in its
// SkylakeX family (SkylakeX, Cooperlake, SapphireRapids); elsewhere, Zen's among them, a small product
// is packed like a large one.
bool blas_has_small_matrix_kernels();
// OpenBLAS runs every call on the calling thread; large products are split across the library's own
// pool instead (see gemm). Its own threads, woken for each product, competed with the pool's for two
// cores, and the pool's threads could not wait for the next pass without taking a core from them.
void keep_blas_on_calling_thread();

// Products of fewer multiply-adds than this run on the calling thread alone: the built-in GEMM's
// serial path, and (through the CPU backend) OpenBLAS's single-threaded small-matrix kernels.
constexpr double kSerialGemmBelow = double(1 << 18);

// C = alpha · op(A) · op(B) + beta · C, row-major. From kSerialGemmBelow multiply-adds, C is cut
// into one band of rows (or columns) per thread of the pool, each band a product of its own.
void gemm(const KernelTable& kernels, ThreadPool* pool, bool trans_a, bool trans_b, long m, long n, long k,
          float alpha, const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc);

// The built-in GEMM alone (the fallback, and the reference that tests compare with OpenBLAS).
void builtin_gemm(const KernelTable& kernels, ThreadPool* pool, bool trans_a, bool trans_b, long m, long n, long k,
                  float alpha, const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc);

}  // namespace ae::cpu
