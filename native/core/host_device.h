// Marks the scalar reference functions that CUDA kernels call too, so that the GPU computes each
// element with the same formula as the CPU reference the tests check; plain C++ elsewhere.
#pragma once

#if defined(__CUDACC__)
#define AE_HOST_DEVICE __host__ __device__
#else
#define AE_HOST_DEVICE
#endif
