// float32 to bfloat16: the top 16 bits, rounded to nearest even; NaN stays NaN.
#pragma once
#include <cstdint>
#include <cstring>

namespace ae::cpu {

inline uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((bits >> 16) | 0x0040u);  // a quiet NaN
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

inline float from_bf16(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// Rows [r0, r1) of a rows × cols matrix with leading dimension ld, packed (leading dimension cols).
inline void pack_bf16(const float* src, long ld, long cols, long r0, long r1, uint16_t* dst) {
  for (long r = r0; r < r1; ++r) {
    const float* from = src + r * ld;
    uint16_t* to = dst + r * cols;
    for (long c = 0; c < cols; ++c) to[c] = to_bf16(from[c]);
  }
}

}  // namespace ae::cpu
