// The collective of a fit that splits each batch across threads of one process: the ranks are
// threads, and a reduction reads every rank's buffer in place. Sums run in rank order, so a split
// fit gives the same result on every run.
#pragma once
#include <atomic>
#include <cstddef>
#include <vector>

#include "core/collective.h"
#include "core/tensor.h"

namespace ae {

// What the ranks of one split fit share: a barrier, and each rank's buffer for the operation under way.
class ThreadTeam {
 public:
  explicit ThreadTeam(int size);
  int size() const { return size_; }
  // Returns when every rank has arrived; throws ae::Error once a rank has left the fit early.
  void arrive_and_wait();
  // Called by a rank that leaves the fit on an exception: the others stop waiting for it.
  void abandon() noexcept { abandoned_.store(true, std::memory_order_release); }
  std::vector<void*>& buffers() { return buffers_; }
  std::vector<float>& weights() { return weights_; }
  // What share_gradients publishes: each rank's gradient, weight and extras (kMaxSharedExtras to a
  // rank). Successive calls use the two sets in turn, so that a rank may publish the next step's
  // while another still reads this step's.
  static constexpr size_t kMaxSharedExtras = 8;
  struct SharedGradients {
    std::vector<const float*> data;
    std::vector<float> weights;
    std::vector<float> extras;
  };
  SharedGradients& shared_gradients(unsigned call) { return shared_[call % 2]; }
  // Buffer `which` (0 or 1) of `rank`'s gradients, at least n floats; each rank asks for its own.
  float* gradient_buffer(int rank, int which, size_t n);
  // The parameters every rank's model reads and writes in place, where the ranks share one copy
  // (set before the fit starts): gathering their slices is then only a wait.
  void share_parameters(const float* parameters) { shared_parameters_ = parameters; }
  const float* shared_parameters() const { return shared_parameters_; }

 private:
  const int size_;
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> generation_{0};
  std::atomic<bool> abandoned_{false};
  std::vector<void*> buffers_;
  std::vector<float> weights_;
  SharedGradients shared_[2];
  std::vector<Buffer> gradient_buffers_;  // two per rank
  const float* shared_parameters_ = nullptr;
};

class ThreadCollective final : public Collective {
 public:
  ThreadCollective(ThreadTeam& team, int rank) : team_(team), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return team_.size(); }
  void broadcast(void* data, size_t bytes) override;
  void allreduce_sum(float* data, size_t n) override;
  void allreduce_sum(double* data, size_t n) override;

  Slice update_slice(size_t n) const override;
  void reduce_gradients(float* data, size_t n, float weight, size_t extras) override;
  bool share_gradients(float* data, size_t n, float weight, size_t extras, float* totals,
                       GradientParts* parts) override;
  void gather_slices(float* data, size_t n) override;
  float* gradient_buffer(size_t n, int which) override { return team_.gradient_buffer(rank_, which, n); }
  double sum_over_slices(double mine, size_t n) override;

 private:
  Slice part(int rank, size_t n) const;
  template <typename T>
  void sum_in_place(T* data, size_t n);

  ThreadTeam& team_;
  const int rank_;
  std::vector<float> totals_;  // the extras' sums, written back once every rank has read them
  unsigned shares_ = 0;        // share_gradients calls so far
};

}  // namespace ae
