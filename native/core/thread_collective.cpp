// A barrier that spins for a few microseconds (a split batch waits for its partners one to four times
// a step, far too often to sleep and be woken), then yields, then sleeps. It yields early: when
// other fits' threads share the cores, a partner that lost its core gets it back sooner (two
// concurrent W1 fits trained 0.83 M samples/s in total after 2,048 spins first, 1.26-1.58 M after
// 128).
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
// Below this many parameters an update takes microseconds: every rank takes all of it rather than
// wait for the others three more times in each step (to gather the slices and sum over them).
constexpr size_t kSplitUpdatesFrom = size_t(1) << 16;
}  // namespace

ThreadTeam::ThreadTeam(int size)
    : size_(size),
      buffers_(size_t(size), nullptr),
      weights_(size_t(size), 0.0f),
      gradient_buffers_(size_t(size) * 2) {
  for (SharedGradients& set : shared_) {
    set.data.assign(size_t(size), nullptr);
    set.weights.assign(size_t(size), 0.0f);
    set.extras.assign(size_t(size) * kMaxSharedExtras, 0.0f);
  }
}

float* ThreadTeam::gradient_buffer(int rank, int which, size_t n) {
  Buffer& buffer = gradient_buffers_[size_t(rank) * 2 + size_t(which)];
  if (buffer.size() < n) buffer = Buffer(n);
  return buffer.data();
}

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
  if (rank_ != 0 && data != team_.buffers()[0]) std::memcpy(data, team_.buffers()[0], bytes);
  team_.arrive_and_wait();
}

namespace {
// Local sums of this many elements: the loops vectorize, and each buffer's lines are read once and
// written once.
constexpr size_t kBlock = 512;

// Elements [first, first + count) summed over every rank's published buffer, in rank order, each
// buffer times its weight where there are weights.
template <typename T>
void sum_block(const std::vector<void*>& buffers, const float* weights, size_t first, size_t count, T* sum) {
  for (size_t r = 0; r < buffers.size(); ++r) {
    const T* other = static_cast<const T*>(buffers[r]) + first;
    const T w = weights ? T(weights[r]) : T(1);
    if (r == 0) {
      for (size_t i = 0; i < count; ++i) sum[i] = w * other[i];
    } else {
      for (size_t i = 0; i < count; ++i) sum[i] += w * other[i];
    }
  }
}
}  // namespace

// Each rank sums its part of the elements over every rank's buffer and writes the sum into every
// buffer: no element is read or written by two ranks at once.
template <typename T>
void ThreadCollective::sum_in_place(T* data, size_t n) {
  std::vector<void*>& buffers = team_.buffers();
  buffers[size_t(rank_)] = data;
  team_.arrive_and_wait();
  const Slice mine = part(rank_, n);
  T sum[kBlock];
  for (size_t first = mine.begin; first < mine.end; first += kBlock) {
    const size_t count = std::min(kBlock, mine.end - first);
    sum_block(buffers, nullptr, first, count, sum);
    for (void* buffer : buffers) std::memcpy(static_cast<T*>(buffer) + first, sum, count * sizeof(T));
  }
  team_.arrive_and_wait();
}

void ThreadCollective::allreduce_sum(float* data, size_t n) { sum_in_place(data, n); }
void ThreadCollective::allreduce_sum(double* data, size_t n) { sum_in_place(data, n); }

// Parts start on cache lines, so that the update's vectors are aligned alike on every rank.
Collective::Slice ThreadCollective::part(int rank, size_t n) const {
  constexpr size_t kLine = 16;
  const size_t ranks = size_t(team_.size());
  auto edge = [&](size_t r) { return r == ranks ? n : std::min(n, n * r / ranks / kLine * kLine); };
  return {edge(size_t(rank)), edge(size_t(rank) + 1)};
}

Collective::Slice ThreadCollective::update_slice(size_t n) const {
  return n < kSplitUpdatesFrom ? Slice{0, n} : part(rank_, n);
}

// Like sum_in_place, these return once every rank is done with the others' buffers.
void ThreadCollective::reduce_gradients(float* data, size_t n, float weight, size_t extras) {
  if (n < kSplitUpdatesFrom) return Collective::reduce_gradients(data, n, weight, extras);
  std::vector<void*>& buffers = team_.buffers();
  buffers[size_t(rank_)] = data;
  team_.weights()[size_t(rank_)] = weight;
  team_.arrive_and_wait();
  const Slice mine = part(rank_, n);
  float sum[kBlock];
  for (size_t first = mine.begin; first < mine.end; first += kBlock) {
    const size_t count = std::min(kBlock, mine.end - first);
    sum_block(buffers, team_.weights().data(), first, count, sum);
    std::memcpy(data + first, sum, count * sizeof(float));
  }
  totals_.assign(extras, 0.0f);
  for (const void* buffer : buffers)
    for (size_t e = 0; e < extras; ++e) totals_[e] += static_cast<const float*>(buffer)[n + e];
  team_.arrive_and_wait();
  std::copy(totals_.begin(), totals_.end(), data + n);
}

// One wait where reduce_gradients has two: the update reads the others' gradients, which stay until
// gather_slices's first wait, or, where every rank takes the whole update, until the next step's
// share_gradients (the next step publishes the other set, and its gradients in the other buffer).
// The extras are copied into the team before the wait, so that a rank leaving the fit on them (a
// stop, a non-finite loss) frees nothing that another still reads.
bool ThreadCollective::share_gradients(float* data, size_t n, float weight, size_t extras, float* totals,
                                       GradientParts* parts) {
  if (extras > ThreadTeam::kMaxSharedExtras) return false;
  const size_t rank = size_t(rank_);
  ThreadTeam::SharedGradients& set = team_.shared_gradients(shares_++);
  set.data[rank] = data;
  set.weights[rank] = weight;
  std::copy_n(data + n, extras, set.extras.begin() + std::ptrdiff_t(rank * ThreadTeam::kMaxSharedExtras));
  team_.arrive_and_wait();
  std::fill_n(totals, extras, 0.0f);
  for (size_t r = 0; r < size_t(team_.size()); ++r)
    for (size_t e = 0; e < extras; ++e) totals[e] += set.extras[r * ThreadTeam::kMaxSharedExtras + e];
  *parts = {set.data.data(), set.weights.data(), team_.size()};
  return true;
}

void ThreadCollective::gather_slices(float* data, size_t n) {
  if (n < kSplitUpdatesFrom) return;
  // Every rank wrote its slice in place; the next writes wait for the next step's gradients.
  if (data == team_.shared_parameters()) return team_.arrive_and_wait();
  std::vector<void*>& buffers = team_.buffers();
  buffers[size_t(rank_)] = data;
  team_.arrive_and_wait();
  for (int r = 0; r < team_.size(); ++r) {
    if (r == rank_) continue;
    const Slice theirs = part(r, n);
    std::memcpy(data + theirs.begin, static_cast<const float*>(buffers[size_t(r)]) + theirs.begin,
                theirs.size() * sizeof(float));
  }
  team_.arrive_and_wait();
}

double ThreadCollective::sum_over_slices(double mine, size_t n) {
  if (n >= kSplitUpdatesFrom) allreduce_sum(&mine, 1);
  return mine;
}

}  // namespace ae
