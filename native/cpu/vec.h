// Vector traits: the few operations the element-wise kernels need, for the scalar path, AVX2 + FMA
// and AVX-512F. kernels_impl.h writes each kernel once against this interface. Included only by the
// kernels_*.cpp files, after they enable their instruction set; AE_ISA names a namespace of that
// file's own, so no inline function compiled for one instruction set is shared with another file.
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#ifndef AE_ISA
#error "define AE_ISA before including vec.h"
#endif

namespace ae::cpu::AE_ISA {

struct ScalarVec {
  static constexpr int W = 1;
  using F = float;
  using M = bool;
  static F zero() { return 0.0f; }
  static F set1(float v) { return v; }
  static F load(const float* p, long) { return *p; }
  static void store(float* p, F v, long) { *p = v; }
  // bfloat16: the top 16 bits rounded to nearest even; NaN stays a quiet NaN (as cpu/bf16.h, which
  // is not included here so that no inline function crosses instruction sets).
  static void store_bf16(uint16_t* p, F v, long) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    *p = (bits & 0x7FFFFFFFu) > 0x7F800000u ? uint16_t((bits >> 16) | 0x0040u)
                                            : uint16_t((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
  }
  static M active(long) { return true; }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F approx_reciprocal(F a) { return 1.0f / a; }
  static F fmadd(F a, F b, F c) { return std::fma(a, b, c); }
  static F max(F a, F b) { return a > b ? a : b; }  // returns b when a is NaN, like maxps
  static F min(F a, F b) { return a < b ? a : b; }
  static F abs(F a) { return std::fabs(a); }
  static F sqrt(F a) { return std::sqrt(a); }
  static M gt(F a, F b) { return a > b; }
  static M lt(F a, F b) { return a < b; }
  static M ge(F a, F b) { return a >= b; }
  static M eq(F a, F b) { return a == b; }
  static M isnan(F a) { return a != a; }
  static M mask_and(M a, M b) { return a && b; }
  static M mask_or(M a, M b) { return a || b; }
  static F select(M m, F a, F b) { return m ? a : b; }
  static F round(F a) { return std::nearbyint(a); }
  static F pow2n(F n) { return std::ldexp(1.0f, int(n)); }
  // x = mant · 2^exp with mant in [0.5, 1), for finite x > 0.
  static void frexp(F x, F& mant, F& exp) {
    int e;
    mant = std::frexp(x, &e);
    exp = float(e);
  }
  static float reduce_add(F a) { return a; }
  // out[o] = the sum of v[o]'s lanes, for four vectors at once.
  static void sum4(const F* v, float* out) {
    for (int o = 0; o < 4; ++o) out[o] = v[o];
  }
  static float reduce_max(F a) { return a; }
  static double reduce_add_double(F a) { return a; }
};

#if defined(__x86_64__) || defined(_M_X64)

#if defined(AE_KERNELS_AVX2)
struct Avx2Vec {
  static constexpr int W = 8;
  using F = __m256;
  using M = __m256;
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static __m256i lane_mask(long remaining) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(remaining < W ? remaining : W)), idx);
  }
  static F load(const float* p, long remaining) {
    return remaining >= W ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lane_mask(remaining));
  }
  static void store(float* p, F v, long remaining) {
    if (remaining >= W) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, lane_mask(remaining), v);
  }
  static M active(long remaining) { return _mm256_castsi256_ps(lane_mask(remaining)); }
  static F load_active(const float* p, M lanes) { return _mm256_maskload_ps(p, _mm256_castps_si256(lanes)); }
  static void store_active(float* p, F v, M lanes) { _mm256_maskstore_ps(p, _mm256_castps_si256(lanes), v); }
  // dst[j · ldd + i] = src[i · ld + j] for an 8 × 8 tile, in 24 shuffles: AMD's Zen cores run AVX2
  // gathers as microcode, and a W1 forward product's transpose by gathers took a quarter of its time.
  static constexpr bool kTransposesTiles = true;
  static void transpose_tile(const float* src, long ld, float* dst, long ldd) {
    F r[8], t[8], s[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      s[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; ++j) {
      _mm256_storeu_ps(dst + j * ldd, _mm256_permute2f128_ps(s[j], s[j + 4], 0x20));
      _mm256_storeu_ps(dst + (j + 4) * ldd, _mm256_permute2f128_ps(s[j], s[j + 4], 0x31));
    }
  }
  static void store_bf16(uint16_t* p, F v, long remaining) {
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i high = _mm256_srli_epi32(bits, 16);
    const __m256i up = _mm256_add_epi32(_mm256_and_si256(high, _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7FFF));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, up), 16);
    const __m256i quiet = _mm256_or_si256(high, _mm256_set1_epi32(0x40));
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    const __m256i halves = _mm256_blendv_epi8(rounded, quiet, nan);
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(halves), _mm256_extracti128_si256(halves, 1));
    if (remaining >= W) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), packed);
    } else {
      alignas(16) uint16_t lanes[W];
      _mm_store_si128(reinterpret_cast<__m128i*>(lanes), packed);
      std::memcpy(p, lanes, size_t(remaining) * sizeof(uint16_t));
    }
  }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F approx_reciprocal(F a) { return _mm256_rcp_ps(a); }  // 12 bits
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static M isnan(F a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M mask_and(M a, M b) { return _mm256_and_ps(a, b); }
  static M mask_or(M a, M b) { return _mm256_or_ps(a, b); }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
  static F round(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2n(F n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static void frexp(F x, F& mant, F& exp) {
    // Scale subnormals into the normal range first so the exponent field is meaningful.
    const M tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
    x = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(33554432.0f)), tiny);
    __m256i bits = _mm256_castps_si256(x);
    __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126));
    exp = _mm256_sub_ps(_mm256_cvtepi32_ps(e), _mm256_and_ps(tiny, _mm256_set1_ps(25.0f)));
    bits = _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(int(0x807fffff))), _mm256_set1_epi32(0x3f000000));
    mant = _mm256_castsi256_ps(bits);
  }
  static float reduce_add(F a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static void sum4(const F* v, float* out) {
    const F s = sum4_in_lanes(v);
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
  }
  // Within each 128-bit lane L: [Σ v[0].L, Σ v[1].L, Σ v[2].L, Σ v[3].L].
  static F sum4_in_lanes(const F* v) {
    const F ab = _mm256_add_ps(_mm256_unpacklo_ps(v[0], v[1]), _mm256_unpackhi_ps(v[0], v[1]));
    const F cd = _mm256_add_ps(_mm256_unpacklo_ps(v[2], v[3]), _mm256_unpackhi_ps(v[2], v[3]));
    return _mm256_add_ps(_mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  static float reduce_max(F a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static double reduce_add_double(F a) {
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1));
    __m256d s = _mm256_add_pd(lo, hi);
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
  }
};
#endif

#if defined(AE_KERNELS_AVX512)
struct Avx512Vec {
  static constexpr int W = 16;
  using F = __m512;
  using M = __mmask16;
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static M active(long remaining) {
    return remaining >= W ? M(0xFFFF) : M((1u << remaining) - 1u);
  }
  static F load(const float* p, long remaining) {
    return remaining >= W ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(active(remaining), p);
  }
  static void store(float* p, F v, long remaining) {
    if (remaining >= W) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, active(remaining), v);
  }
  static F load_active(const float* p, M lanes) { return _mm512_maskz_loadu_ps(lanes, p); }
  static void store_active(float* p, F v, M lanes) { _mm512_mask_storeu_ps(p, lanes, v); }
  static constexpr bool kTransposesTiles = false;  // transposes gather (see gather)
  // p[0], p[stride], ..., p[15 · stride]; 64-bit offsets, so any stride of a matrix in memory works.
  static F gather(const float* p, long stride) {
    const __m512i lanes = _mm512_setr_epi64(0, stride, 2 * stride, 3 * stride, 4 * stride, 5 * stride, 6 * stride,
                                            7 * stride);
    const __m256 lo = _mm512_i64gather_ps(lanes, p, 4);
    const __m256 hi = _mm512_i64gather_ps(lanes, p + 8 * stride, 4);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
  }
  static void store_bf16(uint16_t* p, F v, long remaining) {
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i high = _mm512_srli_epi32(bits, 16);
    const __m512i up = _mm512_add_epi32(_mm512_and_si512(high, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7FFF));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, up), 16);
    const __m512i quiet = _mm512_or_si512(high, _mm512_set1_epi32(0x40));
    const __m512i halves = _mm512_mask_blend_epi32(isnan(v), rounded, quiet);
    _mm512_mask_cvtepi32_storeu_epi16(p, active(remaining), halves);
  }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F approx_reciprocal(F a) { return _mm512_rcp14_ps(a); }  // 14 bits
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F abs(F a) { return _mm512_abs_ps(a); }
  static F sqrt(F a) { return _mm512_sqrt_ps(a); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M eq(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static M isnan(F a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M mask_and(M a, M b) { return M(a & b); }
  static M mask_or(M a, M b) { return M(a | b); }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }
  static F round(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2n(F n) { return _mm512_scalef_ps(_mm512_set1_ps(1.0f), n); }
  static void frexp(F x, F& mant, F& exp) {
    exp = _mm512_add_ps(_mm512_getexp_ps(x), _mm512_set1_ps(1.0f));
    mant = _mm512_getmant_ps(x, _MM_MANT_NORM_p5_1, _MM_MANT_SIGN_src);
  }
  static float reduce_add(F a) { return _mm512_reduce_add_ps(a); }
  static void sum4(const F* v, float* out) {
    const F ab = _mm512_add_ps(_mm512_unpacklo_ps(v[0], v[1]), _mm512_unpackhi_ps(v[0], v[1]));
    const F cd = _mm512_add_ps(_mm512_unpacklo_ps(v[2], v[3]), _mm512_unpackhi_ps(v[2], v[3]));
    // Within each 128-bit lane L: [Σ v[0].L, Σ v[1].L, Σ v[2].L, Σ v[3].L]; then the four lanes added.
    const F s = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m128 lo = _mm_add_ps(_mm512_castps512_ps128(s), _mm512_extractf32x4_ps(s, 1));
    const __m128 hi = _mm_add_ps(_mm512_extractf32x4_ps(s, 2), _mm512_extractf32x4_ps(s, 3));
    _mm_storeu_ps(out, _mm_add_ps(lo, hi));
  }
  static float reduce_max(F a) { return _mm512_reduce_max_ps(a); }
  static double reduce_add_double(F a) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  }
};
#endif

#endif  // x86-64

}  // namespace ae::cpu::AE_ISA
