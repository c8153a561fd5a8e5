// Gradient checks of every loss: the double-precision reference against finite differences of the
// mean loss, and the float production path (CpuBackend) against finite differences of that reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

using test::LossCase;

constexpr long kRows = 3;
constexpr long kCols = 12;
constexpr size_t kCount = size_t(kRows * kCols);

struct LossInputs {
  std::vector<double> z, y, target;
};

// Inputs inside each loss's smooth region: residuals off the kinks of mae and huber, and
// probabilities well inside the clipping interval [1e-7, 1 - 1e-7].
LossInputs make_inputs(const LossCase& lc, Rng& rng) {
  LossInputs in;
  in.target = test::uniform(rng, kCount, 0.0, 1.0);
  in.z = test::uniform(rng, kCount, -3.0, 3.0);
  if (lc.input == LossInput::Logits) {
    in.y.resize(kCount);
    std::vector<double> z = in.z;
    ref::bias_activation_forward<double>(test::activation(lc.output, 0.0f, lc.group), nullptr, z.data(), in.y.data(),
                                         kRows, kCols);
  } else if (lc.spec.kind == Loss::BinaryCrossentropy || lc.spec.kind == Loss::CategoricalCrossentropy) {
    in.y = test::uniform(rng, kCount, 0.05, 0.95);
  } else {
    const double delta = lc.spec.delta;
    in.y.resize(kCount);
    for (size_t i = 0; i < kCount; ++i) {
      // Half the huber residuals inside [0.05, delta - 0.05], half beyond delta + 0.05.
      const double size = i % 2 ? 0.05 + (delta - 0.1) * rng.uniform() : delta + 0.05 + rng.uniform();
      in.y[i] = in.target[i] + (rng.uniform() < 0.5 ? -size : size);
    }
  }
  return in;
}

double scale_of(const LossCase& lc) { return 1.0 / loss_terms(lc.spec, kRows, kCols, lc.group); }

// The mean loss as a function of the loss's input: y, or the logits z when fused.
double mean_loss(const LossCase& lc, const LossInputs& in, const std::vector<double>& input) {
  std::vector<double> grad(kCount);
  const double scale = scale_of(lc);
  const double* z = lc.input == LossInput::Logits ? input.data() : in.z.data();
  const double* y = lc.input == LossInput::Logits ? in.y.data() : input.data();
  return ref::loss_forward_backward<double>(lc.spec, lc.input, lc.group, z, y, in.target.data(), grad.data(), kRows,
                                            kCols, scale) *
         scale;
}

class LossGrad : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossGrad, ReferenceMatchesFiniteDifferencesInDouble) {
  const LossCase& lc = GetParam();
  Rng rng(21);
  const LossInputs in = make_inputs(lc, rng);
  std::vector<double> grad(kCount);
  ref::loss_forward_backward<double>(lc.spec, lc.input, lc.group, in.z.data(), in.y.data(), in.target.data(),
                                     grad.data(), kRows, kCols, scale_of(lc));
  const std::vector<double>& at = lc.input == LossInput::Logits ? in.z : in.y;
  const auto numeric = test::numeric_gradient([&](const std::vector<double>& v) { return mean_loss(lc, in, v); }, at);
  EXPECT_LT(test::max_rel_error(grad, numeric), 1e-6);
}

TEST_P(LossGrad, ProductionFloatMatchesFiniteDifferencesOfReference) {
  const LossCase& lc = GetParam();
  Rng rng(22);
  const LossInputs in = make_inputs(lc, rng);
  const std::vector<float> target = test::to_float(in.target);
  std::vector<float> z = test::to_float(in.z), y = test::to_float(in.y), grad(kCount);

  cpu::CpuBackend be;
  if (lc.input == LossInput::Logits)
    be.bias_activation_forward(test::activation(lc.output, 0.0f, lc.group), nullptr, z.data(), y.data(), kRows, kCols);
  be.loss_forward_backward(lc.spec, lc.input, lc.group, z.data(), y.data(), target.data(), grad.data(), kRows, kCols,
                           float(scale_of(lc)));

  LossInputs rounded{test::to_double(z), test::to_double(y), test::to_double(target)};
  const std::vector<double>& at = lc.input == LossInput::Logits ? rounded.z : rounded.y;
  const auto numeric =
      test::numeric_gradient([&](const std::vector<double>& v) { return mean_loss(lc, rounded, v); }, at);
  EXPECT_LT(test::norm_rel_error(test::to_double(grad), numeric), 2e-3);
}

// Threads take whole rows of a large batch: the gradient is the one-thread gradient bit for bit,
// the loss the same sum added in another order (the kernels add in float blocks, so to float
// accuracy). An odd row count leaves the threads unequal parts.
TEST_P(LossGrad, ThreadsSplittingTheRowsAgreeWithOneThread) {
  const LossCase& lc = GetParam();
  // Several times the rows that the backend keeps on one thread, whatever the grain.
  constexpr long kManyRows = 24001;
  const size_t count = size_t(kManyRows * kCols);
  Rng rng(23);
  std::vector<float> target = test::to_float(test::uniform(rng, count, 0.0, 1.0));
  std::vector<float> z = test::to_float(test::uniform(rng, count, -3.0, 3.0));
  std::vector<float> y = test::to_float(test::uniform(rng, count, 0.05, 0.95));
  const float scale = float(1.0 / loss_terms(lc.spec, kManyRows, kCols, lc.group));
  cpu::CpuBackend one(1), two(2);
  if (lc.input == LossInput::Logits)
    one.bias_activation_forward(test::activation(lc.output, 0.0f, lc.group), nullptr, z.data(), y.data(), kManyRows,
                                kCols);
  // Losses on the output read no pre-activations, so these may be null.
  const float* logits = lc.input == LossInput::Logits ? z.data() : nullptr;
  std::vector<float> grad_one(count), grad_two(count, -1.0f);
  const double loss_one = one.loss_forward_backward(lc.spec, lc.input, lc.group, logits, y.data(), target.data(),
                                                    grad_one.data(), kManyRows, kCols, scale);
  const double loss_two = two.loss_forward_backward(lc.spec, lc.input, lc.group, logits, y.data(), target.data(),
                                                    grad_two.data(), kManyRows, kCols, scale);
  EXPECT_NEAR(loss_two, loss_one, 1e-6 * std::abs(loss_one));
  EXPECT_EQ(0, std::memcmp(grad_one.data(), grad_two.data(), count * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(AllLosses, LossGrad, ::testing::ValuesIn(test::loss_cases()), test::CaseName());

}  // namespace
}  // namespace ae
