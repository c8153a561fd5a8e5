// bfloat16 matrix products: the rounding, and every layer product of W1-W3 (forward, weight
// gradient, input gradient) against a float64 product of the rounded operands and against float32.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <thread>

#include "core/errors.h"
#include "cpu/bf16.h"
#include "cpu/cpu_backend.h"
#include "cpu/onednn.h"
#include "test_util.h"

namespace ae {
namespace {

TEST(Bf16, RoundsToNearestEvenAndKeepsSpecialValues) {
  EXPECT_EQ(cpu::to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(cpu::to_bf16(-2.0f), 0xC000);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa, 1.
  EXPECT_EQ(cpu::to_bf16(1.0f + 0x1p-8f), 0x3F80);
  EXPECT_EQ(cpu::to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81);
  EXPECT_EQ(cpu::to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);  // halfway again, up to even
  EXPECT_EQ(cpu::to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_TRUE(std::isnan(cpu::from_bf16(cpu::to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(cpu::from_bf16(cpu::to_bf16(-std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(cpu::from_bf16(cpu::to_bf16(-0.0f)), 0.0f);
  EXPECT_TRUE(std::signbit(cpu::from_bf16(cpu::to_bf16(-0.0f))));
  // The largest float rounds up past bfloat16's largest finite value, to infinity, as IEEE rounding does.
  EXPECT_EQ(cpu::to_bf16(std::numeric_limits<float>::max()), 0x7F80);
}

struct Shape {
  long units, inputs;
};

// op(A) · op(B) in float64 from the bf16-rounded operands, row-major.
std::vector<double> rounded_product(bool ta, bool tb, long m, long n, long k, const std::vector<float>& a, long lda,
                                    const std::vector<float>& b, long ldb) {
  std::vector<double> c(size_t(m * n));
  for (long i = 0; i < m; ++i)
    for (long p = 0; p < k; ++p) {
      const double av = cpu::from_bf16(cpu::to_bf16(ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]));
      for (long j = 0; j < n; ++j)
        c[size_t(i * n + j)] += av * cpu::from_bf16(cpu::to_bf16(tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]));
    }
  return c;
}

void check_product(cpu::CpuBackend& be, bool ta, bool tb, long m, long n, long k, Rng& rng) {
  const long a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
  const std::vector<float> a = test::to_float(test::uniform(rng, size_t(a_rows * a_cols), -1.0, 1.0));
  const std::vector<float> b = test::to_float(test::uniform(rng, size_t(b_rows * b_cols), -1.0, 1.0));
  std::vector<float> c16(size_t(m * n)), c32(size_t(m * n));
  std::vector<uint16_t> a16(a.size()), b16(b.size());
  be.round_bf16(a.data(), a_rows, a_cols, a_cols, a16.data());
  be.round_bf16(b.data(), b_rows, b_cols, b_cols, b16.data());
  be.gemm_bf16(ta, tb, m, n, k, a16.data(), a_cols, b16.data(), b_cols, c16.data(), n);
  be.gemm(ta, tb, m, n, k, 1.0f, a.data(), a_cols, b.data(), b_cols, 0.0f, c32.data(), n);
  const std::vector<double> exact = rounded_product(ta, tb, m, n, k, a, a_cols, b, b_cols);
  SCOPED_TRACE("op(A) " + std::to_string(m) + " x " + std::to_string(k) + (ta ? " (transposed)" : "") + ", op(B) " +
               std::to_string(k) + " x " + std::to_string(n) + (tb ? " (transposed)" : ""));
  // The products of rounded operands are exact in float32; only the float32 sums round.
  EXPECT_LT(test::norm_rel_error(test::to_double(c16), exact), 1e-5);
  EXPECT_LT(test::norm_rel_error(test::to_double(c16), test::to_double(c32)), 1e-2);
}

TEST(Bf16, EveryLayerProductOfW1ToW3MatchesFloat64AndFloat32) {
  if (!cpu::bf16_support().available) GTEST_SKIP() << "no bf16 here: " << cpu::bf16_support().reason;
  cpu::CpuBackend be;
  Rng rng(3);
  // W1 100-32-32-32-100, W2 784-512-256-64-256-512-784, W3 4096-2048-256-2048-4096; 24 rows keep
  // the float64 reference quick (the batch only changes m).
  const Shape shapes[] = {{32, 100}, {32, 32}, {100, 32},  {512, 784},  {256, 512},   {64, 256},
                          {256, 64}, {784, 512}, {2048, 4096}, {256, 2048}, {2048, 256}, {4096, 2048}};
  const long rows = 24;
  for (const Shape& s : shapes) {
    check_product(be, false, true, rows, s.units, s.inputs, rng);   // Z = X · Wᵀ
    check_product(be, true, false, s.units, s.inputs, rows, rng);   // dW = dZᵀ · X
    check_product(be, false, false, rows, s.inputs, s.units, rng);  // dX = dZ · W
  }
}

// The backend cuts products from 2^18 multiply-adds into one band per thread, each a one-thread
// oneDNN product: bands of rows, or of columns where B (not transposed) is over 8 MB. Three threads
// make uneven bands; padded leading dimensions must be honoured and C's padding left alone.
TEST(Bf16, BackendProductsInBandsOfRowsAndColumnsMatchFloat64) {
  if (!cpu::bf16_support().available) GTEST_SKIP() << "no bf16 here: " << cpu::bf16_support().reason;
  cpu::CpuBackend be(3);
  Rng rng(9);
  struct Case {
    long m, n, k;
  };
  // 300 × 200 × 100: bands of rows; 40 × 2100 × 2048: B is 8.6 MB, bands of columns unless transposed.
  for (const Case& s : {Case{300, 200, 100}, Case{40, 2100, 2048}}) {
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        SCOPED_TRACE(std::to_string(s.m) + " x " + std::to_string(s.n) + " x " + std::to_string(s.k) +
                     (ta ? ", A transposed" : "") + (tb ? ", B transposed" : ""));
        const long a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k, b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;
        const long lda = a_cols + 3, ldb = b_cols + 5, ldc = s.n + 7;
        std::vector<float> a(size_t(a_rows * lda)), b(size_t(b_rows * ldb));
        for (auto& v : a) v = float(rng.uniform() * 2 - 1);
        for (auto& v : b) v = float(rng.uniform() * 2 - 1);
        std::vector<uint16_t> a16(a.size()), b16(b.size());
        be.round_bf16(a.data(), 1, long(a.size()), long(a.size()), a16.data());
        be.round_bf16(b.data(), 1, long(b.size()), long(b.size()), b16.data());
        std::vector<float> c(size_t(s.m * ldc), -7.0f);
        be.gemm_bf16(ta, tb, s.m, s.n, s.k, a16.data(), lda, b16.data(), ldb, c.data(), ldc);
        const std::vector<double> exact = rounded_product(ta, tb, s.m, s.n, s.k, a, lda, b, ldb);
        std::vector<double> got(size_t(s.m * s.n));
        bool padding_intact = true;
        for (long i = 0; i < s.m; ++i) {
          for (long j = 0; j < s.n; ++j) got[size_t(i * s.n + j)] = c[size_t(i * ldc + j)];
          for (long j = s.n; j < ldc; ++j) padding_intact = padding_intact && c[size_t(i * ldc + j)] == -7.0f;
        }
        EXPECT_LT(test::norm_rel_error(got, exact), 1e-5);
        EXPECT_TRUE(padding_intact) << "wrote between rows of C";
      }
    }
  }
}

// Weight gradients (Aᵀ·B) from 2^31 multiply-adds run on oneDNN's own threads instead of in bands:
// the same product as float32 sums of the rounded operands give, to float32 rounding.
TEST(Bf16, BackendLargeWeightGradientMatchesFloat32OfRoundedOperands) {
  if (!cpu::bf16_support().available) GTEST_SKIP() << "no bf16 here: " << cpu::bf16_support().reason;
  cpu::CpuBackend be(2);
  const long m = 1024, n = 2048, k = 1024, lda = m + 3, ldb = n + 5, ldc = n + 7;  // op(A) = Aᵀ
  ASSERT_GE(double(m) * double(n) * double(k), double(1L << 31));
  Rng rng(10);
  std::vector<uint16_t> a16(size_t(k * lda)), b16(size_t(k * ldb));
  std::vector<float> a(a16.size()), b(b16.size());
  for (size_t i = 0; i < a16.size(); ++i) a[i] = cpu::from_bf16(a16[i] = cpu::to_bf16(float(rng.uniform() * 2 - 1)));
  for (size_t i = 0; i < b16.size(); ++i) b[i] = cpu::from_bf16(b16[i] = cpu::to_bf16(float(rng.uniform() * 2 - 1)));
  std::vector<float> c16(size_t(m * ldc), -7.0f), c32(size_t(m * n));
  be.gemm_bf16(true, false, m, n, k, a16.data(), lda, b16.data(), ldb, c16.data(), ldc);
  be.gemm(true, false, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c32.data(), n);
  std::vector<double> got(size_t(m * n));
  bool padding_intact = true;
  for (long i = 0; i < m; ++i) {
    for (long j = 0; j < n; ++j) got[size_t(i * n + j)] = c16[size_t(i * ldc + j)];
    for (long j = n; j < ldc; ++j) padding_intact = padding_intact && c16[size_t(i * ldc + j)] == -7.0f;
  }
  EXPECT_LT(test::norm_rel_error(got, test::to_double(c32)), 1e-5);
  EXPECT_TRUE(padding_intact) << "wrote between rows of C";
}

// A product large enough for a matmul primitive (from 2^24 multiply-adds), with leading dimensions
// wider than the operands: the same result from the first call, a repeat on the cached primitive,
// and three threads running it at once (one primitive, each thread its own scratchpad).
TEST(Bf16, RepeatedAndConcurrentProductsAgreeBitForBit) {
  if (!cpu::bf16_support().available) GTEST_SKIP() << "no bf16 here: " << cpu::bf16_support().reason;
  const long m = 96, n = 640, k = 384, lda = m + 5, ldb = k + 3, ldc = n + 7;  // op(A) = Aᵀ, op(B) = Bᵀ
  ASSERT_GE(double(m) * double(n) * double(k), double(1L << 24));
  Rng rng(5);
  std::vector<uint16_t> a(size_t(k * lda)), b(size_t(n * ldb));
  for (auto& v : a) v = cpu::to_bf16(float(rng.uniform() * 2 - 1));
  for (auto& v : b) v = cpu::to_bf16(float(rng.uniform() * 2 - 1));
  auto product = [&](int threads) {
    std::vector<float> c(size_t(m * ldc), -7.0f);
    cpu::bf16_matmul(true, true, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, threads);
    return c;
  };
  const std::vector<float> first = product(2);
  const auto widen = [](const std::vector<uint16_t>& v) {
    std::vector<float> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = cpu::from_bf16(v[i]);
    return out;
  };
  const std::vector<double> exact = rounded_product(true, true, m, n, k, widen(a), lda, widen(b), ldb);
  std::vector<double> got(size_t(m * n));
  for (long i = 0; i < m; ++i)
    for (long j = 0; j < n; ++j) got[size_t(i * n + j)] = first[size_t(i * ldc + j)];
  EXPECT_LT(test::norm_rel_error(got, exact), 1e-5);
  for (long i = 0; i < m; ++i)
    for (long j = n; j < ldc; ++j) ASSERT_EQ(first[size_t(i * ldc + j)], -7.0f) << "wrote between rows";
  EXPECT_EQ(product(2), first);
  std::vector<std::vector<float>> results(3);
  std::vector<std::thread> workers;
  for (auto& r : results) workers.emplace_back([&r, &product] { r = product(2); });
  for (auto& w : workers) w.join();
  for (const auto& r : results) EXPECT_EQ(r, first);
}

// A primitive keeps the thread count of its making, so a product on another thread count needs one
// of its own (the 2048³ product on two threads once ran at the one-thread rate after a one-thread
// run). Counted from oneDNN's verbose log of the primitives it makes.
TEST(Bf16, EachThreadCountGetsItsOwnPrimitive) {
  const cpu::Bf16Support& support = cpu::bf16_support();
  if (!support.available) GTEST_SKIP() << "no bf16 here: " << support.reason;
  if (support.kernels.find("matmul primitives") == std::string::npos) GTEST_SKIP() << "no matmul primitives here";
  void* library = nullptr;
  for (const char* name : {"libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"})
    if (!library) library = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
  const auto set_verbose = library ? reinterpret_cast<int (*)(int)>(dlsym(library, "dnnl_set_verbose")) : nullptr;
  if (!set_verbose) {
    if (library) dlclose(library);
    GTEST_SKIP() << "the oneDNN loaded has no dnnl_set_verbose";
  }
  const long m = 264, n = 272, k = 256;  // a shape no other test uses, from 2^24 multiply-adds
  ASSERT_GE(double(m) * double(n) * double(k), double(1L << 24));
  std::vector<uint16_t> a(size_t(m * k), cpu::to_bf16(0.5f)), b(size_t(k * n), cpu::to_bf16(0.25f));
  std::vector<float> c(size_t(m * n));
  testing::internal::CaptureStdout();
  set_verbose(2);
  for (int threads : {1, 2, 1, 2}) cpu::bf16_matmul(false, false, m, n, k, a.data(), k, b.data(), n, c.data(), n, threads);
  set_verbose(0);
  std::fflush(stdout);
  const std::string log = testing::internal::GetCapturedStdout();
  dlclose(library);
  // Lines begin with onednn_verbose (dnnl_verbose in older versions); from 3.x a primitive's
  // lines carry more fields before create: and exec.
  size_t made = 0, ran = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("onednn_verbose,", 0) != 0 && line.rfind("dnnl_verbose,", 0) != 0) continue;
    made += line.find(",create:") != std::string::npos;
    ran += line.find(",exec,") != std::string::npos;
  }
  EXPECT_EQ(made, 2u) << log;
  EXPECT_EQ(ran, 4u) << log;
  for (float v : c) ASSERT_EQ(v, 0.125f * float(k));
}

TEST(Bf16, UnavailableProductsSaySo) {
  if (cpu::bf16_support().available) GTEST_SKIP() << "bf16 is available here: " << cpu::bf16_support().kernels;
  cpu::CpuBackend be;
  const uint16_t a = cpu::to_bf16(1.0f), b = cpu::to_bf16(1.0f);
  float c = 0;
  try {
    be.gemm_bf16(false, false, 1, 1, 1, &a, 1, &b, 1, &c, 1);
    FAIL() << "expected ERR_BF16_UNAVAILABLE";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "ERR_BF16_UNAVAILABLE");
    EXPECT_NE(std::string(e.what()).find(cpu::bf16_support().reason), std::string::npos);
  }
}

}  // namespace
}  // namespace ae
