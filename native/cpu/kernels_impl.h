// Every element-wise kernel written once against the vector traits V (see vec.h). Included by the
// kernels_*.cpp files after vec.h, inside their instruction-set region and AE_ISA namespace.
#ifndef AE_ISA
#error "define AE_ISA before including kernels_impl.h"
#endif

namespace ae::cpu::AE_ISA {

// ---- vector math -------------------------------------------------------------------------------

template <class V>
struct Math {
  using F = typename V::F;
  using M = typename V::M;

  static F poly(F x, std::initializer_list<float> c) {
    F r = V::set1(*c.begin());
    for (auto it = c.begin() + 1; it != c.end(); ++it) r = V::fmadd(r, x, V::set1(*it));
    return r;
  }

  // Cephes expf: n = round(x / ln 2), r = x - n ln 2 in two parts, a degree-6 polynomial, then
  // scaling by 2^n in two halves so that results near the subnormal range stay exact.
  static F exp(F x) {
    F xc = V::min(V::max(x, V::set1(-103.972f)), V::set1(88.7228394f));
    F n = V::round(V::mul(xc, V::set1(1.44269504088896341f)));
    F r = V::fmadd(n, V::set1(-0.693359375f), xc);
    r = V::fmadd(n, V::set1(2.12194440e-4f), r);
    F p = poly(r, {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
                   5.0000001201e-1f});
    F y = V::add(V::fmadd(V::mul(p, r), r, r), V::set1(1.0f));
    F n1 = V::round(V::mul(n, V::set1(0.5f)));
    F n2 = V::sub(n, n1);
    y = V::mul(V::mul(y, V::pow2n(n1)), V::pow2n(n2));
    y = V::select(V::gt(x, V::set1(88.7228394f)), V::set1(INFINITY), y);
    y = V::select(V::lt(x, V::set1(-103.972f)), V::zero(), y);
    return V::select(V::isnan(x), x, y);
  }

  // e^x - 1 without cancellation near zero: Taylor terms to x^8 for |x| < 0.5.
  static F expm1(F x) {
    F t = poly(x, {1.0f / 40320, 1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f});
    F small = V::mul(t, x);
    F large = V::sub(exp(x), V::set1(1.0f));
    return V::select(V::lt(V::abs(x), V::set1(0.5f)), small, large);
  }

  // Cephes logf on the mantissa in [sqrt(1/2), sqrt(2)).
  static F log(F x) {
    F m, e;
    V::frexp(x, m, e);
    M below = V::lt(m, V::set1(0.707106781186547524f));
    e = V::select(below, V::sub(e, V::set1(1.0f)), e);
    m = V::select(below, V::sub(V::add(m, m), V::set1(1.0f)), V::sub(m, V::set1(1.0f)));
    F z = V::mul(m, m);
    F p = poly(m, {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
                   -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f});
    F y = V::mul(V::mul(p, m), z);
    y = V::fmadd(e, V::set1(-2.12194440e-4f), y);
    y = V::fmadd(z, V::set1(-0.5f), y);
    F r = V::add(m, y);
    r = V::fmadd(e, V::set1(0.693359375f), r);
    r = V::select(V::eq(x, V::set1(INFINITY)), x, r);
    F nonpositive = V::select(V::eq(x, V::zero()), V::set1(-INFINITY), V::set1(NAN));
    return V::select(V::gt(x, V::zero()), r, nonpositive);
  }

  // log(1 + u) for u in [0, 1], exact to rounding even when 1 + u rounds to 1.
  static F log1p_unit(F u) {
    F w = V::add(u, V::set1(1.0f));
    F d = V::sub(w, V::set1(1.0f));
    F r = V::div(V::mul(log(w), u), d);
    return V::select(V::eq(d, V::zero()), u, r);
  }

  // tanh: an odd Taylor polynomial below 0.4, 1 - 2 / (e^{2|x|} + 1) above.
  static F tanh(F x) {
    F a = V::abs(x);
    F a2 = V::mul(a, a);
    F p = poly(a2, {21844.0f / 6081075, -1382.0f / 155925, 62.0f / 2835, -17.0f / 315, 2.0f / 15, -1.0f / 3, 1.0f});
    // The odd polynomial keeps x's sign itself, so tanh(-0) stays -0.
    F small = V::mul(p, x);
    F large = V::sub(V::set1(1.0f), V::div(V::set1(2.0f), V::add(exp(V::add(a, a)), V::set1(1.0f))));
    large = V::select(V::lt(x, V::zero()), V::sub(V::zero(), large), large);
    F r = V::select(V::lt(a, V::set1(0.4f)), small, large);
    return V::select(V::isnan(x), x, r);
  }

  // 1 / d for d in [1, 2]: the approximate reciprocal and one Newton step (error below 2e-7),
  // several times the throughput of a division; exactly 1 at d = 1, so a saturated sigmoid is 1.
  static F reciprocal_1_2(F d) {
    F r = V::approx_reciprocal(d);
    r = V::fmadd(r, V::sub(V::set1(1.0f), V::mul(d, r)), r);
    return V::select(V::eq(d, V::set1(1.0f)), V::set1(1.0f), r);
  }

  static F sigmoid(F x) {
    F e = exp(V::sub(V::zero(), V::abs(x)));
    F s = reciprocal_1_2(V::add(V::set1(1.0f), e));
    return V::select(V::ge(x, V::zero()), s, V::mul(e, s));
  }

  static F softplus(F x) {
    return V::add(V::max(x, V::zero()), log1p_unit(exp(V::sub(V::zero(), V::abs(x)))));
  }

  static F sign(F x) {
    return V::select(V::gt(x, V::zero()), V::set1(1.0f), V::select(V::lt(x, V::zero()), V::set1(-1.0f), V::zero()));
  }
};

// ---- activations -------------------------------------------------------------------------------

template <class V, Activation A>
struct Act {
  using F = typename V::F;
  using Mth = Math<V>;

  static F forward(F z, F alpha) {
    const F zero = V::zero();
    if constexpr (A == Activation::Linear) return z;
    // A NaN stays NaN, as in the reference: dropping it to 0 would hide bad input in a finite output.
    if constexpr (A == Activation::Relu) return V::select(V::mask_or(V::gt(z, zero), V::isnan(z)), z, zero);
    if constexpr (A == Activation::LeakyRelu) return V::select(V::gt(z, zero), z, V::mul(alpha, z));
    if constexpr (A == Activation::Elu) return V::select(V::gt(z, zero), z, V::mul(alpha, Mth::expm1(z)));
    if constexpr (A == Activation::Selu)
      return V::select(V::gt(z, zero), V::mul(V::set1(float(ref::kSeluScale)), z),
                       V::mul(V::set1(float(ref::kSeluScale * ref::kSeluAlpha)), Mth::expm1(z)));
    if constexpr (A == Activation::Sigmoid) return Mth::sigmoid(z);
    if constexpr (A == Activation::Tanh) return Mth::tanh(z);
    if constexpr (A == Activation::Softplus) return Mth::softplus(z);
    if constexpr (A == Activation::Silu) return V::mul(z, Mth::sigmoid(z));
    if constexpr (A == Activation::Gelu) {
      F inner = V::mul(V::set1(float(ref::kGeluC)), V::fmadd(V::mul(V::set1(float(ref::kGeluK)), z), V::mul(z, z), z));
      return V::mul(V::mul(V::set1(0.5f), z), V::add(V::set1(1.0f), Mth::tanh(inner)));
    }
    return z;
  }

  // d act / dz from the pre-activation z (equal to y for kinds that do not need it) and output y.
  static F derivative(F z, F y, F alpha) {
    const F zero = V::zero(), one = V::set1(1.0f);
    if constexpr (A == Activation::Linear) return one;
    if constexpr (A == Activation::Relu) return V::select(V::gt(z, zero), one, zero);
    if constexpr (A == Activation::LeakyRelu) return V::select(V::gt(z, zero), one, alpha);
    if constexpr (A == Activation::Elu) return V::select(V::gt(z, zero), one, V::add(y, alpha));
    if constexpr (A == Activation::Selu)
      return V::select(V::gt(z, zero), V::set1(float(ref::kSeluScale)),
                       V::add(y, V::set1(float(ref::kSeluScale * ref::kSeluAlpha))));
    if constexpr (A == Activation::Sigmoid) return V::mul(y, V::sub(one, y));
    if constexpr (A == Activation::Tanh) return V::sub(one, V::mul(y, y));
    if constexpr (A == Activation::Softplus) return Mth::sigmoid(z);
    if constexpr (A == Activation::Silu) {
      F s = Mth::sigmoid(z);
      return V::mul(s, V::fmadd(z, V::sub(one, s), one));
    }
    if constexpr (A == Activation::Gelu) {
      const F c = V::set1(float(ref::kGeluC)), k = V::set1(float(ref::kGeluK)), half = V::set1(0.5f);
      F z2 = V::mul(z, z);
      F t = Mth::tanh(V::mul(c, V::fmadd(V::mul(k, z), z2, z)));
      F dinner = V::mul(c, V::fmadd(V::set1(float(3 * ref::kGeluK)), z2, one));
      F left = V::mul(half, V::add(one, t));
      return V::fmadd(V::mul(V::mul(half, z), V::sub(one, V::mul(t, t))), dinner, left);
    }
    return one;
  }
};

template <class V, Activation A>
void elementwise_forward(const ActivationSpec& act, const float* bias, float* z, float* y, long rows, long cols) {
  const auto alpha = V::set1(act.alpha);
  const bool keep_z = z != y;
  for (long r = 0; r < rows; ++r) {
    float* zr = z + r * cols;
    float* yr = y + r * cols;
    for (long c = 0; c < cols; c += V::W) {
      const long rem = cols - c;
      auto v = V::load(zr + c, rem);
      if (bias) v = V::add(v, V::load(bias + c, rem));
      if (keep_z) V::store(zr + c, v, rem);
      V::store(yr + c, Act<V, A>::forward(v, alpha), rem);
    }
  }
}

template <class V>
void softmax_forward(const ActivationSpec& act, const float* bias, float* z, float* y, long rows, long cols) {
  const long group = act.group > 0 ? act.group : cols;
  for (long r = 0; r < rows; ++r) {
    float* zr = z + r * cols;
    float* yr = y + r * cols;
    if (bias) {
      for (long c = 0; c < cols; c += V::W) {
        const long rem = cols - c;
        V::store(zr + c, V::add(V::load(zr + c, rem), V::load(bias + c, rem)), rem);
      }
    }
    for (long g = 0; g < cols; g += group) {
      auto vmax = V::set1(-INFINITY);
      for (long c = 0; c < group; c += V::W) {
        const long rem = group - c;
        vmax = V::max(V::select(V::active(rem), V::load(zr + g + c, rem), V::set1(-INFINITY)), vmax);
      }
      const auto m = V::set1(V::reduce_max(vmax));
      auto vsum = V::zero();
      for (long c = 0; c < group; c += V::W) {
        const long rem = group - c;
        auto e = Math<V>::exp(V::sub(V::load(zr + g + c, rem), m));
        e = V::select(V::active(rem), e, V::zero());
        vsum = V::add(vsum, e);
        V::store(yr + g + c, e, rem);
      }
      const auto inv = V::set1(1.0f / V::reduce_add(vsum));
      for (long c = 0; c < group; c += V::W) {
        const long rem = group - c;
        V::store(yr + g + c, V::mul(V::load(yr + g + c, rem), inv), rem);
      }
    }
  }
}

template <class V>
void bias_activation_forward(const ActivationSpec& act, const float* bias, float* z, float* y, long rows, long cols) {
  switch (act.kind) {
    case Activation::Linear: return elementwise_forward<V, Activation::Linear>(act, bias, z, y, rows, cols);
    case Activation::Relu: return elementwise_forward<V, Activation::Relu>(act, bias, z, y, rows, cols);
    case Activation::LeakyRelu: return elementwise_forward<V, Activation::LeakyRelu>(act, bias, z, y, rows, cols);
    case Activation::Elu: return elementwise_forward<V, Activation::Elu>(act, bias, z, y, rows, cols);
    case Activation::Selu: return elementwise_forward<V, Activation::Selu>(act, bias, z, y, rows, cols);
    case Activation::Sigmoid: return elementwise_forward<V, Activation::Sigmoid>(act, bias, z, y, rows, cols);
    case Activation::Tanh: return elementwise_forward<V, Activation::Tanh>(act, bias, z, y, rows, cols);
    case Activation::Softplus: return elementwise_forward<V, Activation::Softplus>(act, bias, z, y, rows, cols);
    case Activation::Silu: return elementwise_forward<V, Activation::Silu>(act, bias, z, y, rows, cols);
    case Activation::Gelu: return elementwise_forward<V, Activation::Gelu>(act, bias, z, y, rows, cols);
    case Activation::Softmax: return softmax_forward<V>(act, bias, z, y, rows, cols);
  }
}

template <class V, Activation A>
void elementwise_backward(const ActivationSpec& act, const float* z, const float* y, const float* dy, float* dz,
                          long n) {
  const auto alpha = V::set1(act.alpha);
  const float* pre = z ? z : y;
  for (long i = 0; i < n; i += V::W) {
    const long rem = n - i;
    auto d = Act<V, A>::derivative(V::load(pre + i, rem), V::load(y + i, rem), alpha);
    V::store(dz + i, V::mul(V::load(dy + i, rem), d), rem);
  }
}

template <class V>
void softmax_backward(const ActivationSpec& act, const float* y, const float* dy, float* dz, long rows, long cols) {
  const long group = act.group > 0 ? act.group : cols;
  for (long base = 0; base < rows * cols; base += group) {
    auto vdot = V::zero();
    for (long c = 0; c < group; c += V::W) {
      const long rem = group - c;
      vdot = V::fmadd(V::load(dy + base + c, rem), V::load(y + base + c, rem), vdot);
    }
    const auto dot = V::set1(V::reduce_add(vdot));
    for (long c = 0; c < group; c += V::W) {
      const long rem = group - c;
      V::store(dz + base + c, V::mul(V::load(y + base + c, rem), V::sub(V::load(dy + base + c, rem), dot)), rem);
    }
  }
}

template <class V>
void activation_backward(const ActivationSpec& act, const float* z, const float* y, const float* dy, float* dz,
                         long rows, long cols) {
  const long n = rows * cols;
  switch (act.kind) {
    case Activation::Linear: return elementwise_backward<V, Activation::Linear>(act, z, y, dy, dz, n);
    case Activation::Relu: return elementwise_backward<V, Activation::Relu>(act, z, y, dy, dz, n);
    case Activation::LeakyRelu: return elementwise_backward<V, Activation::LeakyRelu>(act, z, y, dy, dz, n);
    case Activation::Elu: return elementwise_backward<V, Activation::Elu>(act, z, y, dy, dz, n);
    case Activation::Selu: return elementwise_backward<V, Activation::Selu>(act, z, y, dy, dz, n);
    case Activation::Sigmoid: return elementwise_backward<V, Activation::Sigmoid>(act, z, y, dy, dz, n);
    case Activation::Tanh: return elementwise_backward<V, Activation::Tanh>(act, z, y, dy, dz, n);
    case Activation::Softplus: return elementwise_backward<V, Activation::Softplus>(act, z, y, dy, dz, n);
    case Activation::Silu: return elementwise_backward<V, Activation::Silu>(act, z, y, dy, dz, n);
    case Activation::Gelu: return elementwise_backward<V, Activation::Gelu>(act, z, y, dy, dz, n);
    case Activation::Softmax: return softmax_backward<V>(act, y, dy, dz, rows, cols);
  }
}

// Columns are summed kBiasBlock vectors at a time down the rows, so that each row is read in runs of
// whole cache lines: one vector per row, as before, read W3's 512 × 4096 gradients at a stride of
// 16 KB and took as long as a pass over memory. Each column's sum keeps the rows' order.
template <class V>
void bias_gradient(const float* dz, long ld, float* db, long rows, long cols) {
  constexpr long kBiasBlock = 8;
  long c = 0;
  for (; c + kBiasBlock * V::W <= cols; c += kBiasBlock * V::W) {
    typename V::F acc[kBiasBlock];
    for (auto& a : acc) a = V::zero();
    for (long r = 0; r < rows; ++r) {
      const float* row = dz + r * ld + c;
      for (long j = 0; j < kBiasBlock; ++j) acc[j] = V::add(acc[j], V::load(row + j * V::W, V::W));
    }
    for (long j = 0; j < kBiasBlock; ++j) V::store(db + c + j * V::W, acc[j], V::W);
  }
  for (; c < cols; c += V::W) {
    const long rem = cols - c;
    auto acc = V::zero();
    for (long r = 0; r < rows; ++r) acc = V::add(acc, V::load(dz + r * ld + c, rem));
    V::store(db + c, acc, rem);
  }
}

// ---- losses ------------------------------------------------------------------------------------

template <class V, Loss L, bool Logits>
double pointwise_loss(const LossSpec& spec, const float* z, const float* y, const float* t, float* grad, long n,
                      float scale) {
  using F = typename V::F;
  using Mth = Math<V>;
  const F vscale = V::set1(scale), one = V::set1(1.0f), zero = V::zero();
  const F delta = V::set1(spec.delta), eps = V::set1(float(kProbEpsilon)), one_m_eps = V::set1(1.0f - float(kProbEpsilon));
  double total = 0;
  constexpr long kFlush = 1024;  // fold float lanes into the double total this often
  for (long start = 0; start < n; start += kFlush) {
    const long end = start + kFlush < n ? start + kFlush : n;
    F acc = zero;
    for (long i = start; i < end; i += V::W) {
      const long rem = end - i;
      F target = V::load(t + i, rem);
      F term, g;
      if constexpr (L == Loss::Mse) {
        F d = V::sub(V::load(y + i, rem), target);
        term = V::mul(d, d);
        g = V::mul(V::mul(V::set1(2.0f), d), vscale);
      } else if constexpr (L == Loss::Mae) {
        F d = V::sub(V::load(y + i, rem), target);
        term = V::abs(d);
        g = V::mul(Mth::sign(d), vscale);
      } else if constexpr (L == Loss::Huber) {
        F d = V::sub(V::load(y + i, rem), target);
        F a = V::abs(d);
        auto inside = V::ge(delta, a);
        term = V::select(inside, V::mul(V::set1(0.5f), V::mul(d, d)), V::mul(delta, V::fmadd(V::set1(-0.5f), delta, a)));
        g = V::mul(V::select(inside, d, V::mul(delta, Mth::sign(d))), vscale);
      } else if constexpr (L == Loss::BinaryCrossentropy && Logits) {
        F x = V::load(z + i, rem);
        F neg_abs = V::sub(zero, V::abs(x));
        term = V::add(V::sub(V::max(x, zero), V::mul(x, target)), Mth::log1p_unit(Mth::exp(neg_abs)));
        g = V::mul(V::sub(V::load(y + i, rem), target), vscale);
      } else {  // binary cross-entropy from probabilities
        F p = V::load(y + i, rem);
        const auto not_a_number = V::isnan(p);
        auto inside = V::mask_and(V::gt(p, eps), V::lt(p, one_m_eps));
        p = V::min(V::max(p, eps), one_m_eps);
        F one_m_p = V::sub(one, p);
        term = V::sub(zero, V::fmadd(target, Mth::log(p), V::mul(V::sub(one, target), Mth::log(one_m_p))));
        // Clipping would turn a NaN output into a finite loss; keep it visible.
        term = V::select(not_a_number, V::set1(NAN), term);
        g = V::select(inside, V::div(V::mul(V::sub(p, target), vscale), V::mul(p, one_m_p)), zero);
      }
      acc = V::add(acc, V::select(V::active(rem), term, zero));
      V::store(grad + i, g, rem);
    }
    total += V::reduce_add_double(acc);
  }
  return total;
}

template <class V>
double categorical_loss(LossInput input, int group_size, const float* z, const float* y, const float* t, float* grad,
                        long rows, long cols, float scale) {
  using F = typename V::F;
  const long group = group_size > 0 ? group_size : cols;
  const F vscale = V::set1(scale), zero = V::zero();
  const F eps = V::set1(float(kProbEpsilon)), one_m_eps = V::set1(1.0f - float(kProbEpsilon));
  double total = 0;
  for (long base = 0; base < rows * cols; base += group) {
    F acc = zero;
    if (input == LossInput::Logits) {
      // -Σ t (z - lse) with lse = log Σ e^z; gradient p·Σt - t.
      F vmax = V::set1(-INFINITY), tsum = zero;
      for (long c = 0; c < group; c += V::W) {
        const long rem = group - c;
        vmax = V::max(V::select(V::active(rem), V::load(z + base + c, rem), V::set1(-INFINITY)), vmax);
        tsum = V::add(tsum, V::load(t + base + c, rem));
      }
      const float m = V::reduce_max(vmax);
      F esum = zero;
      for (long c = 0; c < group; c += V::W) {
        const long rem = group - c;
        F e = Math<V>::exp(V::sub(V::load(z + base + c, rem), V::set1(m)));
        esum = V::add(esum, V::select(V::active(rem), e, zero));
      }
      const F lse = V::set1(m + std::log(V::reduce_add(esum)));
      const F ts = V::set1(V::reduce_add(tsum));
      for (long c = 0; c < group; c += V::W) {
        const long rem = group - c;
        F target = V::load(t + base + c, rem);
        acc = V::add(acc, V::mul(target, V::sub(lse, V::load(z + base + c, rem))));
        F g = V::mul(V::sub(V::mul(V::load(y + base + c, rem), ts), target), vscale);
        V::store(grad + base + c, g, rem);
      }
    } else {
      for (long c = 0; c < group; c += V::W) {
        const long rem = group - c;
        F target = V::load(t + base + c, rem);
        F p = V::load(y + base + c, rem);
        const auto not_a_number = V::isnan(p);
        auto inside = V::mask_and(V::gt(p, eps), V::lt(p, one_m_eps));
        p = V::min(V::max(p, eps), one_m_eps);
        F lp = Math<V>::log(p);
        F term = V::select(not_a_number, V::set1(NAN), V::sub(zero, V::mul(target, lp)));
        acc = V::add(acc, V::select(V::active(rem), term, zero));
        V::store(grad + base + c, V::select(inside, V::sub(zero, V::div(V::mul(target, vscale), p)), zero), rem);
      }
    }
    total += V::reduce_add_double(acc);
  }
  return total;
}

template <class V>
double loss_forward_backward(const LossSpec& loss, LossInput input, int group, const float* z, const float* y,
                             const float* target, float* grad, long rows, long cols, float scale) {
  const long n = rows * cols;
  switch (loss.kind) {
    case Loss::Mse: return pointwise_loss<V, Loss::Mse, false>(loss, z, y, target, grad, n, scale);
    case Loss::Mae: return pointwise_loss<V, Loss::Mae, false>(loss, z, y, target, grad, n, scale);
    case Loss::Huber: return pointwise_loss<V, Loss::Huber, false>(loss, z, y, target, grad, n, scale);
    case Loss::BinaryCrossentropy:
      if (input == LossInput::Logits)
        return pointwise_loss<V, Loss::BinaryCrossentropy, true>(loss, z, y, target, grad, n, scale);
      return pointwise_loss<V, Loss::BinaryCrossentropy, false>(loss, z, y, target, grad, n, scale);
    case Loss::CategoricalCrossentropy: return categorical_loss<V>(input, group, z, y, target, grad, rows, cols, scale);
  }
  return 0.0;
}

// ---- reductions and small helpers --------------------------------------------------------------

// Sums of squares add in float vectors over blocks of this many elements, the blocks in double.
constexpr size_t kSumFlush = 4096;

// Runs acc = step(i, remaining, acc) over the vectors of n elements and returns the sum of acc's
// lanes, added in float vectors over blocks of kSumFlush elements and the blocks in double: the
// order sum_squares and the optimizer step share, so that their sums agree exactly.
template <class V, class Step>
double blocked_sum(size_t n, Step&& step) {
  double total = 0;
  for (size_t start = 0; start < n; start += kSumFlush) {
    const size_t end = start + kSumFlush < n ? start + kSumFlush : n;
    auto acc = V::zero();
    for (size_t i = start; i < end; i += V::W) acc = step(i, long(end - i), acc);
    total += V::reduce_add_double(acc);
  }
  return total;
}

template <class V>
double sum_squares(const float* x, size_t n) {
  return blocked_sum<V>(n, [x](size_t i, long rem, typename V::F acc) {
    const auto v = V::load(x + i, rem);
    return V::fmadd(v, v, acc);
  });
}

template <class V>
void axpy(float a, const float* x, float* y, size_t n) {
  const auto va = V::set1(a);
  for (size_t i = 0; i < n; i += V::W) {
    const long rem = long(n - i);
    V::store(y + i, V::fmadd(va, V::load(x + i, rem), V::load(y + i, rem)), rem);
  }
}

template <class V>
void multiply(const float* x, const float* m, float* y, size_t n) {
  for (size_t i = 0; i < n; i += V::W) {
    const long rem = long(n - i);
    V::store(y + i, V::mul(V::load(x + i, rem), V::load(m + i, rem)), rem);
  }
}

template <class V>
void round_bf16(const float* x, uint16_t* y, size_t n) {
  for (size_t i = 0; i < n; i += V::W) {
    const long rem = long(n - i);
    V::store_bf16(y + i, V::load(x + i, rem), rem);
  }
}

template <class V>
double l1_penalty(const float* h, float* dh, float coeff, size_t n) {
  const auto c = V::set1(coeff);
  auto acc = V::zero();
  for (size_t i = 0; i < n; i += V::W) {
    const long rem = long(n - i);
    auto v = V::load(h + i, rem);
    acc = V::add(acc, V::abs(v));
    V::store(dh + i, V::fmadd(c, Math<V>::sign(v), V::load(dh + i, rem)), rem);
  }
  return V::reduce_add_double(acc);
}

// ---- optimizers --------------------------------------------------------------------------------

constexpr size_t kLineFloats = 16;
// A fit's update streams its arrays from memory, where the hardware prefetchers fall behind its four
// to six streams: each stream's line this far ahead is asked for in advance. W3's Adam step (17.8 M
// parameters, two threads) took 11.6-11.8 ms against 12.3-12.8 without (256 floats ahead: 11.6
// against 13.0-13.6 in another run); W3 and W2 fitted 1.2% and 1.4% faster (medians of alternating
// runs). An update whose arrays are in the caches is 6% slower (1.1 M parameters, one thread), so
// updates of fewer parameters than a core's cache holds the arrays of (W1's) do without.
constexpr size_t kUpdatePrefetch = 512;
constexpr size_t kUpdatePrefetchFrom = size_t(1) << 17;

// Updates the weights and fills the optional copies of `buffers`; returns Σ grad², summed as
// sum_squares sums it, or NaN where an updated weight's square is not finite (0 · w² joins the sum;
// lanes past the end join as 0, whatever an update of nothing gave there).
template <class V, OptimizerKind K>
double update(const UpdateStep& step, const UpdateBuffers& buffers, size_t n) {
  using F = typename V::F;
  float* w = buffers.weights;
  const float* grad = buffers.grads;
  float *s1 = buffers.slot1, *s2 = buffers.slot2, *previous = buffers.previous;
  uint16_t* w16 = buffers.weights16;
  const OptimizerConfig& c = step.config;
  const F lr = V::set1(step.learning_rate), gscale = V::set1(step.grad_scale);
  const F clip = V::set1(step.clip_value), nclip = V::set1(-step.clip_value);
  const F wd = V::set1(c.weight_decay), one = V::set1(1.0f), zero = V::zero();
  const F momentum = V::set1(c.momentum), eps = V::set1(c.epsilon);
  const F b1 = V::set1(c.beta1), b2 = V::set1(c.beta2), rho = V::set1(c.rho);
  const F inv_sqrt_bc2 = V::set1(float(1.0 / std::sqrt(double(step.bias_correction2))));
  const F step_size = V::set1(float(double(step.learning_rate) / double(step.bias_correction1)));
  const F decay = V::set1(1.0f - step.learning_rate * c.weight_decay);
  const bool has_momentum = c.momentum != 0.0f;
  const bool prefetch = n >= kUpdatePrefetchFrom;
  return blocked_sum<V>(n, [&](size_t i, long rem, F squares) {
    if (prefetch && i % kLineFloats == 0 && i + kUpdatePrefetch < n) {
      const size_t ahead = i + kUpdatePrefetch;
      __builtin_prefetch(w + ahead, 1);
      if (s1) __builtin_prefetch(s1 + ahead, 1);
      if (s2) __builtin_prefetch(s2 + ahead, 1);
      if (buffers.parts > 0) {
        for (int r = 0; r < buffers.parts; ++r) __builtin_prefetch(buffers.grad_parts[r] + buffers.parts_at + ahead);
      } else {
        __builtin_prefetch(grad + ahead);
      }
    }
    F wi = V::load(w + i, rem);
    if (previous) V::store(previous + i, wi, rem);
    F raw;
    if (buffers.parts > 0) {
      const size_t at = buffers.parts_at + i;
      raw = V::mul(V::set1(buffers.part_weights[0]), V::load(buffers.grad_parts[0] + at, rem));
      for (int r = 1; r < buffers.parts; ++r)
        raw = V::fmadd(V::set1(buffers.part_weights[r]), V::load(buffers.grad_parts[r] + at, rem), raw);
    } else {
      raw = V::load(grad + i, rem);
    }
    squares = V::fmadd(raw, raw, squares);
    F g = V::min(V::max(V::mul(raw, gscale), nclip), clip);
    if constexpr (K != OptimizerKind::AdamW) g = V::fmadd(wd, wi, g);
    if constexpr (K == OptimizerKind::Sgd) {
      if (has_momentum) {
        F buf = V::fmadd(momentum, V::load(s1 + i, rem), g);
        V::store(s1 + i, buf, rem);
        g = c.nesterov ? V::fmadd(momentum, buf, g) : buf;
      }
      wi = V::sub(wi, V::mul(lr, g));
    } else if constexpr (K == OptimizerKind::Adam || K == OptimizerKind::AdamW) {
      if constexpr (K == OptimizerKind::AdamW) wi = V::mul(wi, decay);
      F m = V::fmadd(b1, V::load(s1 + i, rem), V::mul(V::sub(one, b1), g));
      F v = V::fmadd(b2, V::load(s2 + i, rem), V::mul(V::mul(V::sub(one, b2), g), g));
      V::store(s1 + i, m, rem);
      V::store(s2 + i, v, rem);
      F denom = V::fmadd(V::sqrt(v), inv_sqrt_bc2, eps);
      wi = V::sub(wi, V::div(V::mul(step_size, m), denom));
    } else if constexpr (K == OptimizerKind::RmsProp) {
      F v = V::fmadd(rho, V::load(s1 + i, rem), V::mul(V::mul(V::sub(one, rho), g), g));
      V::store(s1 + i, v, rem);
      F u = V::div(g, V::add(V::sqrt(v), eps));
      if (has_momentum) {
        u = V::fmadd(momentum, V::load(s2 + i, rem), u);
        V::store(s2 + i, u, rem);
      }
      wi = V::sub(wi, V::mul(lr, u));
    } else {  // adagrad
      F acc = V::fmadd(g, g, V::load(s1 + i, rem));
      V::store(s1 + i, acc, rem);
      wi = V::sub(wi, V::div(V::mul(lr, g), V::add(V::sqrt(acc), eps)));
    }
    V::store(w + i, wi, rem);
    if (w16) V::store_bf16(w16 + i, wi, rem);
    squares = V::fmadd(V::select(V::active(rem), V::mul(wi, wi), zero), zero, squares);
    return squares;
  });
}

template <class V>
double optimizer_step(const UpdateStep& step, const UpdateBuffers& buffers, size_t n) {
  switch (step.config.kind) {
    case OptimizerKind::Sgd: return update<V, OptimizerKind::Sgd>(step, buffers, n);
    case OptimizerKind::Adam: return update<V, OptimizerKind::Adam>(step, buffers, n);
    case OptimizerKind::AdamW: return update<V, OptimizerKind::AdamW>(step, buffers, n);
    case OptimizerKind::RmsProp: return update<V, OptimizerKind::RmsProp>(step, buffers, n);
    case OptimizerKind::Adagrad: return update<V, OptimizerKind::Adagrad>(step, buffers, n);
  }
  return 0.0;
}

template <class V, typename Fn>
void map(const float* x, float* y, size_t n, Fn fn) {
  for (size_t i = 0; i < n; i += V::W) {
    const long rem = long(n - i);
    V::store(y + i, fn(V::load(x + i, rem)), rem);
  }
}

template <class V>
void vexp(const float* x, float* y, size_t n) { map<V>(x, y, n, [](auto v) { return Math<V>::exp(v); }); }
template <class V>
void vlog(const float* x, float* y, size_t n) { map<V>(x, y, n, [](auto v) { return Math<V>::log(v); }); }
template <class V>
void vtanh(const float* x, float* y, size_t n) { map<V>(x, y, n, [](auto v) { return Math<V>::tanh(v); }); }

// ---- GEMM micro-kernel -------------------------------------------------------------------------

constexpr int kGemmMr = 6;

// A 6 × (2 vectors) block of C held in registers across the whole k loop.
template <class V>
void gemm_micro(long kc, const float* a, long a_row, long a_depth, const float* b, float* c, long ldc, float alpha,
                float beta, long mr, long nr) {
  using F = typename V::F;
  constexpr int W = V::W;
  F acc[kGemmMr][2];
  // Rows past mr repeat the last one, so that nothing beyond A is read; their sums are not stored.
  long row[kGemmMr];
  for (int i = 0; i < kGemmMr; ++i) {
    acc[i][0] = acc[i][1] = V::zero();
    row[i] = std::min<long>(i, mr - 1) * a_row;
  }
  for (long k = 0; k < kc; ++k) {
    const F b0 = V::load(b, W), b1 = V::load(b + W, W);
    for (int i = 0; i < kGemmMr; ++i) {
      const F ai = V::set1(a[row[i]]);
      acc[i][0] = V::fmadd(ai, b0, acc[i][0]);
      acc[i][1] = V::fmadd(ai, b1, acc[i][1]);
    }
    a += a_depth;
    b += 2 * W;
  }
  const F va = V::set1(alpha), vb = V::set1(beta);
  for (long i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    for (int h = 0; h < 2; ++h) {
      const long rem = nr - h * W;
      if (rem <= 0) break;
      F r = V::mul(va, acc[i][h]);
      if (beta != 0.0f) r = V::fmadd(vb, V::load(ci + h * W, rem), r);
      V::store(ci + h * W, r, rem);
    }
  }
}

template <class V>
void gemm_few_rows(bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
                   long ldb, float beta, float* c, long ldc) {
  using F = typename V::F;
  for (long i = 0; i < m; ++i) {
    const float* ai = a + i * lda;
    float* ci = c + i * ldc;
    if (trans_b) {
      // C[i, j] = A[i, :] · B[j, :]: contiguous dot products, four at a time where there are four:
      // each load of A serves four rows of B, and four chains of multiply-adds overlap instead of
      // one chain and one horizontal sum per output (2.2× on W1's one-row layers).
      long j = 0;
      for (; j + 4 <= n; j += 4) {
        const float* b0 = b + j * ldb;
        F acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
        for (long p = 0; p < k; p += V::W) {
          const F x = V::load(ai + p, k - p);
          for (int o = 0; o < 4; ++o) acc[o] = V::fmadd(x, V::load(b0 + o * ldb + p, k - p), acc[o]);
        }
        float dots[4];
        V::sum4(acc, dots);
        for (int o = 0; o < 4; ++o) {
          const float dot = alpha * dots[o];
          ci[j + o] = beta == 0.0f ? dot : dot + beta * ci[j + o];
        }
      }
      for (; j < n; ++j) {
        const float* bj = b + j * ldb;
        F acc = V::zero();
        for (long p = 0; p < k; p += V::W) acc = V::fmadd(V::load(ai + p, k - p), V::load(bj + p, k - p), acc);
        const float dot = alpha * V::reduce_add(acc);
        ci[j] = beta == 0.0f ? dot : dot + beta * ci[j];
      }
    } else {
      // C[i, :] = Σ_p A[i, p] · B[p, :]: a running sum of rows of B.
      for (long j = 0; j < n; j += V::W) {
        const long rem = n - j;
        F acc = V::zero();
        for (long p = 0; p < k; ++p) acc = V::fmadd(V::set1(ai[p]), V::load(b + p * ldb + j, rem), acc);
        F r = V::mul(V::set1(alpha), acc);
        if (beta != 0.0f) r = V::fmadd(V::set1(beta), V::load(ci + j, rem), r);
        V::store(ci + j, r, rem);
      }
    }
  }
}

// ---- small products read in place --------------------------------------------------------------

// C[rows × cols] = alpha · Σ_p A[i, p] B[p, :] + beta · C for one block of R rows by NV vectors of
// columns, A[i, p] at a[i · a_row + p · a_depth] and B row-major: each sum stays in a register across
// the whole depth. Only the last vector may be partial (Full: it is not), so that AVX2, whose masks take
// vector registers, holds one mask. Rows past `rows` repeat the last row of A and are not stored;
// beta == 0 never reads C. The loops over rows and vectors are unrolled by pragma: left to -O3's own
// choice, GCC 12 kept acc in memory through the k loop (a store per sum per step, at half the speed).
template <class V, int R, int NV, bool Full>
void small_block(long rows, long cols, long k, float alpha, const float* a, long a_row, long a_depth, const float* b,
                 long ldb, float beta, float* c, long ldc) {
  using F = typename V::F;
  using M = typename V::M;
  constexpr int W = V::W;
  constexpr int kLast = NV - 1;
  const M last = V::active(cols - kLast * W);
  const auto load_b = [&](const float* p, int v) {
    return Full || v < kLast ? V::load(p + v * W, W) : V::load_active(p + v * W, last);
  };
  F acc[R][NV];
  const float* row[R];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
    row[i] = a + std::min<long>(i, rows - 1) * a_row;
  }
  for (long p = 0; p < k; ++p) {
    F bp[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bp[v] = load_b(b, v);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const F ai = V::set1(row[i][p * a_depth]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fmadd(ai, bp[v], acc[i][v]);
    }
    b += ldb;
  }
  const F va = V::set1(alpha), vb = V::set1(beta);
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    if (i >= rows) break;
    float* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      F r = V::mul(va, acc[i][v]);
      if (beta != 0.0f) r = V::fmadd(vb, load_b(ci, v), r);
      if (Full || v < kLast) V::store(ci + v * W, r, W);
      else V::store_active(ci + v * W, r, last);
    }
  }
}

template <class V, int R, int NV>
void small_panel(long m, long cols, long k, float alpha, const float* a, long a_row, long a_depth, const float* b,
                 long ldb, float beta, float* c, long ldc) {
  const bool full = cols == NV * V::W;
  for (long i = 0; i < m; i += R) {
    const long rows = std::min<long>(R, m - i);
    if (full) {
      small_block<V, R, NV, true>(rows, cols, k, alpha, a + i * a_row, a_row, a_depth, b, ldb, beta, c + i * ldc, ldc);
    } else {
      small_block<V, R, NV, false>(rows, cols, k, alpha, a + i * a_row, a_row, a_depth, b, ldb, beta, c + i * ldc,
                                   ldc);
    }
  }
}

// dst (cols × rows, row-major) = the transpose of src (rows × cols, leading dimension ld): in tiles of
// W × W where the vector type transposes tiles in registers, else W rows of src gathered per store.
template <class V>
void transpose(const float* src, long rows, long cols, long ld, float* dst) {
  constexpr long W = V::W;
  long r = 0;
  for (; r + W <= rows; r += W) {
    if constexpr (V::kTransposesTiles) {
      long j = 0;
      for (; j + W <= cols; j += W) V::transpose_tile(src + r * ld + j, ld, dst + j * rows + r, rows);
      for (; j < cols; ++j)
        for (long i = 0; i < W; ++i) dst[j * rows + r + i] = src[(r + i) * ld + j];
    } else {
      for (long j = 0; j < cols; ++j) V::store(dst + j * rows + r, V::gather(src + r * ld + j, ld), V::W);
    }
  }
  for (; r < rows; ++r)
    for (long j = 0; j < cols; ++j) dst[j * rows + r] = src[r * ld + j];
}

// Rows per block of a small product's panels of three, two and one vectors of columns: as many sums as
// the register file holds beside a panel's row of B, one broadcast of A and (AVX2) one mask. AVX-512's 32
// registers hold 24 sums of three vectors by eight rows; AVX2's 16 hold 12, three vectors by four rows.
template <class V>
struct SmallBlockRows {
  static constexpr int kWide = V::W == 16 ? 8 : 4;
  static constexpr int kMiddle = V::W == 16 ? 12 : 6;
  static constexpr int kNarrow = V::W == 16 ? 16 : 12;
};

// C = alpha · op(A) · op(B) + beta · C for products small enough to stay in the caches (W1's layers:
// 64 × 32 × 100 and smaller), with no packing: A is read in place in either orientation, B in place
// when not transposed, else transposed once into a scratch. Columns go in panels of three vectors
// while more than two are left, then one panel of two or one. It loses where C has fewer columns than a
// vector; the CPU backend decides where it runs (see cpu_backend.cpp).
template <class V>
void gemm_small(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
                const float* b, long ldb, float beta, float* c, long ldc) {
  if (m <= 0 || n <= 0) return;
  if (k == 0 || alpha == 0.0f) {  // as in BLAS: C = beta · C, A and B not read, alpha not used
    k = 0;
    alpha = 0.0f;
  }
  thread_local std::vector<float> transposed_b;
  if (trans_b && k > 0) {
    transposed_b.resize(size_t(n) * size_t(k));
    transpose<V>(b, n, k, ldb, transposed_b.data());
    b = transposed_b.data();
    ldb = n;
  }
  const long a_row = trans_a ? 1 : lda, a_depth = trans_a ? lda : 1;
  constexpr int W = V::W;
  using Rows = SmallBlockRows<V>;
  for (long j = 0; j < n;) {
    const long left = n - j;
    const long cols = std::min<long>(left, 3 * W);
    if (left > 2 * W) {
      small_panel<V, Rows::kWide, 3>(m, cols, k, alpha, a, a_row, a_depth, b + j, ldb, beta, c + j, ldc);
    } else if (left > W) {
      small_panel<V, Rows::kMiddle, 2>(m, cols, k, alpha, a, a_row, a_depth, b + j, ldb, beta, c + j, ldc);
    } else {
      small_panel<V, Rows::kNarrow, 1>(m, cols, k, alpha, a, a_row, a_depth, b + j, ldb, beta, c + j, ldc);
    }
    j += cols;
  }
}

// The portable table has none: its blocks would be single floats.
template <class V>
constexpr decltype(KernelTable::gemm_small) small_gemm_for() {
  if constexpr (V::W >= 8) return &gemm_small<V>;
  else return nullptr;
}

template <class V>
KernelTable make_kernel_table(SimdLevel level) {
  return KernelTable{level,
                     &bias_activation_forward<V>,
                     &activation_backward<V>,
                     &bias_gradient<V>,
                     &loss_forward_backward<V>,
                     &sum_squares<V>,
                     &axpy<V>,
                     &multiply<V>,
                     &round_bf16<V>,
                     &l1_penalty<V>,
                     &optimizer_step<V>,
                     &vexp<V>,
                     &vlog<V>,
                     &vtanh<V>,
                     &gemm_micro<V>,
                     kGemmMr,
                     2 * V::W,
                     &gemm_few_rows<V>,
                     small_gemm_for<V>()};
}

}  // namespace ae::cpu::AE_ISA
