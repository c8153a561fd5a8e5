// Every matrix-product path (built-in GEMM per kernel table, few-row kernels, ae::cpu::gemm, CpuBackend)
// against float64 on odd shapes, all transposes, padded strides, and beta = 0 over NaN garbage.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>

#include "core/reference.h"
#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"
#include "cpu/onednn.h"
#include "cpu/openblas.h"
#include "test_util.h"

namespace ae {
namespace {

constexpr long kPad = 3;  // leading dimensions exceed the minimum by this much
constexpr float kAlpha = 0.7f;

struct Problem {
  bool trans_a, trans_b;
  long m, n, k, lda, ldb, ldc;
  float alpha, beta;
  std::vector<float> a, b, c;     // c: the initial C, NaN wherever it must not be read
  std::vector<double> expected;   // alpha · op(A) · op(B) + beta · C in double
  std::vector<double> tolerance;  // per element of C
};

// Fills a stored matrix of rows × cols with leading dimension ld; the padding holds NaN so that a
// kernel reading it shows.
std::vector<float> padded(Rng& rng, long rows, long cols, long ld) {
  std::vector<float> v(size_t(rows * ld), NAN);
  for (long r = 0; r < rows; ++r)
    for (long c = 0; c < cols; ++c) v[size_t(r * ld + c)] = float(2 * rng.uniform() - 1);
  return v;
}

Problem make_problem(bool ta, bool tb, long m, long n, long k, float beta, Rng& rng, float alpha = kAlpha) {
  Problem p{ta, tb, m, n, k, (ta ? m : k) + kPad, (tb ? k : n) + kPad, n + kPad, alpha, beta, {}, {}, {}, {}, {}};
  p.a = padded(rng, ta ? k : m, ta ? m : k, p.lda);
  p.b = padded(rng, tb ? n : k, tb ? k : n, p.ldb);
  p.c = padded(rng, m, n, p.ldc);
  if (beta == 0.0f) std::fill(p.c.begin(), p.c.end(), NAN);

  const std::vector<double> a = test::to_double(p.a), b = test::to_double(p.b);
  p.expected = test::to_double(p.c);
  ref::gemm<double>(ta, tb, m, n, k, p.alpha, a.data(), p.lda, b.data(), p.ldb, beta, p.expected.data(), p.ldc);
  // Rounding bound of a float dot product of length k plus the scaling: (k + 4) u · (|alpha| Σ|a||b| + |beta c|).
  std::vector<double> abs_a(a.size()), abs_b(b.size());
  for (size_t i = 0; i < a.size(); ++i) abs_a[i] = std::fabs(a[i]);
  for (size_t i = 0; i < b.size(); ++i) abs_b[i] = std::fabs(b[i]);
  p.tolerance = test::to_double(p.c);
  for (double& v : p.tolerance) v = std::fabs(v);
  ref::gemm<double>(ta, tb, m, n, k, std::fabs(p.alpha), abs_a.data(), p.lda, abs_b.data(), p.ldb, std::fabs(beta),
                    p.tolerance.data(), p.ldc);
  for (double& v : p.tolerance) v *= double(k + 4) * 0x1p-24;
  return p;
}

using GemmFn = std::function<void(const Problem&, float*)>;

// Checks every element of C against the bound and that the padding of C is untouched.
void check(const Problem& p, const GemmFn& run, const std::string& what) {
  std::vector<float> c = p.c;
  run(p, c.data());
  long bad = 0;
  for (long i = 0; i < p.m; ++i) {
    for (long j = 0; j < p.ldc; ++j) {
      const size_t at = size_t(i * p.ldc + j);
      const bool ok = j < p.n ? std::fabs(double(c[at]) - p.expected[at]) <= p.tolerance[at]
                              : test::same_bits(c[at], p.c[at]);
      if (!ok && bad++ < 3)
        ADD_FAILURE() << what << " ta=" << p.trans_a << " tb=" << p.trans_b << " m=" << p.m << " n=" << p.n
                      << " k=" << p.k << " beta=" << p.beta << " at (" << i << ", " << j << "): got " << c[at]
                      << (j < p.n ? " expected " + std::to_string(p.expected[at]) : std::string(" in the padding"));
    }
  }
}

// Every m from `rows` with n, k in {1, 7, 33, 257}, each transpose (A untransposed only when
// `trans_a` is false) and beta 0.3 or 0.
void for_each_problem(const std::vector<long>& rows, bool trans_a, const std::function<void(const Problem&)>& fn) {
  Rng rng(61);
  const long sizes[] = {1, 7, 33, 257};
  for (long m : rows)
    for (long n : sizes)
      for (long k : sizes)
        for (int t = 0; t < (trans_a ? 4 : 2); ++t)
          for (float beta : {0.3f, 0.0f}) fn(make_problem(t & 2, t & 1, m, n, k, beta, rng));
}

const std::vector<long> kAllRows = {1, 7, 33, 257};

GemmFn builtin(const cpu::KernelTable& kt, cpu::ThreadPool* pool) {
  return [&kt, pool](const Problem& p, float* c) {
    cpu::builtin_gemm(kt, pool, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb,
                      p.beta, c, p.ldc);
  };
}

class KernelGemm : public ::testing::TestWithParam<cpu::SimdLevel> {
 protected:
  const cpu::KernelTable& kt() const { return cpu::kernels_for(GetParam()); }
};

TEST_P(KernelGemm, BuiltinSerialAndThreadedMatchFloat64Product) {
  cpu::ThreadPool pool(2);
  const GemmFn serial = builtin(kt(), nullptr), threaded = builtin(kt(), &pool);
  for_each_problem(kAllRows, true, [&](const Problem& p) {
    check(p, serial, "serial");
    check(p, threaded, "threaded");
  });
}

TEST_P(KernelGemm, FewRowsMatchFloat64Product) {
  const cpu::KernelTable& table = kt();
  const GemmFn few_rows = [&table](const Problem& p, float* c) {
    table.gemm_few_rows(p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c, p.ldc);
  };
  for_each_problem({1, 2, 3, 4}, false, [&](const Problem& p) { check(p, few_rows, "few rows"); });
}

// The unpacked small GEMM on every shape, including those the backend keeps from it (fewer columns
// than a vector): column panels of one, two and three vectors with partial last vectors, row blocks
// with partial last blocks, A in both orientations, B transposed through the gather.
TEST_P(KernelGemm, SmallInPlaceMatchesFloat64Product) {
  const cpu::KernelTable& table = kt();
  if (table.level == cpu::SimdLevel::Scalar) {
    EXPECT_EQ(table.gemm_small, nullptr);
    return;
  }
  ASSERT_NE(table.gemm_small, nullptr);
  const GemmFn small = [&table](const Problem& p, float* c) {
    table.gemm_small(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c,
                     p.ldc);
  };
  for_each_problem({1, 7, 9, 13, 17, 33, 257}, true, [&](const Problem& p) { check(p, small, "small"); });
  Rng rng(63);
  for (long n : {16L, 32L, 48L, 49L, 64L, 100L})
    for (int t = 0; t < 4; ++t) check(make_problem(t & 2, t & 1, 64, n, 100, 0.0f, rng), small, "small W1-like");
}

INSTANTIATE_TEST_SUITE_P(EveryKernelTable, KernelGemm, ::testing::ValuesIn(test::simd_levels()), test::level_name);

// ae::cpu::gemm (OpenBLAS when loaded) and CpuBackend::gemm (which picks the few-row kernel,
// OpenBLAS or the built-in GEMM) are held to the same bound as the built-in GEMM, so all of them
// agree with each other to twice that bound.
TEST(Gemm, DispatchedGemmMatchesFloat64Product) {
  const cpu::KernelTable& kt = cpu::best_kernels();
  cpu::ThreadPool pool(2);
  const GemmFn dispatched = [&](const Problem& p, float* c) {
    cpu::gemm(kt, &pool, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta,
              c, p.ldc);
  };
  const char* what = cpu::have_openblas() ? "openblas" : "builtin";
  RecordProperty("blas", what);
  for_each_problem(kAllRows, true, [&](const Problem& p) { check(p, dispatched, what); });
}

TEST(Gemm, CpuBackendGemmMatchesFloat64Product) {
  cpu::CpuBackend be(2);
  const GemmFn backend = [&](const Problem& p, float* c) {
    be.gemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c, p.ldc);
  };
  for_each_problem({1, 4, 5, 33, 257}, true, [&](const Problem& p) { check(p, backend, "CpuBackend"); });
}

// Products from kOpenBlasLarge multiply-adds go to OpenBLAS in one band per thread of the pool: bands
// of rows, or of columns when C is wider than tall, none a multiple of the band unit.
TEST(Gemm, CpuBackendLargeProductsInBandsMatchFloat64Product) {
  cpu::CpuBackend be(2);
  const GemmFn backend = [&](const Problem& p, float* c) {
    be.gemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c, p.ldc);
  };
  Rng rng(64);
  for (const auto& [m, n, k] : {std::tuple{515L, 263L, 300L}, std::tuple{97L, 1201L, 350L}})
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.3f, 0.0f}) check(make_problem(t & 2, t & 1, m, n, k, beta, rng), backend, "bands");
}

// A fit's twin backends run products of 2^18 to 2^29 multiply-adds with alpha 1 and beta 0 on
// oneDNN's float32 primitives, bit for bit what try_f32_matmul gives, and others on OpenBLAS, bit
// for bit what it gives on one thread; all within the float64 bound. Shapes of W2's products on
// 128 rows, odd ones, and one of 2^29.
TEST(Gemm, FitTwinsRunMiddlingProductsOnOneDnn) {
  cpu::CpuBackend be(2);
  if (!be.onednn_takes_fit_products()) GTEST_SKIP() << "fits' products do not run on oneDNN here";
  const std::unique_ptr<Backend> twin = be.single_thread_twin();
  const GemmFn on_twin = [&](const Problem& p, float* c) {
    twin->gemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c, p.ldc);
  };
  const GemmFn on_onednn = [](const Problem& p, float* c) {
    ASSERT_TRUE(cpu::try_f32_matmul(p.trans_a, p.trans_b, p.m, p.n, p.k, p.a.data(), p.lda, p.b.data(), p.ldb, c,
                                    p.ldc));
  };
  const GemmFn on_openblas = [&](const Problem& p, float* c) {
    cpu::gemm(be.kernels(), nullptr, p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(),
              p.ldb, p.beta, c, p.ldc);
  };
  auto same_as = [&](const Problem& p, const GemmFn& reference, const char* what) {
    std::vector<float> from_twin = p.c, expected = p.c;
    on_twin(p, from_twin.data());
    reference(p, expected.data());
    EXPECT_TRUE(std::equal(from_twin.begin(), from_twin.end(), expected.begin(),
                           [](float x, float y) { return test::same_bits(x, y); }))
        << what << ": m=" << p.m << " n=" << p.n << " k=" << p.k << " ta=" << p.trans_a << " tb=" << p.trans_b
        << " beta=" << p.beta;
  };
  Rng rng(65);
  for (const auto& [m, n, k] : {std::tuple{128L, 512L, 784L}, std::tuple{512L, 784L, 128L},
                                std::tuple{128L, 64L, 256L}, std::tuple{97L, 301L, 513L}}) {
    for (int t = 0; t < 4; ++t) {
      const Problem fit_product = make_problem(t & 2, t & 1, m, n, k, 0.0f, rng, 1.0f);
      check(fit_product, on_twin, "twin");
      same_as(fit_product, on_onednn, "oneDNN");
      const Problem accumulating = make_problem(t & 2, t & 1, m, n, k, 0.3f, rng);
      check(accumulating, on_twin, "twin, beta 0.3");
      same_as(accumulating, on_openblas, "OpenBLAS, beta 0.3");
    }
  }
  const Problem large = make_problem(false, true, 512, 1024, 1024, 0.0f, rng, 1.0f);
  check(large, on_twin, "twin, 2^29 multiply-adds");
  same_as(large, on_openblas, "OpenBLAS, 2^29 multiply-adds");
}

// Other backends run products of rows (A not transposed) with alpha 1 and beta 0 on oneDNN too, as
// inference calls them, each thread's band of rows in chunks of 512, 256, ... 16 rows, the rows
// left over on OpenBLAS: within the float64 bound at any row count (77 rows on two threads stay whole
// on OpenBLAS: too small to cut); the first rows of 1,000 bit for bit a oneDNN product of the first
// chunk's rows (512 on one thread; on two, the first thread's band of 496 rows starts with 256), and
// on one thread the last rows of 1,000 (after 512 + 256 + 128 + 64 + 32) bit for bit OpenBLAS on
// those 8 rows.
TEST(Gemm, RowsOfOtherProductsRunInChunksOfFixedCountsOnOneDnn) {
  constexpr long kN = 512, kK = 784;
  for (int threads : {1, 2}) {
    cpu::CpuBackend be(threads);
    if (!be.onednn_takes_fit_products()) GTEST_SKIP() << "float32 products do not run on oneDNN here";
    const GemmFn backend = [&](const Problem& p, float* c) {
      be.gemm(p.trans_a, p.trans_b, p.m, p.n, p.k, p.alpha, p.a.data(), p.lda, p.b.data(), p.ldb, p.beta, c, p.ldc);
    };
    Rng rng(66);
    for (long m : {1000L, 523L, 77L}) {
      for (bool trans_b : {false, true}) {
        const Problem p = make_problem(false, trans_b, m, kN, kK, 0.0f, rng, 1.0f);
        check(p, backend, threads == 1 ? "rows in chunks, one thread" : "rows in chunks, two threads");
        if (m != 1000) continue;
        std::vector<float> whole = p.c, first = p.c, last = p.c;
        backend(p, whole.data());
        const long first_chunk = threads == 1 ? 512 : 256;
        ASSERT_TRUE(cpu::try_f32_matmul(false, trans_b, first_chunk, kN, kK, p.a.data(), p.lda, p.b.data(), p.ldb,
                                        first.data(), p.ldc));
        const long from = m - 8;
        cpu::gemm(be.kernels(), nullptr, false, trans_b, m - from, kN, kK, 1.0f, p.a.data() + from * p.lda, p.lda,
                  p.b.data(), p.ldb, 0.0f, last.data() + from * p.ldc, p.ldc);
        const auto same_rows = [&](const std::vector<float>& expected, long r0, long r1) {
          return std::equal(whole.begin() + r0 * p.ldc, whole.begin() + r1 * p.ldc, expected.begin() + r0 * p.ldc,
                            [](float x, float y) { return test::same_bits(x, y); });
        };
        EXPECT_TRUE(same_rows(first, 0, first_chunk)) << "the first " << first_chunk << " rows, trans_b=" << trans_b;
        if (threads == 1) EXPECT_TRUE(same_rows(last, from, m)) << "the last 8 rows, trans_b=" << trans_b;
      }
    }
  }
}

// OpenBLAS runs on the calling thread whatever a backend's thread count (the pool splits products
// instead).
TEST(Gemm, OpenBlasStaysOnTheCallingThread) {
  if (!cpu::have_openblas()) GTEST_SKIP() << "no OpenBLAS here";
  const auto blas_threads = [] { return cpu::openblas()->get_num_threads(); };
  cpu::CpuBackend two(2);
  EXPECT_EQ(blas_threads(), 1);
  cpu::CpuBackend one(1);
  one.set_threads(3);
  EXPECT_EQ(blas_threads(), 1);
}

// Every task of every region runs exactly once, with more tasks than threads, in regions that
// follow each other closely and after the workers have gone to sleep, from two calling threads.
TEST(ThreadPool, RunsEveryTaskOnceInEveryRegion) {
  cpu::ThreadPool pool(3);
  std::vector<std::atomic<int>> runs(40);
  const auto region = [&](int tasks) {
    pool.run(tasks, [&](int i) { runs[size_t(i)].fetch_add(1, std::memory_order_relaxed); });
  };
  long expected_total = 0;
  for (int round = 0; round < 2000; ++round) {
    const int tasks = 1 + round % 40;
    region(tasks);
    expected_total += tasks;
    if (round % 500 == 499) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::thread other([&] {
    for (int round = 0; round < 500; ++round) region(7);
  });
  for (int round = 0; round < 500; ++round) region(5);
  other.join();
  expected_total += 500 * 7 + 500 * 5;
  long total = 0;
  for (int i = 0; i < 40; ++i) {
    const long expected = [&] {
      long n = 0;
      for (int round = 0; round < 2000; ++round) n += i < 1 + round % 40;
      return n + (i < 7 ? 500 : 0) + (i < 5 ? 500 : 0);
    }();
    EXPECT_EQ(runs[size_t(i)].load(), expected) << "task " << i;
    total += runs[size_t(i)].load();
  }
  EXPECT_EQ(total, expected_total);
}

// A task's exception reaches the caller once every task has ended (the others all run), the pool
// works on after it, and a task may run a region of its own (on its thread alone).
TEST(ThreadPool, PassesOnATasksExceptionAndAllowsNestedRegions) {
  cpu::ThreadPool pool(2);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::atomic<int>> runs(8);
    try {
      pool.run(8, [&](int i) {
        runs[size_t(i)].fetch_add(1);
        if (i == 3 || i == 6) throw std::runtime_error("task " + std::to_string(i));
      });
      FAIL() << "expected the task's exception";
    } catch (const std::runtime_error& e) {
      EXPECT_TRUE(std::string(e.what()) == "task 3" || std::string(e.what()) == "task 6") << e.what();
    }
    for (auto& r : runs) EXPECT_EQ(r.load(), 1);
  }
  std::atomic<int> inner{0};
  pool.run(2, [&](int) { pool.run(3, [&](int) { inner.fetch_add(1); }); });
  EXPECT_EQ(inner.load(), 6);
}

TEST(Gemm, EmptyProductOnlyScalesC) {
  Rng rng(62);
  for (cpu::SimdLevel level : test::simd_levels()) {
    SCOPED_TRACE(cpu::simd_level_name(level));
    const cpu::KernelTable& kt = cpu::kernels_for(level);
    const float a[1] = {NAN}, b[1] = {NAN};
    // k = 0: C = beta · C, and beta = 0 clears NaN garbage.
    std::vector<float> c = test::to_float(test::uniform(rng, 6, -1, 1)), expected = c;
    cpu::builtin_gemm(kt, nullptr, false, false, 2, 3, 0, kAlpha, a, 1, b, 3, 0.5f, c.data(), 3);
    for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c[i], 0.5f * expected[i]);
    std::fill(c.begin(), c.end(), NAN);
    cpu::builtin_gemm(kt, nullptr, false, false, 2, 3, 0, kAlpha, a, 1, b, 3, 0.0f, c.data(), 3);
    for (float v : c) EXPECT_EQ(v, 0.0f);
  }
}

// The small GEMM as BLAS: with k = 0 (whatever alpha, even NaN) or alpha = 0, A and B are not read
// (NaN there) and C becomes beta · C; beta = 0 clears NaN in C.
TEST(Gemm, SmallGemmWithoutProductOnlyScalesC) {
  std::vector<const cpu::KernelTable*> tables;
  for (cpu::SimdLevel level : test::simd_levels())
    if (cpu::kernels_for(level).gemm_small) tables.push_back(&cpu::kernels_for(level));
  if (tables.empty()) GTEST_SKIP() << "no AVX2 or AVX-512 here";
  Rng rng(64);
  constexpr long kM = 13, kN = 37, kK = 5;
  const std::vector<float> nan_a(kM * kK, NAN), nan_b(kK * kN, NAN);
  for (const cpu::KernelTable* kt : tables) {
    for (bool trans_b : {false, true}) {
      for (auto [k, alpha] : {std::pair<long, float>{0, NAN}, {0, kAlpha}, {kK, 0.0f}}) {
        SCOPED_TRACE(std::string(cpu::simd_level_name(kt->level)) + ", trans_b " + std::to_string(trans_b) + ", k " +
                     std::to_string(k) + ", alpha " + std::to_string(alpha));
        std::vector<float> c = test::to_float(test::uniform(rng, kM * kN, -1, 1)), expected = c;
        kt->gemm_small(false, trans_b, kM, kN, k, alpha, nan_a.data(), kK, nan_b.data(), trans_b ? kK : kN, 0.5f,
                       c.data(), kN);
        for (size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c[i], 0.5f * expected[i]) << "at " << i;
        std::fill(c.begin(), c.end(), NAN);
        kt->gemm_small(false, trans_b, kM, kN, k, alpha, nan_a.data(), kK, nan_b.data(), trans_b ? kK : kN, 0.0f,
                       c.data(), kN);
        for (float v : c) ASSERT_EQ(v, 0.0f);
      }
    }
  }
}

}  // namespace
}  // namespace ae
