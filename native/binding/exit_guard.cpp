#include "binding/exit_guard.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace ae::binding {

namespace {

// A batch of the largest fits takes seconds; past this, the exit goes on regardless.
constexpr auto kLongestWait = std::chrono::seconds(60);

struct Running {
  std::mutex mutex;
  std::condition_variable none_left;
  std::list<std::function<void()>> stops;  // one entry per piece of work, empty where it cannot be asked
  bool exiting = false;
};

// Never destroyed: work stopped too late may still end while exit() runs the destructors of statics.
Running& running() {
  static Running* instance = new Running;
  return *instance;
}

}  // namespace

void stop_running_work() {
  Running& r = running();
  std::unique_lock<std::mutex> lock(r.mutex);
  r.exiting = true;
  for (const auto& stop : r.stops)
    if (stop) stop();
  r.none_left.wait_for(lock, kLongestWait, [&r] { return r.stops.empty(); });
}

OffThreadWork::OffThreadWork(std::function<void()> stop) {
  Running& r = running();
  std::lock_guard<std::mutex> lock(r.mutex);
  const bool exiting = r.exiting;
  stop_ = r.stops.insert(r.stops.end(), std::move(stop));
  if (exiting && *stop_) (*stop_)();
}

OffThreadWork::~OffThreadWork() {
  Running& r = running();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    r.stops.erase(stop_);
  }
  r.none_left.notify_all();
}

}  // namespace ae::binding
