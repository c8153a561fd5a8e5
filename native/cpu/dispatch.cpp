// Chooses the widest kernel table the CPU runs, once.
#include <cstdlib>
#include <cstring>

#include "cpu/kernels.h"

namespace ae::cpu {

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Avx512: return "avx512";
    case SimdLevel::Avx2: return "avx2";
    case SimdLevel::Scalar:
#if defined(__aarch64__)
      return "neon";
#else
      return "scalar";
#endif
  }
  return "scalar";
}

SimdLevel detect_simd_level() {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // The CPU first: building a table runs code compiled for its instruction set.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      avx512_kernels())
    return SimdLevel::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && avx2_kernels()) return SimdLevel::Avx2;
#endif
  return SimdLevel::Scalar;
}

bool cpu_has_avx512_core() {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

const KernelTable& kernels_for(SimdLevel level) {
  const SimdLevel available = detect_simd_level();
  if (int(level) > int(available)) level = available;
  if (level == SimdLevel::Avx512) return *avx512_kernels();
  if (level == SimdLevel::Avx2) return *avx2_kernels();
  return scalar_kernels();
}

const KernelTable& best_kernels() {
  static const KernelTable& table = [] () -> const KernelTable& {
    SimdLevel level = SimdLevel::Avx512;
    if (const char* forced = std::getenv("AE_SIMD")) {
      if (std::strcmp(forced, "scalar") == 0 || std::strcmp(forced, "neon") == 0) level = SimdLevel::Scalar;
      else if (std::strcmp(forced, "avx2") == 0) level = SimdLevel::Avx2;
    }
    return kernels_for(level);
  }();
  return table;
}

}  // namespace ae::cpu
