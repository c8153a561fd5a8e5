// Builds without CUDA (node-gyp's default build, and cmake-js without AE_CUDA=ON): the backend is
// unavailable, and the reason says how to build it.
#include "core/errors.h"
#include "cuda/cuda_backend.h"

namespace ae::cuda {

const CudaStatus& cuda_status() {
  static const CudaStatus status = [] {
    CudaStatus s;
    s.reason = "this build has no CUDA backend: rebuild with it (npm run build:cuda, which needs the CUDA toolkit's "
               "nvcc; or cmake-js with --CDAE_CUDA=ON)";
    return s;
  }();
  return status;
}

Backend& cuda_backend() {
  throw Error(ErrorKind::State, "ERR_CUDA_UNAVAILABLE", "backend 'cuda' is unavailable: " + cuda_status().reason);
}

}  // namespace ae::cuda
