// A small fixed pool for our own parallel work (matrix products in bands, large element-wise passes).
// Work is split into equal static chunks, so results are deterministic for a given thread count.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ae::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }
  // Runs task(i) for i in [0, tasks) on the pool and the calling thread; returns when all are done.
  void run(int tasks, const std::function<void(int)>& task);

 private:
  void worker_loop();
  // Claims and runs tasks of the region numbered `region` until none is left.
  void run_tasks(uint32_t region);
  // Waits until the region after `seen` starts or the pool stops; returns false when it stops.
  bool await_region(uint32_t seen);

  std::vector<std::thread> workers_;
  // The region under way (high 32 bits) and its next unclaimed task (low 32): a claim of a region
  // that has already ended fails, however late its thread comes.
  std::atomic<uint64_t> claim_{0};
  std::atomic<const std::function<void(int)>*> task_{nullptr};
  std::atomic<int> tasks_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards the sleeps only
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
