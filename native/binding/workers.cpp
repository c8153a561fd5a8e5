// The fit thread with its channel of events to the main thread, and asynchronous prediction.
#include "binding/workers.h"

#include <thread>
#include <variant>

#include "binding/convert.h"
#include "binding/exit_guard.h"
#include "binding/model_wrap.h"

namespace ae::binding {

struct BatchEvent {
  int epoch;
  long batch, batches;
  double loss;
};
struct DoneEvent {
  std::optional<FitResult> result;
  ErrorInfo error;
};
struct FitEvent {
  std::variant<BatchEvent, EpochStats, CheckpointSnapshot, DoneEvent> payload;
  std::shared_ptr<FitJob> job;  // keeps the job alive until the event is delivered
};

FitJob::FitJob(Napi::Env env, ModelWrap* wrap, Napi::Object self, std::shared_ptr<Model> model,
               std::shared_ptr<const float> train, long train_rows, std::shared_ptr<const float> val, long val_rows,
               FitConfig config,
               Napi::Value on_batch, Napi::Value on_epoch, Napi::Value on_checkpoint,
               std::unique_ptr<TrainingState> resume, std::shared_ptr<Collective> collective)
    : env_(env),
      state_(&state_of(env)),
      wrap_(wrap),
      self_(Napi::Persistent(self)),
      deferred_(Napi::Promise::Deferred::New(env)),
      model_(std::move(model)),
      train_(std::move(train)),
      val_(std::move(val)),
      train_rows_(train_rows),
      val_rows_(val_rows),
      config_(config),
      resume_(std::move(resume)),
      collective_(std::move(collective)) {
  config_.resume = resume_.get();
  config_.collective = collective_.get();
  if (on_batch.IsFunction()) on_batch_ = Napi::Persistent(on_batch.As<Napi::Function>());
  if (on_epoch.IsFunction()) on_epoch_ = Napi::Persistent(on_epoch.As<Napi::Function>());
  if (on_checkpoint.IsFunction()) on_checkpoint_ = Napi::Persistent(on_checkpoint.As<Napi::Function>());
  channel_ = Channel::New(env, "native-autoencoder.fit", 0, 1, this);
}

Napi::Promise FitJob::start() {
  state_->add_job(shared_from_this());
  // Registered after the channel, so it runs before the channel's own teardown (hooks run in reverse).
  napi_add_env_cleanup_hook(env_, &FitJob::on_environment_teardown, this);
  std::thread([job = shared_from_this()] { job->run(); }).detach();
  return deferred_.Promise();
}

void FitJob::run() {
  // Held until the thread has left the channel too: an exit waits for it.
  const OffThreadWork working([this] { cancel(); });
  auto* done = new FitEvent{DoneEvent{}, shared_from_this()};
  auto& outcome = std::get<DoneEvent>(done->payload);
  try {
    const long cols = model_->spec().layers.front().inputs;
    DataView train{train_.get(), train_rows_, cols};
    DataView val{val_.get(), val_rows_, cols};
    outcome.result = ae::fit(wrap_->backend(), *model_, train, val_rows_ > 0 ? &val : nullptr, config_, *this);
  } catch (const std::exception& e) {
    outcome.error = capture(e);
  }
  // Given back before the promise settles, so that code awaiting it can start the next distributed fit.
  collective_.reset();
  post(done);
  channel_.Release();
  // Only now is the thread done with the channel, which environment teardown deletes after our
  // cleanup hook returns.
  {
    std::lock_guard<std::mutex> lock(finished_mutex_);
    finished_ = true;
  }
  finished_cv_.notify_all();
}

void FitJob::on_environment_teardown(void* arg) {
  // A worker thread is ending (worker.terminate()) while this fit runs: stop it and wait for its
  // thread to leave the channel and the backend before Node deletes them.
  auto* job = static_cast<FitJob*>(arg);
  job->cancel();
  job->wait_until_finished();
  // The finishing event will not be delivered now; drop the JS references while the environment
  // can still take them, rather than in a destructor that may run on the fit thread.
  job->release_references();
}

void FitJob::release_references() {
  callback_exception_.Reset();
  on_batch_.Reset();
  on_epoch_.Reset();
  on_checkpoint_.Reset();
  self_.Reset();
}

void FitJob::wait_until_finished() {
  std::unique_lock<std::mutex> lock(finished_mutex_);
  finished_cv_.wait(lock, [this] { return finished_; });
}

void FitJob::post(FitEvent* event) {
  if (channel_.NonBlockingCall(event) != napi_ok) delete event;
}

void FitJob::on_batch(int epoch, long batch, long batches, double loss) {
  if (!on_batch_.IsEmpty()) post(new FitEvent{BatchEvent{epoch, batch, batches, loss}, shared_from_this()});
}

void FitJob::on_epoch(const EpochStats& stats) {
  if (!on_epoch_.IsEmpty()) post(new FitEvent{stats, shared_from_this()});
}

void FitJob::on_checkpoint(const Model& model, const TrainingState& state) {
  if (!on_checkpoint_.IsEmpty()) post(new FitEvent{snapshot_of(model, state), shared_from_this()});
}

void FitJob::deliver(Napi::Env env, Napi::Function, FitJob* job, FitEvent* event) {
  std::unique_ptr<FitEvent> owned(event);
  if (env == nullptr) return;  // the environment is shutting down
  // Nothing may escape into Node's C callback. While a worker terminates, every call into JS fails
  // with the termination as a pending exception (node-addon-api throws it as an empty Napi::Error);
  // the fit is cancelled and the rest of its events are dropped with the environment.
  try {
    Napi::HandleScope scope(env);
    if (std::holds_alternative<DoneEvent>(event->payload)) return job->finish(env, *event);
    if (job->callback_threw_) return;  // a callback already threw; the fit is stopping
    job->call_back(env, *event);
  } catch (const std::exception&) {
    job->cancel();
  }
}

void FitJob::call_back(Napi::Env env, FitEvent& event) {
  napi_value callback;
  std::vector<napi_value> args;
  if (auto* batch = std::get_if<BatchEvent>(&event.payload)) {
    callback = on_batch_.Value();
    args = {Napi::Number::New(env, batch->epoch), Napi::Number::New(env, double(batch->batch)),
            Napi::Number::New(env, double(batch->batches)), Napi::Number::New(env, batch->loss)};
  } else if (auto* epoch = std::get_if<EpochStats>(&event.payload)) {
    callback = on_epoch_.Value();
    args = {epoch_to_js(env, *epoch)};
  } else {
    callback = on_checkpoint_.Value();
    args = {snapshot_to_js(env, std::get<CheckpointSnapshot>(event.payload))};
  }
  // Called through N-API itself: node-addon-api wraps a thrown value that is not an object in an
  // object of its own, and when a worker's end cuts the callback short, the "thrown" termination
  // cannot be wrapped and node-addon-api aborts the process.
  napi_value result;
  if (napi_call_function(env, env.Undefined(), callback, args.size(), args.data(), &result) == napi_ok) return;
  cancel();
  callback_threw_ = true;
  // What the callback threw, in an array (a reference holds objects only). While the environment
  // ends, these calls fail, and the fit ends with it.
  bool pending = false;
  napi_value thrown, holder;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &thrown) == napi_ok &&
      napi_create_array_with_length(env, 1, &holder) == napi_ok && napi_set_element(env, holder, 0, thrown) == napi_ok) {
    callback_exception_ = Napi::Persistent(Napi::Object(env, holder));
  }
}

void FitJob::finish(Napi::Env env, FitEvent& event) {
  auto& done = std::get<DoneEvent>(event.payload);
  napi_remove_env_cleanup_hook(env, &FitJob::on_environment_teardown, this);
  wrap_->end_fit();
  state_->remove_job(event.job);
  try {
    if (!callback_exception_.IsEmpty()) {
      deferred_.Reject(callback_exception_.Value().Get(uint32_t(0)));
    } else if (done.result) {
      deferred_.Resolve(fit_result_to_js(env, *done.result));
    } else {
      deferred_.Reject(make_error(env, done.error));
    }
  } catch (...) {
    release_references();  // settling failed (the environment is terminating); the references go regardless
    throw;
  }
  release_references();
}

namespace {

constexpr long kSmallBatch = 16;
// Memory for inference is kept between calls while it costs at most this much, or no more than the
// model's parameters: allocating and faulting in a fresh workspace cost a fifth of a 1,024-row W1
// prediction and a third of a W2 one.
constexpr size_t kCachedWorkspaceBytes = size_t(8) << 20;

}  // namespace

size_t bytes_worth_keeping(const Model& model) {
  return std::max(kCachedWorkspaceBytes, model.params().size() * sizeof(float));
}

Workspace* reusable_workspace(CachedWorkspace& cache, Backend& be, const Model& model, int first, int last, long rows,
                              Precision precision) {
  const long capacity = std::max(kSmallBatch, std::min(rows, kInferenceChunk));
  const auto fits = [&] {
    return cache.first == first && cache.last == last && cache.ws->precision() == precision &&
           cache.ws->capacity() >= capacity;
  };
  if (!fits()) {
    // A bf16 workspace also holds the weights rounded, which every bf16 prediction needs.
    const size_t rounded_weights = precision == Precision::Bf16 ? model.params().size() * sizeof(uint16_t) : 0;
    const size_t bytes = Workspace::inference_bytes(model.spec(), first, last, capacity, precision);
    if (bytes > bytes_worth_keeping(model) + rounded_weights) return nullptr;
    cache.ws = std::make_unique<Workspace>(model.spec(), first, last, capacity, false, precision, be.memory());
    cache.first = first;
    cache.last = last;
  }
  return cache.ws.get();
}

InferenceWorker::InferenceWorker(Napi::Env env, ModelWrap* wrap, Napi::Object self, std::shared_ptr<Model> model,
                                 std::unique_ptr<InferenceScratch> scratch, long rows, int first, int last,
                                 std::optional<RowMetric> metric, Precision precision, Napi::Float32Array result)
    : Napi::AsyncWorker(env, "native-autoencoder.inference"),
      state_(&state_of(env)),
      wrap_(wrap),
      self_(Napi::Persistent(self)),
      deferred_(Napi::Promise::Deferred::New(env)),
      model_(std::move(model)),
      scratch_(std::move(scratch)),
      rows_(rows),
      first_(first),
      last_(last),
      metric_(metric),
      precision_(precision),
      result_(Napi::Persistent(result)),
      output_(result.Data()) {}

void InferenceWorker::Execute() {
  const OffThreadWork working;
  try {
    const float* input = scratch_->input.data();
    if (metric_) {
      ae::reconstruction_error(wrap_->backend(), *model_, input, rows_, *metric_, output_, precision_);
    } else {
      // A device's workspace is made and freed here, off the main thread: freeing device memory waits
      // for the device, and a scratch not kept is freed on the main thread.
      Backend& be = wrap_->backend();
      Workspace* reuse = be.memory() ? nullptr
                                     : reusable_workspace(scratch_->workspace, be, *model_, first_, last_, rows_,
                                                          precision_);
      ae::predict(be, *model_, first_, last_, input, rows_, output_, reuse, precision_);
    }
  } catch (const std::exception& e) {
    error_ = capture(e);
    SetError(error_.message);
  }
}

void InferenceWorker::finish() {
  --state_->inference_jobs;
  wrap_->end_read(std::move(scratch_));
  result_.Reset();
  self_.Reset();
}

// The model is released before the promise settles: settling can throw (as the environment shuts
// down), and a model left reading would refuse every later change with ERR_BUSY.
void InferenceWorker::OnOK() {
  Napi::Value result = result_.Value();
  finish();
  deferred_.Resolve(result);
}

void InferenceWorker::OnError(const Napi::Error&) {
  finish();
  deferred_.Reject(make_error(Env(), error_));
}

}  // namespace ae::binding
