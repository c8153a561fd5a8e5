// Argument conversion between JS values and the core's structures.
#include "binding/convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/errors.h"

namespace ae::binding {

namespace {

Napi::Value field(const Napi::Object& obj, const char* key) { return obj.Get(key); }

double number_field(const Napi::Object& obj, const char* key, double fallback) {
  Napi::Value v = field(obj, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw_type(std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_range(std::string(key) + " must be a finite number");
  return d;
}

long integer_field(const Napi::Object& obj, const char* key, long fallback, long min, long max) {
  double d = number_field(obj, key, double(fallback));
  if (d != std::floor(d) || d < double(min) || d > double(max))
    throw_range(std::string(key) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return long(d);
}

bool bool_field(const Napi::Object& obj, const char* key, bool fallback) {
  Napi::Value v = field(obj, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) throw_type(std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string string_field(const Napi::Object& obj, const char* key, const std::string& fallback) {
  Napi::Value v = field(obj, key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) throw_type(std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Object object_field(const Napi::Object& obj, const char* key) {
  Napi::Value v = field(obj, key);
  if (v.IsUndefined() || v.IsNull()) return Napi::Object::New(obj.Env());
  if (!v.IsObject()) throw_type(std::string(key) + " must be an object");
  return v.As<Napi::Object>();
}

constexpr long kMaxWidth = 1L << 24;

}  // namespace

float* writable_float_rows(const Napi::Value& value, const char* name, long rows, long cols) {
  // One napi_get_typedarray_info per array: each call tests the array against every element type,
  // and the wrapper classes' checks and accessors made four such calls per one-row prediction.
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (!value.IsTypedArray() ||
      napi_get_typedarray_info(value.Env(), value, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array)
    throw_type(std::string(name) + " must be a Float32Array");
  const size_t expected = size_t(rows) * size_t(cols);
  if (length != expected)
    throw_range(std::string(name) + " must hold " + std::to_string(rows) + " × " + std::to_string(cols) +
                " values; received " + std::to_string(length));
  return static_cast<float*>(data);
}

FloatSpan float_rows(const Napi::Value& value, const char* name, long rows, long cols) {
  return FloatSpan{writable_float_rows(value, name, rows, cols), size_t(rows) * size_t(cols)};
}

std::string backend_arg(const Napi::Value& value) {
  if (value.IsUndefined()) return "cpu";
  if (!value.IsString()) throw_type("backend must be a string");
  return value.As<Napi::String>().Utf8Value();
}

long integer_arg(const Napi::Value& value, const char* name, long min, long max) {
  if (!value.IsNumber()) throw_type(std::string(name) + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!(d == std::floor(d)) || d < double(min) || d > double(max))
    throw_range(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return long(d);
}

namespace {

// A precision by name; TF32 (a CUDA mode of fits) only where `with_tf32`.
Precision precision_named(const std::string& name, bool with_tf32) {
  if (name == "bf16") return Precision::Bf16;
  if (with_tf32 && name == "tf32") return Precision::Tf32;
  if (name != "float32") throw_range(with_tf32 ? "precision must be one of float32, bf16, tf32" : "precision must be one of float32, bf16");
  return Precision::Float32;
}

}  // namespace

Precision precision_arg(const Napi::Value& value) {
  if (value.IsUndefined()) return Precision::Float32;
  if (!value.IsString()) throw_type("precision must be a string");
  return precision_named(value.As<Napi::String>().Utf8Value(), false);
}

NetworkSpec network_spec_from(const Napi::Object& spec) {
  NetworkSpec out;
  Napi::Value layers = spec.Get("layers");
  if (!layers.IsArray()) throw_type("layers must be an array");
  auto array = layers.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw_type("layers[" + std::to_string(i) + "] must be an object");
    auto obj = item.As<Napi::Object>();
    LayerSpec l;
    l.name = string_field(obj, "name", "layer." + std::to_string(i));
    l.inputs = integer_field(obj, "inputs", 0, 1, kMaxWidth);
    l.units = integer_field(obj, "units", 0, 1, kMaxWidth);
    l.activation.kind = parse_activation(string_field(obj, "activation", "linear"));
    l.activation.alpha = float(number_field(obj, "alpha", default_alpha(l.activation.kind)));
    l.activation.group = int(integer_field(obj, "group", 0, 0, kMaxWidth));
    l.kernel_initializer = parse_initializer(string_field(obj, "kernelInitializer", "glorotUniform"));
    l.dropout = float(number_field(obj, "dropout", 0.0));
    out.layers.push_back(std::move(l));
  }
  out.latent_layer = int(integer_field(spec, "latentLayer", -1, -1, long(array.Length()) - 1));
  out.variational = bool_field(spec, "variational", false);
  validate_spec(out);
  return out;
}

LossSpec loss_spec_from(const Napi::Value& name, const Napi::Value& delta) {
  if (!name.IsString()) throw_type("loss must be a string");
  LossSpec spec;
  spec.kind = parse_loss(name.As<Napi::String>().Utf8Value());
  if (delta.IsNumber()) spec.delta = float(delta.As<Napi::Number>().DoubleValue());
  if (!(spec.delta > 0.0f) || !std::isfinite(spec.delta)) throw_range("huberDelta must be a finite number > 0");
  return spec;
}

FitConfig fit_config_from(const Napi::Object& o) {
  FitConfig c;
  c.epochs = int(integer_field(o, "epochs", 1, 0, 1L << 30));
  c.batch_size = integer_field(o, "batchSize", 32, 1, 1L << 30);
  c.shuffle = bool_field(o, "shuffle", true);
  Napi::Value seed = o.Get("seed");
  if (!seed.IsUndefined() && !seed.IsNull()) {
    c.reseed = true;
    c.seed = uint64_t(integer_field(o, "seed", 0, 0, (1L << 53) - 1));
  }
  c.loss = loss_spec_from(o.Get("loss"), o.Get("huberDelta"));

  Napi::Object opt = object_field(o, "optimizer");
  OptimizerConfig& oc = c.optimizer;
  oc.kind = parse_optimizer(string_field(opt, "type", "adam"));
  oc.learning_rate = float(number_field(opt, "learningRate", oc.kind == OptimizerKind::Sgd ? 0.01 : 0.001));
  oc.momentum = float(number_field(opt, "momentum", 0.0));
  oc.nesterov = bool_field(opt, "nesterov", false);
  oc.beta1 = float(number_field(opt, "beta1", 0.9));
  oc.beta2 = float(number_field(opt, "beta2", 0.999));
  oc.epsilon = float(number_field(opt, "epsilon", 1e-7));
  oc.rho = float(number_field(opt, "rho", 0.9));
  oc.initial_accumulator = float(number_field(opt, "initialAccumulatorValue", 0.1));
  oc.weight_decay = float(number_field(opt, "weightDecay", oc.kind == OptimizerKind::AdamW ? 0.01 : 0.0));
  oc.clip_norm = float(number_field(opt, "clipNorm", 0.0));
  oc.clip_value = float(number_field(opt, "clipValue", 0.0));

  Napi::Object sched = object_field(o, "schedule");
  ScheduleConfig& sc = c.schedule;
  sc.kind = parse_schedule(string_field(sched, "type", "constant"));
  sc.step_size = integer_field(sched, "stepSize", 1, 1, 1L << 40);
  sc.gamma = float(number_field(sched, "gamma", 0.1));
  sc.decay_steps = integer_field(sched, "decaySteps", 1, 1, 1L << 40);
  sc.decay_rate = float(number_field(sched, "decayRate", 0.96));
  sc.staircase = bool_field(sched, "staircase", false);
  sc.alpha = float(number_field(sched, "alpha", 0.0));
  sc.warmup_steps = integer_field(sched, "warmupSteps", 0, 0, 1L << 40);

  c.l2 = float(number_field(o, "l2", 0.0));
  c.latent_l1 = float(number_field(o, "latentL1", 0.0));
  const std::string noise = string_field(o, "noise", "none");
  if (noise == "gaussian") c.noise = NoiseKind::Gaussian;
  else if (noise == "masking") c.noise = NoiseKind::Masking;
  else if (noise != "none") throw_range("noise must be one of none, gaussian, masking");
  c.noise_level = float(number_field(o, "noiseLevel", 0.0));
  c.patience = int(integer_field(o, "patience", -1, -1, 1L << 30));
  c.min_delta = float(number_field(o, "minDelta", 0.0));
  c.restore_best = bool_field(o, "restoreBestWeights", false);
  c.skip_non_finite = bool_field(o, "skipNonFinite", false);
  c.precision = precision_named(string_field(o, "precision", "float32"), true);
  c.checkpoint_every = int(integer_field(o, "checkpointEvery", 0, 0, 1L << 30));
  c.beta = float(number_field(o, "beta", 1.0));
  if (c.beta < 0.0f) throw_range("beta must be >= 0");
  c.kl_warmup_epochs = int(integer_field(o, "klWarmupEpochs", 0, 0, 1L << 30));
  c.warmup_epoch = int(integer_field(o, "warmupEpoch", -1, -1, 1L << 30));
  return c;
}

std::string slot_name(int slot, const std::string& parameter) {
  return "optimizer.s" + std::to_string(slot) + "." + parameter;
}

namespace {
// A buffer laid out like the parameters, filled from `tensors`, which holds one Float32Array per
// parameter under the name `name_of` gives it.
template <typename NameOf>
Buffer parameter_shaped(const Model& model, const Napi::Object& tensors, NameOf name_of) {
  Buffer into(model.params().size());
  for (const TensorEntry& e : model.table().entries()) {
    const std::string name = name_of(e.name);
    FloatSpan values = float_rows(tensors.Get(name), name.c_str(), 1, long(e.count()));
    std::copy_n(values.data, values.length, into.data() + e.offset);
  }
  return into;
}
}  // namespace

void training_state_from(const Napi::Object& r, const Model& model, const OptimizerConfig& optimizer,
                         TrainingState& state) {
  state.epoch = int(integer_field(r, "epoch", 0, 0, 1L << 30));
  state.step = integer_field(r, "step", 0, 0, (1L << 53) - 1);
  state.best_monitor = r.Get("bestMonitor").IsNumber() ? r.Get("bestMonitor").As<Napi::Number>().DoubleValue()
                                                       : std::numeric_limits<double>::infinity();
  state.wait = int(integer_field(r, "wait", 0, 0, 1L << 30));
  state.best_epoch = int(integer_field(r, "bestEpoch", -1, -1, 1L << 30));
  Napi::Value rng = r.Get("rng");
  if (!rng.IsTypedArray() || rng.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      rng.As<Napi::TypedArray>().ElementLength() != 4)
    throw_type("resume.rng must be a BigUint64Array of 4 words");
  auto words = rng.As<Napi::TypedArrayOf<uint64_t>>();
  for (size_t i = 0; i < 4; ++i) state.rng[i] = words[i];
  // xoshiro256** never leaves the all-zero state: a draw below a bound would loop for ever.
  if ((state.rng[0] | state.rng[1] | state.rng[2] | state.rng[3]) == 0) throw_range("resume.rng must not be all zeros");
  Napi::Object slots = object_field(r, "slots");
  const int count = optimizer_state_slots(optimizer);
  // A checkpoint's weights, which the fit writes once it has checked its settings; a resumed chunk of
  // fitStream has none (the model holds them).
  Napi::Value weights = r.Get("weights");
  if (!weights.IsUndefined()) {
    if (!weights.IsObject()) throw_type("resume.weights must be an object of Float32Arrays");
    state.params = parameter_shaped(model, weights.As<Napi::Object>(), [](const std::string& name) { return name; });
  }
  for (int slot = 1; slot <= count; ++slot)
    (slot == 1 ? state.s1 : state.s2) =
        parameter_shaped(model, slots, [slot](const std::string& name) { return slot_name(slot, name); });
}

CheckpointSnapshot snapshot_of(const Model& model, const TrainingState& state) {
  CheckpointSnapshot snap;
  snap.epoch = state.epoch;
  snap.step = state.step;
  snap.rng = state.rng;
  snap.best_monitor = state.best_monitor;
  snap.wait = state.wait;
  snap.best_epoch = state.best_epoch;
  auto add = [&](const std::string& name, const float* base, const TensorEntry& e) {
    snap.tensors.emplace_back(name, std::vector<float>(base + e.offset, base + e.offset + e.count()));
  };
  for (const TensorEntry& e : model.table().entries()) add(e.name, model.params().data(), e);
  for (const TensorEntry& e : model.table().entries()) {
    if (state.s1.size()) add(slot_name(1, e.name), state.s1.data(), e);
    if (state.s2.size()) add(slot_name(2, e.name), state.s2.data(), e);
  }
  return snap;
}

Napi::Object snapshot_to_js(Napi::Env env, const CheckpointSnapshot& s) {
  auto o = Napi::Object::New(env);
  o.Set("epoch", s.epoch);
  o.Set("step", double(s.step));
  auto rng = Napi::TypedArrayOf<uint64_t>::New(env, 4, napi_biguint64_array);
  for (size_t i = 0; i < 4; ++i) rng[i] = s.rng[i];
  o.Set("rng", rng);
  o.Set("bestMonitor", s.best_monitor);
  o.Set("wait", s.wait);
  o.Set("bestEpoch", s.best_epoch);
  auto tensors = Napi::Object::New(env);
  for (const auto& [name, data] : s.tensors) tensors.Set(name, new_float32(env, data.data(), data.size()));
  o.Set("tensors", tensors);
  return o;
}

Napi::Float32Array new_float32(Napi::Env env, const float* data, size_t length) {
  auto out = Napi::Float32Array::New(env, length);
  if (length) std::memcpy(out.Data(), data, length * sizeof(float));
  return out;
}

Napi::Object epoch_to_js(Napi::Env env, const EpochStats& s) {
  auto o = Napi::Object::New(env);
  o.Set("epoch", s.epoch);
  o.Set("loss", s.loss);
  o.Set("reconstruction", s.reconstruction);
  o.Set("kl", s.kl);
  o.Set("beta", s.beta);
  o.Set("penalty", s.penalty);
  if (s.has_validation) o.Set("valLoss", s.val_loss);
  else o.Set("valLoss", env.Undefined());
  o.Set("learningRate", s.learning_rate);
  o.Set("samplesPerSecond", s.samples_per_second);
  o.Set("seconds", s.seconds);
  o.Set("skippedBatches", double(s.skipped_batches));
  o.Set("communicationSeconds", s.communication_seconds);
  return o;
}

Napi::Object fit_result_to_js(Napi::Env env, const FitResult& r) {
  auto o = Napi::Object::New(env);
  auto epochs = Napi::Array::New(env, r.epochs.size());
  for (size_t i = 0; i < r.epochs.size(); ++i) epochs.Set(uint32_t(i), epoch_to_js(env, r.epochs[i]));
  o.Set("epochs", epochs);
  const char* reason = r.reason == StopReason::Completed       ? "completed"
                       : r.reason == StopReason::EarlyStopping ? "earlyStopping"
                                                               : "cancelled";
  o.Set("reason", reason);
  o.Set("bestEpoch", r.best_epoch);
  o.Set("steps", double(r.steps));
  o.Set("restoredBestWeights", r.restored_best);
  return o;
}

Napi::Object backend_info_to_js(Napi::Env env, const BackendInfo& info) {
  auto o = Napi::Object::New(env);
  o.Set("backend", info.backend);
  o.Set("device", info.device);
  o.Set("memoryFree", info.memory_free);
  o.Set("blas", info.blas);
  o.Set("blasKernels", info.blas_kernels);
  o.Set("gemmReason", info.gemm_reason);
  o.Set("simd", info.simd);
  o.Set("threads", info.threads);
  o.Set("flushDenormals", info.flush_denormals);
  o.Set("bf16", info.bf16_kernels);
  o.Set("bf16Reason", info.bf16_reason);
  return o;
}

}  // namespace ae::binding
