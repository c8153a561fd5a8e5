// Optimizer names, state sizes, schedules and the per-step scalars.
#include "core/optimizer.h"

#include "core/errors.h"

namespace ae {

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::Sgd;
  if (name == "adam") return OptimizerKind::Adam;
  if (name == "adamw") return OptimizerKind::AdamW;
  if (name == "rmsprop") return OptimizerKind::RmsProp;
  if (name == "adagrad") return OptimizerKind::Adagrad;
  throw Error(ErrorKind::Range, "ERR_INVALID_ARG_VALUE",
              "optimizer.type must be one of sgd, adam, adamw, rmsprop, adagrad; received '" + name + "'");
}

int optimizer_state_slots(const OptimizerConfig& config) {
  switch (config.kind) {
    case OptimizerKind::Sgd: return config.momentum != 0.0f ? 1 : 0;
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW: return 2;
    case OptimizerKind::RmsProp: return config.momentum != 0.0f ? 2 : 1;
    case OptimizerKind::Adagrad: return 1;
  }
  return 0;
}

ScheduleKind parse_schedule(const std::string& name) {
  if (name == "constant") return ScheduleKind::Constant;
  if (name == "step") return ScheduleKind::Step;
  if (name == "exponential") return ScheduleKind::Exponential;
  if (name == "cosine") return ScheduleKind::Cosine;
  throw Error(ErrorKind::Range, "ERR_INVALID_ARG_VALUE",
              "schedule.type must be one of constant, step, exponential, cosine; received '" + name + "'");
}

double scheduled_learning_rate(const ScheduleConfig& s, double base, int64_t step) {
  if (s.warmup_steps > 0 && step < s.warmup_steps) return base * double(step + 1) / double(s.warmup_steps);
  const double t = double(step - s.warmup_steps);
  switch (s.kind) {
    case ScheduleKind::Constant: return base;
    case ScheduleKind::Step: return base * std::pow(double(s.gamma), std::floor(t / double(s.step_size)));
    case ScheduleKind::Exponential: {
      double p = t / double(s.decay_steps);
      return base * std::pow(double(s.decay_rate), s.staircase ? std::floor(p) : p);
    }
    case ScheduleKind::Cosine: {
      double progress = std::fmin(t, double(s.decay_steps)) / double(s.decay_steps);
      double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
      return base * ((1.0 - s.alpha) * cosine + s.alpha);
    }
  }
  return base;
}

UpdateStep make_update_step(const OptimizerConfig& config, double learning_rate, int64_t t, double grad_norm) {
  UpdateStep step;
  step.config = config;
  step.learning_rate = float(learning_rate);
  if (config.clip_norm > 0 && grad_norm > config.clip_norm) step.grad_scale = float(config.clip_norm / grad_norm);
  if (config.clip_value > 0) step.clip_value = config.clip_value;
  step.bias_correction1 = float(1.0 - std::pow(double(config.beta1), double(t)));
  step.bias_correction2 = float(1.0 - std::pow(double(config.beta2), double(t)));
  return step;
}

}  // namespace ae
