// Reading JS arguments into core structures, and core results into JS values. The TypeScript layer
// validates first and names the argument; these checks only keep bad input from crashing.
#pragma once
#include <napi.h>

#include <string>

#include "core/network.h"
#include "core/trainer.h"

namespace ae::binding {

struct FloatSpan {
  const float* data = nullptr;
  size_t length = 0;
};

// A Float32Array argument holding rows × cols values.
FloatSpan float_rows(const Napi::Value& value, const char* name, long rows, long cols);
// The same, for an array the call writes into.
float* writable_float_rows(const Napi::Value& value, const char* name, long rows, long cols);
long integer_arg(const Napi::Value& value, const char* name, long min, long max);
// An optional inference precision argument, "float32" (when undefined) or "bf16".
Precision precision_arg(const Napi::Value& value);
// An optional backend name argument: "cpu" when undefined (AddonState::backend_named checks the name).
std::string backend_arg(const Napi::Value& value);

NetworkSpec network_spec_from(const Napi::Object& spec);
FitConfig fit_config_from(const Napi::Object& options);

// Optimizer slots travel to and from JS as named tensors: "optimizer.s1.<parameter name>".
std::string slot_name(int slot, const std::string& parameter);
// Reads options.resume into `state` (slots laid out like the model's parameters).
void training_state_from(const Napi::Object& resume, const Model& model, const OptimizerConfig& optimizer,
                         TrainingState& state);

// A copy of the weights and training state, taken on the training thread.
struct CheckpointSnapshot {
  int epoch = 0;
  int64_t step = 0;
  std::array<uint64_t, 4> rng{};
  double best_monitor = 0;
  int wait = 0;
  int best_epoch = -1;
  std::vector<std::pair<std::string, std::vector<float>>> tensors;
};
CheckpointSnapshot snapshot_of(const Model& model, const TrainingState& state);
Napi::Object snapshot_to_js(Napi::Env env, const CheckpointSnapshot& snapshot);
LossSpec loss_spec_from(const Napi::Value& name, const Napi::Value& delta);

Napi::Float32Array new_float32(Napi::Env env, const float* data, size_t length);
Napi::Object epoch_to_js(Napi::Env env, const EpochStats& stats);
Napi::Object fit_result_to_js(Napi::Env env, const FitResult& result);
Napi::Object backend_info_to_js(Napi::Env env, const BackendInfo& info);

}  // namespace ae::binding
