// Loss kinds and the scalar reference of each loss with its gradient. Every loss is a mean: over
// all elements, or over rows × groups for categorical cross-entropy (one term per character slot).
#pragma once
#include <cmath>
#include <limits>
#include <string>

#include "core/activation.h"

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

// Returns the summed loss over a rows × cols block; writes d(mean loss)/d(input) into grad, where
// input is the output y, or the logits z when `input` is Logits. `scale` is 1 / loss_terms.
template <typename T>
double loss_forward_backward(const LossSpec& spec, LossInput input, int group, const T* z, const T* y,
                             const T* target, T* grad, long rows, long cols, T scale) {
  double total = 0;
  const T delta = T(spec.delta);
  const T eps = T(kProbEpsilon);
  const long n = rows * cols;
  switch (spec.kind) {
    case Loss::Mse:
      for (long i = 0; i < n; ++i) {
        T d = y[i] - target[i];
        total += double(d * d);
        grad[i] = T(2) * d * scale;
      }
      break;
    case Loss::Mae:
      for (long i = 0; i < n; ++i) {
        T d = y[i] - target[i];
        total += double(std::fabs(d));
        grad[i] = (d > 0 ? T(1) : d < 0 ? T(-1) : T(0)) * scale;
      }
      break;
    case Loss::Huber:
      for (long i = 0; i < n; ++i) {
        T d = y[i] - target[i];
        T a = std::fabs(d);
        if (a <= delta) {
          total += double(T(0.5) * d * d);
          grad[i] = d * scale;
        } else {
          total += double(delta * (a - T(0.5) * delta));
          grad[i] = (d > 0 ? delta : d < 0 ? -delta : T(0)) * scale;
        }
      }
      break;
    case Loss::BinaryCrossentropy:
      for (long i = 0; i < n; ++i) {
        if (input == LossInput::Logits) {
          T x = z[i];
          total += double(std::fmax(x, T(0)) - x * target[i] + std::log1p(std::exp(-std::fabs(x))));
          grad[i] = (y[i] - target[i]) * scale;
        } else {
          T p = y[i];
          bool clipped = !(p > eps && p < T(1) - eps);
          // Clipping would turn a NaN output into a finite loss; keep it visible.
          if (std::isnan(p)) total += std::numeric_limits<double>::quiet_NaN();
          p = std::fmin(std::fmax(p, eps), T(1) - eps);
          total += double(-(target[i] * std::log(p) + (T(1) - target[i]) * std::log(T(1) - p)));
          grad[i] = clipped ? T(0) : (p - target[i]) / (p * (T(1) - p)) * scale;
        }
      }
      break;
    case Loss::CategoricalCrossentropy: {
      const long g = group > 0 ? group : cols;
      for (long r = 0; r < rows; ++r) {
        for (long s = 0; s < cols; s += g) {
          const long base = r * cols + s;
          if (input == LossInput::Logits) {
            T m = z[base];
            for (long c = 0; c < g; ++c) m = std::fmax(m, z[base + c]);
            T sum = 0, tsum = 0;
            for (long c = 0; c < g; ++c) {
              sum += std::exp(z[base + c] - m);
              tsum += target[base + c];
            }
            T lse = m + std::log(sum);
            for (long c = 0; c < g; ++c) {
              total += double(-target[base + c] * (z[base + c] - lse));
              grad[base + c] = (y[base + c] * tsum - target[base + c]) * scale;
            }
          } else {
            for (long c = 0; c < g; ++c) {
              T p = y[base + c];
              bool clipped = !(p > eps && p < T(1) - eps);
              if (std::isnan(p)) total += std::numeric_limits<double>::quiet_NaN();
              p = std::fmin(std::fmax(p, eps), T(1) - eps);
              total += double(-target[base + c] * std::log(p));
              grad[base + c] = clipped ? T(0) : -target[base + c] / p * scale;
            }
          }
        }
      }
      break;
    }
  }
  return total;
}

}  // namespace ref
}  // namespace ae
