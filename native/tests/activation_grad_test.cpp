// Gradient checks of every activation: the double-precision reference against finite differences,
// and the float production path (CpuBackend) against finite differences of that reference.
#include <gtest/gtest.h>

#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

using test::ActivationCase;

constexpr long kRows = 4;
constexpr long kCols = 12;
constexpr size_t kCount = size_t(kRows * kCols);

std::vector<ActivationCase> all_activations() {
  std::vector<ActivationCase> cases = test::elementwise_activations();
  cases.push_back({"softmaxRow", test::activation(Activation::Softmax)});
  cases.push_back({"softmaxGroup4", test::activation(Activation::Softmax, 0.0f, 4)});
  return cases;
}

// L = Σ c·act(z + bias), the scalar whose gradient dL/dz the backward pass computes from dy = c.
double weighted_output(const ActivationSpec& spec, const double* bias, std::vector<double> z,
                       const std::vector<double>& c) {
  std::vector<double> y(z.size());
  ref::bias_activation_forward<double>(spec, bias, z.data(), y.data(), kRows, kCols);
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) sum += c[i] * y[i];
  return sum;
}

class ActivationGrad : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ActivationGrad, ReferenceMatchesFiniteDifferencesInDouble) {
  const ActivationSpec& spec = GetParam().spec;
  Rng rng(11);
  // |z| >= 0.05 keeps the relu family's kink out of the difference stencil (which spans ±2e-3).
  std::vector<double> z = test::signed_uniform(rng, kCount, 0.05, 3.0);
  // |c| >= 0.5 so that no element of the gradient is tiny.
  const std::vector<double> c = test::signed_uniform(rng, kCount, 0.5, 1.5);

  std::vector<double> zc = z, y(kCount), dz(kCount);
  ref::bias_activation_forward<double>(spec, nullptr, zc.data(), y.data(), kRows, kCols);
  // As in backward(): the pre-activation only for the kinds that need it.
  const double* pre = needs_preactivation(spec.kind) ? zc.data() : nullptr;
  ref::activation_backward<double>(spec, pre, y.data(), c.data(), dz.data(), kRows, kCols);

  const auto numeric =
      test::numeric_gradient([&](const std::vector<double>& v) { return weighted_output(spec, nullptr, v, c); }, z);
  EXPECT_LT(test::max_rel_error(dz, numeric), 1e-6);
}

TEST_P(ActivationGrad, ProductionFloatMatchesFiniteDifferencesOfReference) {
  const ActivationSpec& spec = GetParam().spec;
  Rng rng(12);
  const std::vector<float> bias = test::to_float(test::uniform(rng, kCols, -0.5, 0.5));
  // Draw z + bias off the kink, then subtract the bias.
  std::vector<double> shifted = test::signed_uniform(rng, kCount, 0.05, 3.0);
  std::vector<float> z(kCount);
  for (size_t i = 0; i < kCount; ++i) z[i] = float(shifted[i] - bias[i % kCols]);
  const std::vector<float> c = test::to_float(test::signed_uniform(rng, kCount, 0.5, 1.5));

  cpu::CpuBackend be;
  std::vector<float> zf = z, y(kCount), dz(kCount);
  be.bias_activation_forward(spec, bias.data(), zf.data(), y.data(), kRows, kCols);
  be.activation_backward(spec, needs_preactivation(spec.kind) ? zf.data() : nullptr, y.data(), c.data(), dz.data(),
                         kRows, kCols);

  const std::vector<double> bias_d = test::to_double(bias), c_d = test::to_double(c);
  const auto numeric = test::numeric_gradient(
      [&](const std::vector<double>& v) { return weighted_output(spec, bias_d.data(), v, c_d); }, test::to_double(z));
  EXPECT_LT(test::norm_rel_error(test::to_double(dz), numeric), 2e-3);
}

INSTANTIATE_TEST_SUITE_P(AllActivations, ActivationGrad, ::testing::ValuesIn(all_activations()), test::CaseName());

}  // namespace
}  // namespace ae
