// The CUDA implementation of the backend interface. Parameters, optimizer state, gradients and
// activations live in managed memory (see core/memory.h) that the device computes on; the host
// touches it only to gather a batch and between fits. Every call runs its kernels on the backend's
// stream and waits for them, so host code between calls always sees finished results.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>

#include "core/errors.h"
#include "cuda/cublas.h"
#include "cuda/cuda_backend.h"
#include "cuda/kernels.h"

namespace ae::cuda {

namespace {

[[noreturn]] void throw_unavailable(const std::string& why) {
  throw Error(ErrorKind::State, "ERR_CUDA_UNAVAILABLE", "backend 'cuda' is unavailable: " + why);
}

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clears a non-sticky error, so the next call starts clean
  throw Error(ErrorKind::Internal, "ERR_CUDA", std::string(what) + " failed: " + cudaGetErrorString(status));
}

std::string gib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", double(bytes) / double(1ull << 30));
  return text;
}

// AE_CUDA_DEVICE, or 0; -1 where it is not a number.
int chosen_device() {
  const char* value = std::getenv("AE_CUDA_DEVICE");
  if (!value || !*value) return 0;
  char* end = nullptr;
  const long device = std::strtol(value, &end, 10);
  return *end == '\0' && device >= 0 && device < 1024 ? int(device) : -1;
}

CudaStatus probe() {
  CudaStatus s;
  s.built = true;
  // The runtime finds the driver through libcuda.so.1; asking first gives the clearer message.
  if (!dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL)) {
    s.reason = "no NVIDIA driver: libcuda.so.1 was not found (install the NVIDIA driver)";
    return s;
  }
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaErrorInsufficientDriver) {
    s.reason = "the NVIDIA driver is older than this build's CUDA runtime " + std::to_string(CUDART_VERSION / 1000) +
               "." + std::to_string(CUDART_VERSION % 1000 / 10) + " (update the driver)";
    return s;
  }
  if (status == cudaErrorNoDevice || (status == cudaSuccess && count == 0)) {
    s.reason = "no CUDA device (the driver is installed but reports no GPU)";
    return s;
  }
  if (status != cudaSuccess) {
    s.reason = std::string("the CUDA runtime could not start: ") + cudaGetErrorString(status);
    return s;
  }
  const int device = s.ordinal = chosen_device();
  if (device < 0 || device >= count) {
    s.reason = "AE_CUDA_DEVICE=" + std::string(std::getenv("AE_CUDA_DEVICE")) + " is not a device number below " +
               std::to_string(count);
    return s;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    s.reason = "the properties of CUDA device " + std::to_string(device) + " could not be read";
    return s;
  }
  s.tf32 = prop.major >= 8;
  s.device = std::string(prop.name) + " (" + gib(prop.totalGlobalMem) + ", compute capability " +
             std::to_string(prop.major) + "." + std::to_string(prop.minor) + ")";
  // The host gathers batches and reads weights while other models may compute: that needs
  // concurrent managed access (Linux on Pascal or later; not Windows or WSL2).
  if (!prop.managedMemory || !prop.concurrentManagedAccess) {
    s.reason = s.device + " lacks concurrent managed memory access (a GPU before Pascal, or Windows/WSL2), which "
               "this backend needs";
    return s;
  }
  s.available = true;
  return s;
}

// Managed memory: the device computes on it and the host reads and writes it between calls.
class ManagedMemory final : public MemoryResource {
 public:
  explicit ManagedMemory(int device) : device_(device) {}
  void* allocate(size_t bytes) override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    size_t free_bytes = 0, total = 0;
    check(cudaMemGetInfo(&free_bytes, &total), "cudaMemGetInfo");
    // Managed memory could exceed the device by spilling to the host, at a fraction of the speed;
    // refused instead, with the figures.
    if (bytes > free_bytes) out_of_memory(bytes, free_bytes, total, "more than the device has free");
    void* data = nullptr;
    const cudaError_t status = cudaMallocManaged(&data, bytes, cudaMemAttachGlobal);
    if (status != cudaSuccess) {
      cudaGetLastError();
      cudaMemGetInfo(&free_bytes, &total);
      out_of_memory(bytes, free_bytes, total, cudaGetErrorString(status));
    }
    // On the calling thread's default stream: a fit running on the backend's stream is not waited for.
    const cudaError_t zeroed = cudaMemset(data, 0, bytes);
    if (zeroed == cudaSuccess) check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
    if (zeroed != cudaSuccess) {
      cudaFree(data);
      check(zeroed, "cudaMemset");
    }
    return data;
  }
  void release(void* data) noexcept override {
    cudaSetDevice(device_);  // a thread that never chose a device would otherwise start a context on device 0
    cudaFree(data);
  }

 private:
  [[noreturn]] static void out_of_memory(size_t bytes, size_t free_bytes, size_t total, const std::string& why) {
    throw Error(ErrorKind::Resource, "ERR_OUT_OF_MEMORY",
                "CUDA could not allocate " + std::to_string(bytes) + " bytes (" + gib(bytes) + "): " + why +
                    "; the device has " + std::to_string(free_bytes) + " bytes (" + gib(free_bytes) + ") free of " +
                    gib(total));
  }

  int device_;
};

// TF32 is a setting of the fit running on the calling thread, so fits on other threads keep theirs.
thread_local bool tf32_products = false;

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaStatus& status)
      : device_(status.ordinal), device_name_(status.device), tensor_cores_tf32_(status.tf32), memory_(device_) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cudaMalloc(&sum_, sizeof(double)), "cudaMalloc");
    const char* gemm = std::getenv("AE_CUDA_GEMM");
    if (gemm && std::string(gemm) == "tiled") {
      gemm_reason_ = "AE_CUDA_GEMM=tiled chose the library's own kernel";
    } else if ((cublas_ = load_cublas(gemm_reason_))) {
      if (cublas_->create(&handle_) != 0) {
        gemm_reason_ = "cublasCreate failed; using the library's own kernel";
        cublas_ = nullptr;
      } else {
        cublas_->set_stream(handle_, stream_);
        cublas_->get_version(handle_, &cublas_version_);
      }
    } else {
      gemm_reason_ += "; using the library's own kernel";
    }
  }

  BackendInfo info() const override {
    BackendInfo info;
    info.backend = "cuda";
    info.device = device_name_;
    size_t free_bytes = 0, total = 0;
    if (cudaSetDevice(device_) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total) == cudaSuccess)
      info.memory_free = double(free_bytes);
    info.blas = cublas_ ? "cublas" : "tiled";
    info.blas_kernels = cublas_ ? cublas_->library + " " + std::to_string(cublas_version_) : "";
    info.gemm_reason = gemm_reason_;
    info.simd = "cuda";
    info.threads = 1;
    info.flush_denormals = false;
    info.bf16_reason = "the CUDA backend runs float32 and TF32 matrix products (precision 'tf32'); bf16 is CPU-only";
    return info;
  }

  std::unique_ptr<ComputeScope> enter_compute() override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    return std::make_unique<ComputeScope>();
  }

  MemoryResource* memory() override { return &memory_; }

  void set_tf32(bool on) override {
    if (on && !(tensor_cores_tf32_ && cublas_))
      throw Error(ErrorKind::State, "ERR_TF32_UNAVAILABLE",
                  std::string("precision 'tf32' is unavailable: ") +
                      (tensor_cores_tf32_ ? "it runs through cuBLAS, and " + gemm_reason_
                                          : device_name_ + " has no TF32 tensor cores (compute capability 8.0 or later)"));
    tf32_products = on;
  }

  void gemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
            long ldb, float beta, float* c, long ldc) override {
    Call call(*this);
    const float* da = readable(0, a, operand_floats(trans_a, m, k, lda));
    const float* db = readable(1, b, operand_floats(trans_b, k, n, ldb));
    writable(c, "C");
    const bool fits_int = m < (1L << 31) && n < (1L << 31) && k < (1L << 31) && lda < (1L << 31) &&
                          ldb < (1L << 31) && ldc < (1L << 31);
    if (cublas_ && fits_int) {
      cublas_->set_math_mode(handle_, tf32_products ? kCublasTf32TensorOpMath : kCublasDefaultMath);
      // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands.
      const int status = cublas_->sgemm(handle_, trans_b ? kCublasOpT : kCublasOpN, trans_a ? kCublasOpT : kCublasOpN,
                                        int(n), int(m), int(k), &alpha, db, int(ldb), da, int(lda), &beta, c, int(ldc));
      if (status != 0)
        throw Error(ErrorKind::Internal, "ERR_CUDA", "cublasSgemm failed with status " + std::to_string(status));
    } else {
      tiled_gemm(stream_, trans_a, trans_b, m, n, k, alpha, da, lda, db, ldb, beta, c, ldc);
    }
    call.finish();
  }

  void round_bf16(const float*, long, long, long, uint16_t*) override { throw_no_bf16(); }
  void gemm_bf16(bool, bool, long, long, long, const uint16_t*, long, const uint16_t*, long, float*, long) override {
    throw_no_bf16();
  }

  void bias_activation_forward(const ActivationSpec& act, const float* bias, float* z, float* y, long rows,
                               long cols) override {
    Call call(*this);
    writable(z, "z");
    writable(y, "y");
    cuda::bias_activation_forward(stream_, act, bias ? readable(0, bias, size_t(cols)) : nullptr, z, y, rows, cols);
    call.finish();
  }

  void activation_backward(const ActivationSpec& act, const float* z, const float* y, const float* dy, float* dz,
                           long rows, long cols) override {
    Call call(*this);
    const size_t n = size_t(rows) * size_t(cols);
    writable(dz, "dz");
    cuda::activation_backward(stream_, act, z ? readable(0, z, n) : nullptr, readable(1, y, n), readable(2, dy, n),
                              dz, rows, cols);
    call.finish();
  }

  void bias_gradient(const float* dz, float* db, long rows, long cols) override {
    Call call(*this);
    writable(db, "db");
    cuda::bias_gradient(stream_, readable(0, dz, size_t(rows) * size_t(cols)), db, rows, cols);
    call.finish();
  }

  double loss_forward_backward(const LossSpec& loss, LossInput input, int group, const float* z, const float* y,
                               const float* target, float* grad, long rows, long cols, float scale) override {
    Call call(*this);
    const size_t n = size_t(rows) * size_t(cols);
    writable(grad, "grad");
    zero_sum();
    cuda::loss_forward_backward(stream_, loss, input, group, z ? readable(0, z, n) : nullptr, readable(1, y, n),
                                readable(2, target, n), grad, rows, cols, scale, sum_);
    return call.finish_with_sum();
  }

  double sum_squares(const float* x, size_t n) override {
    Call call(*this);
    zero_sum();
    cuda::sum_squares(stream_, readable(0, x, n), n, sum_);
    return call.finish_with_sum();
  }

  void axpy(float a, const float* x, float* y, size_t n) override {
    Call call(*this);
    writable(y, "y");
    cuda::axpy(stream_, a, readable(0, x, n), y, n);
    call.finish();
  }

  void multiply(const float* x, const float* m, float* y, size_t n) override {
    Call call(*this);
    writable(y, "y");
    cuda::multiply(stream_, readable(0, x, n), readable(1, m, n), y, n);
    call.finish();
  }

  double l1_penalty(const float* h, float* dh, float coeff, size_t n) override {
    Call call(*this);
    writable(dh, "dh");
    zero_sum();
    cuda::l1_penalty(stream_, readable(0, h, n), dh, coeff, n, sum_);
    return call.finish_with_sum();
  }

  double optimizer_step(const UpdateStep& step, const UpdateBuffers& b, size_t n) override {
    if (b.weights16) throw_no_bf16();
    if (b.parts > 0) throw Error(ErrorKind::Internal, "ERR_CUDA", "the CUDA backend reads one gradient array");
    double grad_squares = 0;
    {
      Call call(*this);
      writable(b.weights, "weights");
      if (b.slot1) writable(b.slot1, "optimizer state");
      if (b.slot2) writable(b.slot2, "optimizer state");
      const float* g = readable(0, b.grads, n);
      if (b.previous)
        check(cudaMemcpyAsync(b.previous, b.weights, n * sizeof(float), cudaMemcpyDefault, stream_), "cudaMemcpyAsync");
      zero_sum();
      cuda::sum_squares(stream_, g, n, sum_);
      cuda::optimizer_step(stream_, step, b.weights, g, b.slot1, b.slot2, n);
      grad_squares = call.finish_with_sum();
    }
    // A second pass here, where the GPU makes it cheap. Its sum is in double, so a weight whose
    // float square overflows (past 1.8e19) shows as a sum beyond the float range; so do weights
    // whose squares only add up past it, as large as to spoil the model's outputs as well.
    const double weight_squares = sum_squares(b.weights, n);
    return std::isfinite(weight_squares) && weight_squares <= double(std::numeric_limits<float>::max())
               ? grad_squares
               : std::numeric_limits<double>::quiet_NaN();
  }

  void set_threads(int) override {}
  int threads() const override { return 1; }

 private:
  // One backend call: the backend's lock, this thread on the backend's device, and at the end a wait
  // for the stream, so that a kernel's failure surfaces in the call that launched it.
  class Call {
   public:
    explicit Call(CudaBackend& be) : be_(be), lock_(be.mutex_) { check(cudaSetDevice(be.device_), "cudaSetDevice"); }
    void finish() {
      check(cudaGetLastError(), "a kernel launch");
      check(cudaStreamSynchronize(be_.stream_), "a kernel");
      be_.trim_staging();
    }
    double finish_with_sum() {
      double host = 0;
      check(cudaMemcpyAsync(&host, be_.sum_, sizeof host, cudaMemcpyDeviceToHost, be_.stream_), "cudaMemcpyAsync");
      finish();
      return host;
    }

   private:
    CudaBackend& be_;
    std::lock_guard<std::mutex> lock_;
  };

  [[noreturn]] static void throw_no_bf16() {
    throw Error(ErrorKind::State, "ERR_BF16_UNAVAILABLE",
                "precision 'bf16' is unavailable on the CUDA backend; use precision 'tf32' for tensor-core products");
  }

  // Floats spanned by a row-major operand whose op() is rows × cols, stored with leading dimension ld.
  static size_t operand_floats(bool transposed, long rows, long cols, long ld) {
    const long stored_rows = transposed ? cols : rows, stored_cols = transposed ? rows : cols;
    return stored_rows > 0 ? size_t(stored_rows - 1) * size_t(ld) + size_t(stored_cols) : 0;
  }

  static bool device_reachable(const void* p) {
    cudaPointerAttributes attributes{};
    if (cudaPointerGetAttributes(&attributes, p) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
  }

  // Inputs that live in ordinary host memory (a JavaScript typed array passed to predict or evaluate)
  // are copied into a staging buffer, one per operand slot, that grows as needed.
  const float* readable(int slot, const float* p, size_t count) {
    if (!p || count == 0 || device_reachable(p)) return p;
    Staging& s = staging_[slot];
    if (s.capacity < count) {
      if (s.data) cudaFree(s.data);
      s.data = nullptr;
      s.capacity = 0;
      if (cudaMalloc(&s.data, count * sizeof(float)) != cudaSuccess) {
        cudaGetLastError();
        s.data = nullptr;
        throw Error(ErrorKind::Resource, "ERR_OUT_OF_MEMORY",
                    "CUDA could not allocate " + std::to_string(count * sizeof(float)) +
                        " bytes to stage an input from host memory");
      }
      s.capacity = count;
    }
    check(cudaMemcpyAsync(s.data, p, count * sizeof(float), cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
    return s.data;
  }

  // Outputs are always the core's own buffers, allocated from memory(); anything else is a bug.
  static void writable(const float* p, const char* what) {
    if (p && !device_reachable(p))
      throw Error(ErrorKind::Internal, "ERR_INTERNAL",
                  std::string("the CUDA backend was asked to write ") + what + " into host memory");
  }

  void zero_sum() { check(cudaMemsetAsync(sum_, 0, sizeof(double), stream_), "cudaMemsetAsync"); }

  // Staging buffers above 64 MB (one large prediction from host memory) go back after the call
  // rather than holding device memory for the life of the process.
  void trim_staging() {
    for (Staging& s : staging_) {
      if (s.capacity * sizeof(float) <= (size_t(64) << 20)) continue;
      cudaFree(s.data);
      s.data = nullptr;
      s.capacity = 0;
    }
  }

  struct Staging {
    float* data = nullptr;
    size_t capacity = 0;
  };

  int device_;
  std::string device_name_;
  bool tensor_cores_tf32_;
  ManagedMemory memory_;
  std::mutex mutex_;
  cudaStream_t stream_ = nullptr;
  double* sum_ = nullptr;
  Staging staging_[3];
  const Cublas* cublas_ = nullptr;
  CublasHandle handle_ = nullptr;
  int cublas_version_ = 0;
  std::string gemm_reason_;
};

}  // namespace

const CudaStatus& cuda_status() {
  static const CudaStatus status = probe();
  return status;
}

Backend& cuda_backend() {
  const CudaStatus& status = cuda_status();
  if (!status.available) throw_unavailable(status.reason);
  // Shared by every model and environment of the process, and never destroyed: models freed during
  // process exit still release their memory through it.
  static CudaBackend* backend = new CudaBackend(status);
  return *backend;
}

}  // namespace ae::cuda
