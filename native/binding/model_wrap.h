// The JS class NativeModel: one native model (a stack of dense layers and its parameters) and the
// policy for overlapping calls: while a fit runs, every other call throws ERR_BUSY; while
// asynchronous predictions run, calls that would change the weights throw ERR_BUSY.
#pragma once
#include <napi.h>

#include <memory>
#include <optional>
#include <vector>

#include "binding/addon.h"
#include "binding/convert.h"
#include "binding/workers.h"
#include "core/network.h"
#include "core/trainer.h"

namespace ae::binding {

class FitJob;

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);
  ~ModelWrap() override;

  Backend& backend() { return *backend_; }

  // Called on the main thread when background work ends.
  void end_fit();
  void end_read(std::unique_ptr<InferenceScratch> scratch);

 private:
  Napi::Value parameter_count(const Napi::CallbackInfo& info);
  Napi::Value backend_name(const Napi::CallbackInfo& info);
  Napi::Value busy(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value tensors(const Napi::CallbackInfo& info);
  Napi::Value get_tensor(const Napi::CallbackInfo& info);
  Napi::Value set_tensor(const Napi::CallbackInfo& info);
  Napi::Value predict(const Napi::CallbackInfo& info);
  Napi::Value predict_async(const Napi::CallbackInfo& info);
  Napi::Value evaluate(const Napi::CallbackInfo& info);
  Napi::Value reconstruction_error(const Napi::CallbackInfo& info);
  Napi::Value reconstruction_error_async(const Napi::CallbackInfo& info);
  Napi::Value reconstruction_error_impl(const Napi::CallbackInfo& info, bool async);
  Napi::Value start_inference(const Napi::CallbackInfo& info, const FloatSpan& x, long rows, int first, int last,
                              std::optional<RowMetric> metric, Precision precision);
  Napi::Value fit(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  enum class Access { Read, Write };
  Model& checked(Napi::Env env, Access access);
  void release_memory(Napi::Env env);

  AddonState* state_;
  Backend* backend_ = nullptr;  // where the parameters live and every computation runs
  std::string backend_name_;
  std::shared_ptr<Model> model_;
  std::shared_ptr<FitJob> job_;
  // Synchronous predictions reuse one workspace per layer range while it is small (the main thread's only).
  CachedWorkspace small_ws_;
  // The scratch of the last asynchronous inference to end, for the next to start (main thread only).
  std::unique_ptr<InferenceScratch> idle_scratch_;
  int readers_ = 0;
  int64_t external_bytes_ = 0;
};

}  // namespace ae::binding
