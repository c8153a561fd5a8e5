// Activation kinds, their names, and the scalar reference of each function and its derivative.
// The reference is templated on the scalar type so that gradient checks run it in double; the
// vectorized kernels in native/cpu are tested against it.
#pragma once
#include <cmath>
#include <string>

#include "core/host_device.h"

namespace ae {

enum class Activation { Linear, Relu, LeakyRelu, Elu, Selu, Sigmoid, Tanh, Softplus, Silu, Gelu, Softmax };

struct ActivationSpec {
  Activation kind = Activation::Linear;
  float alpha = 0.0f;  // leakyRelu slope, elu alpha
  int group = 0;       // softmax group size; 0 means the whole row
};

Activation parse_activation(const std::string& name);  // throws ERR_INVALID_ARG_VALUE
const char* activation_name(Activation kind);
float default_alpha(Activation kind);

// Backward needs the pre-activation only for these; the others differentiate from the output.
AE_HOST_DEVICE inline bool needs_preactivation(Activation kind) {
  return kind == Activation::Softplus || kind == Activation::Silu || kind == Activation::Gelu;
}

namespace ref {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kGeluC = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluK = 0.044715;

template <typename T>
AE_HOST_DEVICE T sigmoid(T x) {
  T e = std::exp(-std::fabs(x));
  T s = T(1) / (T(1) + e);
  return x >= 0 ? s : e * s;
}

template <typename T>
AE_HOST_DEVICE T softplus(T x) {
  return std::fmax(x, T(0)) + std::log1p(std::exp(-std::fabs(x)));
}

// Element-wise activation (not softmax).
template <typename T>
AE_HOST_DEVICE T activate(Activation kind, T alpha, T z) {
  switch (kind) {
    case Activation::Linear: return z;
    case Activation::Relu: return z > 0 || z != z ? z : T(0);  // NaN stays NaN
    case Activation::LeakyRelu: return z > 0 ? z : alpha * z;
    case Activation::Elu: return z > 0 ? z : alpha * std::expm1(z);
    case Activation::Selu: return z > 0 ? T(kSeluScale) * z : T(kSeluScale * kSeluAlpha) * std::expm1(z);
    case Activation::Sigmoid: return sigmoid(z);
    case Activation::Tanh: return std::tanh(z);
    case Activation::Softplus: return softplus(z);
    case Activation::Silu: return z * sigmoid(z);
    case Activation::Gelu: return T(0.5) * z * (T(1) + std::tanh(T(kGeluC) * (z + T(kGeluK) * z * z * z)));
    case Activation::Softmax: break;
  }
  return z;
}

// d activate / dz, from the pre-activation z and the output y.
template <typename T>
AE_HOST_DEVICE T derivative(Activation kind, T alpha, T z, T y) {
  switch (kind) {
    case Activation::Linear: return T(1);
    case Activation::Relu: return z > 0 ? T(1) : T(0);
    case Activation::LeakyRelu: return z > 0 ? T(1) : alpha;
    case Activation::Elu: return z > 0 ? T(1) : y + alpha;
    case Activation::Selu: return z > 0 ? T(kSeluScale) : y + T(kSeluScale * kSeluAlpha);
    case Activation::Sigmoid: return y * (T(1) - y);
    case Activation::Tanh: return T(1) - y * y;
    case Activation::Softplus: return sigmoid(z);
    case Activation::Silu: {
      T s = sigmoid(z);
      return s * (T(1) + z * (T(1) - s));
    }
    case Activation::Gelu: {
      T inner = T(kGeluC) * (z + T(kGeluK) * z * z * z);
      T t = std::tanh(inner);
      return T(0.5) * (T(1) + t) + T(0.5) * z * (T(1) - t * t) * T(kGeluC) * (T(1) + T(3 * kGeluK) * z * z);
    }
    case Activation::Softmax: break;
  }
  return T(1);
}

// Forward over a rows × cols block: z += bias, y = act(z). Softmax runs over groups of `group`
// columns (the whole row when group is 0).
template <typename T>
void bias_activation_forward(const ActivationSpec& spec, const T* bias, T* z, T* y, long rows, long cols) {
  const T alpha = T(spec.alpha);
  const long group = spec.group > 0 ? spec.group : cols;
  for (long r = 0; r < rows; ++r) {
    T* zr = z + r * cols;
    T* yr = y + r * cols;
    for (long c = 0; c < cols; ++c) zr[c] += bias ? bias[c] : T(0);
    if (spec.kind == Activation::Softmax) {
      for (long g = 0; g < cols; g += group) {
        T m = zr[g];
        for (long c = g; c < g + group; ++c) m = std::fmax(m, zr[c]);
        T sum = 0;
        for (long c = g; c < g + group; ++c) sum += (yr[c] = std::exp(zr[c] - m));
        for (long c = g; c < g + group; ++c) yr[c] /= sum;
      }
    } else {
      for (long c = 0; c < cols; ++c) yr[c] = activate(spec.kind, alpha, zr[c]);
    }
  }
}

// Backward: dz = dy * act'(z). z may be null when the kind does not need it.
template <typename T>
void activation_backward(const ActivationSpec& spec, const T* z, const T* y, const T* dy, T* dz, long rows,
                         long cols) {
  const T alpha = T(spec.alpha);
  const long group = spec.group > 0 ? spec.group : cols;
  for (long r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    const T* dyr = dy + r * cols;
    T* dzr = dz + r * cols;
    if (spec.kind == Activation::Softmax) {
      for (long g = 0; g < cols; g += group) {
        T dot = 0;
        for (long c = g; c < g + group; ++c) dot += dyr[c] * yr[c];
        for (long c = g; c < g + group; ++c) dzr[c] = yr[c] * (dyr[c] - dot);
      }
    } else {
      for (long c = 0; c < cols; ++c) {
        T zc = z ? z[r * cols + c] : yr[c];
        dzr[c] = dyr[c] * derivative(spec.kind, alpha, zc, yr[c]);
      }
    }
  }
}

}  // namespace ref
}  // namespace ae
