// The trainer's data-parallel path without MPI: "ranks" are threads of this process joined by an
// in-process Collective, so the sharding, weighting, broadcast, agreement check and collective
// stop run under every native check (sanitizers, valgrind) where mpirun is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "core/errors.h"
#include "core/trainer.h"
#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

// Ranks sharing memory: each operation is a barrier at which rank 0's data (broadcast) or the
// sum of every rank's data (allreduce, added in rank order) is handed to all.
class ThreadCollective {
 public:
  explicit ThreadCollective(int size) : size_(size) {}

  class Rank final : public Collective {
   public:
    Rank(ThreadCollective& group, int rank) : group_(group), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return group_.size_; }
    void broadcast(void* data, size_t bytes) override {
      group_.exchange(rank_, [&](std::vector<double>& shared) {
        if (rank_ == 0) shared.assign(static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + bytes);
      }, [&](const std::vector<double>& shared) {
        std::transform(shared.begin(), shared.end(), static_cast<unsigned char*>(data),
                       [](double v) { return static_cast<unsigned char>(v); });
      });
    }
    void allreduce_sum(float* data, size_t n) override { sum(data, n); }
    void allreduce_sum(double* data, size_t n) override { sum(data, n); }

   private:
    template <typename T>
    void sum(T* data, size_t n) {
      group_.exchange(rank_, [&](std::vector<double>& shared) {
        shared.resize(n, 0.0);
        for (size_t i = 0; i < n; ++i) shared[i] = double(T(shared[i] + data[i]));
      }, [&](const std::vector<double>& shared) {
        for (size_t i = 0; i < n; ++i) data[i] = T(shared[i]);
      });
    }
    ThreadCollective& group_;
    int rank_;
  };

 private:
  // Ranks contribute one at a time in rank order, then all read, then the buffer is cleared.
  template <typename Contribute, typename Read>
  void exchange(int rank, Contribute&& contribute, Read&& read) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return phase_ == Phase::Contributing && turn_ == rank; });
    contribute(shared_);
    if (++turn_ == size_) phase_ = Phase::Reading, turn_ = 0;
    changed_.notify_all();
    changed_.wait(lock, [&] { return phase_ == Phase::Reading && turn_ == rank; });
    read(shared_);
    if (++turn_ == size_) phase_ = Phase::Contributing, turn_ = 0, shared_.clear();
    changed_.notify_all();
  }

  enum class Phase { Contributing, Reading };
  int size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Phase phase_ = Phase::Contributing;
  int turn_ = 0;
  std::vector<double> shared_;
};

NetworkSpec network() { return test::dense_stack({{12, 6, Activation::Tanh}, {6, 12, Activation::Sigmoid}}); }

std::vector<float> rows(long count) {
  Rng rng(5);
  return test::to_float(test::uniform(rng, size_t(count * 12), 0.0, 1.0));
}

FitConfig config() { return test::seeded_fit(OptimizerKind::Adam, 1e-2f, 16, 3, 9); }

struct RankOutcome {
  std::vector<float> params;
  FitResult result;
  std::string error_code;
};

class CancelAt final : public FitObserver {
 public:
  explicit CancelAt(long batch) : batch_(batch) {}
  void on_batch(int, long batch, long, double) override { seen_ = batch; }
  bool should_stop() override { return batch_ >= 0 && seen_ + 1 >= batch_; }

 private:
  long batch_;
  long seen_ = -1;
};

// Trains `ranks` models, each seeded differently, on the same rows (or on rows_of[rank]) as the
// ranks of one job; cancel_rank asks to stop before batch 2.
std::vector<RankOutcome> train_as_ranks(int ranks, long count, std::vector<long> rows_of = {}, int cancel_rank = -1) {
  ThreadCollective group(ranks);
  std::vector<RankOutcome> out(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      ThreadCollective::Rank comm(group, r);
      cpu::CpuBackend be(1);
      Model model(network(), uint64_t(100 + r));
      const long mine = rows_of.empty() ? count : rows_of[size_t(r)];
      const std::vector<float> x = rows(mine);
      FitConfig c = config();
      c.collective = &comm;
      CancelAt observer(r == cancel_rank ? 2 : -1);
      try {
        out[size_t(r)].result = fit(be, model, {x.data(), mine, 12}, nullptr, c, observer);
      } catch (const Error& e) {
        out[size_t(r)].error_code = e.code();
      }
      out[size_t(r)].params.assign(model.params().data(), model.params().data() + model.params().size());
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

std::vector<float> train_alone(long count) {
  cpu::CpuBackend be(1);
  Model model(network(), 100);
  const std::vector<float> x = rows(count);
  FitObserver quiet;
  fit(be, model, {x.data(), count, 12}, nullptr, config(), quiet);
  return {model.params().data(), model.params().data() + model.params().size()};
}

// 97 rows in batches of 16: the last batch of each epoch holds one row, so with three ranks two of
// them train on no rows of it and must still take part.
TEST(DataParallel, RanksEndWithTheWeightsOfOneProcessOnTheSameGlobalBatches) {
  for (int ranks : {2, 3}) {
    SCOPED_TRACE(std::to_string(ranks) + " ranks");
    const std::vector<RankOutcome> out = train_as_ranks(ranks, 97);
    const std::vector<float> alone = train_alone(97);
    for (const RankOutcome& rank : out) {
      ASSERT_EQ(rank.error_code, "");
      EXPECT_EQ(rank.result.steps, 3 * 7);
      EXPECT_EQ(std::memcmp(rank.params.data(), out[0].params.data(), rank.params.size() * sizeof(float)), 0);
    }
    EXPECT_LT(test::norm_rel_error(test::to_double(out[0].params), test::to_double(alone)), 1e-6);
    EXPECT_GT(test::norm_rel_error(test::to_double(out[0].params), test::to_double(train_alone(96))), 1e-4);
  }
}

TEST(DataParallel, RanksWithDifferentRowsAllRefuseBeforeTraining) {
  const std::vector<RankOutcome> out = train_as_ranks(2, 0, {97, 96});
  for (const RankOutcome& rank : out) EXPECT_EQ(rank.error_code, "ERR_DISTRIBUTED_MISMATCH");
}

TEST(DataParallel, OneRankCancellingStopsEveryRankAtTheSameBatch) {
  const std::vector<RankOutcome> out = train_as_ranks(2, 97, {}, 1);
  for (const RankOutcome& rank : out) {
    EXPECT_EQ(rank.error_code, "");
    EXPECT_EQ(rank.result.reason, StopReason::Cancelled);
  }
  EXPECT_EQ(std::memcmp(out[0].params.data(), out[1].params.data(), out[0].params.size() * sizeof(float)), 0);
}

}  // namespace
}  // namespace ae
