// The AVX-512F kernels, compiled for that instruction set whatever the build's baseline, and
// used only when the CPU reports it.
#include "cpu/kernels_prelude.h"

#if defined(__x86_64__) || defined(_M_X64)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
// GCC 12's own avx512fintrin.h trips these on _mm512_undefined_ps; the warnings are not ours.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define AE_ISA avx512
#define AE_KERNELS_AVX512
#include "cpu/vec.h"
#include "cpu/kernels_impl.h"

namespace ae::cpu {
namespace {
KernelTable build_avx512_table() { return avx512::make_kernel_table<avx512::Avx512Vec>(SimdLevel::Avx512); }
}  // namespace
}  // namespace ae::cpu

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace ae::cpu {
const KernelTable* avx512_kernels() {
  static const KernelTable table = build_avx512_table();
  return &table;
}
}  // namespace ae::cpu

#else

namespace ae::cpu {
const KernelTable* avx512_kernels() { return nullptr; }
}  // namespace ae::cpu

#endif
