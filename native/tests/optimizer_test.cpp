// Optimizer updates against PyTorch's published update rules (written out here in double), and
// gradient clipping by global norm and by value, which must reach the update exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "test_util.h"

namespace ae {
namespace {

using test::OptimizerCase;

constexpr size_t kCount = 37;  // not a multiple of any vector width
constexpr int kSteps = 5;

// The update rules of torch.optim (SGD, Adam, AdamW, RMSprop, Adagrad) as their documentation
// states them, with dampening 0, no amsgrad, centered = false and lr_decay = 0.
class TorchRule {
 public:
  TorchRule(const OptimizerConfig& c, size_t n)
      : c_(c), state_a_(n, c.kind == OptimizerKind::Adagrad ? double(c.initial_accumulator) : 0.0), state_b_(n, 0.0) {}

  void step(int t, std::vector<double>& w, const std::vector<double>& grad) {
    const double lr = c_.learning_rate, wd = c_.weight_decay, mu = c_.momentum, eps = c_.epsilon;
    for (size_t i = 0; i < w.size(); ++i) {
      double g = grad[i];
      if (c_.kind != OptimizerKind::AdamW) g += wd * w[i];
      switch (c_.kind) {
        case OptimizerKind::Sgd:
          if (mu != 0) {
            double& buf = state_a_[i];
            buf = t == 1 ? g : mu * buf + g;
            g = c_.nesterov ? g + mu * buf : buf;
          }
          w[i] -= lr * g;
          break;
        case OptimizerKind::Adam:
        case OptimizerKind::AdamW: {
          if (c_.kind == OptimizerKind::AdamW) w[i] -= lr * wd * w[i];
          const double b1 = c_.beta1, b2 = c_.beta2;
          double& m = state_a_[i];
          double& v = state_b_[i];
          m = b1 * m + (1 - b1) * g;
          v = b2 * v + (1 - b2) * g * g;
          const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
          const double denom = std::sqrt(v) / std::sqrt(bc2) + eps;
          w[i] -= lr / bc1 * m / denom;
          break;
        }
        case OptimizerKind::RmsProp: {
          double& square_avg = state_a_[i];
          square_avg = c_.rho * square_avg + (1 - double(c_.rho)) * g * g;
          const double avg = std::sqrt(square_avg) + eps;
          if (mu != 0) {
            double& buf = state_b_[i];
            buf = mu * buf + g / avg;
            w[i] -= lr * buf;
          } else {
            w[i] -= lr * g / avg;
          }
          break;
        }
        case OptimizerKind::Adagrad: {
          double& sum = state_a_[i];
          sum += g * g;
          w[i] -= lr * g / (std::sqrt(sum) + eps);
          break;
        }
      }
    }
  }

 private:
  OptimizerConfig c_;
  std::vector<double> state_a_, state_b_;
};

double norm(const std::vector<float>& g) {
  double s = 0;
  for (float v : g) s += double(v) * double(v);
  return std::sqrt(s);
}

class OptimizerRule : public ::testing::TestWithParam<OptimizerCase> {};

TEST_P(OptimizerRule, CpuBackendFollowsPyTorchStepByStep) {
  const OptimizerConfig& config = GetParam().config;
  Rng rng(51);
  // |w| >= 0.5 keeps the weights well away from zero over five steps, so relative error is meaningful.
  std::vector<float> w = test::to_float(test::signed_uniform(rng, kCount, 0.5, 1.5));
  std::vector<double> expected = test::to_double(w);
  test::OptimizerSlots slots(config, kCount);
  TorchRule torch(config, kCount);
  cpu::CpuBackend be;
  for (int t = 1; t <= kSteps; ++t) {
    SCOPED_TRACE("step " + std::to_string(t));
    const std::vector<float> g = test::to_float(test::signed_uniform(rng, kCount, 0.05, 2.0));
    const UpdateStep step = make_update_step(config, config.learning_rate, t, norm(g));
    UpdateBuffers buffers;
    buffers.weights = w.data();
    buffers.grads = g.data();
    buffers.slot1 = slots.p1();
    buffers.slot2 = slots.p2();
    be.optimizer_step(step, buffers, kCount);
    torch.step(t, expected, test::to_double(g));
    EXPECT_LT(test::max_rel_error(test::to_double(w), expected), 1e-5);
  }
}

TEST_P(OptimizerRule, DoubleReferenceFollowsPyTorchStepByStep) {
  const OptimizerConfig& config = GetParam().config;
  Rng rng(52);
  std::vector<double> w = test::signed_uniform(rng, kCount, 0.5, 1.5);
  std::vector<double> expected = w;
  std::vector<double> s1(kCount, config.kind == OptimizerKind::Adagrad ? double(config.initial_accumulator) : 0.0);
  std::vector<double> s2(kCount, 0.0);
  TorchRule torch(config, kCount);
  for (int t = 1; t <= kSteps; ++t) {
    SCOPED_TRACE("step " + std::to_string(t));
    const std::vector<double> g = test::signed_uniform(rng, kCount, 0.05, 2.0);
    const UpdateStep step = make_update_step(config, config.learning_rate, t, 0.0);
    ref::optimizer_step<double>(step, w.data(), g.data(), s1.data(), s2.data(), long(kCount));
    torch.step(t, expected, g);
    // The step's scalars are floats (learning rate, bias corrections), so agreement is to float rounding.
    EXPECT_LT(test::max_rel_error(w, expected), 1e-6);
  }
}

// A split fit's update sums the threads' gradients as it reads them (UpdateBuffers' grad_parts):
// bit for bit the update of their sum w0 · g0 + w1 · g1 (a product, then a fused multiply-add), on
// two threads over enough parameters that each takes a range of its own.
TEST_P(OptimizerRule, SumsTheGradientPartsAsItReadsThem) {
  const OptimizerConfig& config = GetParam().config;
  constexpr size_t kMany = 70001;
  constexpr float kWeights[] = {0.25f, 0.75f};
  Rng rng(53);
  const std::vector<float> start = test::to_float(test::signed_uniform(rng, kMany, 0.5, 1.5));
  std::vector<float> w_parts = start, w_summed = start;
  test::OptimizerSlots slots_parts(config, kMany), slots_summed(config, kMany);
  cpu::CpuBackend be(2);
  for (int t = 1; t <= 2; ++t) {
    const std::vector<float> g0 = test::to_float(test::signed_uniform(rng, kMany, 0.05, 2.0));
    const std::vector<float> g1 = test::to_float(test::signed_uniform(rng, kMany, 0.05, 2.0));
    std::vector<float> summed(kMany);
    for (size_t i = 0; i < kMany; ++i) summed[i] = std::fma(kWeights[1], g1[i], kWeights[0] * g0[i]);
    const UpdateStep step = make_update_step(config, config.learning_rate, t, norm(summed));
    const float* parts[] = {g0.data(), g1.data()};
    UpdateBuffers by_parts;
    by_parts.weights = w_parts.data();
    by_parts.slot1 = slots_parts.p1();
    by_parts.slot2 = slots_parts.p2();
    by_parts.grad_parts = parts;
    by_parts.part_weights = kWeights;
    by_parts.parts = 2;
    UpdateBuffers by_sum;
    by_sum.weights = w_summed.data();
    by_sum.grads = summed.data();
    by_sum.slot1 = slots_summed.p1();
    by_sum.slot2 = slots_summed.p2();
    EXPECT_EQ(be.optimizer_step(step, by_parts, kMany), be.optimizer_step(step, by_sum, kMany));
    EXPECT_EQ(0, std::memcmp(w_parts.data(), w_summed.data(), kMany * sizeof(float))) << "step " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(AllOptimizers, OptimizerRule, ::testing::ValuesIn(test::optimizer_cases()), test::CaseName());

// Plain SGD with lr = 1 from w = 0 leaves w = 0 - g_effective exactly, exposing the clipped gradient.
std::vector<float> effective_gradient(const OptimizerConfig& clip, const std::vector<float>& g, double grad_norm) {
  OptimizerConfig config = clip;
  config.kind = OptimizerKind::Sgd;
  config.learning_rate = 1.0f;
  const UpdateStep step = make_update_step(config, 1.0, 1, grad_norm);
  std::vector<float> w(g.size(), 0.0f);
  cpu::CpuBackend be;
  UpdateBuffers buffers;
  buffers.weights = w.data();
  buffers.grads = g.data();
  be.optimizer_step(step, buffers, g.size());
  for (float& v : w) v = 0.0f - v;  // not -v: a zero gradient leaves w = +0
  return w;
}

TEST(GradientClipping, GlobalNormScalesTheWholeVector) {
  // Long enough that CpuBackend splits the update across threads: the scale must stay global.
  const size_t n = 70001;
  Rng rng(53);
  const std::vector<float> g = test::to_float(test::uniform(rng, n, -1.0, 1.0));
  const double grad_norm = norm(g);
  OptimizerConfig clip;
  clip.clip_norm = float(grad_norm / 3);

  const UpdateStep step = make_update_step(clip, 1.0, 1, grad_norm);
  ASSERT_EQ(step.grad_scale, float(double(clip.clip_norm) / grad_norm));
  const std::vector<float> got = effective_gradient(clip, g, grad_norm);
  for (size_t i = 0; i < n; ++i) {
    // One float product of g and the scale, rounded once.
    const float expected = float(double(g[i]) * double(step.grad_scale));
    ASSERT_TRUE(test::same_bits(got[i], expected)) << "i=" << i << " got " << got[i] << " expected " << expected;
  }
  EXPECT_NEAR(norm(got), clip.clip_norm, 1e-6 * clip.clip_norm);
}

TEST(GradientClipping, GlobalNormBelowThresholdLeavesGradientUnchanged) {
  Rng rng(54);
  const std::vector<float> g = test::to_float(test::uniform(rng, kCount, -1.0, 1.0));
  OptimizerConfig clip;
  clip.clip_norm = float(norm(g) * 1.01);
  const std::vector<float> got = effective_gradient(clip, g, norm(g));
  for (size_t i = 0; i < kCount; ++i) EXPECT_TRUE(test::same_bits(got[i], g[i])) << "i=" << i;
}

TEST(GradientClipping, ValueClampsEachElement) {
  std::vector<float> g = {-3.0f, -0.5f, -0.25f, 0.0f, 0.1f, 0.5f, 0.25f, 7.0f, INFINITY, -INFINITY, -0.5000001f};
  OptimizerConfig clip;
  clip.clip_value = 0.5f;
  const std::vector<float> got = effective_gradient(clip, g, norm(g));
  for (size_t i = 0; i < g.size(); ++i) {
    const float expected = std::clamp(g[i], -0.5f, 0.5f);
    EXPECT_TRUE(test::same_bits(got[i], expected)) << "g=" << g[i] << " got " << got[i];
  }
}

TEST(GradientClipping, NormScalingComesBeforeValueClamping) {
  const std::vector<float> g = {4.0f, -3.0f, 0.0f, 0.5f};
  const double grad_norm = norm(g);  // 5.0249...
  OptimizerConfig clip;
  clip.clip_norm = 2.0f;
  clip.clip_value = 1.0f;
  const float scale = float(2.0 / grad_norm);
  const std::vector<float> got = effective_gradient(clip, g, grad_norm);
  for (size_t i = 0; i < g.size(); ++i) {
    const float expected = std::clamp(g[i] * scale, -1.0f, 1.0f);
    EXPECT_TRUE(test::same_bits(got[i], expected)) << "g=" << g[i] << " got " << got[i];
  }
}

}  // namespace
}  // namespace ae
