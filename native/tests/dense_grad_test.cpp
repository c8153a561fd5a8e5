// Gradient check of the dense layer's double-precision reference (dW, db, dx) against finite
// differences, and of its forward against the nn.Linear convention it documents.
#include <gtest/gtest.h>

#include "core/reference.h"
#include "test_util.h"

namespace ae {
namespace {

constexpr long kRows = 5, kIn = 6, kOut = 4;

struct Dense {
  std::vector<double> x, w, b, c;  // c weighs the outputs: L = Σ c·z
};

double weighted_output(const Dense& d) {
  std::vector<double> z(size_t(kRows * kOut));
  ref::dense_forward<double>(d.x.data(), d.w.data(), d.b.data(), z.data(), kRows, kIn, kOut);
  double sum = 0;
  for (size_t i = 0; i < z.size(); ++i) sum += d.c[i] * z[i];
  return sum;
}

// Finite differences of L with respect to one of the layer's arrays.
std::vector<double> numeric(const Dense& d, std::vector<double> Dense::*field) {
  return test::numeric_gradient(
      [&](const std::vector<double>& v) {
        Dense p = d;
        p.*field = v;
        return weighted_output(p);
      },
      d.*field);
}

TEST(DenseGrad, ForwardIsInputTimesWeightTransposedPlusBias) {
  // W = [[1, 2], [3, 4], [5, 6]] maps 2 inputs to 3 units; x = [1, -1].
  const double x[2] = {1, -1}, w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {0.5, 0, -0.5};
  double z[3];
  ref::dense_forward<double>(x, w, b, z, 1, 2, 3);
  EXPECT_EQ(z[0], -0.5);
  EXPECT_EQ(z[1], -1.0);
  EXPECT_EQ(z[2], -1.5);
}

TEST(DenseGrad, ReferenceMatchesFiniteDifferencesInDouble) {
  Rng rng(31);
  Dense d;
  d.x = test::uniform(rng, size_t(kRows * kIn), -2, 2);
  d.w = test::uniform(rng, size_t(kOut * kIn), -1, 1);
  d.b = test::uniform(rng, size_t(kOut), -1, 1);
  d.c = test::signed_uniform(rng, size_t(kRows * kOut), 0.5, 1.5);

  std::vector<double> dw(d.w.size()), db(d.b.size()), dx(d.x.size());
  ref::dense_backward<double>(d.x.data(), d.w.data(), d.c.data(), dw.data(), db.data(), dx.data(), kRows, kIn, kOut);

  EXPECT_LT(test::max_rel_error(dw, numeric(d, &Dense::w)), 1e-6);
  EXPECT_LT(test::max_rel_error(db, numeric(d, &Dense::b)), 1e-6);
  EXPECT_LT(test::max_rel_error(dx, numeric(d, &Dense::x)), 1e-6);

  // Without dx the parameter gradients are unchanged.
  std::vector<double> dw2(dw.size()), db2(db.size());
  ref::dense_backward<double>(d.x.data(), d.w.data(), d.c.data(), dw2.data(), db2.data(), nullptr, kRows, kIn, kOut);
  EXPECT_EQ(dw2, dw);
  EXPECT_EQ(db2, db);
}

}  // namespace
}  // namespace ae
