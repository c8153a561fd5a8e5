// A barrier that spins for a few microseconds (a split batch waits for its partners twice per step,
// far too often to sleep and be woken), then yields, then sleeps. It yields early: when other fits'
// threads share the cores, a partner that lost its core gets it back sooner (two concurrent W1 fits
// trained 0.83 M samples/s in total after 2,048 spins first, 1.26-1.58 M after 128).
// Futex sleeps after the spins did no better there and cost a third of a lone fit's speed.
#include "core/thread_collective.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/cpu_relax.h"
#include "core/errors.h"

namespace ae {

namespace {
constexpr int kSpins = 1 << 7;
constexpr int kYields = 1 << 12;
}  // namespace

ThreadTeam::ThreadTeam(int size) : size_(size), buffers_(size_t(size), nullptr) {}

void ThreadTeam::arrive_and_wait() {
  const unsigned generation = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == size_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return;
  }
  for (long waits = 0; generation_.load(std::memory_order_acquire) == generation; ++waits) {
    if (abandoned_.load(std::memory_order_acquire))
      throw Error(ErrorKind::Internal, "ERR_SPLIT_ABANDONED", "another thread of this split fit stopped");
    if (waits < kSpins) {
      cpu_relax();
    } else if (waits < kSpins + kYields) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

void ThreadCollective::broadcast(void* data, size_t bytes) {
  team_.buffers()[size_t(rank_)] = data;
  team_.arrive_and_wait();
  if (rank_ != 0) std::memcpy(data, team_.buffers()[0], bytes);
  team_.arrive_and_wait();
}

// Each rank sums one slice of the elements over every rank's buffer, in rank order, and writes the
// sum into every buffer: no element is read or written by two ranks at once.
template <typename T>
void ThreadCollective::sum_in_place(T* data, size_t n) {
  std::vector<void*>& buffers = team_.buffers();
  buffers[size_t(rank_)] = data;
  team_.arrive_and_wait();
  const int ranks = team_.size();
  const size_t lo = n * size_t(rank_) / size_t(ranks), hi = n * size_t(rank_ + 1) / size_t(ranks);
  // Block by block through a local sum, so that the loops vectorize and each buffer's lines are
  // read once and written once.
  constexpr size_t kBlock = 512;
  T sum[kBlock];
  for (size_t first = lo; first < hi; first += kBlock) {
    const size_t count = std::min(kBlock, hi - first);
    std::memcpy(sum, static_cast<const T*>(buffers[0]) + first, count * sizeof(T));
    for (int r = 1; r < ranks; ++r) {
      const T* other = static_cast<const T*>(buffers[size_t(r)]) + first;
      for (size_t i = 0; i < count; ++i) sum[i] += other[i];
    }
    for (int r = 0; r < ranks; ++r) std::memcpy(static_cast<T*>(buffers[size_t(r)]) + first, sum, count * sizeof(T));
  }
  team_.arrive_and_wait();
}

void ThreadCollective::allreduce_sum(float* data, size_t n) { sum_in_place(data, n); }
void ThreadCollective::allreduce_sum(double* data, size_t n) { sum_in_place(data, n); }

}  // namespace ae
