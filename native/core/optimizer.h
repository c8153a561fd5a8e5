// Optimizer settings, gradient clipping, learning-rate schedules, and the scalar reference of each
// update (PyTorch's published formulas) that the vectorized kernels are tested against.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "core/host_device.h"

namespace ae {

enum class OptimizerKind { Sgd, Adam, AdamW, RmsProp, Adagrad };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Adam;
  float learning_rate = 1e-3f;
  float momentum = 0.0f;      // sgd, rmsprop
  bool nesterov = false;      // sgd
  float beta1 = 0.9f;         // adam, adamw
  float beta2 = 0.999f;       // adam, adamw
  float epsilon = 1e-7f;      // adam, adamw, rmsprop, adagrad
  float rho = 0.9f;           // rmsprop
  float initial_accumulator = 0.1f;  // adagrad
  float weight_decay = 0.0f;  // coupled (added to the gradient) except for adamw, where it is decoupled
  float clip_norm = 0.0f;     // global-norm clipping when > 0
  float clip_value = 0.0f;    // element-wise clipping when > 0
};

OptimizerKind parse_optimizer(const std::string& name);  // throws ERR_INVALID_ARG_VALUE
int optimizer_state_slots(const OptimizerConfig& config);

enum class ScheduleKind { Constant, Step, Exponential, Cosine };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::Constant;
  int64_t step_size = 1;       // step: batches between drops
  float gamma = 0.1f;          // step: factor per drop
  int64_t decay_steps = 1;     // exponential, cosine
  float decay_rate = 0.96f;    // exponential
  bool staircase = false;      // exponential
  float alpha = 0.0f;          // cosine: floor as a fraction of the initial rate
  int64_t warmup_steps = 0;    // linear warm-up from 0 before the schedule starts
};

ScheduleKind parse_schedule(const std::string& name);
double scheduled_learning_rate(const ScheduleConfig& schedule, double base, int64_t step);

// The per-step scalars of an update, computed once on the host.
struct UpdateStep {
  OptimizerConfig config;
  float learning_rate = 0.0f;
  float grad_scale = 1.0f;  // global-norm clipping factor
  float clip_value = std::numeric_limits<float>::infinity();
  float bias_correction1 = 1.0f;  // 1 - beta1^t
  float bias_correction2 = 1.0f;  // 1 - beta2^t
};

UpdateStep make_update_step(const OptimizerConfig& config, double learning_rate, int64_t t, double grad_norm);

// The arrays an optimizer step reads and writes, each laid out as the parameters are; the
// optional ones (null when unused) are written as the step goes, saving a pass of their own.
struct UpdateBuffers {
  float* weights = nullptr;
  const float* grads = nullptr;
  float* slot1 = nullptr;  // the optimizer's state slots (null where it has fewer)
  float* slot2 = nullptr;
  uint16_t* weights16 = nullptr;  // receives the updated weights rounded to bfloat16
  float* previous = nullptr;      // receives the weights as they were before the step
  // Where parts > 0, the gradient is not `grads` but the sum over r < parts, in that order, of
  // part_weights[r] · grad_parts[r][parts_at + i]: the ranks' gradients of a split fit, summed as
  // the update reads them rather than in a pass of their own (CPU backends only).
  const float* const* grad_parts = nullptr;
  const float* part_weights = nullptr;
  int parts = 0;
  size_t parts_at = 0;
  // The same arrays from element `at` on.
  UpdateBuffers from(size_t at) const {
    auto shift = [at](auto* p) { return p ? p + at : p; };
    UpdateBuffers out = *this;
    out.weights = shift(weights);
    out.grads = shift(grads);
    out.slot1 = shift(slot1);
    out.slot2 = shift(slot2);
    out.weights16 = shift(weights16);
    out.previous = shift(previous);
    out.parts_at = parts_at + at;
    return out;
  }
};

namespace ref {

// The update of one parameter w with gradient g; s1 and s2 point at its optimizer state slots
// (unused ones may be null). The CPU reference and the CUDA kernel both call it.
template <typename T>
AE_HOST_DEVICE void update_parameter(const UpdateStep& step, T& w, T grad, T* s1, T* s2) {
  const OptimizerConfig& c = step.config;
  const T lr = T(step.learning_rate);
  const T clip = T(step.clip_value);
  T g = std::fmin(std::fmax(grad * T(step.grad_scale), -clip), clip);
  if (c.kind != OptimizerKind::AdamW) g += T(c.weight_decay) * w;
  switch (c.kind) {
    case OptimizerKind::Sgd:
      if (c.momentum != 0.0f) {
        *s1 = T(c.momentum) * *s1 + g;
        g = c.nesterov ? g + T(c.momentum) * *s1 : *s1;
      }
      w -= lr * g;
      break;
    case OptimizerKind::AdamW:
      w *= T(1) - lr * T(c.weight_decay);
      [[fallthrough]];
    case OptimizerKind::Adam: {
      *s1 = T(c.beta1) * *s1 + (T(1) - T(c.beta1)) * g;
      *s2 = T(c.beta2) * *s2 + (T(1) - T(c.beta2)) * g * g;
      const T denom = std::sqrt(*s2) / std::sqrt(T(step.bias_correction2)) + T(c.epsilon);
      w -= lr / T(step.bias_correction1) * *s1 / denom;
      break;
    }
    case OptimizerKind::RmsProp: {
      *s1 = T(c.rho) * *s1 + (T(1) - T(c.rho)) * g * g;
      T update = g / (std::sqrt(*s1) + T(c.epsilon));
      if (c.momentum != 0.0f) {
        *s2 = T(c.momentum) * *s2 + update;
        update = *s2;
      }
      w -= lr * update;
      break;
    }
    case OptimizerKind::Adagrad:
      *s1 += g * g;
      w -= lr * g / (std::sqrt(*s1) + T(c.epsilon));
      break;
  }
}

// One update of n parameters. s1 and s2 are the optimizer's state slots (unused ones may be null).
template <typename T>
void optimizer_step(const UpdateStep& step, T* w, const T* grad, T* s1, T* s2, long n) {
  for (long i = 0; i < n; ++i) update_parameter(step, w[i], grad[i], s1 ? s1 + i : nullptr, s2 ? s2 + i : nullptr);
}

}  // namespace ref
}  // namespace ae
