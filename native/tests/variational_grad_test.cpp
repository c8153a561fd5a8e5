// The variational latent layer: gradients through the reparameterized sample and the KL term
// against finite differences, alone in float64 and inside a whole network through CpuBackend.
#include <gtest/gtest.h>

#include "core/network.h"
#include "core/reference.h"
#include "core/trainer.h"
#include "core/variational.h"
#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

constexpr long kRows = 5;
constexpr long kLatent = 3;

// f(y) = Σ c · sample(y, ε) + s · KL(y): its gradient is what vae::backward returns for dz = c.
TEST(VariationalGrad, SampleAndKlMatchFiniteDifferencesInDouble) {
  Rng rng(3);
  const std::vector<double> y = test::uniform(rng, size_t(kRows * 2 * kLatent), -1.0, 1.0);
  std::vector<double> eps(size_t(kRows * kLatent));
  for (double& e : eps) e = rng.normal();
  const std::vector<double> c = test::uniform(rng, eps.size(), -1.0, 1.0);
  const double s = 0.37;
  auto f = [&](const std::vector<double>& yy) {
    std::vector<double> z(eps.size());
    vae::sample(yy.data(), eps.data(), z.data(), kRows, kLatent);
    double total = s * vae::kl_sum(yy.data(), kRows, kLatent);
    for (size_t i = 0; i < z.size(); ++i) total += c[i] * z[i];
    return total;
  };
  std::vector<double> analytic(y.size());
  vae::backward(y.data(), eps.data(), c.data(), analytic.data(), kRows, kLatent, s);
  EXPECT_LT(test::max_rel_error(analytic, test::numeric_gradient(f, y)), 1e-6);
}

TEST(VariationalGrad, KlIsZeroAtThePriorAndPositiveElsewhere) {
  const std::vector<double> prior(size_t(2 * kLatent), 0.0);
  EXPECT_EQ(vae::kl_sum(prior.data(), 1, kLatent), 0.0);
  std::vector<double> shifted = prior;
  shifted[0] = 0.5;              // mean
  shifted[kLatent + 1] = -0.7;  // log-variance
  EXPECT_NEAR(vae::kl_sum(shifted.data(), 1, kLatent), 0.5 * 0.25 - 0.5 * (1 - 0.7 - std::exp(-0.7)), 1e-15);
}

NetworkSpec vae_network() {
  NetworkSpec spec = test::dense_stack({{6, 7, Activation::Tanh}, {7, 2 * kLatent, Activation::Linear},
                                        {kLatent, 5, Activation::Gelu}, {5, 6, Activation::Sigmoid}},
                                       1);
  spec.variational = true;
  return spec;
}

// The objective fit() trains, in double with the same noise ε: mean binary cross-entropy plus
// kl_weight · KL / rows.
double reference_objective(const Model& model, const std::vector<double>& params, const std::vector<double>& x,
                           const std::vector<double>& eps, double kl_weight) {
  const NetworkSpec& spec = model.spec();
  std::vector<double> in = x;
  double kl = 0;
  for (int i = 0; i < model.layer_count(); ++i) {
    const LayerSpec& l = spec.layers[size_t(i)];
    auto [z, y] = test::reference_layer(model, params, i, in, kRows);
    if (i == spec.latent_layer) {
      kl = vae::kl_sum(y.data(), kRows, kLatent);
      std::vector<double> sample(size_t(kRows * kLatent));
      vae::sample(y.data(), eps.data(), sample.data(), kRows, kLatent);
      in = std::move(sample);
    } else if (i == model.layer_count() - 1) {
      const LossSpec loss = test::loss(Loss::BinaryCrossentropy);
      const double scale = 1.0 / loss_terms(loss, kRows, l.units, 0);
      std::vector<double> grad(z.size());
      const double recon = ref::loss_forward_backward<double>(loss, LossInput::Logits, 0, z.data(), y.data(), x.data(),
                                                              grad.data(), kRows, l.units, scale) *
                           scale;
      return recon + kl_weight * kl / double(kRows);
    } else {
      in = std::move(y);
    }
  }
  return 0.0;
}

TEST(VariationalGrad, WholeNetworkMatchesFiniteDifferencesInFloat) {
  Model model(vae_network(), 11);
  Rng rng(12);
  for (int i = 0; i < model.layer_count(); ++i)
    for (long u = 0; u < model.spec().layers[size_t(i)].units; ++u) model.bias(i)[u] = float(rng.uniform() - 0.5);
  const std::vector<float> x = test::to_float(test::uniform(rng, size_t(kRows * 6), 0.0, 1.0));
  const double kl_weight = 0.8;

  cpu::CpuBackend be;
  const int layers = model.layer_count();
  Workspace ws(model.spec(), 0, layers, kRows, true);
  RowDraws draws(kRows);
  draws.start(model.rng().next_u64(), 0, kRows);
  forward(be, model, ws, 0, layers, x.data(), kRows, true, &draws);
  const std::vector<double> eps(ws.noise(), ws.noise() + kRows * kLatent);
  const LossSpec loss = test::loss(Loss::BinaryCrossentropy);
  const float scale = float(1.0 / loss_terms(loss, kRows, 6, 0));
  be.loss_forward_backward(loss, LossInput::Logits, 0, ws.z(layers - 1), ws.y(layers - 1), x.data(), ws.grad_a(),
                           kRows, 6, scale);
  std::vector<float> grads(model.params().size());
  backward(be, model, ws, 0, layers, x.data(), kRows, grads.data(), 0.0f, 0.0f, float(kl_weight / kRows));

  const std::vector<double> params(model.params().data(), model.params().data() + model.params().size());
  const auto numeric = test::numeric_gradient(
      [&](const std::vector<double>& p) { return reference_objective(model, p, test::to_double(x), eps, kl_weight); },
      params);
  test::expect_gradients_match(model, grads, numeric, 2e-3);
}

TEST(VariationalGrad, InferenceDecodesTheMean) {
  Model model(vae_network(), 4);
  cpu::CpuBackend be;
  Rng rng(5);
  const std::vector<float> x = test::to_float(test::uniform(rng, size_t(kRows * 6), 0.0, 1.0));
  std::vector<float> stats(size_t(kRows * 2 * kLatent)), means(size_t(kRows * kLatent)), direct(size_t(kRows * 6)),
      via_mean(direct.size());
  predict(be, model, 0, 2, x.data(), kRows, stats.data());
  for (long r = 0; r < kRows; ++r)
    for (long j = 0; j < kLatent; ++j) means[size_t(r * kLatent + j)] = stats[size_t(r * 2 * kLatent + j)];
  predict(be, model, 2, 4, means.data(), kRows, via_mean.data());
  predict(be, model, 0, 4, x.data(), kRows, direct.data());
  for (size_t i = 0; i < direct.size(); ++i) EXPECT_TRUE(test::same_bits(direct[i], via_mean[i])) << i;
}

}  // namespace
}  // namespace ae
