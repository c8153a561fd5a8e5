// Matrix products through oneDNN, loaded at run time (dlopen of libdnnl), so the addon loads where
// oneDNN is absent: bfloat16 ones where the CPU has AMX-BF16 or AVX512-BF16, and float32 ones of
// one thread on AVX-512 (see CpuBackend::gemm for which).
#pragma once
#include <cstdint>
#include <string>

namespace ae::cpu {

struct Bf16Support {
  bool available = false;
  std::string kernels;  // what runs the products, e.g. "oneDNN matmul primitives (brgemm) on AMX-BF16 ..."
  std::string reason;   // why bf16 is unavailable: no CPU support, no oneDNN in the build, or none found
};

// What bf16 support this machine and build have; the first call loads oneDNN.
const Bf16Support& bf16_support();

// C (m × n, float32, row-major, ldc) = op(A) · op(B), with A and B in bfloat16, row-major: op(A)
// is m × k (A stored k × m when trans_a), op(B) is k × n (B stored n × k when trans_b). Accumulates
// in float32. Products from 2^24 multiply-adds run on a oneDNN matmul primitive made for their shape
// on first use and kept (oneDNN 2.x); smaller ones on oneDNN's bf16 GEMM. Safe to call from several
// threads at once. Throws ERR_BF16_UNAVAILABLE where bf16_support() is not available.
void bf16_matmul(bool trans_a, bool trans_b, long m, long n, long k, const uint16_t* a, long lda, const uint16_t* b,
                 long ldb, float* c, long ldc, int threads);

// Whether try_f32_matmul can run: oneDNN 2.x loaded, its kernels on AVX-512 (where its brgemm
// kernels were measured), and no primitive has failed to be made.
bool f32_matmul_available();

// C (m × n, row-major, ldc) = op(A) · op(B), all float32 and laid out as for bf16_matmul, on the
// calling thread, on a oneDNN matmul primitive made for the shape on first use (0.1-4 ms of JIT)
// and kept: for products whose shapes repeat, as a fit's do. Returns false, having done nothing,
// where f32_matmul_available() is false.
bool try_f32_matmul(bool trans_a, bool trans_b, long m, long n, long k, const float* a, long lda, const float* b,
                    long ldb, float* c, long ldc);

}  // namespace ae::cpu
