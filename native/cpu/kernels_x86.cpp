// The AVX2 + FMA and AVX-512F kernels, each compiled for its instruction set whatever the build's
// baseline, and used only when the CPU reports it (see dispatch.cpp).
#include "cpu/kernels_prelude.h"

#if defined(__x86_64__) || defined(_M_X64)

// ---- AVX2 + FMA --------------------------------------------------------------------------------
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define AE_ISA avx2
#define AE_KERNELS_AVX2
#include "cpu/vec.h"
#include "cpu/kernels_impl.h"
namespace ae::cpu::avx2 {
static KernelTable build_table() { return make_kernel_table<Avx2Vec>(SimdLevel::Avx2); }
}  // namespace ae::cpu::avx2
#undef AE_KERNELS_AVX2
#undef AE_ISA
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- AVX-512F ----------------------------------------------------------------------------------
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
namespace ae::cpu::avx512 {
static KernelTable build_table() { return make_kernel_table<Avx512Vec>(SimdLevel::Avx512); }
}  // namespace ae::cpu::avx512
#undef AE_KERNELS_AVX512
#undef AE_ISA
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace ae::cpu {
const KernelTable* avx2_kernels() {
  static const KernelTable table = avx2::build_table();
  return &table;
}
const KernelTable* avx512_kernels() {
  static const KernelTable table = avx512::build_table();
  return &table;
}
}  // namespace ae::cpu

#else

namespace ae::cpu {
const KernelTable* avx2_kernels() { return nullptr; }
const KernelTable* avx512_kernels() { return nullptr; }
}  // namespace ae::cpu

#endif
