// Initializers. Normal variants draw from a normal truncated at two standard deviations, scaled
// as Keras does so that the variance matches the untruncated target.
#include "core/initializer.h"

#include <cmath>

#include "core/errors.h"

namespace ae {

namespace {

// Standard deviation of a unit normal truncated to [-2, 2].
constexpr double kTruncatedStd = 0.87962566103423978;

double truncated_normal(Rng& rng) {
  for (;;) {
    double v = rng.normal();
    if (std::fabs(v) <= 2.0) return v;
  }
}

void fill_uniform(float* w, long n, double limit, Rng& rng) {
  for (long i = 0; i < n; ++i) w[i] = float((2.0 * rng.uniform() - 1.0) * limit);
}

void fill_normal(float* w, long n, double stddev, Rng& rng) {
  for (long i = 0; i < n; ++i) w[i] = float(truncated_normal(rng) * stddev / kTruncatedStd);
}

}  // namespace

Initializer parse_initializer(const std::string& name) {
  if (name == "glorotUniform") return Initializer::GlorotUniform;
  if (name == "glorotNormal") return Initializer::GlorotNormal;
  if (name == "heUniform") return Initializer::HeUniform;
  if (name == "heNormal") return Initializer::HeNormal;
  if (name == "lecunNormal") return Initializer::LecunNormal;
  if (name == "zeros") return Initializer::Zeros;
  throw Error(ErrorKind::Range, "ERR_INVALID_ARG_VALUE",
              "kernelInitializer must be one of glorotUniform, glorotNormal, heUniform, heNormal, lecunNormal, "
              "zeros; received '" + name + "'");
}

const char* initializer_name(Initializer kind) {
  switch (kind) {
    case Initializer::GlorotUniform: return "glorotUniform";
    case Initializer::GlorotNormal: return "glorotNormal";
    case Initializer::HeUniform: return "heUniform";
    case Initializer::HeNormal: return "heNormal";
    case Initializer::LecunNormal: return "lecunNormal";
    case Initializer::Zeros: return "zeros";
  }
  return "zeros";
}

void initialize_weights(Initializer kind, float* w, long fan_in, long fan_out, Rng& rng) {
  const long n = fan_in * fan_out;
  const double in = double(fan_in), out = double(fan_out);
  switch (kind) {
    case Initializer::GlorotUniform: fill_uniform(w, n, std::sqrt(6.0 / (in + out)), rng); break;
    case Initializer::GlorotNormal: fill_normal(w, n, std::sqrt(2.0 / (in + out)), rng); break;
    case Initializer::HeUniform: fill_uniform(w, n, std::sqrt(6.0 / in), rng); break;
    case Initializer::HeNormal: fill_normal(w, n, std::sqrt(2.0 / in), rng); break;
    case Initializer::LecunNormal: fill_normal(w, n, std::sqrt(1.0 / in), rng); break;
    case Initializer::Zeros:
      for (long i = 0; i < n; ++i) w[i] = 0.0f;
      break;
  }
}

}  // namespace ae
