// cuBLAS, loaded at run time with our own declarations of the few functions used, so that the build
// needs only nvcc and the CUDA runtime and the addon loads where cuBLAS is absent.
#pragma once
#include <string>

namespace ae::cuda {

struct CublasContext;
using CublasHandle = CublasContext*;
using StreamHandle = void*;  // cudaStream_t

// The functions used, as libcublas exports them (the _v2 API).
struct Cublas {
  int (*create)(CublasHandle* handle) = nullptr;
  int (*destroy)(CublasHandle handle) = nullptr;
  int (*set_stream)(CublasHandle handle, StreamHandle stream) = nullptr;
  int (*set_math_mode)(CublasHandle handle, int mode) = nullptr;
  int (*get_version)(CublasHandle handle, int* version) = nullptr;
  int (*sgemm)(CublasHandle handle, int trans_a, int trans_b, int m, int n, int k, const float* alpha,
               const float* a, int lda, const float* b, int ldb, const float* beta, float* c, int ldc) = nullptr;
  std::string library;  // the file loaded
};

constexpr int kCublasOpN = 0;
constexpr int kCublasOpT = 1;
constexpr int kCublasDefaultMath = 0;
constexpr int kCublasTf32TensorOpMath = 3;

// The loaded library, or null with `why` set: AE_CUBLAS_LIBRARY names a file to try first, then
// libcublas.so.13, .12 and .11 through the loader's search path and the CUDA toolkit's lib64.
const Cublas* load_cublas(std::string& why);

}  // namespace ae::cuda
