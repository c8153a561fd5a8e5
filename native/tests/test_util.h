// Helpers shared by the native tests: seeded random data, error measures, finite differences, and
// the kernel tables and activation/loss cases that several test files sweep over.
#pragma once
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/activation.h"
#include "core/loss.h"
#include "core/network.h"
#include "core/optimizer.h"
#include "core/reference.h"
#include "core/rng.h"
#include "core/trainer.h"
#include "cpu/kernels.h"

namespace ae::test {

inline std::vector<double> uniform(Rng& rng, size_t n, double lo, double hi) {
  std::vector<double> v(n);
  for (double& x : v) x = lo + (hi - lo) * rng.uniform();
  return v;
}

// Uniform in ±[lo, hi]: keeps values (pre-activations, loss residuals) off the kinks at zero.
inline std::vector<double> signed_uniform(Rng& rng, size_t n, double lo, double hi) {
  std::vector<double> v = uniform(rng, n, lo, hi);
  for (double& x : v)
    if (rng.uniform() < 0.5) x = -x;
  return v;
}

// A fit of `epochs` epochs of `batch` rows that first reseeds the model's generator with `seed`.
inline FitConfig seeded_fit(OptimizerKind kind, float learning_rate, long batch, int epochs, uint64_t seed) {
  FitConfig c;
  c.epochs = epochs;
  c.batch_size = batch;
  c.reseed = true;
  c.seed = seed;
  c.optimizer.kind = kind;
  c.optimizer.learning_rate = learning_rate;
  return c;
}

inline std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }
inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// max_i |a_i - b_i| / max(|a_i|, |b_i|, floor)
inline double max_rel_error(const std::vector<double>& a, const std::vector<double>& b, double floor = 1e-8) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double denom = std::fmax(std::fmax(std::fabs(a[i]), std::fabs(b[i])), floor);
    worst = std::fmax(worst, std::fabs(a[i] - b[i]) / denom);
  }
  return worst;
}

// ‖a - b‖ / max(‖a‖, ‖b‖): for float gradients, whose small elements carry the rounding of the
// large terms they cancel from.
inline double norm_rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return std::sqrt(diff) / std::fmax(std::sqrt(std::fmax(na, nb)), 1e-300);
}

// Gradient of f at x by fourth-order central differences, (f(-2h) - 8f(-h) + 8f(h) - f(2h)) / 12h.
// With h = 1e-3 the truncation error h⁴·f⁽⁵⁾/30 stays near 1e-10 relative (1e-7 for log p at
// p = 0.05) and the rounding error near 1e-12, well inside the 1e-6 the checks demand.
inline std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                            std::vector<double> x, double h = 1e-3) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    double at[4];
    const double offsets[4] = {-2 * h, -h, h, 2 * h};
    for (int s = 0; s < 4; ++s) {
      x[i] = x0 + offsets[s];
      at[s] = f(x);
    }
    x[i] = x0;
    g[i] = (at[0] - 8 * at[1] + 8 * at[2] - at[3]) / (12 * h);
  }
  return g;
}

inline bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Every instruction-set level this CPU runs, the portable kernels first. Tests over kernel tables
// are parameterized by level, which prints readably in test names.
inline std::vector<cpu::SimdLevel> simd_levels() {
  std::vector<cpu::SimdLevel> levels;
  for (cpu::SimdLevel level : {cpu::SimdLevel::Scalar, cpu::SimdLevel::Avx2, cpu::SimdLevel::Avx512})
    if (cpu::kernels_for(level).level == level) levels.push_back(level);
  return levels;
}

inline std::string level_name(const ::testing::TestParamInfo<cpu::SimdLevel>& info) {
  return cpu::simd_level_name(info.param);
}

// Names parameterized tests after their case's `name`.
struct CaseName {
  template <class Case>
  std::string operator()(const ::testing::TestParamInfo<Case>& info) const {
    return info.param.name;
  }
};

struct ActivationCase {
  std::string name;
  ActivationSpec spec;
};

inline ActivationSpec activation(Activation kind, float alpha = 0.0f, int group = 0) {
  ActivationSpec s;
  s.kind = kind;
  s.alpha = alpha;
  s.group = group;
  return s;
}

// Every element-wise activation; alphas differ from the defaults so a dropped alpha shows.
inline std::vector<ActivationCase> elementwise_activations() {
  using A = Activation;
  return {{"linear", activation(A::Linear)},         {"relu", activation(A::Relu)},
          {"leakyRelu", activation(A::LeakyRelu, 0.2f)}, {"elu", activation(A::Elu, 0.7f)},
          {"selu", activation(A::Selu)},             {"sigmoid", activation(A::Sigmoid)},
          {"tanh", activation(A::Tanh)},             {"softplus", activation(A::Softplus)},
          {"silu", activation(A::Silu)},             {"gelu", activation(A::Gelu)}};
}

inline void PrintTo(const ActivationCase& c, std::ostream* os) { *os << c.name; }

struct LossCase {
  std::string name;
  LossSpec spec;
  LossInput input;
  Activation output;  // the activation that turns logits into y
  int group;
};

inline void PrintTo(const LossCase& c, std::ostream* os) { *os << c.name; }

inline LossSpec loss(Loss kind, float delta = 1.0f) {
  LossSpec s;
  s.kind = kind;
  s.delta = delta;
  return s;
}

// Every loss in both input modes where it has two, categorical cross-entropy per group and per row.
inline std::vector<LossCase> loss_cases() {
  using L = Loss;
  using A = Activation;
  return {{"mse", loss(L::Mse), LossInput::Output, A::Linear, 0},
          {"mae", loss(L::Mae), LossInput::Output, A::Linear, 0},
          {"huber", loss(L::Huber, 0.5f), LossInput::Output, A::Linear, 0},
          {"bceLogits", loss(L::BinaryCrossentropy), LossInput::Logits, A::Sigmoid, 0},
          {"bceProbabilities", loss(L::BinaryCrossentropy), LossInput::Output, A::Sigmoid, 0},
          {"cceLogitsGroup4", loss(L::CategoricalCrossentropy), LossInput::Logits, A::Softmax, 4},
          {"cceLogitsRow", loss(L::CategoricalCrossentropy), LossInput::Logits, A::Softmax, 0},
          {"cceProbabilitiesGroup4", loss(L::CategoricalCrossentropy), LossInput::Output, A::Softmax, 4}};
}

struct OptimizerCase {
  std::string name;
  OptimizerConfig config;
};

inline void PrintTo(const OptimizerCase& c, std::ostream* os) { *os << c.name; }

// Every optimizer variant. Epsilons are large enough (1e-2) that where a rule adds epsilon shows
// in the result.
inline std::vector<OptimizerCase> optimizer_cases() {
  auto make = [](OptimizerKind kind, float lr) {
    OptimizerConfig c;
    c.kind = kind;
    c.learning_rate = lr;
    c.epsilon = 1e-2f;
    return c;
  };
  std::vector<OptimizerCase> cases;
  cases.push_back({"sgd", make(OptimizerKind::Sgd, 0.05f)});
  cases.push_back({"sgdMomentum", make(OptimizerKind::Sgd, 0.05f)});
  cases.back().config.momentum = 0.9f;
  cases.push_back({"sgdNesterov", make(OptimizerKind::Sgd, 0.05f)});
  cases.back().config.momentum = 0.9f;
  cases.back().config.nesterov = true;
  cases.push_back({"sgdWeightDecay", make(OptimizerKind::Sgd, 0.05f)});
  cases.back().config.weight_decay = 0.1f;
  cases.push_back({"adam", make(OptimizerKind::Adam, 0.05f)});
  cases.push_back({"adamWeightDecay", make(OptimizerKind::Adam, 0.05f)});
  cases.back().config.weight_decay = 0.1f;
  cases.push_back({"adamw", make(OptimizerKind::AdamW, 0.05f)});
  cases.back().config.weight_decay = 0.1f;
  cases.push_back({"rmsprop", make(OptimizerKind::RmsProp, 0.01f)});
  cases.push_back({"rmspropMomentum", make(OptimizerKind::RmsProp, 0.01f)});
  cases.back().config.momentum = 0.9f;
  cases.push_back({"adagrad", make(OptimizerKind::Adagrad, 0.05f)});
  return cases;
}

// The state slots as fit() allocates them: null when unused, adagrad's accumulator pre-filled.
struct OptimizerSlots {
  std::vector<float> s1, s2;
  OptimizerSlots(const OptimizerConfig& config, size_t n) {
    const int slots = optimizer_state_slots(config);
    if (slots >= 1) s1.assign(n, config.kind == OptimizerKind::Adagrad ? config.initial_accumulator : 0.0f);
    if (slots >= 2) s2.assign(n, 0.0f);
  }
  float* p1() { return s1.empty() ? nullptr : s1.data(); }
  float* p2() { return s2.empty() ? nullptr : s2.data(); }
};

struct DenseLayer {
  long inputs, units;
  Activation kind;
};

// A stack of dense layers named "layer.0", "layer.1", …
inline NetworkSpec dense_stack(std::initializer_list<DenseLayer> layers, int latent_layer = -1) {
  NetworkSpec spec;
  for (const DenseLayer& l : layers) {
    LayerSpec layer;
    layer.name = "layer." + std::to_string(spec.layers.size());
    layer.inputs = l.inputs;
    layer.units = l.units;
    layer.activation.kind = l.kind;
    spec.layers.push_back(layer);
  }
  spec.latent_layer = latent_layer;
  return spec;
}

struct LayerOutput {
  std::vector<double> z, y;  // pre-activation and activation, rows × units
};

// Layer i of `model` on `rows` rows of `in`, in double, with every parameter taken from `params`
// (laid out like model.params()): the forward pass of the reference objectives.
inline LayerOutput reference_layer(const Model& model, const std::vector<double>& params, int i,
                                   const std::vector<double>& in, long rows) {
  const LayerSpec& l = model.spec().layers[size_t(i)];
  LayerOutput out{std::vector<double>(size_t(rows * l.units)), std::vector<double>(size_t(rows * l.units))};
  ref::dense_forward<double>(in.data(), params.data() + model.table().at(size_t(2 * i)).offset,
                             params.data() + model.table().at(size_t(2 * i + 1)).offset, out.z.data(), rows, l.inputs,
                             l.units);
  ref::bias_activation_forward<double>(l.activation, nullptr, out.z.data(), out.y.data(), rows, l.units);
  return out;
}

// Float parameter gradients against finite differences, tensor by tensor, so that a layer with
// small gradients is held to the same relative accuracy.
inline void expect_gradients_match(const Model& model, const std::vector<float>& analytic,
                                   const std::vector<double>& numeric, double tolerance) {
  for (const TensorEntry& e : model.table().entries()) {
    SCOPED_TRACE(e.name);
    const std::vector<double> a(analytic.begin() + long(e.offset), analytic.begin() + long(e.offset + e.count()));
    const std::vector<double> n(numeric.begin() + long(e.offset), numeric.begin() + long(e.offset + e.count()));
    EXPECT_LT(norm_rel_error(a, n), tolerance);
  }
}

// The weights and the training state of the checkpoint at the end of one epoch.
struct Snapshot final : FitObserver {
  explicit Snapshot(int at_epoch) : at_epoch(at_epoch) {}
  const int at_epoch;
  std::vector<float> weights;
  TrainingState state;
  void on_checkpoint(const Model& model, const TrainingState& s) override {
    if (s.epoch != at_epoch) return;
    weights.assign(model.params().data(), model.params().data() + model.params().size());
    state.epoch = s.epoch;
    state.step = s.step;
    state.rng = s.rng;
    state.best_monitor = s.best_monitor;
    state.wait = s.wait;
    state.best_epoch = s.best_epoch;
    state.s1 = Buffer(s.s1.size());
    state.s1.copy_from(s.s1);
    state.s2 = Buffer(s.s2.size());
    state.s2.copy_from(s.s2);
  }
};

}  // namespace ae::test

namespace ae::cpu {
inline void PrintTo(SimdLevel level, std::ostream* os) { *os << simd_level_name(level); }
}  // namespace ae::cpu
