// End-to-end training: the design document's network learns synthetic data with Adam and with SGD
// + momentum by the required factors, and a seed fixes the trained weights bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>

#include "core/trainer.h"
#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

constexpr long kWidth = 100;

// 100 → 32 relu → 32 relu (the latent code), then 32 → 32 relu → 100 sigmoid.
NetworkSpec design_network() {
  return test::dense_stack({{100, 32, Activation::Relu}, {32, 32, Activation::Relu}, {32, 32, Activation::Relu},
                            {32, 100, Activation::Sigmoid}},
                           1);
}

// Learnable data in (0, 1): x = sigmoid(z · M) with z of width 8 and M (8 × 100), both standard normal.
std::vector<float> synthetic_data(long rows, uint64_t seed) {
  constexpr long kLatent = 8;
  Rng rng(seed);
  std::vector<double> m(size_t(kLatent * kWidth));
  for (double& v : m) v = rng.normal();
  std::vector<float> x(size_t(rows * kWidth));
  double z[kLatent];
  for (long r = 0; r < rows; ++r) {
    for (double& v : z) v = rng.normal();
    for (long c = 0; c < kWidth; ++c) {
      double s = 0;
      for (long k = 0; k < kLatent; ++k) s += z[k] * m[size_t(k * kWidth + c)];
      x[size_t(r * kWidth + c)] = float(1.0 / (1.0 + std::exp(-s)));
    }
  }
  return x;
}

FitConfig fit_config(OptimizerKind kind, float lr, float momentum, int epochs) {
  FitConfig c = test::seeded_fit(kind, lr, 64, epochs, 2);
  c.loss.kind = Loss::Mse;
  c.optimizer.momentum = momentum;
  return c;
}

// Trains on 8,192 rows and returns evaluate() before over evaluate() after.
double loss_reduction(const FitConfig& config, const std::string& label) {
  const std::vector<float> x = synthetic_data(8192, 1);
  const DataView data{x.data(), 8192, kWidth};
  Model model(design_network(), 3);
  cpu::CpuBackend be;
  FitObserver quiet;
  const double before = evaluate(be, model, data, config.loss);
  const FitResult result = fit(be, model, data, nullptr, config, quiet);
  const double after = evaluate(be, model, data, config.loss);
  EXPECT_EQ(result.reason, StopReason::Completed);
  EXPECT_EQ(int(result.epochs.size()), config.epochs);
  const double ratio = before / after;
  std::cout << "[ training ] " << label << ": loss " << before << " -> " << after << " (first epoch "
            << result.epochs.front().loss << ", last epoch " << result.epochs.back().loss << "), reduction " << ratio
            << "x in " << config.epochs << " epochs\n";
  ::testing::Test::RecordProperty(label + "_reduction", std::to_string(ratio));
  return ratio;
}

TEST(Training, AdamReducesLossTenfoldInTenEpochs) {
  EXPECT_GE(loss_reduction(fit_config(OptimizerKind::Adam, 1e-3f, 0.0f, 10), "adam"), 10.0);
}

TEST(Training, SgdMomentumReducesLossFivefoldInThirtyEpochs) {
  EXPECT_GE(loss_reduction(fit_config(OptimizerKind::Sgd, 0.05f, 0.9f, 30), "sgd_momentum"), 5.0);
}

// Trains a fresh model for two epochs with shuffling and returns its parameters.
std::vector<float> trained_weights(uint64_t model_seed, uint64_t fit_seed) {
  const std::vector<float> x = synthetic_data(1024, 4);
  const DataView data{x.data(), 1024, kWidth};
  Model model(design_network(), model_seed);
  FitConfig config = fit_config(OptimizerKind::Adam, 1e-3f, 0.0f, 2);
  config.seed = fit_seed;
  cpu::CpuBackend be;
  FitObserver quiet;
  fit(be, model, data, nullptr, config, quiet);
  return {model.params().data(), model.params().data() + model.params().size()};
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Training, SameSeedGivesBitwiseIdenticalWeights) {
  const std::vector<float> first = trained_weights(7, 3);
  EXPECT_TRUE(bitwise_equal(first, trained_weights(7, 3)));
  // A different shuffle seed, or a different initialization seed, gives different weights.
  EXPECT_FALSE(bitwise_equal(first, trained_weights(7, 4)));
  EXPECT_FALSE(bitwise_equal(first, trained_weights(8, 3)));
}

// Without shuffling or noise a batch's rows are read where they lie; Gaussian noise of level 0 takes
// the copying path with the same values, so both fits must end bit for bit alike.
TEST(Training, UnshuffledRowsReadInPlaceTrainAsCopiedOnes) {
  const std::vector<float> x = synthetic_data(1000, 6);
  const DataView data{x.data(), 1000, kWidth};
  auto weights = [&](NoiseKind noise) {
    Model model(design_network(), 3);
    FitConfig config = fit_config(OptimizerKind::Adam, 1e-3f, 0.0f, 2);
    config.shuffle = false;
    config.noise = noise;
    cpu::CpuBackend be(1);
    FitObserver quiet;
    fit(be, model, data, nullptr, config, quiet);
    return std::vector<float>(model.params().data(), model.params().data() + model.params().size());
  };
  EXPECT_TRUE(bitwise_equal(weights(NoiseKind::None), weights(NoiseKind::Gaussian)));
}

}  // namespace
}  // namespace ae
