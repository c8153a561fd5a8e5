// The variational latent layer: the encoder's last layer emits [mean | log-variance] per row, a
// sample z = mean + exp(log-variance / 2) · ε (the reparameterization trick) feeds the decoder, and
// the KL divergence from N(0, I) joins the loss. Scalar code templated on the type, so the gradient
// checks run it in double; the work is small next to the matrix products around it.
#pragma once
#include <cmath>

namespace ae::vae {

// y: rows × 2·latent ([mean | log-variance] per row); eps and z: rows × latent.
template <typename T>
void sample(const T* y, const T* eps, T* z, long rows, long latent) {
  for (long r = 0; r < rows; ++r) {
    const T* mean = y + r * 2 * latent;
    const T* log_var = mean + latent;
    for (long j = 0; j < latent; ++j) z[r * latent + j] = mean[j] + std::exp(T(0.5) * log_var[j]) * eps[r * latent + j];
  }
}

// Σ over rows and latent units of KL(N(mean, exp(log-variance)) ‖ N(0, 1)).
template <typename T>
double kl_sum(const T* y, long rows, long latent) {
  double total = 0;
  for (long r = 0; r < rows; ++r) {
    const T* mean = y + r * 2 * latent;
    const T* log_var = mean + latent;
    for (long j = 0; j < latent; ++j)
      total += -0.5 * (1.0 + double(log_var[j]) - double(mean[j]) * double(mean[j]) - std::exp(double(log_var[j])));
  }
  return total;
}

// From dz (rows × latent), the gradient at the sample, to dy (rows × 2·latent), the gradient at
// [mean | log-variance], adding kl_scale · d(kl_sum)/dy. dy must not alias dz.
template <typename T>
void backward(const T* y, const T* eps, const T* dz, T* dy, long rows, long latent, T kl_scale) {
  for (long r = 0; r < rows; ++r) {
    const T* mean = y + r * 2 * latent;
    const T* log_var = mean + latent;
    T* d_mean = dy + r * 2 * latent;
    T* d_log_var = d_mean + latent;
    for (long j = 0; j < latent; ++j) {
      const T g = dz[r * latent + j];
      const T e = eps[r * latent + j];
      const T var = std::exp(log_var[j]);
      d_mean[j] = g + kl_scale * mean[j];
      d_log_var[j] = g * e * T(0.5) * std::sqrt(var) + kl_scale * T(0.5) * (var - T(1));
    }
  }
}

}  // namespace ae::vae
