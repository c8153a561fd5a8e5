// Weight initializers (Keras names and formulas) drawing from the model's one generator.
#pragma once
#include <string>

#include "core/rng.h"

namespace ae {

enum class Initializer { GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunNormal, Zeros };

Initializer parse_initializer(const std::string& name);  // throws ERR_INVALID_ARG_VALUE
const char* initializer_name(Initializer kind);

// Fills a weight matrix of fan_out × fan_in values.
void initialize_weights(Initializer kind, float* w, long fan_in, long fan_out, Rng& rng);

}  // namespace ae
