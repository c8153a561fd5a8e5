// Element-wise stages and reductions of the CUDA backend (see kernels.h).
#include <algorithm>

#include "cuda/kernels.h"

namespace ae::cuda {

namespace {

constexpr int kThreads = 256;

int blocks_for(size_t n) { return int(std::max<size_t>(1, std::min<size_t>((n + kThreads - 1) / kThreads, 4096))); }

template <typename Fn>
__global__ void for_each_kernel(size_t n, Fn fn) {
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) fn(i);
}

// Σ fn(i) over [0, n) in double: per thread, then per block in shared memory, then one atomic add.
template <typename Fn>
__global__ void sum_kernel(size_t n, Fn fn, double* sum) {
  __shared__ double partial[kThreads];
  double acc = 0;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    acc += fn(i);
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(sum, partial[0]);
}

template <typename Fn>
void for_each(cudaStream_t stream, size_t n, Fn fn) {
  if (n == 0) return;
  for_each_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, fn);
}

template <typename Fn>
void sum(cudaStream_t stream, size_t n, Fn fn, double* out) {
  if (n == 0) return;
  sum_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, fn, out);
}

}  // namespace

void bias_activation_forward(cudaStream_t stream, const ActivationSpec& act, const float* bias, float* z, float* y,
                             long rows, long cols) {
  if (act.kind != Activation::Softmax) {
    const Activation kind = act.kind;
    const float alpha = act.alpha;
    for_each(stream, size_t(rows) * size_t(cols), [=] __device__(size_t i) {
      const float zi = z[i] + (bias ? bias[i % size_t(cols)] : 0.0f);
      z[i] = zi;
      y[i] = ref::activate(kind, alpha, zi);
    });
    return;
  }
  // One thread per softmax group, over the group as the CPU reference does.
  const long group = act.group > 0 ? act.group : cols;
  for_each(stream, size_t(rows) * size_t(cols / group), [=] __device__(size_t g) {
    const size_t base = g * size_t(group);
    const size_t first_col = base % size_t(cols);
    float* zg = z + base;
    float* yg = y + base;
    for (long c = 0; c < group; ++c) zg[c] += bias ? bias[first_col + c] : 0.0f;
    float m = zg[0];
    for (long c = 0; c < group; ++c) m = fmaxf(m, zg[c]);
    float total = 0;
    for (long c = 0; c < group; ++c) total += (yg[c] = expf(zg[c] - m));
    for (long c = 0; c < group; ++c) yg[c] /= total;
  });
}

void activation_backward(cudaStream_t stream, const ActivationSpec& act, const float* z, const float* y,
                         const float* dy, float* dz, long rows, long cols) {
  if (act.kind != Activation::Softmax) {
    const Activation kind = act.kind;
    const float alpha = act.alpha;
    for_each(stream, size_t(rows) * size_t(cols), [=] __device__(size_t i) {
      dz[i] = dy[i] * ref::derivative(kind, alpha, z ? z[i] : y[i], y[i]);
    });
    return;
  }
  const long group = act.group > 0 ? act.group : cols;
  for_each(stream, size_t(rows) * size_t(cols / group), [=] __device__(size_t g) {
    const size_t base = g * size_t(group);
    float dot = 0;
    for (long c = 0; c < group; ++c) dot += dy[base + c] * y[base + c];
    for (long c = 0; c < group; ++c) dz[base + c] = y[base + c] * (dy[base + c] - dot);
  });
}

void bias_gradient(cudaStream_t stream, const float* dz, float* db, long rows, long cols) {
  // One thread per column: neighbouring threads read neighbouring floats of each row.
  for_each(stream, size_t(cols), [=] __device__(size_t c) {
    float total = 0;
    for (long r = 0; r < rows; ++r) total += dz[size_t(r) * size_t(cols) + c];
    db[c] = total;
  });
}

void loss_forward_backward(cudaStream_t stream, const LossSpec& loss, LossInput input, int group, const float* z,
                           const float* y, const float* target, float* grad, long rows, long cols, float scale,
                           double* out) {
  if (loss.kind == Loss::CategoricalCrossentropy) {
    const long g = group > 0 ? group : cols;
    sum(stream, size_t(rows) * size_t(cols / g), [=] __device__(size_t i) {
      const size_t base = i * size_t(g);
      return ref::categorical_group(input, z ? z + base : nullptr, y + base, target + base, grad + base, g, scale);
    }, out);
    return;
  }
  const Loss kind = loss.kind;
  const float delta = loss.delta;
  sum(stream, size_t(rows) * size_t(cols), [=] __device__(size_t i) {
    return ref::element_loss(kind, input, delta, z ? z[i] : 0.0f, y[i], target[i], scale, grad[i]);
  }, out);
}

void sum_squares(cudaStream_t stream, const float* x, size_t n, double* out) {
  sum(stream, n, [=] __device__(size_t i) { return double(x[i]) * double(x[i]); }, out);
}

void axpy(cudaStream_t stream, float a, const float* x, float* y, size_t n) {
  for_each(stream, n, [=] __device__(size_t i) { y[i] += a * x[i]; });
}

void multiply(cudaStream_t stream, const float* x, const float* m, float* y, size_t n) {
  for_each(stream, n, [=] __device__(size_t i) { y[i] = x[i] * m[i]; });
}

void l1_penalty(cudaStream_t stream, const float* h, float* dh, float coeff, size_t n, double* out) {
  sum(stream, n, [=] __device__(size_t i) {
    const float v = h[i];
    dh[i] += coeff * (v > 0 ? 1.0f : v < 0 ? -1.0f : 0.0f);
    return double(fabsf(v));
  }, out);
}

void optimizer_step(cudaStream_t stream, const UpdateStep& step, float* w, const float* grad, float* s1, float* s2,
                    size_t n) {
  for_each(stream, n, [=] __device__(size_t i) {
    ref::update_parameter(step, w[i], grad[i], s1 ? s1 + i : nullptr, s2 ? s2 + i : nullptr);
  });
}

}  // namespace ae::cuda
