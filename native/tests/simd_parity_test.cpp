// Every kernel table's functions against the float scalar reference (ae::ref::*<float>), on ragged
// lengths with guard regions past the end and on ±0, ±Inf, NaN, ±1e30, ±88.8 and ±104.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>

#include "cpu/bf16.h"
#include "cpu/cpu_backend.h"

#include "test_util.h"

namespace ae {
namespace {

using cpu::KernelTable;

constexpr long kLengths[] = {1, 3, 15, 17, 31, 33, 100};
constexpr size_t kGuard = 32;
constexpr float kSentinel = -12345.678f;

const std::vector<float>& special_values() {
  static const std::vector<float> v = {0.0f, -0.0f, INFINITY, -INFINITY, NAN,    1e30f,
                                       -1e30f, 88.8f, -88.8f,  104.0f,    -104.0f};
  return v;
}

// n values followed by a guard region: NaN after inputs (an over-read poisons the results) and a
// sentinel after outputs (an over-write changes it).
struct Guarded {
  std::vector<float> v;
  size_t n;
  Guarded(const std::vector<float>& values, float guard) : v(values), n(values.size()) { v.resize(n + kGuard, guard); }
  Guarded(size_t count, float fill) : v(count + kGuard, fill), n(count) {
    std::fill(v.begin() + long(n), v.end(), kSentinel);
  }
  float* data() { return v.data(); }
  const float* data() const { return v.data(); }
  float operator[](size_t i) const { return v[i]; }
  bool guard_intact(float guard) const {
    for (size_t i = n; i < v.size(); ++i)
      if (!test::same_bits(v[i], guard)) return false;
    return true;
  }
};

Guarded input(const std::vector<float>& values) { return Guarded(values, NAN); }

// Reports the first few mismatches of a sweep and then their count, so a broken kernel does not
// print thousands of lines.
class Mismatches {
 public:
  explicit Mismatches(std::string where) : where_(std::move(where)) {}
  ~Mismatches() {
    if (count_ > kShown) ADD_FAILURE() << where_ << ": " << count_ << " mismatches in all";
  }
  template <class Describe>
  void expect(bool ok, Describe&& describe) {
    if (!ok && count_++ < kShown) ADD_FAILURE() << where_ << ": " << describe();
  }

 private:
  static constexpr long kShown = 5;
  std::string where_;
  long count_ = 0;
};

// The same NaN and infinities as the reference, and otherwise within 1e-6 of `scale` (the size of
// the terms whose rounding reaches the result) plus a few subnormal steps.
bool agrees(float got, float want, double scale) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  if (!std::isfinite(got)) return false;
  return std::fabs(double(got) - double(want)) <= 1e-6 * scale + 1e-44;
}

std::string describe(const char* what, size_t i, float in, float got, float want) {
  std::ostringstream s;
  s.precision(9);
  s << what << "[" << i << "] for input " << in << ": got " << got << ", reference " << want;
  return s.str();
}

// Random values in [lo, hi] with the special values spliced in at a stride, so that they land in
// different lanes and in the masked tail.
std::vector<float> values_with_specials(Rng& rng, size_t n, double lo, double hi, bool specials) {
  std::vector<float> v = test::to_float(test::uniform(rng, n, lo, hi));
  if (specials)
    for (size_t i = 0, s = 0; i < n; i += 3, ++s) v[i] = special_values()[s % special_values().size()];
  return v;
}

class KernelParity : public ::testing::TestWithParam<cpu::SimdLevel> {
 protected:
  const KernelTable& kt() const { return cpu::kernels_for(GetParam()); }
};

// ---- activations ---------------------------------------------------------------------------------

std::vector<test::ActivationCase> parity_activations() {
  std::vector<test::ActivationCase> cases = test::elementwise_activations();
  cases.push_back({"softmaxRow", test::activation(Activation::Softmax)});
  cases.push_back({"softmaxGroup3", test::activation(Activation::Softmax, 0.0f, 3)});
  cases.push_back({"softmaxGroup17", test::activation(Activation::Softmax, 0.0f, 17)});
  return cases;
}

// Softmax cases run `length` groups per row; element-wise cases `length` columns.
long columns(const ActivationSpec& spec, long length) {
  return spec.kind == Activation::Softmax && spec.group > 0 ? length * spec.group : length;
}

double forward_scale(const ActivationSpec& spec, long cols, float z, float want) {
  double scale = std::fabs(want);
  // 1 + tanh(·) cancels in gelu's negative tail, leaving tanh's rounding times z / 2.
  if (spec.kind == Activation::Gelu) scale += 0.5 * std::fabs(z);
  // A softmax divides by a sum of as many exponentials as the group has.
  if (spec.kind == Activation::Softmax) scale *= std::fmax(1.0, double(spec.group > 0 ? spec.group : cols) / 8);
  return scale;
}

void check_forward(const KernelTable& kt, const test::ActivationCase& ac, long rows, long cols, bool with_bias,
                   bool in_place, bool specials, Rng& rng) {
  const ActivationSpec& spec = ac.spec;
  const size_t n = size_t(rows * cols);
  const std::vector<float> z0 = values_with_specials(rng, n, -6, 6, specials);
  const std::vector<float> bias = test::to_float(test::uniform(rng, size_t(cols), -0.5, 0.5));
  const float* b = with_bias ? bias.data() : nullptr;

  std::vector<float> ref_z = z0, ref_y(n);
  ref::bias_activation_forward<float>(spec, b, ref_z.data(), ref_y.data(), rows, cols);

  Guarded z(z0, kSentinel), y(n, 0.0f);
  kt.bias_activation_forward(spec, b, z.data(), in_place ? z.data() : y.data(), rows, cols);
  const Guarded& out = in_place ? z : y;

  Mismatches m(ac.name + " forward cols=" + std::to_string(cols) + (in_place ? " in place" : "") +
               (specials ? " with specials" : ""));
  for (size_t i = 0; i < n; ++i) {
    m.expect(agrees(out[i], ref_y[i], forward_scale(spec, cols, ref_z[i], ref_y[i])),
             [&] { return describe("y", i, ref_z[i], out[i], ref_y[i]); });
    // Equal values: without a bias the reference adds +0, which turns -0 into +0.
    if (!in_place)
      m.expect(z[i] == ref_z[i] || (std::isnan(z[i]) && std::isnan(ref_z[i])),
               [&] { return describe("z + bias", i, z0[i], z[i], ref_z[i]); });
  }
  m.expect(z.guard_intact(kSentinel) && y.guard_intact(kSentinel), [] { return std::string("wrote past the end"); });
}

TEST_P(KernelParity, BiasActivationForward) {
  Rng rng(71);
  for (const auto& ac : parity_activations()) {
    for (long length : kLengths) {
      const long cols = columns(ac.spec, length);
      check_forward(kt(), ac, 3, cols, true, false, false, rng);
      check_forward(kt(), ac, 3, cols, true, true, false, rng);
      check_forward(kt(), ac, 2, cols, false, false, true, rng);
    }
  }
}

double backward_scale(const ActivationSpec& spec, long group, const float* z, const float* y, const float* dy,
                      size_t i, double want) {
  const double a = std::fabs(double(dy[i]));
  const double zi = z[i], yi = y[i];
  switch (spec.kind) {
    case Activation::Elu: return a * (std::fabs(yi) + spec.alpha) + std::fabs(want);
    case Activation::Selu: return a * (std::fabs(yi) + ref::kSeluScale * ref::kSeluAlpha) + std::fabs(want);
    case Activation::Tanh: return a * yi * yi + std::fabs(want);
    case Activation::Silu: return a * ref::sigmoid(zi) * (1 + std::fabs(zi)) + std::fabs(want);
    case Activation::Gelu:
      return a * (0.5 + std::fabs(zi) * ref::kGeluC * (1 + 3 * ref::kGeluK * zi * zi)) + std::fabs(want);
    case Activation::Softmax: {
      // y · (dy - Σ dy·y): the dot product's rounding grows with the group length.
      const size_t start = i / size_t(group) * size_t(group);
      double dot = 0;
      for (size_t j = start; j < start + size_t(group); ++j) dot += std::fabs(double(dy[j]) * double(y[j]));
      return std::fabs(yi) * (a + double(group) * dot);
    }
    default: return std::fabs(want);
  }
}

void check_backward(const KernelTable& kt, const test::ActivationCase& ac, long rows, long cols, bool in_place,
                    bool specials, Rng& rng) {
  const ActivationSpec& spec = ac.spec;
  const size_t n = size_t(rows * cols);
  std::vector<float> z = values_with_specials(rng, n, -6, 6, specials), y(n);
  ref::bias_activation_forward<float>(spec, nullptr, z.data(), y.data(), rows, cols);
  const std::vector<float> dy0 = test::to_float(test::uniform(rng, n, -2, 2));
  // As in backward(): the pre-activation only for the kinds that need it.
  const bool pass_z = needs_preactivation(spec.kind);

  std::vector<float> want(n);
  ref::activation_backward<float>(spec, pass_z ? z.data() : nullptr, y.data(), dy0.data(), want.data(), rows, cols);

  const Guarded zg = input(z), yg = input(y);
  Guarded dy(dy0, kSentinel), dz(n, 0.0f);
  kt.activation_backward(spec, pass_z ? zg.data() : nullptr, yg.data(), dy.data(), in_place ? dy.data() : dz.data(),
                         rows, cols);
  const Guarded& out = in_place ? dy : dz;

  const long group = spec.group > 0 ? spec.group : cols;
  Mismatches m(ac.name + " backward cols=" + std::to_string(cols) + (in_place ? " in place" : "") +
               (specials ? " with specials" : ""));
  for (size_t i = 0; i < n; ++i)
    m.expect(agrees(out[i], want[i], backward_scale(spec, group, z.data(), y.data(), dy0.data(), i, want[i])),
             [&] { return describe("dz", i, z[i], out[i], want[i]); });
  m.expect(dy.guard_intact(kSentinel) && dz.guard_intact(kSentinel), [] { return std::string("wrote past the end"); });
}

TEST_P(KernelParity, ActivationBackward) {
  Rng rng(72);
  for (const auto& ac : parity_activations()) {
    for (long length : kLengths) {
      const long cols = columns(ac.spec, length);
      check_backward(kt(), ac, 3, cols, false, false, rng);
      check_backward(kt(), ac, 3, cols, true, false, rng);
      check_backward(kt(), ac, 2, cols, false, true, rng);
    }
  }
}

TEST_P(KernelParity, BiasGradient) {
  Rng rng(73);
  std::vector<long> widths(std::begin(kLengths), std::end(kLengths));
  widths.insert(widths.end(), {130, 300});  // whole blocks of eight vectors and a remainder
  for (long rows : {1L, 5L, 64L}) {
    for (long cols : widths) {
      // Rows ld apart; the floats between them are huge and must not be summed.
      const long ld = cols + 3;
      std::vector<float> dz = test::to_float(test::uniform(rng, size_t(rows * ld), -1, 1));
      for (long r = 0; r < rows; ++r) std::fill_n(dz.begin() + r * ld + cols, ld - cols, 1e30f);
      const Guarded dzg = input(dz);
      Guarded db(size_t(cols), NAN);  // overwritten, never read
      kt().bias_gradient(dzg.data(), ld, db.data(), rows, cols);
      Mismatches m("bias_gradient rows=" + std::to_string(rows) + " cols=" + std::to_string(cols));
      for (long c = 0; c < cols; ++c) {
        // Each column is summed in the rows' order, in float, whatever the vector width.
        float sum = 0.0f;
        for (long r = 0; r < rows; ++r) sum += dz[size_t(r * ld + c)];
        m.expect(db[size_t(c)] == sum, [&] { return describe("db", size_t(c), 0, db[size_t(c)], sum); });
      }
      m.expect(db.guard_intact(kSentinel), [] { return std::string("wrote past the end"); });
    }
  }
}

// ---- losses ----------------------------------------------------------------------------------------

struct LossData {
  std::vector<float> z, y, target;
};

// Inputs for a loss case: logits and the outputs they give for fused losses, probabilities in (0, 1)
// with some at and beyond the clipping bounds, residuals otherwise. Targets of categorical
// cross-entropy are multiples of 1/4, so their sums are exact in any order.
LossData loss_data(const test::LossCase& lc, Rng& rng, long rows, long cols, bool specials) {
  const size_t n = size_t(rows * cols);
  LossData d;
  const bool probabilities = lc.input == LossInput::Output && lc.spec.kind != Loss::Mse &&
                             lc.spec.kind != Loss::Mae && lc.spec.kind != Loss::Huber;
  const bool residual = !probabilities && lc.input == LossInput::Output;
  d.target = test::to_float(test::uniform(rng, n, residual ? -2 : 0, residual ? 2 : 1));
  if (lc.spec.kind == Loss::CategoricalCrossentropy)
    for (float& t : d.target) t = std::floor(t * 5) / 4;
  d.z = values_with_specials(rng, n, -6, 6, specials);
  if (lc.input == LossInput::Logits) {
    std::vector<float> z = d.z;
    d.y.resize(n);
    ref::bias_activation_forward<float>(test::activation(lc.output, 0.0f, lc.group), nullptr, z.data(), d.y.data(),
                                        rows, cols);
  } else if (probabilities) {
    d.y = test::to_float(test::uniform(rng, n, 1e-3, 1 - 1e-3));
    const float edges[] = {0.0f, 1.0f, 1e-9f, -0.5f, 1.5f, 0.5f};
    for (size_t i = 0, s = 0; i < n; i += 4, ++s) d.y[i] = edges[s % 6];
    if (specials)
      for (size_t i = 2, s = 0; i < n; i += 5, ++s) d.y[i] = special_values()[s % special_values().size()];
  } else {
    d.y = values_with_specials(rng, n, -3, 3, specials);
  }
  return d;
}

// The size of the quantities whose rounding reaches the summed loss: each term, and for fused
// losses the logits and log-sum-exp that cancel inside it.
double loss_magnitude(const test::LossCase& lc, const LossData& d, long rows, long cols) {
  const long group = lc.group > 0 ? lc.group : cols;
  double m = 0;
  for (long base = 0; base < rows * cols; base += group) {
    double lse = 0;
    if (lc.input == LossInput::Logits && lc.spec.kind == Loss::CategoricalCrossentropy) {
      double mx = -INFINITY, s = 0;
      for (long c = 0; c < group; ++c) mx = std::fmax(mx, d.z[size_t(base + c)]);
      for (long c = 0; c < group; ++c) s += std::exp(d.z[size_t(base + c)] - mx);
      lse = mx + std::log(s);
    }
    for (long c = 0; c < group; ++c) {
      const size_t i = size_t(base + c);
      if (lc.input == LossInput::Logits) m += (std::fabs(d.z[i]) + std::fabs(lse)) * (1 + std::fabs(d.target[i]));
      if (lc.input == LossInput::Logits && lc.spec.kind == Loss::CategoricalCrossentropy) continue;
      float term_grad;
      m += std::fabs(ref::loss_forward_backward<float>(lc.spec, lc.input, 1, &d.z[i], &d.y[i], &d.target[i],
                                                       &term_grad, 1, 1, 1.0f));
    }
  }
  return m;
}

void check_loss(const KernelTable& kt, const test::LossCase& lc, long rows, long cols, bool specials, Rng& rng) {
  const size_t n = size_t(rows * cols);
  const LossData d = loss_data(lc, rng, rows, cols, specials);
  const float scale = float(1.0 / loss_terms(lc.spec, rows, cols, lc.group));
  std::vector<float> want(n);
  const double want_total = ref::loss_forward_backward<float>(lc.spec, lc.input, lc.group, d.z.data(), d.y.data(),
                                                              d.target.data(), want.data(), rows, cols, scale);

  const Guarded z = input(d.z), y = input(d.y), t = input(d.target);
  Guarded grad(n, 0.0f);
  const double total = kt.loss_forward_backward(lc.spec, lc.input, lc.group, z.data(), y.data(), t.data(),
                                                grad.data(), rows, cols, scale);

  const long group = lc.group > 0 ? lc.group : cols;
  Mismatches m(lc.name + " cols=" + std::to_string(cols) + (specials ? " with specials" : ""));
  for (size_t i = 0; i < n; ++i) {
    double gscale = std::fabs(want[i]);
    if (lc.spec.kind == Loss::CategoricalCrossentropy && lc.input == LossInput::Logits) {
      // (y · Σt - t) · scale cancels where y · Σt ≈ t.
      double tsum = 0;
      for (size_t j = i / size_t(group) * size_t(group), e = j + size_t(group); j < e; ++j) tsum += d.target[j];
      gscale += (std::fabs(d.y[i]) * tsum + std::fabs(d.target[i])) * scale;
    }
    m.expect(agrees(grad[i], want[i], gscale),
             [&] { return describe("grad", i, lc.input == LossInput::Logits ? d.z[i] : d.y[i], grad[i], want[i]); });
  }
  // A float accumulation of n terms is within n · u of their magnitudes.
  const double tolerance = double(n + 16) * 0x1p-24 * loss_magnitude(lc, d, rows, cols);
  const bool total_ok = std::isnan(want_total)   ? std::isnan(total)
                        : std::isinf(want_total) ? total == want_total
                                                 : std::fabs(total - want_total) <= tolerance;
  m.expect(total_ok, [&] {
    return "total: got " + std::to_string(total) + ", reference " + std::to_string(want_total);
  });
  m.expect(grad.guard_intact(kSentinel), [] { return std::string("wrote past the end"); });
}

TEST_P(KernelParity, LossForwardBackward) {
  Rng rng(74);
  for (const auto& lc : test::loss_cases()) {
    for (long length : kLengths) {
      const long cols = lc.group > 0 ? length * lc.group : length;
      check_loss(kt(), lc, 2, cols, false, rng);
      check_loss(kt(), lc, 2, cols, true, rng);
    }
  }
}

// ---- reductions and helpers --------------------------------------------------------------------------

TEST_P(KernelParity, SumSquares) {
  Rng rng(75);
  for (long n : kLengths) {
    const std::vector<float> x = test::to_float(test::uniform(rng, size_t(n), -3, 3));
    double exact = 0;
    for (float v : x) exact += double(v) * double(v);
    const double got = kt().sum_squares(input(x).data(), size_t(n));
    EXPECT_LE(std::fabs(got - exact), double(n + 2) * 0x1p-24 * exact) << "n=" << n;

    // Any non-finite element makes the sum non-finite, wherever it sits.
    for (float special : {INFINITY, -INFINITY, NAN}) {
      for (long at : {0L, n / 2, n - 1}) {
        std::vector<float> bad = x;
        bad[size_t(at)] = special;
        EXPECT_FALSE(std::isfinite(kt().sum_squares(input(bad).data(), size_t(n)))) << "n=" << n << " at " << at;
      }
    }
  }
}

TEST_P(KernelParity, AxpyAndMultiply) {
  Rng rng(76);
  for (long length : kLengths) {
    const size_t n = size_t(length);
    const std::vector<float> x = values_with_specials(rng, n, -3, 3, true);
    const std::vector<float> y0 = test::to_float(test::uniform(rng, n, -3, 3));
    const float a = -0.625f;
    const Guarded xg = input(x);
    Guarded y(y0, kSentinel), prod(n, 0.0f);
    kt().axpy(a, xg.data(), y.data(), n);
    kt().multiply(xg.data(), input(y0).data(), prod.data(), n);
    Mismatches m("axpy/multiply n=" + std::to_string(n));
    for (size_t i = 0; i < n; ++i) {
      // One rounding each: a fused multiply-add, and a product.
      const float want_axpy = std::fma(a, x[i], y0[i]), want_prod = x[i] * y0[i];
      m.expect(std::isnan(want_axpy) ? std::isnan(y[i]) : test::same_bits(y[i], want_axpy),
               [&] { return describe("axpy", i, x[i], y[i], want_axpy); });
      m.expect(std::isnan(want_prod) ? std::isnan(prod[i]) : test::same_bits(prod[i], want_prod),
               [&] { return describe("multiply", i, x[i], prod[i], want_prod); });
    }
    m.expect(y.guard_intact(kSentinel) && prod.guard_intact(kSentinel),
             [] { return std::string("wrote past the end"); });
  }
}

TEST_P(KernelParity, RoundBf16) {
  Rng rng(77);
  for (long length : kLengths) {
    const size_t n = size_t(length);
    std::vector<float> x = values_with_specials(rng, n, -3, 3, true);
    // Exact ties (halfway between two bfloat16 values, either parity), a NaN with payload bits that
    // rounding would carry into the exponent, and the largest float, which rounds to infinity.
    const float ties[] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -1.0f - 0x1p-8f, std::numeric_limits<float>::max()};
    for (size_t i = 0; i < std::size(ties) && i < n; ++i) x[(i * 7) % n] = ties[i];
    uint32_t payload_nan = 0x7FFFFFFFu;
    std::memcpy(&x[n - 1], &payload_nan, sizeof payload_nan);
    std::vector<uint16_t> y(n + kGuard, 0xBEEF);
    kt().round_bf16(input(x).data(), y.data(), n);
    Mismatches m("round_bf16 n=" + std::to_string(n));
    for (size_t i = 0; i < n; ++i) {
      const uint16_t want = cpu::to_bf16(x[i]);
      m.expect(y[i] == want, [&] {
        std::ostringstream out;
        out << "at " << i << ": " << x[i] << " -> 0x" << std::hex << y[i] << ", want 0x" << want;
        return out.str();
      });
    }
    m.expect(std::all_of(y.begin() + long(n), y.end(), [](uint16_t v) { return v == 0xBEEF; }),
             [] { return std::string("wrote past the end"); });
  }
}

TEST_P(KernelParity, L1Penalty) {
  Rng rng(77);
  for (long length : kLengths) {
    for (bool specials : {false, true}) {
      const size_t n = size_t(length);
      const std::vector<float> h = values_with_specials(rng, n, -2, 2, specials);
      const std::vector<float> dh0 = test::to_float(test::uniform(rng, n, -1, 1));
      const float coeff = 0.03f;
      Guarded dh(dh0, kSentinel);
      const double sum = kt().l1_penalty(input(h).data(), dh.data(), coeff, n);

      double want_sum = 0;
      Mismatches m("l1_penalty n=" + std::to_string(n) + (specials ? " with specials" : ""));
      for (size_t i = 0; i < n; ++i) {
        want_sum += std::fabs(double(h[i]));
        // The sign of NaN and of ±0 is 0: those elements add nothing.
        const float sign = h[i] > 0 ? 1.0f : h[i] < 0 ? -1.0f : 0.0f;
        const float want = dh0[i] + coeff * sign;
        m.expect(test::same_bits(dh[i], want), [&] { return describe("dh", i, h[i], dh[i], want); });
      }
      const bool sum_ok = std::isnan(want_sum)   ? std::isnan(sum)
                          : std::isinf(want_sum) ? sum == want_sum
                                                 : std::fabs(sum - want_sum) <= double(n + 2) * 0x1p-24 * want_sum;
      m.expect(sum_ok, [&] { return "sum: got " + std::to_string(sum) + ", expected " + std::to_string(want_sum); });
      m.expect(dh.guard_intact(kSentinel), [] { return std::string("wrote past the end"); });
    }
  }
}

// ---- optimizers --------------------------------------------------------------------------------------

void check_optimizer(const KernelTable& kt, const test::OptimizerCase& oc, size_t n, bool clip, bool specials,
                     Rng& rng) {
  OptimizerConfig config = oc.config;
  std::vector<float> w0 = test::to_float(test::uniform(rng, n, -2, 2));
  std::vector<float> g = values_with_specials(rng, n, -2, 2, specials);
  double norm = 0;
  for (float v : g) norm += double(v) * double(v);
  norm = std::sqrt(norm);
  if (clip) {
    config.clip_value = 0.7f;
    config.clip_norm = float(norm / 2);
  }
  const UpdateStep step = make_update_step(config, config.learning_rate, 3, norm);

  // A state as after a few steps: moments of either sign, positive second moments and sums.
  test::OptimizerSlots ref_slots(config, n);
  for (float& v : ref_slots.s1)
    v = float(config.kind == OptimizerKind::Sgd || config.kind == OptimizerKind::Adam ||
                      config.kind == OptimizerKind::AdamW
                  ? 2 * rng.uniform() - 1
                  : rng.uniform() + 0.01);
  for (float& v : ref_slots.s2)
    v = float(config.kind == OptimizerKind::RmsProp ? 2 * rng.uniform() - 1 : rng.uniform() + 0.01);
  const std::vector<float> s1_0 = ref_slots.s1, s2_0 = ref_slots.s2;

  std::vector<float> want_w = w0;
  ref::optimizer_step<float>(step, want_w.data(), g.data(), ref_slots.p1(), ref_slots.p2(), long(n));

  Guarded w(w0, kSentinel);
  Guarded s1(s1_0, kSentinel), s2(s2_0, kSentinel);
  const Guarded grads = input(g);
  UpdateBuffers buffers;
  buffers.weights = w.data();
  buffers.grads = grads.data();
  buffers.slot1 = s1_0.empty() ? nullptr : s1.data();
  buffers.slot2 = s2_0.empty() ? nullptr : s2.data();
  const double squares = kt.optimizer_step(step, buffers, n);
  // Again with the copies: the same update, each bfloat16 copy the updated weight rounded, and the
  // previous weights as they were.
  Guarded w_again(w0, kSentinel), previous(n, 0.0f);
  std::vector<float> s1_again = s1_0, s2_again = s2_0;
  std::vector<uint16_t> w16(n + kGuard, 0xBEEF);
  buffers.weights = w_again.data();
  buffers.slot1 = s1_again.empty() ? nullptr : s1_again.data();
  buffers.slot2 = s2_again.empty() ? nullptr : s2_again.data();
  buffers.weights16 = w16.data();
  buffers.previous = previous.data();
  const double squares_again = kt.optimizer_step(step, buffers, n);

  Mismatches m(oc.name + " n=" + std::to_string(n) + (clip ? " clipped" : "") + (specials ? " with specials" : ""));
  // The sum of squares of the raw gradient, added as sum_squares adds it; not finite where the
  // gradient or an updated weight's square is not.
  const double want_squares = kt.sum_squares(grads.data(), n);
  const bool weights_finite =
      std::all_of(w.v.begin(), w.v.begin() + long(n), [](float v) { return std::isfinite(v * v); });
  for (const double got : {squares, squares_again})
    m.expect(std::isfinite(want_squares) && weights_finite ? got == want_squares : !std::isfinite(got),
             [&] { return "sum of squares " + std::to_string(got) + ", sum_squares " + std::to_string(want_squares); });
  for (size_t i = 0; i < n; ++i) {
    m.expect(test::same_bits(previous[i], w0[i]), [&] { return describe("previous", i, g[i], previous[i], w0[i]); });
    m.expect(test::same_bits(w_again[i], w[i]), [&] { return describe("w with w16", i, g[i], w_again[i], w[i]); });
    m.expect(w16[i] == cpu::to_bf16(w[i]), [&] {
      return describe("w16", i, g[i], cpu::from_bf16(w16[i]), cpu::from_bf16(cpu::to_bf16(w[i])));
    });
  }
  for (size_t i = n; i < w16.size(); ++i)
    m.expect(w16[i] == 0xBEEF, [] { return std::string("w16 written past the end"); });
  m.expect(previous.guard_intact(kSentinel), [] { return std::string("previous written past the end"); });
  // Each value is a sum of its old value and an update, so both bound the rounding.
  auto check = [&](const char* what, const Guarded& got, const std::vector<float>& before,
                   const std::vector<float>& want) {
    for (size_t i = 0; i < want.size(); ++i)
      m.expect(agrees(got[i], want[i], std::fabs(before[i]) + std::fabs(want[i])),
               [&] { return describe(what, i, g[i], got[i], want[i]); });
    m.expect(got.guard_intact(kSentinel), [&] { return std::string(what) + " wrote past the end"; });
  };
  check("w", w, w0, want_w);
  if (!s1_0.empty()) check("s1", s1, s1_0, ref_slots.s1);
  if (!s2_0.empty()) check("s2", s2, s2_0, ref_slots.s2);
}

TEST_P(KernelParity, OptimizerStep) {
  Rng rng(78);
  for (const auto& oc : test::optimizer_cases()) {
    for (long n : kLengths) {
      for (bool clip : {false, true}) {
        check_optimizer(kt(), oc, size_t(n), clip, false, rng);
        check_optimizer(kt(), oc, size_t(n), clip, true, rng);
      }
    }
  }
}

// An update that overflows a weight, or takes one beyond 1.8e19 (its square overflows), makes the
// step's sum NaN wherever that weight sits, so the trainer restores the weights; other steps sum
// Σ g². SGD with weight decay, lr · decay = 3: each weight becomes -2w - g.
TEST_P(KernelParity, OptimizerStepReportsAnUpdateThatOverflows) {
  OptimizerConfig config;
  config.kind = OptimizerKind::Sgd;
  config.learning_rate = 1.0f;
  config.weight_decay = 3.0f;
  const UpdateStep step = make_update_step(config, config.learning_rate, 1, 0.0);
  std::vector<long> lengths(std::begin(kLengths), std::end(kLengths));
  lengths.push_back(2 * 4096 + 37);  // past the first block of squares added in float
  for (long n : lengths) {
    const std::vector<float> g(size_t(n), 0.5f);
    for (const float blows_up : {2e38f, 1e19f}) {  // to -inf; to -2e19, whose square overflows
      for (long at : {0L, n / 2, n - 1}) {
        std::vector<float> w(size_t(n), 1.0f);
        w[size_t(at)] = blows_up;
        UpdateBuffers buffers;
        buffers.weights = w.data();
        buffers.grads = g.data();
        EXPECT_TRUE(std::isnan(kt().optimizer_step(step, buffers, size_t(n))))
            << "n=" << n << " at " << at << ", weight " << blows_up;
      }
    }
    std::vector<float> w(size_t(n), 1e18f);  // to -2e18: its square is finite
    UpdateBuffers buffers;
    buffers.weights = w.data();
    buffers.grads = g.data();
    EXPECT_EQ(kt().optimizer_step(step, buffers, size_t(n)), 0.25 * double(n)) << "n=" << n;
  }
}

// The backend gives each thread columns of its own: the same sums, bit for bit, as one thread.
TEST(BiasGradient, ThreadsSplitTheColumnsAndSumAsOneThreadDoes) {
  constexpr long kRows = 64, kCols = 4103;  // enough for the backend to split them
  Rng rng(79);
  const std::vector<float> dz = test::to_float(test::uniform(rng, size_t(kRows * kCols), -1, 1));
  cpu::CpuBackend one(1), two(2);
  std::vector<float> db_one(static_cast<size_t>(kCols)), db_two(static_cast<size_t>(kCols), NAN);
  one.bias_gradient(dz.data(), db_one.data(), kRows, kCols);
  two.bias_gradient(dz.data(), db_two.data(), kRows, kCols);
  EXPECT_EQ(0, std::memcmp(db_one.data(), db_two.data(), db_one.size() * sizeof(float)));
  float last = 0.0f;
  for (long r = 0; r < kRows; ++r) last += dz[size_t(r * kCols + kCols - 1)];
  EXPECT_EQ(last, db_two.back());
}

INSTANTIATE_TEST_SUITE_P(EveryKernelTable, KernelParity, ::testing::ValuesIn(test::simd_levels()),
                         test::level_name);

}  // namespace
}  // namespace ae
