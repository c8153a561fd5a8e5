// Accuracy of the vectorized exp, log and tanh of every kernel table: within 1e-6 relative error of
// the float64 functions over dense sweeps of their ranges, and exact on the special values.
#include <gtest/gtest.h>

#include <cfloat>
#include <cstring>
#include <sstream>

#include "test_util.h"

namespace ae {
namespace {

using cpu::KernelTable;
using VecFn = void (*)(const float*, float*, size_t);

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// Every `stride`-th float of each sign between 0 and `limit` by bit pattern (dense near zero,
// subnormals included), plus an even grid of `grid` points over [lo, hi] (dense at the top end).
std::vector<float> sweep(float lo, float hi, uint32_t stride, size_t grid) {
  std::vector<float> x;
  for (uint32_t b = 1; b <= to_bits(hi); b += stride) x.push_back(from_bits(b));
  for (uint32_t b = 1; b <= to_bits(-lo); b += stride) x.push_back(-from_bits(b));
  for (size_t i = 0; i <= grid; ++i) x.push_back(float(lo + (double(hi) - lo) * double(i) / double(grid)));
  return x;
}

// Runs fn over x in chunks of odd length (so every tail length occurs) and returns the worst
// relative error against reference(double(x)).
void expect_accurate(VecFn fn, const std::vector<float>& x, double (*reference)(double), const std::string& what) {
  std::vector<float> y(x.size());
  const size_t chunk = 4099;
  for (size_t i = 0; i < x.size(); i += chunk) fn(x.data() + i, y.data() + i, std::min(chunk, x.size() - i));
  double worst = 0;
  float worst_x = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = reference(double(x[i]));
    const double err = std::fabs(double(y[i]) - want) / std::fmax(std::fabs(want), 1e-300);
    if (!(err <= worst)) {
      worst = err;
      worst_x = x[i];
    }
  }
  std::ostringstream worst_text;
  worst_text << worst;
  ::testing::Test::RecordProperty(what + "_max_rel_error", worst_text.str());
  EXPECT_LE(worst, 1e-6) << what << ": worst relative error " << worst << " at x = " << worst_x << " ("
                         << x.size() << " points)";
}

class VectorMath : public ::testing::TestWithParam<cpu::SimdLevel> {
 protected:
  const KernelTable& kt() const { return cpu::kernels_for(GetParam()); }
};

double exp_ref(double x) { return std::exp(x); }
double log_ref(double x) { return std::log(x); }
double tanh_ref(double x) { return std::tanh(x); }

TEST_P(VectorMath, ExpIsAccurateOverItsRange) {
  expect_accurate(kt().exp, sweep(-87.0f, 88.0f, 499, 2000000), exp_ref, "exp");
}

TEST_P(VectorMath, LogIsAccurateFromSubnormalsToFltMax) {
  std::vector<float> x;
  // Every 1009th positive float, from the smallest subnormal to FLT_MAX.
  for (uint32_t b = 1; b <= to_bits(FLT_MAX); b += 1009) x.push_back(from_bits(b));
  x.push_back(FLT_MAX);
  x.push_back(FLT_TRUE_MIN);
  x.push_back(FLT_MIN);
  // Near 1, where log is near 0 and relative error is hardest: every 7th float in [0.5, 2].
  for (uint32_t b = to_bits(0.5f); b <= to_bits(2.0f); b += 7) x.push_back(from_bits(b));
  expect_accurate(kt().log, x, log_ref, "log");
}

TEST_P(VectorMath, TanhIsAccurateOverItsRange) {
  expect_accurate(kt().tanh, sweep(-20.0f, 20.0f, 499, 2000000), tanh_ref, "tanh");
}

// Special inputs and their exact results, bit for bit where the sign of zero matters.
void expect_specials(VecFn fn, const std::vector<std::pair<float, float>>& cases, const std::string& what) {
  std::vector<float> x, y(cases.size());
  for (const auto& c : cases) x.push_back(c.first);
  fn(x.data(), y.data(), x.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const float want = cases[i].second;
    const bool ok = std::isnan(want) ? std::isnan(y[i]) : test::same_bits(y[i], want);
    EXPECT_TRUE(ok) << what << "(" << x[i] << ") = " << y[i] << ", expected " << want;
  }
}

TEST_P(VectorMath, SpecialValues) {
  expect_specials(kt().exp,
                  {{-INFINITY, 0.0f}, {INFINITY, INFINITY}, {NAN, NAN}, {0.0f, 1.0f}, {-0.0f, 1.0f},
                   {89.0f, INFINITY}, {-104.0f, 0.0f}, {FLT_MAX, INFINITY}, {-FLT_MAX, 0.0f}},
                  "exp");
  expect_specials(kt().log,
                  {{0.0f, -INFINITY}, {-0.0f, -INFINITY}, {-1.0f, NAN}, {-INFINITY, NAN}, {INFINITY, INFINITY},
                   {NAN, NAN}, {1.0f, 0.0f}, {-FLT_TRUE_MIN, NAN}},
                  "log");
  expect_specials(kt().tanh,
                  {{INFINITY, 1.0f}, {-INFINITY, -1.0f}, {NAN, NAN}, {0.0f, 0.0f}, {-0.0f, -0.0f},
                   {FLT_TRUE_MIN, FLT_TRUE_MIN}, {-FLT_TRUE_MIN, -FLT_TRUE_MIN}, {1e30f, 1.0f}, {-1e30f, -1.0f}},
                  "tanh");
}

INSTANTIATE_TEST_SUITE_P(EveryKernelTable, VectorMath, ::testing::ValuesIn(test::simd_levels()),
                         test::level_name);

}  // namespace
}  // namespace ae
