// CPU backend: GEMM through OpenBLAS or the built-in GEMM, element-wise work through the kernel
// table, large passes split across our thread pool.
#include "cpu/cpu_backend.h"

#include <algorithm>
#include <array>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "cpu/bands.h"
#include "cpu/gemm.h"
#include "cpu/onednn.h"

namespace ae::cpu {

namespace {
// Below this many floats a pass is faster on one thread than handed to the pool.
constexpr size_t kParallelGrain = 1 << 16;
// A pass's chunks are whole multiples of 16 elements or rows (but the last), so that no two threads
// write to one cache line.
constexpr size_t kChunkUnit = 16;
// Products with at most this many rows skip packing and BLAS call overhead (one-row inference).
constexpr long kFewRows = 4;
// Products of fewer multiply-adds than kSerialGemmBelow, and at least a vector's width of columns
// (with fewer, most of each vector would be wasted), run on the kernel table's unpacked small GEMM
// where it has one: in place of the built-in GEMM, and in place of OpenBLAS without small-matrix kernels
// (W1's eleven step products on one thread, Zen kernels, AVX2: 39 against 49 µs, each faster); with
// them (SkylakeX), only for A·Bᵀ, where they are at their slowest. On W1's forward products (one thread,
// same run): 5.8 against 7.5 µs, 2.0 against 2.8, 6.8 against 7.3; its A·B and Aᵀ·B products stayed
// 10-20% faster than ours.
constexpr long kSmallGemmMinColumns = 16;
// With OpenBLAS, other products of fewer multiply-adds than kSerialGemmBelow run on its
// small-matrix kernels (faster than the built-in GEMM's packing at W1's sizes), and products of at
// least kOpenBlasLarge on its kernels in one band per thread of the pool. Between the two, the
// built-in GEMM on the pool is faster.
constexpr double kOpenBlasLarge = double(1 << 25);
// bf16 products run in bands on the pool, each band a one-thread oneDNN product: on W2 and W3's step
// products 1.1-1.6× the rate of oneDNN's own two OpenMP threads, which slept between products and
// were woken for each (W2's step products 1.34 against 2.14 ms). Bands of rows were faster on all
// but one of the 16 W2-W3 shapes measured (up to 2×), though each band repacks all of B, except
// where B (row-major, not transposed) outgrows the caches: W3's 512×2048×4096 input gradient ran at
// 1,177 GFLOP/s in bands of columns against 971 of rows. Bands are whole cache lines of bfloat16.
constexpr long kBf16Band = 32;
constexpr double kBf16SharedOperandBytes = double(8 << 20);
// Except weight gradients (Aᵀ·B) from 2^31 multiply-adds: these run on oneDNN's own two OpenMP
// threads, split its way. With operands fresh from memory, as in training, W3's ran there at 801-837
// GFLOP/s against 701-768 in bands, and W3 trained 2-5% faster (median of five runs 6,434 samples/s
// against 6,098). Below that size, waking OpenMP's threads for each product cost more than it saved:
// W2, with all its weight gradients there, trained 2-9% slower.
constexpr double kBf16OwnThreadsFrom = double(1L << 31);

// A twin's float32 products (a fit's, on one thread) from kSerialGemmBelow multiply-adds up to this
// run on oneDNN's matmul primitives where it has them. One thread, oneDNN brgemm against OpenBLAS
// SkylakeX (ae_bench --products ROWS): W2's 17 products 167 against 142 GFLOP/s on 128 rows, 172
// against 154 on 256; W3's six of 2^28 multiply-adds on 512 rows 153-166 against 143-157; its five
// of 2^32 even (146-154 against 142-155), their weight gradients 1-7% slower in two runs.
constexpr double kOneDnnFitProductsBelow = double(1L << 29);
// Products whose row counts vary from call to call (inference) run on oneDNN in chunks of a few
// fixed row counts, so that a handful of primitives serve every count: kOneDnnChunkRows, then
// halves of it down to kChunkUnit; the rows left over run on OpenBLAS. A band's rows in chunks of
// 256, one thread (ae_bench --products 512 --workloads W2): W2's forward products 155-161 GFLOP/s
// against OpenBLAS's 120-147. Each chunk packs its band of B anew, which chunks of 512 rows do half
// as often as chunks of 256: W3's fit (512 rows, its products in bands of columns) went from 2,999 to
// 3,097 and 2,948 to 3,037 samples/s (medians of five and seven alternating native runs), the forward
// products of a W3 prediction of 1,024 rows from 112.7-115.1 to 105.9-113.2 ms; W2's prediction moved
// by less than the noise.
constexpr long kOneDnnChunkRows = 512;
// Products of at least this many multiply-adds per thread of the pool run in bands of one-thread
// oneDNN products too, whatever their shape. W3's eleven step products on two threads, operands of
// their own per layer (ae_bench's shapes, best of five, alternating runs): 250-264 GFLOP/s against
// 226-243 in OpenBLAS bands; all but the smallest weight gradient (256 × 2048 × 512) were faster.
constexpr double kOneDnnBandsFrom = double(1L << 29);

struct FlushScope final : ComputeScope {
  DenormalFlush flush;
};
}  // namespace

int default_thread_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

CpuBackend::CpuBackend(int threads, const KernelTable* kernels)
    : kernels_(kernels ? kernels : &best_kernels()), blas_small_kernels_(blas_has_small_matrix_kernels()) {
  gemm_choice_ = choose_gemm(*kernels_, &gemm_reason_);
  set_threads(threads > 0 ? threads : default_thread_count());
}

// No pool: each thread of a split fit, or a fit on one thread, runs its products alone.
CpuBackend::CpuBackend(TwinOf twin)
    : kernels_(twin.original.kernels_),
      gemm_choice_(twin.original.gemm_choice_),
      gemm_reason_(twin.original.gemm_reason_),
      blas_small_kernels_(twin.original.blas_small_kernels_),
      fit_products_on_onednn_(onednn_takes_fit_products()),
      threads_(1) {}

bool CpuBackend::onednn_takes_fit_products() const {
  return gemm_choice_ == GemmChoice::OpenBlasBySize && f32_matmul_available();
}

std::unique_ptr<Backend> CpuBackend::single_thread_twin() const { return std::unique_ptr<Backend>(new CpuBackend(TwinOf{*this})); }

BackendInfo CpuBackend::info() const {
  BackendInfo info;
  info.backend = "cpu";
  info.blas = gemm_choice_ == GemmChoice::Builtin ? "builtin" : "openblas";
  info.blas_kernels = blas_kernel_name();
  info.gemm_reason = gemm_reason_;
  if (onednn_takes_fit_products())
    info.gemm_reason +=
        "; the products of fits on one thread, or split between threads, from 2^18 to 2^29 multiply-adds, "
        "other products of rows under 2^29 multiply-adds per thread (on several threads, from 2^25 and taller "
        "than wide) in chunks of 512 to 16 rows, as inference's are, and on several threads every product from "
        "2^29 multiply-adds per thread, in one band per thread, on oneDNN's float32 matmul primitives";
  info.simd = simd_level_name(kernels_->level);
  info.threads = threads_;
  info.flush_denormals = true;
  const Bf16Support& bf16 = bf16_support();
  info.bf16_kernels = bf16.available ? bf16.kernels : "";
  info.bf16_reason = bf16.reason;
  return info;
}

std::unique_ptr<ComputeScope> CpuBackend::enter_compute() { return std::make_unique<FlushScope>(); }

void CpuBackend::set_threads(int threads) {
  if (threads < 1 || threads > 1024) throw_range("threads must be an integer in [1, 1024]");
  if (threads == threads_ && (pool_ || threads == 1)) return;
  threads_ = threads;
  pool_ = threads > 1 ? std::make_unique<ThreadPool>(threads) : nullptr;
  keep_blas_on_calling_thread();
}

template <typename Fn>
void CpuBackend::split(size_t n, size_t grain, Fn&& fn) {
  if (!pool_ || n < grain) return fn(size_t(0), n);
  const int parts = threads_;
  pool_->run(parts, [&](int t) {
    const Span chunk = part_of(n, t, parts, kChunkUnit);
    if (chunk.begin < chunk.end) fn(chunk.begin, chunk.end);
  });
}

void CpuBackend::gemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
                      const float* b, long ldb, float beta, float* c, long ldc) {
  const double work = double(m) * double(n) * double(k);
  if (!trans_a && m <= kFewRows) {
    kernels_->gemm_few_rows(trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else if (kernels_->gemm_small && work < kSerialGemmBelow && n >= kSmallGemmMinColumns &&
             (gemm_choice_ == GemmChoice::Builtin ||
              (gemm_choice_ == GemmChoice::OpenBlasBySize && (trans_b || !blas_small_kernels_)))) {
    kernels_->gemm_small(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else if (fit_products_on_onednn_ && work >= kSerialGemmBelow && work < kOneDnnFitProductsBelow && alpha == 1.0f &&
             beta == 0.0f &&
             try_f32_matmul(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc)) {
  } else if (!fit_products_on_onednn_ && alpha == 1.0f && beta == 0.0f && onednn_takes_fit_products() &&
             (pool_ ? work / threads_ >= kOneDnnBandsFrom || (!trans_a && work >= kOpenBlasLarge && m >= n)
                    : !trans_a && work >= kSerialGemmBelow && work < kOneDnnFitProductsBelow)) {
    gemm_in_onednn_bands(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
  } else if (gemm_choice_ == GemmChoice::OpenBlasOnly ||
             (gemm_choice_ == GemmChoice::OpenBlasBySize &&
              (work < kSerialGemmBelow || work >= kOpenBlasLarge || threads_ == 1))) {
    cpu::gemm(*kernels_, pool_.get(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    builtin_gemm(*kernels_, pool_.get(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

void CpuBackend::gemm_in_onednn_bands(bool trans_a, bool trans_b, long m, long n, long k, const float* a, long lda,
                                      const float* b, long ldb, float* c, long ldc) {
  const auto band = [&](const Operand<float>& as, const Operand<float>& bs, long rows, long cols, float* cs) {
    if (trans_a) {
      if (!try_f32_matmul(true, trans_b, rows, cols, k, as.data, as.ld, bs.data, bs.ld, cs, ldc))
        cpu::gemm(*kernels_, nullptr, true, trans_b, rows, cols, k, 1.0f, as.data, as.ld, bs.data, bs.ld, 0.0f, cs,
                  ldc);
      return;
    }
    long done = 0;
    bool onednn = true;
    for (long chunk = kOneDnnChunkRows; onednn && chunk >= long(kChunkUnit); chunk /= 2) {
      if (double(chunk) * double(cols) * double(k) < kSerialGemmBelow) break;
      while (onednn && rows - done >= chunk) {
        onednn = try_f32_matmul(false, trans_b, chunk, cols, k, as.data + done * as.ld, as.ld, bs.data, bs.ld,
                                cs + done * ldc, ldc);
        if (onednn) done += chunk;
      }
    }
    if (done < rows)
      cpu::gemm(*kernels_, nullptr, false, trans_b, rows - done, cols, k, 1.0f, as.data + done * as.ld, as.ld, bs.data,
                bs.ld, 0.0f, cs + done * ldc, ldc);
  };
  const Operand<float> A{a, lda, trans_a}, B{b, ldb, trans_b};
  if (!pool_) return band(A, B, m, n, c);
  in_bands(*pool_, A, B, m, n, c, ldc, m >= n, long(kChunkUnit), band);
}

void CpuBackend::round_bf16(const float* src, long rows, long cols, long ld, uint16_t* dst) {
  const size_t row_grain = std::max<size_t>(1, kParallelGrain / size_t(std::max(cols, 1L)));
  split(size_t(rows), row_grain, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) kernels_->round_bf16(src + r * size_t(ld), dst + r * size_t(cols), size_t(cols));
  });
}

void CpuBackend::gemm_bf16(bool trans_a, bool trans_b, long m, long n, long k, const uint16_t* a, long lda,
                           const uint16_t* b, long ldb, float* c, long ldc) {
  const double work = double(m) * double(n) * double(k);
  if (!pool_ || work < kSerialGemmBelow) return bf16_matmul(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, 1);
  if (trans_a && work >= kBf16OwnThreadsFrom)
    return bf16_matmul(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, threads_);
  const Operand<uint16_t> A{a, lda, trans_a}, B{b, ldb, trans_b};
  const bool by_rows = trans_b || double(k) * double(n) * sizeof(uint16_t) <= kBf16SharedOperandBytes;
  in_bands(*pool_, A, B, m, n, c, ldc, by_rows, kBf16Band,
           [&](const Operand<uint16_t>& as, const Operand<uint16_t>& bs, long rows, long cols, float* cs) {
             bf16_matmul(trans_a, trans_b, rows, cols, k, as.data, as.ld, bs.data, bs.ld, cs, ldc, 1);
           });
}

void CpuBackend::bias_activation_forward(const ActivationSpec& act, const float* bias, float* z, float* y, long rows,
                                         long cols) {
  const size_t row_grain = std::max<size_t>(1, kParallelGrain / size_t(std::max(cols, 1L)));
  split(size_t(rows), row_grain, [&](size_t r0, size_t r1) {
    kernels_->bias_activation_forward(act, bias, z + r0 * cols, y + r0 * cols, long(r1 - r0), cols);
  });
}

void CpuBackend::activation_backward(const ActivationSpec& act, const float* z, const float* y, const float* dy,
                                     float* dz, long rows, long cols) {
  const size_t row_grain = std::max<size_t>(1, kParallelGrain / size_t(std::max(cols, 1L)));
  split(size_t(rows), row_grain, [&](size_t r0, size_t r1) {
    kernels_->activation_backward(act, z ? z + r0 * cols : nullptr, y + r0 * cols, dy + r0 * cols, dz + r0 * cols,
                                  long(r1 - r0), cols);
  });
}

// Threads take columns, each summing all rows of its own.
void CpuBackend::bias_gradient(const float* dz, float* db, long rows, long cols) {
  const size_t column_grain = std::max<size_t>(kChunkUnit, kParallelGrain / size_t(std::max(rows, 1L)));
  split(size_t(cols), column_grain, [&](size_t c0, size_t c1) {
    kernels_->bias_gradient(dz + c0, cols, db + c0, rows, long(c1 - c0));
  });
}

template <typename Fn>
double CpuBackend::split_sum(size_t n, size_t grain, Fn&& fn) {
  if (!pool_ || n < grain) return fn(size_t(0), n);
  // Partial sums live on this call's stack: two models may train at once on one backend.
  constexpr int kMaxParts = 64;
  std::array<double, kMaxParts> partial{};
  const int parts = std::min(threads_, kMaxParts);
  pool_->run(parts, [&](int t) {
    const Span chunk = part_of(n, t, parts, kChunkUnit);
    partial[size_t(t)] = chunk.begin < chunk.end ? fn(chunk.begin, chunk.end) : 0.0;
  });
  double total = 0;
  for (int t = 0; t < parts; ++t) total += partial[size_t(t)];
  return total;
}

double CpuBackend::loss_forward_backward(const LossSpec& loss, LossInput input, int group, const float* z,
                                         const float* y, const float* target, float* grad, long rows, long cols,
                                         float scale) {
  // Rows are independent (a softmax group never crosses a row), so threads take whole rows.
  const size_t row_grain = std::max<size_t>(1, kParallelGrain / size_t(std::max(cols, 1L)));
  return split_sum(size_t(rows), row_grain, [&](size_t r0, size_t r1) {
    const size_t at = r0 * size_t(cols);
    return kernels_->loss_forward_backward(loss, input, group, z ? z + at : nullptr, y + at, target + at, grad + at,
                                           long(r1 - r0), cols, scale);
  });
}

double CpuBackend::sum_squares(const float* x, size_t n) {
  return split_sum(n, kParallelGrain, [&](size_t b, size_t e) { return kernels_->sum_squares(x + b, e - b); });
}

void CpuBackend::axpy(float a, const float* x, float* y, size_t n) {
  split(n, kParallelGrain, [&](size_t b, size_t e) { kernels_->axpy(a, x + b, y + b, e - b); });
}

void CpuBackend::multiply(const float* x, const float* m, float* y, size_t n) {
  split(n, kParallelGrain, [&](size_t b, size_t e) { kernels_->multiply(x + b, m + b, y + b, e - b); });
}

double CpuBackend::l1_penalty(const float* h, float* dh, float coeff, size_t n) {
  return kernels_->l1_penalty(h, dh, coeff, n);
}

double CpuBackend::optimizer_step(const UpdateStep& step, const UpdateBuffers& buffers, size_t n) {
  return split_sum(n, kParallelGrain,
                   [&](size_t b, size_t e) { return kernels_->optimizer_step(step, buffers.from(b), e - b); });
}

}  // namespace ae::cpu
