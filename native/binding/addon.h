// Per-instance state of the addon (one per Node.js environment, so the addon works in
// worker_threads): the CPU backend and the training jobs still running.
#pragma once
#include <napi.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

#include "cpu/cpu_backend.h"

namespace ae::binding {

class FitJob;

struct AddonState {
  AddonState();
  ~AddonState();  // cancels running fits and waits for their threads to leave the backend

  cpu::CpuBackend backend;
  Napi::FunctionReference model_constructor;

  // 'cpu', or 'cuda' (the process's GPU backend; throws ERR_CUDA_UNAVAILABLE saying why where there is none).
  Backend& backend_named(const std::string& name);

  void add_job(const std::shared_ptr<FitJob>& job);
  void remove_job(const std::shared_ptr<FitJob>& job);
  bool has_jobs();
  // Asynchronous predictions in flight (main thread only): the thread pool must not change under them.
  int inference_jobs = 0;

 private:
  std::mutex mutex_;
  std::set<std::shared_ptr<FitJob>> jobs_;
};

AddonState& state_of(Napi::Env env);

}  // namespace ae::binding
