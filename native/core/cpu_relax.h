// The hint a spinning thread gives the CPU on each turn of its wait loop (x86 pause, Arm yield):
// it saves power and leaves the core's other hyper-thread room to run.
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace ae {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

}  // namespace ae
