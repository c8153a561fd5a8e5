// OpenBLAS, loaded at run time: the addon links no BLAS, so a prebuilt binary loads on machines
// without OpenBLAS (and trains with the built-in GEMM there). We declare the few entry points used.
#pragma once
#include <string>

namespace ae::cpu {

struct OpenBlas {
  // cblas_sgemm with CBLAS's enum values passed as ints (RowMajor 101, NoTrans 111, Trans 112).
  void (*sgemm)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc);
  void (*set_num_threads)(int threads);
  int (*get_num_threads)();
  char* (*get_corename)();
};

constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
constexpr int kCblasTrans = 112;

// The loaded library, or null when the build excluded OpenBLAS or no library could be loaded
// (AE_OPENBLAS_LIBRARY names the only library to try). Loaded once.
const OpenBlas* openblas();
// Why openblas() is null.
const std::string& openblas_unavailable_reason();
// The kernel family the library asked OpenBLAS for (OPENBLAS_CORETYPE while it loaded), or empty
// where OpenBLAS chose by itself.
const std::string& openblas_requested_core();

}  // namespace ae::cpu
