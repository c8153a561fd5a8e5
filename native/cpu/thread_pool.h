// A small fixed pool for our own parallel work (the built-in GEMM and large element-wise passes).
// Work is split into equal static chunks, so results are deterministic for a given thread count.
#pragma once
#include <condition_variable>
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
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  int next_ = 0;
  int pending_ = 0;
  unsigned generation_ = 0;
  bool stopping_ = false;
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
