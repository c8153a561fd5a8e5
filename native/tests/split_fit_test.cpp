// Fits that split each batch across threads: the thread collective's sums and broadcasts, when a fit
// splits, agreement with the same fit on one thread, bit-identical repeats, one observer, and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/split_fit.h"
#include "core/thread_collective.h"
#include "cpu/cpu_backend.h"
#include "cpu/onednn.h"
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

// Runs body(n, team) for three ranks on a size whose updates split into slices and on one whose
// updates do not.
template <typename Body>
void on_split_and_whole_sizes(Body&& body) {
  for (const size_t n : {size_t(70001), size_t(100)}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    ThreadTeam team(3);
    body(n, team);
  }
}

// From 65,536 parameters each rank sums and updates only its slice; below, every rank all of them.
TEST(ThreadCollective, SplitsLargeUpdatesIntoSlicesAndGathersThem) {
  on_split_and_whole_sizes([](size_t n, ThreadTeam& team) {
    constexpr size_t kExtras = 2;
    std::vector<std::vector<float>> data(3), gathered(3);
    std::vector<Collective::Slice> slices(3);
    std::vector<double> sums(3);
    on_threads(3, [&](int r) {
      ThreadCollective comm(team, r);
      std::vector<float>& mine = data[size_t(r)];
      mine.resize(n + kExtras);
      for (size_t i = 0; i < n; ++i) mine[i] = float(i % 97) * float(r + 1);
      mine[n] = float(r);
      mine[n + 1] = 1.0f;
      comm.reduce_gradients(mine.data(), n, 0.25f * float(r + 1), kExtras);
      const Collective::Slice slice = comm.update_slice(n);
      slices[size_t(r)] = slice;
      gathered[size_t(r)].assign(n, -1.0f);
      for (size_t i = slice.begin; i < slice.end; ++i) gathered[size_t(r)][i] = float(i) + 0.5f;
      comm.gather_slices(gathered[size_t(r)].data(), n);
      sums[size_t(r)] = comm.sum_over_slices(double(slice.size()), n);
    });
    const bool split = n >= 65536;
    size_t covered = 0;
    for (int r = 0; r < 3; ++r) {
      const Collective::Slice slice = slices[size_t(r)];
      if (split) {
        EXPECT_EQ(slice.begin, covered) << "rank " << r;
        EXPECT_EQ(slice.begin % 16, 0u);
        covered = slice.end;
      } else {
        EXPECT_EQ(slice.begin, 0u);
        EXPECT_EQ(slice.end, n);
      }
      // Σ 0.25 (r + 1) · (i % 97) (r + 1) over the ranks: 0.25 · 14 · (i % 97).
      for (size_t i = slice.begin; i < slice.end; ++i)
        ASSERT_EQ(data[size_t(r)][i], 3.5f * float(i % 97)) << "rank " << r << ", value " << i;
      EXPECT_EQ(data[size_t(r)][n], 3.0f);
      EXPECT_EQ(data[size_t(r)][n + 1], 3.0f);
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(gathered[size_t(r)][i], float(i) + 0.5f) << "rank " << r << ", value " << i;
      EXPECT_EQ(sums[size_t(r)], double(n)) << "rank " << r;  // the slices' sizes, or all of them
    }
    if (split) EXPECT_EQ(covered, n);
  });
}

// The update sums the ranks' gradients itself: every rank gets every rank's buffer with its weight,
// in rank order, and the sum of the extras, which each rank may overwrite as soon as it has them.
TEST(ThreadCollective, SharesTheGradientsForTheUpdateAndSumsTheExtras) {
  on_split_and_whole_sizes([](size_t n, ThreadTeam& team) {
    constexpr size_t kExtras = 3;
    std::vector<std::vector<float>> data(3), totals(3);
    std::vector<Collective::GradientParts> parts(3);
    std::vector<char> shared(3, 0);
    on_threads(3, [&](int r) {
      ThreadCollective comm(team, r);
      std::vector<float>& mine = data[size_t(r)];
      mine.assign(n + kExtras, float(r));
      mine[n] = float(r + 1);
      mine[n + 2] = 0.5f;
      totals[size_t(r)].assign(kExtras, -1.0f);
      shared[size_t(r)] = comm.share_gradients(mine.data(), n, 0.1f * float(r + 1), kExtras,
                                               totals[size_t(r)].data(), &parts[size_t(r)]);
      std::fill(mine.begin() + std::ptrdiff_t(n), mine.end(), NAN);  // as a rank leaving the fit would
      comm.gather_slices(mine.data(), n);
    });
    for (int r = 0; r < 3; ++r) {
      ASSERT_TRUE(shared[size_t(r)]) << "rank " << r;
      EXPECT_EQ(totals[size_t(r)], (std::vector<float>{6.0f, 3.0f, 1.5f})) << "rank " << r;
      ASSERT_EQ(parts[size_t(r)].count, 3);
      for (int q = 0; q < 3; ++q) {
        EXPECT_EQ(parts[size_t(r)].data[q], data[size_t(q)].data()) << "rank " << r << ", part " << q;
        EXPECT_EQ(parts[size_t(r)].weights[q], 0.1f * float(q + 1)) << "rank " << r << ", part " << q;
      }
    }
  });
}

// Where every rank takes the whole update, one wait a step: a rank publishes the next step's
// gradients (from its other buffer) while another still reads this step's, which stay as they were.
TEST(ThreadCollective, PublishesTheNextStepsGradientsBesideTheOnesStillRead) {
  constexpr size_t kN = 100, kExtras = 1;
  ThreadTeam team(2);
  std::vector<float> first_step_part;
  float first_step_weight = 0, first_step_total = 0;
  const float* buffers[2][2] = {};
  // A rank that fails leaves the team, so that the other stops waiting for it rather than hang.
  on_threads(2, [&](int r) {
    try {
      ThreadCollective comm(team, r);
      EXPECT_EQ(comm.update_slice(kN).size(), kN);
      for (int step = 0; step < 2; ++step) {
        float* grads = comm.gradient_buffer(kN + kExtras, step);
        buffers[r][step] = grads;
        std::fill_n(grads, kN + kExtras, float(10 * step + r + 1));
        Collective::GradientParts parts;
        float total = 0;
        if (!comm.share_gradients(grads, kN, float(step + 1), kExtras, &total, &parts)) {
          ADD_FAILURE() << "rank " << r << ": share_gradients refused";
          team.abandon();
          return;
        }
        if (r == 1 && step == 0) {
          // Rank 0 goes on to publish its second step's gradients meanwhile, and waits there for this one.
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          first_step_part.assign(parts.data[0], parts.data[0] + kN);
          first_step_weight = parts.weights[0];
          first_step_total = total;
        }
      }
    } catch (const Error& e) {
      ADD_FAILURE() << "rank " << r << ": " << e.what();
    }
  });
  EXPECT_NE(buffers[0][0], buffers[0][1]);
  EXPECT_EQ(first_step_part, std::vector<float>(kN, 1.0f));
  EXPECT_EQ(first_step_weight, 1.0f);
  EXPECT_EQ(first_step_total, 3.0f);
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

TEST(SplitFit, SplitsSmallProductsOnlyOnSeveralThreadsOutsideTf32) {
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
  EXPECT_EQ(split_ranks(two, small, c, view), 2);
  c.precision = Precision::Tf32;
  EXPECT_EQ(split_ranks(two, small, c, view), 1);
  // W2's layers: a 256-row batch splits (128 rows each), a 128-row one does not, and layers of
  // 2048 × 1024 do not on any batch: the backend splits each of their products instead.
  const Model medium(test::dense_stack({{784, 512, Activation::Relu}, {512, 784, Activation::Sigmoid}}), 1);
  c = config(OptimizerKind::Adam);
  c.batch_size = 256;
  const std::vector<float> wide(size_t(512 * 2048), 0.5f);
  EXPECT_EQ(split_ranks(two, medium, c, DataView{wide.data(), 512, 784}), 2);
  c.batch_size = 128;
  EXPECT_EQ(split_ranks(two, medium, c, DataView{wide.data(), 512, 784}), 1);
  const Model large(test::dense_stack({{2048, 1024, Activation::Relu}, {1024, 2048, Activation::Sigmoid}}), 1);
  c.batch_size = 512;
  EXPECT_EQ(split_ranks(two, large, c, DataView{wide.data(), 512, 2048}), 1);
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

double largest_difference(const float* a, const float* b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
  return worst;
}

constexpr long kMediumWidth = 128, kMediumRows = 1024;
NetworkSpec medium() {
  return test::dense_stack({{kMediumWidth, 256, Activation::Relu}, {256, kMediumWidth, Activation::Sigmoid}});
}

std::vector<float> medium_data() {
  Rng rng(17);
  return test::to_float(test::uniform(rng, size_t(kMediumRows * kMediumWidth), 0.0, 1.0));
}

// A network of 65,920 parameters (just past the split of updates) on 256-row batches: each thread
// sums and updates its own slice of them, and a checkpoint's optimizer state is gathered whole.
TEST(SplitFit, SplitsTheUpdatesOfLargerNetworksAndMatchesOneThread) {
  const std::vector<float> x = medium_data();
  const DataView view{x.data(), kMediumRows, kMediumWidth};
  FitConfig c = test::seeded_fit(OptimizerKind::Adam, 1e-3f, 256, 2, 5);
  c.checkpoint_every = 2;
  test::Snapshot split(2), alone(2);
  for (const int threads : {2, 1}) {
    Model model(medium(), 3);
    cpu::CpuBackend be(threads);
    ASSERT_EQ(split_ranks(be, model, c, view), threads);
    ThreadTeam team(2);
    ASSERT_LT(ThreadCollective(team, 0).update_slice(model.params().size()).size(), model.params().size());
    fit(be, model, view, nullptr, c, threads == 2 ? split : alone);
  }
  const size_t n = alone.weights.size();
  ASSERT_EQ(split.weights.size(), n);
  EXPECT_LT(largest_difference(split.weights.data(), alone.weights.data(), n), 1e-5);
  EXPECT_FALSE(std::memcmp(split.weights.data(), alone.weights.data(), n * sizeof(float)) == 0)
      << "the fit did not split";
  // Adam's moments, against the largest of each (the second's are below 1e-10 here).
  ASSERT_EQ(split.state.s1.size(), n);
  const std::pair<const Buffer*, const Buffer*> moments[] = {{&split.state.s1, &alone.state.s1},
                                                              {&split.state.s2, &alone.state.s2}};
  for (const auto& [ours, theirs] : moments) {
    const double largest = *std::max_element(theirs->data(), theirs->data() + n);
    EXPECT_GT(largest, 0.0);
    EXPECT_LT(largest_difference(ours->data(), theirs->data(), n), 1e-3 * largest);
  }
}

// The ranks of a split fit with sliced updates share one copy of the parameters; restoring the best
// epoch, each restores its own slice of it: all of the model returns to the weights after epoch 0.
// The checkpoint of the last epoch, taken as the ranks finish it, holds that epoch's weights whole:
// no rank restores its slice before every rank is done with them.
TEST(SplitFit, RestoresEverySliceOfTheBestEpoch) {
  const std::vector<float> x = medium_data();
  const DataView view{x.data(), kMediumRows, kMediumWidth};
  struct Checkpoints final : FitObserver {
    std::vector<std::vector<float>> weights;
    void on_checkpoint(const Model& model, const TrainingState&) override {
      weights.emplace_back(model.params().data(), model.params().data() + model.params().size());
    }
  };
  Checkpoints restoring, kept;
  for (const bool restore : {true, false}) {
    FitConfig c = test::seeded_fit(OptimizerKind::Adam, 1e-3f, 256, 3, 5);
    c.checkpoint_every = 1;
    c.patience = 2;
    c.min_delta = 1e9f;  // no later epoch improves on the first by this much
    c.restore_best = restore;
    Model model(medium(), 3);
    cpu::CpuBackend be(2);
    ASSERT_EQ(split_ranks(be, model, c, view), 2);
    Checkpoints& checkpoints = restore ? restoring : kept;
    const FitResult result = fit(be, model, view, nullptr, c, checkpoints);
    EXPECT_EQ(result.best_epoch, 0);
    EXPECT_EQ(result.epochs.size(), 3u);
    ASSERT_EQ(result.restored_best, restore);
    ASSERT_EQ(checkpoints.weights.size(), 3u);
    const std::vector<float>& expected = restore ? checkpoints.weights[0] : checkpoints.weights[2];
    ASSERT_EQ(expected.size(), model.params().size());
    EXPECT_EQ(std::memcmp(model.params().data(), expected.data(), expected.size() * sizeof(float)), 0);
  }
  EXPECT_EQ(restoring.weights, kept.weights) << "the checkpoints of a fit that restores differ";
}

// In bf16 each thread rounds the slices it gathers for its products: the split fit stays within
// bfloat16's rounding of the fit on one thread (without that rounding, the second thread's products
// would use the first slice's initial weights throughout).
TEST(SplitFit, SplitsBf16FitsAndRoundsTheGatheredSlices) {
  if (!cpu::bf16_support().available) GTEST_SKIP() << "no bf16 here: " << cpu::bf16_support().reason;
  const std::vector<float> x = medium_data();
  const DataView view{x.data(), kMediumRows, kMediumWidth};
  FitConfig c = test::seeded_fit(OptimizerKind::Adam, 1e-3f, 256, 2, 5);
  c.precision = Precision::Bf16;
  std::vector<float> weights[2];
  for (const int threads : {2, 1}) {
    Model model(medium(), 3);
    cpu::CpuBackend be(threads);
    ASSERT_EQ(split_ranks(be, model, c, view), threads);
    Counting observer;
    fit(be, model, view, nullptr, c, observer);
    weights[threads - 1].assign(model.params().data(), model.params().data() + model.params().size());
  }
  const size_t n = weights[0].size();
  EXPECT_LT(largest_difference(weights[1].data(), weights[0].data(), n), 1e-4);
  EXPECT_FALSE(std::memcmp(weights[1].data(), weights[0].data(), n * sizeof(float)) == 0) << "the fit did not split";
}

// A fit on one thread runs on the backend's twin, whose products of this network run on oneDNN
// (with AE_GEMM=openblas they do not: the weights differ by the rounding of the sums over 784 inputs),
// and validates on the backend itself, so that valLoss is evaluate() of the weights.
TEST(SplitFit, FitsOnOneThreadRunOnTheTwinAndValidateOnTheBackend) {
  cpu::CpuBackend be(1);
  if (!be.onednn_takes_fit_products()) GTEST_SKIP() << "fits' products do not run on oneDNN here";
  constexpr long kWidth = 784, kTrain = 512, kVal = 100;
  Rng rng(19);
  const std::vector<float> x = test::to_float(test::uniform(rng, size_t((kTrain + kVal) * kWidth), 0.0, 1.0));
  const DataView train{x.data(), kTrain, kWidth};
  const DataView val{x.data() + size_t(kTrain * kWidth), kVal, kWidth};
  const NetworkSpec spec = test::dense_stack({{kWidth, 128, Activation::Relu}, {128, kWidth, Activation::Sigmoid}});
  const FitConfig c = test::seeded_fit(OptimizerKind::Adam, 1e-3f, 256, 2, 5);
  auto weights_of = [](const Model& m) {
    return std::vector<float>(m.params().data(), m.params().data() + m.params().size());
  };

  ASSERT_TRUE(fits_on_twin(be));
  Model on_backend(spec, 3);
  Counting observer;
  const FitResult result = fit(be, on_backend, train, &val, c, observer);
  EXPECT_EQ(result.epochs.back().val_loss, evaluate(be, on_backend, val, c.loss));

  Model on_twin(spec, 3);
  FitConfig twin_config = c;
  twin_config.validation_backend = &be;
  fit(*be.single_thread_twin(), on_twin, train, &val, twin_config, observer);
  EXPECT_EQ(weights_of(on_twin), weights_of(on_backend));

  const char* chosen = std::getenv("AE_GEMM");
  const std::string user_choice = chosen ? chosen : "";
  setenv("AE_GEMM", "openblas", 1);
  cpu::CpuBackend openblas(1);
  if (chosen) {
    setenv("AE_GEMM", user_choice.c_str(), 1);
  } else {
    unsetenv("AE_GEMM");
  }
  Model on_openblas(spec, 3);
  fit(openblas, on_openblas, train, &val, c, observer);
  const std::vector<float> a = weights_of(on_backend), b = weights_of(on_openblas);
  EXPECT_LT(largest_difference(a.data(), b.data(), a.size()), 1e-4);
  EXPECT_NE(a, b) << "the products did not run on oneDNN";
}

// Resumed from the checkpoint a split fit wrote after its first epoch (the weights, and the optimizer
// state each thread gathered), a split fit ends where the uninterrupted one did, bit for bit.

TEST(SplitFit, ResumesFromACheckpointOfSlicedUpdatesBitForBit) {
  const std::vector<float> x = medium_data();
  const DataView view{x.data(), kMediumRows, kMediumWidth};
  FitConfig c = test::seeded_fit(OptimizerKind::Adam, 1e-3f, 256, 3, 5);
  c.checkpoint_every = 1;
  cpu::CpuBackend be(2);
  Model whole(medium(), 3);
  ASSERT_EQ(split_ranks(be, whole, c, view), 2);
  test::Snapshot snapshot(1);
  fit(be, whole, view, nullptr, c, snapshot);
  ASSERT_EQ(snapshot.state.epoch, 1);

  Model resumed(medium(), 9);
  std::copy(snapshot.weights.begin(), snapshot.weights.end(), resumed.params().data());
  c.resume = &snapshot.state;
  Counting observer;
  fit(be, resumed, view, nullptr, c, observer);
  EXPECT_EQ(observer.epochs, 2);
  EXPECT_EQ(std::memcmp(resumed.params().data(), whole.params().data(), whole.params().size() * sizeof(float)), 0);
}

// Fits the medium network on two threads, the batch split between them, and expects the fit to fail
// with `message` and every slice of the weights back where they started.
void expect_split_fit_restores(Model& model, const FitConfig& c, const char* message) {
  const std::vector<float> x = medium_data();
  const DataView view{x.data(), kMediumRows, kMediumWidth};
  const std::vector<float> initial(model.params().data(), model.params().data() + model.params().size());
  cpu::CpuBackend be(2);
  ASSERT_EQ(split_ranks(be, model, c, view), 2);
  Counting observer;
  try {
    fit(be, model, view, nullptr, c, observer);
    ADD_FAILURE() << "expected ERR_NON_FINITE";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), message);
  }
  EXPECT_EQ(std::memcmp(model.params().data(), initial.data(), initial.size() * sizeof(float)), 0);
}

// The last output bias (in the second thread's slice) doubles each step (SGD, lr · decay = 3) and
// passes 1.8e19 in batch 3: every thread restores its slice of the epoch's start. With clipping, the
// gradient's norm is summed over the slices before the step, and is finite.
TEST(SplitFit, AnUpdateThatOverflowsInOneSliceRestoresEverySlice) {
  for (const bool clipping : {false, true}) {
    SCOPED_TRACE(clipping ? "clipping by norm" : "no clipping");
    Model model(medium(), 3);
    model.bias(1)[kMediumWidth - 1] = 1.5e18f;
    FitConfig c = test::seeded_fit(OptimizerKind::Sgd, 1.0f, 256, 2, 5);
    c.shuffle = false;
    c.optimizer.weight_decay = 3.0f;
    if (clipping) c.optimizer.clip_norm = 1e30f;
    expect_split_fit_restores(model, c,
                              "non-finite weights after the update at epoch 0, batch 3; weights restored to the start "
                              "of epoch 0");
  }
}

// A gradient that overflows under a finite loss (an L2 penalty on one weight of 1e18, in the first
// thread's slice: 2e4 · 1e18, whose square overflows a float), where the update sums the threads'
// gradients as it reads them: found by the update's sum of squares, named as the gradient, and every
// slice goes back to the epoch's start.
TEST(SplitFit, AGradientThatOverflowsUnderAFiniteLossIsNamedAndRestoresEverySlice) {
  Model model(medium(), 3);
  model.weight(0)[0] = 1e18f;
  FitConfig c = test::seeded_fit(OptimizerKind::Adam, 1e-3f, 256, 2, 5);
  c.l2 = 1e4f;
  expect_split_fit_restores(model, c,
                            "non-finite gradient at epoch 0, batch 0; weights restored to the start of epoch 0");
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

// The same with a network large enough that the update sums the threads' gradients: every thread
// leaves the fit at once, with nothing of another thread's left to read.
TEST(SplitFit, LargerNetworksStopEveryThreadWhenAskedOrOnANonFiniteLoss) {
  const std::vector<float> x = medium_data();
  const DataView view{x.data(), kMediumRows, kMediumWidth};
  for (int round = 0; round < 4; ++round) {
    Model model(medium(), 3);
    cpu::CpuBackend be(2);
    FitConfig c = test::seeded_fit(OptimizerKind::Adam, 1e-3f, 256, 2, 5);
    ASSERT_EQ(split_ranks(be, model, c, view), 2);
    Counting seen;
    seen.stop_after = 1 + round;
    EXPECT_EQ(fit(be, model, view, nullptr, c, seen).reason, StopReason::Cancelled);
    EXPECT_EQ(seen.batches, 1 + round);
    Model diverging(medium(), 3);
    diverging.bias(1)[0] = NAN;
    Counting unstopped;
    try {
      fit(be, diverging, view, nullptr, c, unstopped);
      ADD_FAILURE() << "expected ERR_NON_FINITE";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), "ERR_NON_FINITE") << e.what();
    }
  }
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
