// process.exit() while native work runs on threads of its own (a fit, an asynchronous prediction):
// exit() runs the libraries' finalizers (OpenBLAS frees its buffers, oneDNN its kernels) under that
// work, and the process crashed rather than exited. Before the main thread exits, running fits are
// asked to stop after their current batch, and the exit waits for all such work to leave the native
// code (lib/binding.ts calls stop_running_work from process.on('exit'): C exit handlers run too
// late, after the finalizers of libraries loaded since they were registered).
#pragma once
#include <functional>
#include <list>

namespace ae::binding {

// Asks every running fit to stop, and waits (a bounded time) for all work off the main thread to end.
void stop_running_work();

// Held while work runs off the main thread; `stop`, where given, asks the work to end soon.
class OffThreadWork {
 public:
  explicit OffThreadWork(std::function<void()> stop = {});
  ~OffThreadWork();
  OffThreadWork(const OffThreadWork&) = delete;
  OffThreadWork& operator=(const OffThreadWork&) = delete;

 private:
  std::list<std::function<void()>>::iterator stop_;
};

}  // namespace ae::binding
