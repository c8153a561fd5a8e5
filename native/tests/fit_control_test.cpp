// How fit() stops: a non-finite batch (an error, or skipped on request), early stopping with
// patience and restoring the best weights (also in a resumed fit), and cancellation by an observer.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "core/errors.h"
#include "core/trainer.h"
#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

constexpr long kRows = 128, kCols = 10, kBatch = 32;  // four batches per epoch

NetworkSpec small_network() {
  NetworkSpec spec;
  LayerSpec encoder;
  encoder.name = "encoder";
  encoder.inputs = kCols;
  encoder.units = 4;
  encoder.activation.kind = Activation::Relu;
  LayerSpec decoder;
  decoder.name = "decoder";
  decoder.inputs = 4;
  decoder.units = kCols;
  decoder.activation.kind = Activation::Sigmoid;
  spec.layers = {encoder, decoder};
  return spec;
}

std::vector<float> data() {
  Rng rng(81);
  std::vector<float> x(size_t(kRows * kCols));
  for (float& v : x) v = float(rng.uniform());
  return x;
}

FitConfig config(int epochs) {
  FitConfig c;
  c.epochs = epochs;
  c.batch_size = kBatch;
  c.shuffle = false;  // row r is always in batch r / kBatch
  c.optimizer.kind = OptimizerKind::Adam;
  c.optimizer.learning_rate = 1e-2f;
  return c;
}

std::vector<float> params_of(const Model& model) {
  return {model.params().data(), model.params().data() + model.params().size()};
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

// Observer hooks as lambdas.
struct Hooks : FitObserver {
  std::function<void(int, long)> batch = [](int, long) {};
  std::function<void(const EpochStats&)> epoch = [](const EpochStats&) {};
  std::function<bool()> stop = [] { return false; };
  void on_batch(int e, long b, long, double) override { batch(e, b); }
  void on_epoch(const EpochStats& s) override { epoch(s); }
  bool should_stop() override { return stop(); }
};

// Runs fit expecting ERR_NON_FINITE; returns the error's message.
std::string non_finite_message(cpu::CpuBackend& be, Model& model, const DataView& view, const FitConfig& c,
                               FitObserver& observer) {
  try {
    fit(be, model, view, nullptr, c, observer);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), "ERR_NON_FINITE");
    return e.what();
  }
  ADD_FAILURE() << "fit did not throw";
  return "";
}

TEST(FitControl, NonFiniteFirstBatchStopsAndKeepsInitialWeights) {
  std::vector<float> x = data();
  x[3] = NAN;  // row 0: the first batch
  Model model(small_network(), 1);
  const std::vector<float> initial = params_of(model);
  cpu::CpuBackend be;
  Hooks hooks;
  const std::string message = non_finite_message(be, model, {x.data(), kRows, kCols}, config(3), hooks);
  EXPECT_NE(message.find("epoch 0, batch 0"), std::string::npos) << message;
  EXPECT_TRUE(all_finite(params_of(model)));
  EXPECT_TRUE(bitwise_equal(params_of(model), initial));
}

TEST(FitControl, NonFiniteLaterBatchNamesItsEpochAndBatch) {
  std::vector<float> x = data();
  Model model(small_network(), 1);
  cpu::CpuBackend be;
  Hooks hooks;
  std::vector<float> before_bad_batch;
  // After a clean first epoch, a NaN appears in row 70 (batch 2); the weights after batch 1 of
  // epoch 1 are the last finite step.
  hooks.epoch = [&](const EpochStats& s) {
    if (s.epoch == 0) x[size_t(70 * kCols + 5)] = NAN;
  };
  hooks.batch = [&](int epoch, long batch) {
    if (epoch == 1 && batch == 1) before_bad_batch = params_of(model);
  };
  const std::string message = non_finite_message(be, model, {x.data(), kRows, kCols}, config(3), hooks);
  EXPECT_NE(message.find("epoch 1, batch 2"), std::string::npos) << message;
  EXPECT_TRUE(all_finite(params_of(model)));
  EXPECT_TRUE(bitwise_equal(params_of(model), before_bad_batch));
}

// A gradient that overflows while the loss stays finite (an L2 penalty on one weight made huge after
// batch 0 of epoch 1; the sigmoid outputs saturate) is found by the update's own sum of squares: the
// step has then spoilt the weights, which go back to the start of the epoch. With norm clipping the
// norm is summed before the step, which is never taken. One thread: the hooks change the caller's
// model, which a split fit's other threads would not see.
TEST(FitControl, OverflowingGradientRestoresTheEpochStartOrWithClippingStopsBeforeTheStep) {
  const std::vector<float> x = data();
  for (const bool clipping : {false, true}) {
    SCOPED_TRACE(clipping ? "clipping by norm" : "no clipping");
    Model model(small_network(), 1);
    cpu::CpuBackend be(1);
    FitConfig c = config(3);
    c.l2 = 1e4f;  // 2e4 · 1e18: its square overflows a float, the weight's own does not
    if (clipping) c.optimizer.clip_norm = 1.0f;
    Hooks hooks;
    std::vector<float> epoch_start, before_bad_batch;
    hooks.epoch = [&](const EpochStats& s) {
      if (s.epoch == 0) epoch_start = params_of(model);
    };
    hooks.batch = [&](int epoch, long batch) {
      if (epoch != 1 || batch != 0) return;
      model.weight(0)[0] = 1e18f;
      before_bad_batch = params_of(model);
    };
    const std::string message = non_finite_message(be, model, {x.data(), kRows, kCols}, c, hooks);
    EXPECT_NE(message.find("non-finite gradient at epoch 1, batch 1"), std::string::npos) << message;
    EXPECT_EQ(message.find("restored to the start of epoch 1") != std::string::npos, !clipping) << message;
    EXPECT_TRUE(bitwise_equal(params_of(model), clipping ? before_bad_batch : epoch_start));
  }
}

// An update that overflows a weight is found right after it, and the weights go back to the start of
// that step's epoch. Here SGD with weight decay (lr · decay = 3) doubles every weight's size each
// step, and an output bias of 1.5e18 passes 1.8e19 (its square overflows) in batch 3, the epoch's
// last (before, such an overflow was copied as the next epoch's starting weights). On two threads
// the batch is split, and each thread takes the whole update of this small network (split_fit_test
// covers slices of it).
TEST(FitControl, AnUpdateThatOverflowsRestoresTheStartOfItsEpoch) {
  const std::vector<float> x = data();
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(std::to_string(threads) + " thread(s)");
    Model model(small_network(), 1);
    model.bias(1)[kCols - 1] = 1.5e18f;  // a saturated sigmoid: the loss stays finite
    const std::vector<float> initial = params_of(model);
    cpu::CpuBackend be(threads);
    FitConfig c = config(3);
    c.optimizer.kind = OptimizerKind::Sgd;
    c.optimizer.learning_rate = 1.0f;
    c.optimizer.weight_decay = 3.0f;
    Hooks hooks;
    const std::string message = non_finite_message(be, model, {x.data(), kRows, kCols}, c, hooks);
    EXPECT_EQ(message, "non-finite weights after the update at epoch 0, batch 3; weights restored to the start of epoch 0");
    EXPECT_TRUE(bitwise_equal(params_of(model), initial));
  }
}

TEST(FitControl, SkipNonFiniteSkipsTheBatchAndContinues) {
  std::vector<float> x = data();
  x[size_t(40 * kCols)] = NAN;  // batch 1
  Model model(small_network(), 1);
  FitConfig c = config(3);
  c.skip_non_finite = true;
  cpu::CpuBackend be;
  Hooks hooks;
  const FitResult result = fit(be, model, {x.data(), kRows, kCols}, nullptr, c, hooks);
  EXPECT_EQ(result.reason, StopReason::Completed);
  ASSERT_EQ(result.epochs.size(), 3u);
  for (const EpochStats& s : result.epochs) {
    EXPECT_EQ(s.skipped_batches, 1);
    EXPECT_TRUE(std::isfinite(s.loss));
  }
  EXPECT_EQ(result.steps, 3 * 3);
  EXPECT_TRUE(all_finite(params_of(model)));
}

TEST(FitControl, EarlyStoppingAfterPatienceEpochsRestoresBest) {
  const std::vector<float> x = data();
  Model model(small_network(), 1);
  FitConfig c = config(50);
  c.patience = 2;
  // No later epoch can improve on the first by this much, so the wait starts at epoch 1.
  c.min_delta = 1e9f;
  c.restore_best = true;
  cpu::CpuBackend be;
  Hooks hooks;
  std::vector<float> after_first_epoch;
  hooks.epoch = [&](const EpochStats& s) {
    if (s.epoch == 0) after_first_epoch = params_of(model);
  };
  const FitResult result = fit(be, model, {x.data(), kRows, kCols}, nullptr, c, hooks);
  EXPECT_EQ(result.reason, StopReason::EarlyStopping);
  EXPECT_EQ(result.epochs.size(), 3u);  // the best epoch, then `patience` without improvement (as Keras)
  EXPECT_EQ(result.best_epoch, 0);
  EXPECT_TRUE(result.restored_best);
  EXPECT_TRUE(bitwise_equal(params_of(model), after_first_epoch));
}

// A fit resumed from a checkpoint holds no weights of the epochs before it: where none of its own
// epochs improves on the checkpoint's best, it keeps its last weights rather than restore any.
TEST(FitControl, AResumedFitThatNeverImprovesKeepsItsLastWeights) {
  const std::vector<float> x = data();
  const DataView view{x.data(), kRows, kCols};
  Model model(small_network(), 1);
  cpu::CpuBackend be(1);
  test::Snapshot first(2);
  FitConfig c = config(2);
  c.checkpoint_every = 2;
  fit(be, model, view, nullptr, c, first);
  ASSERT_EQ(first.state.epoch, 2);
  ASSERT_EQ(first.state.best_epoch, 1);
  FitConfig resumed = config(5);
  resumed.resume = &first.state;
  resumed.restore_best = true;
  resumed.patience = 5;
  resumed.min_delta = 1e9f;  // no epoch improves on the checkpoint's best by this much
  Hooks hooks;
  std::vector<float> after_last_epoch;
  hooks.epoch = [&](const EpochStats& s) {
    if (s.epoch == 4) after_last_epoch = params_of(model);
  };
  const FitResult result = fit(be, model, view, nullptr, resumed, hooks);
  EXPECT_EQ(result.epochs.size(), 3u);
  EXPECT_EQ(result.best_epoch, 1);
  EXPECT_FALSE(result.restored_best);
  EXPECT_TRUE(bitwise_equal(params_of(model), after_last_epoch));
}

TEST(FitControl, ObserverCancelsAfterNBatches) {
  const std::vector<float> x = data();
  Model model(small_network(), 1);
  cpu::CpuBackend be;
  Hooks hooks;
  long batches = 0;
  hooks.batch = [&](int, long) { ++batches; };
  hooks.stop = [&] { return batches >= 6; };
  const FitResult result = fit(be, model, {x.data(), kRows, kCols}, nullptr, config(10), hooks);
  EXPECT_EQ(result.reason, StopReason::Cancelled);
  EXPECT_EQ(batches, 6);
  EXPECT_EQ(result.epochs.size(), 1u);  // epoch 0 completed; epoch 1 stopped after two batches
  EXPECT_TRUE(all_finite(params_of(model)));
}

}  // namespace
}  // namespace ae
