// process.exit() while native work runs on threads of its own (a fit, an asynchronous prediction):
// exit() runs the libraries' finalizers (OpenBLAS frees its buffers) under that work, and the
// process crashed rather than exited. At exit, running fits are asked to stop after their current
// batch, and the exit waits for all such work to leave the native code.
#pragma once
#include <functional>
#include <list>

namespace ae::binding {

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
