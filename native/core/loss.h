// Loss kinds and the scalar reference of each loss with its gradient. Every loss is a mean: over
// all elements, or over rows × groups for categorical cross-entropy (one term per character slot).
#pragma once
#include <cmath>
#include <limits>
#include <string>

#include "core/activation.h"
#include "core/host_device.h"

namespace ae {

enum class Loss { Mse, Mae, Huber, BinaryCrossentropy, CategoricalCrossentropy };

struct LossSpec {
  Loss kind = Loss::Mse;
  float delta = 1.0f;  // huber threshold
};

Loss parse_loss(const std::string& name);  // throws ERR_INVALID_ARG_VALUE
const char* loss_name(Loss kind);

// How the loss meets the output layer. Fused: the gradient is taken with respect to the logits
// (sigmoid + binary cross-entropy, softmax + categorical cross-entropy), which never takes log(0).
enum class LossInput { Output, Logits };
inline LossInput loss_input(Loss loss, Activation output) {
  if (loss == Loss::BinaryCrossentropy && output == Activation::Sigmoid) return LossInput::Logits;
  if (loss == Loss::CategoricalCrossentropy && output == Activation::Softmax) return LossInput::Logits;
  return LossInput::Output;
}

// Probabilities are clipped to [eps, 1 - eps] when cross-entropy is taken from outputs (as Keras does).
constexpr double kProbEpsilon = 1e-7;

// The number of terms the loss averages over.
inline double loss_terms(const LossSpec& spec, long rows, long cols, int group) {
  if (spec.kind == Loss::CategoricalCrossentropy) return double(rows) * double(cols / (group > 0 ? group : cols));
  return double(rows) * double(cols);
}

namespace ref {

// One element of the element-wise losses (all but categorical cross-entropy): returns its loss and
// writes d(loss)/d(input) · scale into grad. The CPU reference and the CUDA kernels both call it.
template <typename T>
AE_HOST_DEVICE double element_loss(Loss kind, LossInput input, T delta, T z, T y, T target, T scale, T& grad) {
  const T eps = T(kProbEpsilon);
  const T d = y - target;
  switch (kind) {
    case Loss::Mse:
      grad = T(2) * d * scale;
      return double(d * d);
    case Loss::Mae:
      grad = (d > 0 ? T(1) : d < 0 ? T(-1) : T(0)) * scale;
      return double(std::fabs(d));
    case Loss::Huber: {
      const T a = std::fabs(d);
      if (a <= delta) {
        grad = d * scale;
        return double(T(0.5) * d * d);
      }
      grad = (d > 0 ? delta : d < 0 ? -delta : T(0)) * scale;
      return double(delta * (a - T(0.5) * delta));
    }
    case Loss::BinaryCrossentropy: {
      if (input == LossInput::Logits) {
        grad = d * scale;
        return double(std::fmax(z, T(0)) - z * target + std::log1p(std::exp(-std::fabs(z))));
      }
      T p = y;
      const bool clipped = !(p > eps && p < T(1) - eps);
      // Clipping would turn a NaN output into a finite loss; keep it visible.
      const double nan_kept = std::isnan(p) ? double(NAN) : 0.0;
      p = std::fmin(std::fmax(p, eps), T(1) - eps);
      grad = clipped ? T(0) : (p - target) / (p * (T(1) - p)) * scale;
      return nan_kept + double(-(target * std::log(p) + (T(1) - target) * std::log(T(1) - p)));
    }
    case Loss::CategoricalCrossentropy: break;
  }
  grad = T(0);
  return 0.0;
}

// One group of `g` classes of categorical cross-entropy (a softmax group, or the whole row).
template <typename T>
AE_HOST_DEVICE double categorical_group(LossInput input, const T* z, const T* y, const T* target, T* grad, long g,
                                        T scale) {
  double total = 0;
  if (input == LossInput::Logits) {
    T m = z[0];
    for (long c = 0; c < g; ++c) m = std::fmax(m, z[c]);
    T sum = 0, tsum = 0;
    for (long c = 0; c < g; ++c) {
      sum += std::exp(z[c] - m);
      tsum += target[c];
    }
    const T lse = m + std::log(sum);
    for (long c = 0; c < g; ++c) {
      total += double(-target[c] * (z[c] - lse));
      grad[c] = (y[c] * tsum - target[c]) * scale;
    }
    return total;
  }
  const T eps = T(kProbEpsilon);
  for (long c = 0; c < g; ++c) {
    T p = y[c];
    const bool clipped = !(p > eps && p < T(1) - eps);
    if (std::isnan(p)) total += double(NAN);
    p = std::fmin(std::fmax(p, eps), T(1) - eps);
    total += double(-target[c] * std::log(p));
    grad[c] = clipped ? T(0) : -target[c] / p * scale;
  }
  return total;
}

// Returns the summed loss over a rows × cols block; writes d(mean loss)/d(input) into grad, where
// input is the output y, or the logits z when `input` is Logits. `scale` is 1 / loss_terms.
template <typename T>
double loss_forward_backward(const LossSpec& spec, LossInput input, int group, const T* z, const T* y,
                             const T* target, T* grad, long rows, long cols, T scale) {
  double total = 0;
  if (spec.kind == Loss::CategoricalCrossentropy) {
    const long g = group > 0 ? group : cols;
    for (long base = 0; base < rows * cols; base += g)
      total += categorical_group(input, z + base, y + base, target + base, grad + base, g, scale);
    return total;
  }
  const T delta = T(spec.delta);
  for (long i = 0; i < rows * cols; ++i)
    total += element_loss(spec.kind, input, delta, z ? z[i] : T(0), y[i], target[i], scale, grad[i]);
  return total;
}

}  // namespace ref
}  // namespace ae
