// Work that runs off the main thread: a fit on a dedicated thread (it may run for hours, so it
// stays off libuv's small pool) and asynchronous inference on libuv's pool. Neither touches JS
// values while it runs: inputs are copied into native memory first, results are new typed arrays.
#pragma once
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "binding/addon.h"
#include "binding/errors.h"
#include "core/trainer.h"

namespace ae::binding {

class ModelWrap;
struct FitEvent;

// How much memory for inference a model keeps between calls: a workspace, or a copy of input rows.
size_t bytes_worth_keeping(const Model& model);

// A workspace kept between predictions of one layer range, while it is small enough to keep.
struct CachedWorkspace {
  int first = -1, last = -1;
  std::unique_ptr<Workspace> ws;
};

// The workspace for a prediction of `rows` rows through layers [first, last) in a precision: the
// cached one when it fits, else a new one put in the cache when worth keeping; null where the
// prediction should make its own.
Workspace* reusable_workspace(CachedWorkspace& cache, Backend& be, const Model& model, int first, int last, long rows,
                              Precision precision);

// What one asynchronous inference works in: its copy of the input rows and, for a prediction on the
// host, a workspace. Lent by the model to one worker at a time, so that calls in turn reuse the memory.
struct InferenceScratch {
  std::vector<float> input;
  CachedWorkspace workspace;
};

class FitJob : public std::enable_shared_from_this<FitJob>, public FitObserver {
 public:
  // train and val: rows held for the fit (see owned_rows.h); val may be null.
  FitJob(Napi::Env env, ModelWrap* wrap, Napi::Object self, std::shared_ptr<Model> model,
         std::shared_ptr<const float> train, long train_rows, std::shared_ptr<const float> val, long val_rows, FitConfig config, Napi::Value on_batch,
         Napi::Value on_epoch, Napi::Value on_checkpoint, std::unique_ptr<TrainingState> resume,
         std::shared_ptr<Collective> collective);

  Napi::Promise start();  // spawns the thread
  void cancel() { cancelled_.store(true); }
  void wait_until_finished();

  // FitObserver, called on the training thread.
  void on_batch(int epoch, long batch, long batches, double loss) override;
  void on_epoch(const EpochStats& stats) override;
  void on_checkpoint(const Model& model, const TrainingState& state) override;
  bool should_stop() override { return cancelled_.load(std::memory_order_relaxed); }

  static void deliver(Napi::Env env, Napi::Function unused, FitJob* job, FitEvent* event);
  static void on_environment_teardown(void* job);

 private:
  void run();
  void post(FitEvent* event);
  void call_back(Napi::Env env, FitEvent& event);  // the event's JS callback; a throw cancels the fit
  void release_references();
  void finish(Napi::Env env, FitEvent& event);

  using Channel = Napi::TypedThreadSafeFunction<FitJob, FitEvent, &FitJob::deliver>;

  napi_env env_;
  AddonState* state_;
  ModelWrap* wrap_;
  Napi::ObjectReference self_;  // keeps the model object alive while the fit runs
  Napi::FunctionReference on_batch_, on_epoch_, on_checkpoint_;
  Napi::Promise::Deferred deferred_;
  Channel channel_;
  std::shared_ptr<Model> model_;
  std::shared_ptr<const float> train_, val_;
  long train_rows_, val_rows_;
  FitConfig config_;
  std::unique_ptr<TrainingState> resume_;
  std::shared_ptr<Collective> collective_;  // a distributed fit's lease on the communicator
  std::atomic<bool> cancelled_{false};
  bool callback_threw_ = false;  // a JS callback threw (or was cut short): the fit stops, rejecting with it
  Napi::ObjectReference callback_exception_;  // [what the callback threw]
  std::mutex finished_mutex_;
  std::condition_variable finished_cv_;
  bool finished_ = false;
};

// predictAsync and reconstructionErrorAsync on a copy of the input (in `scratch`): the forward pass
// of layers [first, last), or one reconstruction error per row when a metric is given, written into
// `result`, an array made on the main thread that no script can reach before the promise resolves
// with it. The scratch goes back to the model when the worker ends.
class InferenceWorker : public Napi::AsyncWorker {
 public:
  InferenceWorker(Napi::Env env, ModelWrap* wrap, Napi::Object self, std::shared_ptr<Model> model,
                  std::unique_ptr<InferenceScratch> scratch, long rows, int first, int last,
                  std::optional<RowMetric> metric, Precision precision, Napi::Float32Array result);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  void finish();

  AddonState* state_;
  ModelWrap* wrap_;
  Napi::ObjectReference self_;
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Model> model_;
  std::unique_ptr<InferenceScratch> scratch_;
  long rows_;
  int first_, last_;
  std::optional<RowMetric> metric_;
  Precision precision_;
  Napi::Reference<Napi::Float32Array> result_;
  float* output_;
  ErrorInfo error_;
};

}  // namespace ae::binding
