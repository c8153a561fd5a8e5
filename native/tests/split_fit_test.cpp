// Fits that split each batch across threads: the thread collective's sums and broadcasts, when a fit
// splits, agreement with the same fit on one thread, bit-identical repeats, one observer, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <thread>

#include "core/errors.h"
#include "core/split_fit.h"
#include "core/thread_collective.h"
#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

template <typename Fn>
void on_threads(int ranks, Fn&& fn) {
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) threads.emplace_back(fn, r);
  for (std::thread& t : threads) t.join();
}

TEST(ThreadCollective, SumsAndBroadcastsAcrossThreeThreads) {
  ThreadTeam team(3);
  std::vector<std::vector<float>> sums(3);
  std::vector<std::vector<double>> doubles(3);
  std::vector<std::vector<int>> broadcasts(3);
  on_threads(3, [&](int r) {
    ThreadCollective comm(team, r);
    sums[size_t(r)].resize(1001);
    for (size_t i = 0; i < 1001; ++i) sums[size_t(r)][i] = float(i) * float(r + 1);
    comm.allreduce_sum(sums[size_t(r)].data(), 1001);
    doubles[size_t(r)] = {double(r), 0.5};
    comm.allreduce_sum(doubles[size_t(r)].data(), 2);
    broadcasts[size_t(r)] = {r * 10, r * 10 + 1};
    comm.broadcast(broadcasts[size_t(r)].data(), 2 * sizeof(int));
  });
  for (int r = 0; r < 3; ++r) {
    for (size_t i = 0; i < 1001; ++i) ASSERT_EQ(sums[size_t(r)][i], float(i) * 6.0f) << "rank " << r << ", value " << i;
    EXPECT_EQ(doubles[size_t(r)][0], 3.0);
    EXPECT_EQ(doubles[size_t(r)][1], 1.5);
    EXPECT_EQ(broadcasts[size_t(r)][0], 0);
    EXPECT_EQ(broadcasts[size_t(r)][1], 1);
  }
}

TEST(ThreadCollective, AbandoningReleasesTheRanksThatWait) {
  ThreadTeam team(2);
  std::string code;
  std::thread waiting([&] {
    try {
      float v = 1;
      ThreadCollective(team, 1).allreduce_sum(&v, 1);
    } catch (const Error& e) {
      code = e.code();
    }
  });
  team.abandon();
  waiting.join();
  EXPECT_EQ(code, "ERR_SPLIT_ABANDONED");
}

constexpr long kWidth = 100;
constexpr long kRows = 2048;

NetworkSpec w1() {
  return test::dense_stack({{100, 32, Activation::Relu}, {32, 32, Activation::Relu}, {32, 32, Activation::Relu},
                            {32, 100, Activation::Sigmoid}},
                           1);
}

FitConfig config(OptimizerKind kind) {
  FitConfig c = test::seeded_fit(kind, kind == OptimizerKind::Adam ? 1e-3f : 0.05f, 64, 3, 5);
  c.loss.kind = Loss::Mse;
  return c;
}

struct Counting final : FitObserver {
  long batches = 0;
  int epochs = 0;
  long stop_after = -1;
  void on_batch(int, long, long, double) override { ++batches; }
  void on_epoch(const EpochStats&) override { ++epochs; }
  bool should_stop() override { return stop_after >= 0 && batches >= stop_after; }
};

std::vector<float> data() {
  Rng rng(9);
  return test::to_float(test::uniform(rng, size_t(kRows * kWidth), 0.0, 1.0));
}

std::vector<float> trained(int threads, const FitConfig& c, FitResult* result = nullptr, Counting* seen = nullptr) {
  const std::vector<float> x = data();
  Model model(w1(), 3);
  cpu::CpuBackend be(threads);
  Counting counting;
  Counting& observer = seen ? *seen : counting;
  FitResult r = fit(be, model, DataView{x.data(), kRows, kWidth}, nullptr, c, observer);
  if (result) *result = r;
  return {model.params().data(), model.params().data() + model.params().size()};
}

TEST(SplitFit, SplitsSmallProductsOnlyOnSeveralThreadsInFloat32) {
  const std::vector<float> x = data();
  const DataView view{x.data(), kRows, kWidth};
  cpu::CpuBackend two(2), one(1);
  const Model small(w1(), 1);
  FitConfig c = config(OptimizerKind::Sgd);
  EXPECT_EQ(split_ranks(two, small, c, view), 2);
  EXPECT_EQ(split_ranks(one, small, c, view), 1);
  c.batch_size = 16;  // one rank's worth of rows
  EXPECT_EQ(split_ranks(two, small, c, view), 1);
  c = config(OptimizerKind::Sgd);
  c.precision = Precision::Bf16;
  EXPECT_EQ(split_ranks(two, small, c, view), 1);
  // W2's products of a 256-row batch are large: the backend splits each of them instead.
  const Model large(test::dense_stack({{784, 512, Activation::Relu}, {512, 784, Activation::Sigmoid}}), 1);
  c = config(OptimizerKind::Adam);
  c.batch_size = 256;
  const std::vector<float> wide(size_t(256 * 784), 0.5f);
  EXPECT_EQ(split_ranks(two, large, c, DataView{wide.data(), 256, 784}), 1);
}

// Two halves of a batch give the mean gradient of the whole batch up to the order of the sums.
TEST(SplitFit, MatchesTheSameFitOnOneThread) {
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::Adam}) {
    FitResult split, alone;
    const std::vector<float> a = trained(2, config(kind), &split);
    const std::vector<float> b = trained(1, config(kind), &alone);
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
    EXPECT_LT(worst, 1e-4) << "optimizer " << int(kind);
    ASSERT_EQ(split.epochs.size(), alone.epochs.size());
    for (size_t e = 0; e < split.epochs.size(); ++e)
      EXPECT_NEAR(split.epochs[e].loss, alone.epochs[e].loss, 1e-5 * alone.epochs[e].loss);
    EXPECT_EQ(split.steps, alone.steps);
    EXPECT_FALSE(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0) << "the fit did not split";
  }
}

TEST(SplitFit, RepeatsBitForBitAndReportsEachBatchOnce) {
  FitConfig c = config(OptimizerKind::Adam);
  c.noise = NoiseKind::Masking;
  c.noise_level = 0.2f;
  Counting seen;
  const std::vector<float> first = trained(2, c, nullptr, &seen);
  const std::vector<float> again = trained(2, c);
  EXPECT_EQ(std::memcmp(first.data(), again.data(), first.size() * sizeof(float)), 0);
  EXPECT_EQ(seen.batches, 3 * kRows / 64);
  EXPECT_EQ(seen.epochs, 3);
}

TEST(SplitFit, ValidationLossIsEvaluateOnTheFinalWeights) {
  const std::vector<float> x = data();
  const DataView train{x.data(), kRows - 200, kWidth}, val{x.data() + (kRows - 200) * kWidth, 200, kWidth};
  Model model(w1(), 3);
  cpu::CpuBackend be(2);
  const FitConfig c = config(OptimizerKind::Adam);
  ASSERT_EQ(split_ranks(be, model, c, train), 2);
  Counting observer;
  const FitResult result = fit(be, model, train, &val, c, observer);
  EXPECT_EQ(result.epochs.back().val_loss, evaluate(be, model, val, c.loss));
}

TEST(SplitFit, StopsEveryThreadWhenAsked) {
  Counting seen;
  seen.stop_after = 5;
  FitResult result;
  trained(2, config(OptimizerKind::Sgd), &result, &seen);
  EXPECT_EQ(result.reason, StopReason::Cancelled);
  EXPECT_EQ(seen.batches, 5);
}

TEST(SplitFit, ReportsTheFailureItselfRatherThanTheWaitForIt) {
  FitConfig c = config(OptimizerKind::Sgd);
  c.optimizer.learning_rate = 1e30f;
  try {
    trained(2, c);
    FAIL() << "expected ERR_NON_FINITE";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "ERR_NON_FINITE") << e.what();
  }
}

}  // namespace
}  // namespace ae
