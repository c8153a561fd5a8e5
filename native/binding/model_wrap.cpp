// NativeModel's methods: argument checks that keep the process safe, then one call into the core.
#include "binding/model_wrap.h"

#include <cstdint>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/owned_rows.h"
#include "binding/workers.h"
#include "mpi/mpi_collective.h"

namespace ae::binding {

namespace {

[[noreturn]] void throw_state(Napi::Env env, const char* code, const std::string& message) {
  throw_js(env, ErrorInfo{ErrorKind::State, code, message});
}

constexpr long kMaxRows = 1L << 40;

// Where a prediction's result goes: the caller's `out` when given (apart from x: a prediction
// writes each chunk's result before it reads the next chunk's rows), else a new array.
struct ResultArray {
  Napi::Value array;
  float* data;
};

ResultArray result_array(Napi::Env env, const Napi::Value& out, const FloatSpan& x, long rows, long cols) {
  const size_t values = size_t(rows) * size_t(cols);
  if (!out.IsUndefined()) {
    float* given = writable_float_rows(out, "options.out", rows, cols);
    // As addresses: comparing pointers into unrelated arrays is unspecified.
    const auto at = [](const float* p) { return reinterpret_cast<std::uintptr_t>(p); };
    const bool apart = values == 0 || x.length == 0 || at(given + values) <= at(x.data) ||
                       at(x.data + x.length) <= at(given);
    if (!apart) throw_range("options.out must not share memory with x");
    return {out, given};
  }
  Napi::Float32Array made = result_float32(env, values);
  return {made, made.Data()};
}

}  // namespace

Napi::Function ModelWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceAccessor<&ModelWrap::parameter_count>("parameterCount"),
                         InstanceAccessor<&ModelWrap::backend_name>("backend"),
                         InstanceAccessor<&ModelWrap::busy>("busy"),
                         InstanceAccessor<&ModelWrap::disposed>("disposed"),
                         InstanceMethod<&ModelWrap::tensors>("tensors"),
                         InstanceMethod<&ModelWrap::get_tensor>("getTensor"),
                         InstanceMethod<&ModelWrap::set_tensor>("setTensor"),
                         InstanceMethod<&ModelWrap::predict>("predict"),
                         InstanceMethod<&ModelWrap::predict_async>("predictAsync"),
                         InstanceMethod<&ModelWrap::evaluate>("evaluate"),
                         InstanceMethod<&ModelWrap::reconstruction_error>("reconstructionError"),
                         InstanceMethod<&ModelWrap::reconstruction_error_async>("reconstructionErrorAsync"),
                         InstanceMethod<&ModelWrap::fit>("fit"),
                         InstanceMethod<&ModelWrap::cancel>("cancel"),
                         InstanceMethod<&ModelWrap::dispose>("dispose"),
                     });
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info), state_(&state_of(info.Env())) {
  Napi::Env env = info.Env();
  guarded(env, [&] {
    if (info.Length() < 2 || !info[0].IsObject()) throw_type("spec must be an object");
    NetworkSpec spec = network_spec_from(info[0].As<Napi::Object>());
    const uint64_t seed = uint64_t(integer_arg(info[1], "seed", 0, (1L << 53) - 1));
    backend_name_ = backend_arg(info[2]);
    backend_ = &state_->backend_named(backend_name_);
    model_ = std::make_shared<Model>(std::move(spec), seed, backend_->memory());
  });
  external_bytes_ = int64_t(model_->params().size() * sizeof(float));
  Napi::MemoryManagement::AdjustExternalMemory(env, external_bytes_);
}

ModelWrap::~ModelWrap() {
  if (job_) job_->cancel();
  // The C call, not the C++ wrapper: a finalizer during environment teardown must not throw.
  int64_t adjusted = 0;
  if (external_bytes_ != 0) napi_adjust_external_memory(Env(), -external_bytes_, &adjusted);
}

void ModelWrap::end_read(std::unique_ptr<InferenceScratch> scratch) {
  --readers_;
  if (model_ && !idle_scratch_ && scratch->input.size() * sizeof(float) <= bytes_worth_keeping(*model_))
    idle_scratch_ = std::move(scratch);
}

void ModelWrap::release_memory(Napi::Env env) {
  model_.reset();
  small_ws_ = CachedWorkspace{};
  idle_scratch_.reset();
  if (external_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -external_bytes_);
  external_bytes_ = 0;
}

Model& ModelWrap::checked(Napi::Env env, Access access) {
  if (!model_) throw_state(env, "ERR_DISPOSED", "the model has been disposed");
  if (job_) throw_state(env, "ERR_BUSY", "the model is training; await fit() or call dispose() first");
  if (access == Access::Write && readers_ > 0)
    throw_state(env, "ERR_BUSY", "the model has asynchronous predictions running; await them first");
  return *model_;
}

void ModelWrap::end_fit() { job_.reset(); }

Napi::Value ModelWrap::parameter_count(const Napi::CallbackInfo& info) {
  if (!model_) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), double(model_->parameter_count()));
}

Napi::Value ModelWrap::backend_name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), backend_name_);
}

Napi::Value ModelWrap::busy(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), bool(job_) || readers_ > 0);
}

Napi::Value ModelWrap::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !model_); }

Napi::Value ModelWrap::tensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Read);
  const auto& entries = model.table().entries();
  auto out = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto o = Napi::Object::New(env);
    o.Set("name", entries[i].name);
    auto shape = Napi::Array::New(env, entries[i].shape.size());
    for (size_t d = 0; d < entries[i].shape.size(); ++d) shape.Set(uint32_t(d), double(entries[i].shape[d]));
    o.Set("shape", shape);
    out.Set(uint32_t(i), o);
  }
  return out;
}

Napi::Value ModelWrap::get_tensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Read);
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw_type("name must be a string");
    const TensorEntry* e = model.table().find(info[0].As<Napi::String>().Utf8Value());
    if (!e) throw_range("no tensor named '" + info[0].As<Napi::String>().Utf8Value() + "'");
    return new_float32(env, model.params().data() + e->offset, e->count());
  });
}

Napi::Value ModelWrap::set_tensor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Write);
  guarded(env, [&] {
    if (!info[0].IsString()) throw_type("name must be a string");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    const TensorEntry* e = model.table().find(name);
    if (!e) throw_range("no tensor named '" + name + "'");
    FloatSpan values = float_rows(info[1], name.c_str(), 1, long(e->count()));
    for (size_t i = 0; i < values.length; ++i)
      if (!std::isfinite(values.data[i]))
        throw Error(ErrorKind::Range, "ERR_NON_FINITE", name + " holds a non-finite value at index " + std::to_string(i));
    std::copy_n(values.data, values.length, model.params().data() + e->offset);
  });
  return env.Undefined();
}

// predict(x, rows, first, last[, out[, precision]]) and predictAsync(x, rows, first, last[, precision])
// take the same first four.
struct PredictArgs {
  FloatSpan x;
  long rows;
  int first, last;
};

static PredictArgs predict_args(const Napi::CallbackInfo& info, const Model& model) {
  PredictArgs a;
  a.first = int(integer_arg(info[2], "first", 0, model.layer_count() - 1));
  a.last = int(integer_arg(info[3], "last", a.first + 1, model.layer_count()));
  a.rows = integer_arg(info[1], "rows", 0, kMaxRows);
  a.x = float_rows(info[0], "x", a.rows, model.spec().layers[a.first].inputs);
  return a;
}

Napi::Value ModelWrap::predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Read);
  return guarded(env, [&]() -> Napi::Value {
    const auto [x, rows, first, last] = predict_args(info, model);
    const Precision precision = precision_arg(info[5]);
    const long cols = model.spec().layers[last - 1].units;
    const ResultArray result = result_array(env, info[4], x, rows, cols);
    Workspace* reuse = reusable_workspace(small_ws_, *backend_, model, first, last, rows, precision);
    ae::predict(*backend_, model, first, last, x.data, rows, result.data, reuse, precision);
    return result.array;
  });
}

Napi::Value ModelWrap::predict_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Read);
  return guarded(env, [&]() -> Napi::Value {
    const auto [x, rows, first, last] = predict_args(info, model);
    const Precision precision = precision_arg(info[4]);
    return start_inference(info, x, rows, first, last, std::nullopt, precision);
  });
}

Napi::Value ModelWrap::start_inference(const Napi::CallbackInfo& info, const FloatSpan& x, long rows, int first,
                                       int last, std::optional<RowMetric> metric, Precision precision) {
  // The worker reads its own copy of the rows, so the caller may change them at once, and writes the
  // result where the promise will hand it over: no copy on the way back.
  std::unique_ptr<InferenceScratch> scratch =
      idle_scratch_ ? std::move(idle_scratch_) : std::make_unique<InferenceScratch>();
  scratch->input.assign(x.data, x.data + x.length);
  const size_t values = size_t(rows) * size_t(metric ? 1 : model_->spec().layers[last - 1].units);
  auto* worker = new InferenceWorker(info.Env(), this, info.This().As<Napi::Object>(), model_, std::move(scratch), rows,
                                     first, last, metric, precision, result_float32(info.Env(), values));
  ++readers_;
  ++state_->inference_jobs;
  worker->Queue();
  return worker->promise();
}

Napi::Value ModelWrap::evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Read);
  return guarded(env, [&]() -> Napi::Value {
    const long rows = integer_arg(info[1], "rows", 1, kMaxRows);
    const long cols = model.spec().layers.front().inputs;
    if (model.spec().layers.back().units != cols) throw_range("evaluate needs a model whose output width equals its input width");
    FloatSpan x = float_rows(info[0], "x", rows, cols);
    LossSpec loss = loss_spec_from(info[2], info[3]);
    return Napi::Number::New(env, ae::evaluate(*backend_, model, DataView{x.data, rows, cols}, loss));
  });
}

Napi::Value ModelWrap::reconstruction_error(const Napi::CallbackInfo& info) {
  return reconstruction_error_impl(info, false);
}

Napi::Value ModelWrap::reconstruction_error_async(const Napi::CallbackInfo& info) {
  return reconstruction_error_impl(info, true);
}

Napi::Value ModelWrap::reconstruction_error_impl(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Read);
  return guarded(env, [&]() -> Napi::Value {
    const long rows = integer_arg(info[1], "rows", 0, kMaxRows);
    const long cols = model.spec().layers.front().inputs;
    if (model.spec().layers.back().units != cols)
      throw_range("reconstructionError needs a model whose output width equals its input width");
    FloatSpan x = float_rows(info[0], "x", rows, cols);
    if (!info[2].IsString()) throw_type("metric must be a string");
    RowMetric metric = parse_row_metric(info[2].As<Napi::String>().Utf8Value());
    // reconstructionError(x, rows, metric[, out[, precision]]), reconstructionErrorAsync(x, rows, metric[, precision])
    const Precision precision = precision_arg(info[async ? 3 : 4]);
    if (async) return start_inference(info, x, rows, 0, model.layer_count(), metric, precision);
    const ResultArray result = result_array(env, info[3], x, rows, 1);
    ae::reconstruction_error(*backend_, model, x.data, rows, metric, result.data, precision);
    return result.array;
  });
}

Napi::Value ModelWrap::fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Model& model = checked(env, Access::Write);
  return guarded(env, [&]() -> Napi::Value {
    const long cols = model.spec().layers.front().inputs;
    const long rows = integer_arg(info[1], "rows", 1, kMaxRows);
    FloatSpan x = float_rows(info[0], "x", rows, cols);
    std::shared_ptr<const float> val;
    long val_rows = 0;
    if (!info[2].IsNull() && !info[2].IsUndefined()) {
      val_rows = integer_arg(info[3], "validationRows", 1, kMaxRows);
      val = hold_rows(float_rows(info[2], "validationData", val_rows, cols));
    }
    if (!info[4].IsObject()) throw_type("options must be an object");
    FitConfig config = fit_config_from(info[4].As<Napi::Object>());
    DataView train_view{x.data, rows, cols};
    DataView val_view{val.get(), val_rows, cols};
    std::unique_ptr<TrainingState> resume;
    Napi::Value resume_arg = info[4].As<Napi::Object>().Get("resume");
    if (resume_arg.IsObject()) {
      resume = std::make_unique<TrainingState>();
      training_state_from(resume_arg.As<Napi::Object>(), model, config.optimizer, *resume);
      config.resume = resume.get();
    }
    validate_fit(model, config, train_view, val_rows > 0 ? &val_view : nullptr);
    std::shared_ptr<Collective> collective;
    if (info[4].As<Napi::Object>().Get("distributed").ToBoolean()) collective = MpiCollective::instance().lease();
    job_ = std::make_shared<FitJob>(env, this, info.This().As<Napi::Object>(), model_, hold_rows(x), rows,
                                    std::move(val), val_rows, config, info[5], info[6], info[7], std::move(resume),
                                    std::move(collective));
    return job_->start();
  });
}

Napi::Value ModelWrap::cancel(const Napi::CallbackInfo& info) {
  if (job_) job_->cancel();
  return info.Env().Undefined();
}

Napi::Value ModelWrap::dispose(const Napi::CallbackInfo& info) {
  // A running fit keeps its own reference to the model and stops after the current batch; the
  // memory goes when it does.
  if (job_) job_->cancel();
  release_memory(info.Env());
  return info.Env().Undefined();
}

}  // namespace ae::binding
