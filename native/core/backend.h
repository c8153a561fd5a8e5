// The narrow interface between the model and the hardware: a GEMM, fused bias + activation, the
// loss, the optimizer update and a few reductions. The CPU backend implements it with BLAS and
// SIMD kernels; nothing above this interface knows which instructions run.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/activation.h"
#include "core/errors.h"
#include "core/loss.h"
#include "core/memory.h"
#include "core/optimizer.h"

namespace ae {

// The precision of the matrix products of a fit: float32; bfloat16 operands with float32
// accumulation (mixed precision; weights, gradients and optimizer state stay float32); or TF32
// tensor-core math on float32 data (CUDA only).
enum class Precision { Float32, Bf16, Tf32 };

struct BackendInfo {
  std::string backend;  // "cpu" or "cuda"
  std::string device;   // the GPU's name, memory and compute capability; empty on the CPU
  double memory_free = 0;  // bytes free on the GPU when info() was called; 0 on the CPU
  std::string blas;     // "openblas" or "builtin"
  std::string blas_kernels;  // OpenBLAS's kernel family for this CPU, when it reports one
  std::string gemm_reason;   // why matrix products use the BLAS they use
  std::string simd;     // "avx512", "avx2", "neon" or "scalar"
  int threads = 1;
  bool flush_denormals = true;
  std::string bf16_kernels;  // the bfloat16 matrix products' kernels; empty when unavailable
  std::string bf16_reason;   // why bfloat16 is unavailable
};

// Held while the calling thread computes: the CPU backend flushes denormals to zero inside it
// (Adam's moments decay into denormals, which are many times slower) and restores the thread's
// floating-point mode when it ends, so a JavaScript thread keeps IEEE semantics.
struct ComputeScope {
  virtual ~ComputeScope() = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendInfo info() const = 0;
  virtual std::unique_ptr<ComputeScope> enter_compute() = 0;
  // Memory that this backend's kernels reach and the host reads and writes too; null: host memory.
  virtual MemoryResource* memory() { return nullptr; }
  // Float32 matrix products in TF32 tensor-core math while on. Throws ERR_TF32_UNAVAILABLE where the
  // backend has no such math.
  virtual void set_tf32(bool on) {
    if (on)
      throw Error(ErrorKind::State, "ERR_TF32_UNAVAILABLE",
                  "precision 'tf32' needs the CUDA backend (backend: 'cuda') on a GPU with tensor cores");
  }

  // C = alpha · op(A) · op(B) + beta · C, all row-major; op transposes when asked.
  virtual void gemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
                    const float* b, long ldb, float beta, float* c, long ldc) = 0;

  // dst (rows × cols, packed) = src (rows × cols, leading dimension ld) rounded to bfloat16.
  virtual void round_bf16(const float* src, long rows, long cols, long ld, uint16_t* dst) = 0;
  // C (float32) = op(A) · op(B) with A and B in bfloat16, the products summed in float32. Throws
  // ERR_BF16_UNAVAILABLE where the backend has no bfloat16 products (info().bf16_reason says why).
  virtual void gemm_bf16(bool trans_a, bool trans_b, long m, long n, long k, const uint16_t* a, long lda,
                         const uint16_t* b, long ldb, float* c, long ldc) = 0;

  // z (rows × cols) += bias per row; y = activation(z). y may alias z for kinds that differentiate
  // from the output alone.
  virtual void bias_activation_forward(const ActivationSpec& act, const float* bias, float* z, float* y, long rows,
                                       long cols) = 0;
  // dz = dy · activation'(z). z may be null unless needs_preactivation; dz may alias dy.
  virtual void activation_backward(const ActivationSpec& act, const float* z, const float* y, const float* dy,
                                   float* dz, long rows, long cols) = 0;
  // db[c] = Σ_r dz[r, c].
  virtual void bias_gradient(const float* dz, float* db, long rows, long cols) = 0;

  // Summed loss of the block; grad = d(mean loss)/d(input) with scale = 1 / loss_terms.
  virtual double loss_forward_backward(const LossSpec& loss, LossInput input, int group, const float* z,
                                       const float* y, const float* target, float* grad, long rows, long cols,
                                       float scale) = 0;

  // Σ x², accumulated so that any NaN or Inf in x makes the result non-finite.
  virtual double sum_squares(const float* x, size_t n) = 0;
  // y += a · x
  virtual void axpy(float a, const float* x, float* y, size_t n) = 0;
  // y = x ⊙ m (dropout masks, and their backward)
  virtual void multiply(const float* x, const float* m, float* y, size_t n) = 0;
  // Returns Σ|h| and adds coeff · sign(h) to dh (the L1 activity penalty).
  virtual double l1_penalty(const float* h, float* dh, float coeff, size_t n) = 0;

  // Updates the weights (and the optimizer's slots) from the gradient, filling the optional copies
  // of UpdateBuffers. Returns Σ grad² as sum_squares sums it, or NaN where an updated weight is not
  // finite or is beyond 1.8e19 (its square overflows a float; such a model's outputs soon do): a
  // trainer that needs no norm beforehand checks the step after it, without a pass of its own.
  virtual double optimizer_step(const UpdateStep& step, const UpdateBuffers& buffers, size_t n) = 0;

  virtual void set_threads(int threads) = 0;
  virtual int threads() const = 0;
  // Products of fewer multiply-adds than this run on the calling thread however many threads the
  // backend has; a fit whose batches hold only such products splits each batch across threads
  // instead, one single_thread_twin() per thread (see split_fit.h). 0 where the backend cannot.
  virtual double serial_products_below() const { return 0; }
  // A backend like this one that computes on the calling thread alone; null where
  // serial_products_below() is 0.
  virtual std::unique_ptr<Backend> single_thread_twin() const { return nullptr; }
};

}  // namespace ae
