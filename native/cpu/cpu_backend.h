// The CPU implementation of the backend interface.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/thread_pool.h"

namespace ae::cpu {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads = 0, const KernelTable* kernels = nullptr);

  BackendInfo info() const override;
  std::unique_ptr<ComputeScope> enter_compute() override;

  void gemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
            long ldb, float beta, float* c, long ldc) override;
  void round_bf16(const float* src, long rows, long cols, long ld, uint16_t* dst) override;
  void gemm_bf16(bool trans_a, bool trans_b, long m, long n, long k, const uint16_t* a, long lda, const uint16_t* b,
                 long ldb, float* c, long ldc) override;
  void bias_activation_forward(const ActivationSpec& act, const float* bias, float* z, float* y, long rows,
                               long cols) override;
  void activation_backward(const ActivationSpec& act, const float* z, const float* y, const float* dy, float* dz,
                           long rows, long cols) override;
  void bias_gradient(const float* dz, float* db, long rows, long cols) override;
  double loss_forward_backward(const LossSpec& loss, LossInput input, int group, const float* z, const float* y,
                               const float* target, float* grad, long rows, long cols, float scale) override;
  double sum_squares(const float* x, size_t n) override;
  void axpy(float a, const float* x, float* y, size_t n) override;
  void multiply(const float* x, const float* m, float* y, size_t n) override;
  double l1_penalty(const float* h, float* dh, float coeff, size_t n) override;
  double optimizer_step(const UpdateStep& step, const UpdateBuffers& buffers, size_t n) override;
  void set_threads(int threads) override;
  int threads() const override { return threads_; }
  double serial_products_below() const override { return kSerialGemmBelow; }
  std::unique_ptr<Backend> single_thread_twin() const override;

  const KernelTable& kernels() const { return *kernels_; }
  // Whether this backend's twins run a fit's middling float32 products on oneDNN (see gemm).
  bool onednn_takes_fit_products() const;

 private:
  struct TwinOf {
    const CpuBackend& original;
  };
  explicit CpuBackend(TwinOf twin);

  // C = op(A)·op(B) with alpha 1 and beta 0, one band of C per thread of the pool (or all of C
  // without one), each band a one-thread oneDNN product: with A not transposed, in chunks of fixed
  // row counts, the rows left over on OpenBLAS (see kOneDnnChunkRows); with A transposed (a weight
  // gradient, whose shape repeats every step), whole.
  void gemm_in_onednn_bands(bool trans_a, bool trans_b, long m, long n, long k, const float* a, long lda,
                            const float* b, long ldb, float* c, long ldc);
  // Splits [0, n) into equal chunks, one per thread, when n is large enough to pay for the hand-off.
  template <typename Fn>
  void split(size_t n, size_t grain, Fn&& fn);
  // split for a reduction: fn(begin, end) returns the sum over its chunk; the chunks' sums are
  // added in chunk order.
  template <typename Fn>
  double split_sum(size_t n, size_t grain, Fn&& fn);

  const KernelTable* kernels_;
  GemmChoice gemm_choice_ = GemmChoice::Builtin;
  std::string gemm_reason_;
  bool blas_small_kernels_ = false;  // see blas_has_small_matrix_kernels
  // A twin's products (a fit's on one thread, the same shapes every step) of middling size run on
  // oneDNN's float32 matmul primitives where it has them (kOneDnnFitProductsBelow).
  bool fit_products_on_onednn_ = false;
  int threads_ = 0;  // 0 until set_threads first applies a count (to the pool and to OpenBLAS)
  std::unique_ptr<ThreadPool> pool_;
};

int default_thread_count();

}  // namespace ae::cpu
