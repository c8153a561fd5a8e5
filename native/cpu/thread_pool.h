// A small fixed pool for our own parallel work (matrix products in bands, large element-wise passes).
// Work is split into static chunks (part_of), so results are deterministic for a given thread count.
#pragma once
#include <atomic>
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ae::cpu {

struct Span {
  size_t begin, end;
};

// Part `part` of `parts` (> 0) of [0, extent): whole multiples of `unit` (> 0) but the last, as even
// as units allow.
inline Span part_of(size_t extent, int part, int parts, size_t unit) {
  const size_t units = (extent + unit - 1) / unit;
  const auto edge = [&](int p) { return std::min(extent, units * size_t(p) / size_t(parts) * unit); };
  return {edge(part), edge(part + 1)};
}

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }
  // Runs task(i) for i in [0, tasks) on the pool and the calling thread; returns when all are done.
  // The first exception a task throws is rethrown here once every task has ended. On the calling
  // thread alone (a pool of one, one task, or a call from inside a task, which would otherwise wait
  // for itself) the tasks run in order and the first exception ends the call at once.
  void run(int tasks, const std::function<void(int)>& task);

 private:
  void worker_loop();
  // Claims and runs tasks of the region numbered `region` until none is left.
  void run_tasks(uint32_t region);
  // Waits until a region other than `seen` starts or the pool stops; returns false when it stops.
  bool await_region(uint32_t seen);

  std::vector<std::thread> workers_;
  // The region under way (high 32 bits) and its next unclaimed task (low 32): a claim of a region
  // that has already ended fails, however late its thread comes. What the waiting threads read
  // shares a cache line with nothing written while they wait (pending_ is, by every task).
  alignas(64) std::atomic<uint64_t> claim_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<const std::function<void(int)>*> task_{nullptr};
  std::atomic<int> tasks_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::exception_ptr error_;  // the region's first exception, under mutex_
  alignas(64) std::mutex mutex_;  // orders region starts, the end of the pool and the sleeps
  std::condition_variable wake_;
  std::condition_variable done_;
  std::mutex run_mutex_;  // one parallel region at a time
};

// Sets flush-to-zero and denormals-are-zero for the calling thread until the scope ends.
class DenormalFlush {
 public:
  DenormalFlush();
  ~DenormalFlush();
  DenormalFlush(const DenormalFlush&) = delete;
  DenormalFlush& operator=(const DenormalFlush&) = delete;

 private:
  unsigned saved_ = 0;
};

}  // namespace ae::cpu
