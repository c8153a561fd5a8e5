// The CUDA backend, as the rest of the library sees it: no CUDA headers, so the binding and the
// builds without CUDA (native/cuda/cuda_absent.cpp) share this header.
#pragma once
#include <string>

#include "core/backend.h"

namespace ae::cuda {

struct CudaStatus {
  bool built = false;      // this binary was compiled with the CUDA backend
  bool available = false;  // and a usable GPU was found
  std::string device;      // the GPU's name, memory and compute capability, when available
  int ordinal = 0;         // the device chosen (AE_CUDA_DEVICE, default 0)
  bool tf32 = false;       // it has TF32 tensor cores (compute capability 8.0 or later)
  std::string reason;      // why the backend is unavailable: a build without CUDA, no driver, no device
};

// Probes once per process (the driver, the device count, the device's properties).
const CudaStatus& cuda_status();

// The process's CUDA backend, created on first use and shared by every model on the GPU. Throws
// ERR_CUDA_UNAVAILABLE, with cuda_status().reason, where there is none.
Backend& cuda_backend();

}  // namespace ae::cuda
