// Module initialisation: backendInfo(), setThreads() and the NativeModel class, per environment.
#include "binding/addon.h"

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/exit_guard.h"
#include "binding/model_wrap.h"
#include "binding/owned_rows.h"
#include "binding/workers.h"
#include "cuda/cuda_backend.h"
#include "mpi/mpi_collective.h"

namespace ae::binding {

AddonState::AddonState() : backend(0) {}

AddonState::~AddonState() {
  std::set<std::shared_ptr<FitJob>> running;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running.swap(jobs_);
  }
  for (const auto& job : running) {
    job->cancel();
    job->wait_until_finished();
  }
}

void AddonState::add_job(const std::shared_ptr<FitJob>& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  jobs_.insert(job);
}

void AddonState::remove_job(const std::shared_ptr<FitJob>& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  jobs_.erase(job);
}

bool AddonState::has_jobs() {
  std::lock_guard<std::mutex> lock(mutex_);
  return !jobs_.empty();
}

Backend& AddonState::backend_named(const std::string& name) {
  if (name == "cpu") return backend;
  if (name == "cuda") return cuda::cuda_backend();
  throw_range("backend must be one of cpu, cuda; received '" + name + "'");
}

AddonState& state_of(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

namespace {

// The CPU backend's description, or with 'cuda' the GPU backend's; both say whether CUDA is usable and why not.
Napi::Value backend_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object out = backend_info_to_js(env, state_of(env).backend_named(backend_arg(info[0])).info());
    out.Set("mpi", MpiCollective::built_with_mpi());
    const cuda::CudaStatus& gpu = cuda::cuda_status();
    out.Set("cuda", gpu.available ? gpu.device : std::string());
    out.Set("cudaReason", gpu.reason);
    out.Set("cudaBuilt", gpu.built);
    return out;
  });
}

Napi::Value set_threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonState& state = state_of(env);
  guarded(env, [&] {
    const long threads = integer_arg(info[0], "threads", 1, 1024);
    if (state.has_jobs() || state.inference_jobs > 0)
      throw Error(ErrorKind::State, "ERR_BUSY", "threads cannot change while a fit or an asynchronous prediction runs");
    state.backend.set_threads(int(threads));
  });
  return env.Undefined();
}

// Joins the MPI job this process was started in (or a job of one); the same answer on later calls.
Napi::Value mpi_init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    double timeout = 0;
    if (!info[0].IsUndefined()) {
      if (!info[0].IsNumber()) throw_type("timeoutSeconds must be a number");
      timeout = info[0].As<Napi::Number>().DoubleValue();
      if (!(timeout > 0) || timeout > 1e7) throw_range("timeoutSeconds must be > 0 and at most 1e7");
    }
    MpiCollective& mpi = MpiCollective::instance();
    if (timeout > 0) mpi.set_timeout(timeout);
    const MpiInfo about = mpi.info();
    Napi::Object out = Napi::Object::New(env);
    out.Set("rank", about.rank);
    out.Set("size", about.size);
    out.Set("library", about.library);
    return out;
  });
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* state = new AddonState();
  env.SetInstanceData(state);
  Napi::Function model = ModelWrap::define(env);
  state->model_constructor = Napi::Persistent(model);
  exports.Set("NativeModel", model);
  exports.Set("backendInfo", Napi::Function::New(env, backend_info, "backendInfo"));
  exports.Set("setThreads", Napi::Function::New(env, set_threads, "setThreads"));
  exports.Set("mpiInit", Napi::Function::New(env, mpi_init, "mpiInit"));
  exports.Set("allocateFloat32", Napi::Function::New(env, allocate_float32, "allocateFloat32"));
  exports.Set("allocateRows", Napi::Function::New(env, allocate_rows, "allocateRows"));
  exports.Set("stopRunningWork", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                stop_running_work();
                return info.Env().Undefined();
              }, "stopRunningWork"));
  return exports;
}

}  // namespace ae::binding

static Napi::Object InitNativeAutoencoder(Napi::Env env, Napi::Object exports) {
  return ae::binding::init(env, exports);
}

NODE_API_MODULE(native_autoencoder, InitNativeAutoencoder)
