// The names by which activations and losses are known to users.
#include "core/errors.h"
#include "core/loss.h"

namespace ae {

Activation parse_activation(const std::string& name) {
  static const struct { const char* name; Activation kind; } kTable[] = {
      {"linear", Activation::Linear},   {"relu", Activation::Relu},         {"leakyRelu", Activation::LeakyRelu},
      {"elu", Activation::Elu},         {"selu", Activation::Selu},         {"sigmoid", Activation::Sigmoid},
      {"tanh", Activation::Tanh},       {"softplus", Activation::Softplus}, {"silu", Activation::Silu},
      {"swish", Activation::Silu},      {"gelu", Activation::Gelu},         {"softmax", Activation::Softmax},
  };
  for (const auto& entry : kTable)
    if (name == entry.name) return entry.kind;
  throw Error(ErrorKind::Range, "ERR_INVALID_ARG_VALUE",
              "activation must be one of linear, relu, leakyRelu, elu, selu, sigmoid, tanh, softplus, silu, swish, "
              "gelu, softmax; received '" + name + "'");
}

const char* activation_name(Activation kind) {
  switch (kind) {
    case Activation::Linear: return "linear";
    case Activation::Relu: return "relu";
    case Activation::LeakyRelu: return "leakyRelu";
    case Activation::Elu: return "elu";
    case Activation::Selu: return "selu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Softplus: return "softplus";
    case Activation::Silu: return "silu";
    case Activation::Gelu: return "gelu";
    case Activation::Softmax: return "softmax";
  }
  return "linear";
}

float default_alpha(Activation kind) {
  if (kind == Activation::LeakyRelu) return 0.3f;  // tf.keras's default slope
  if (kind == Activation::Elu) return 1.0f;
  return 0.0f;
}

Loss parse_loss(const std::string& name) {
  if (name == "mse" || name == "meanSquaredError") return Loss::Mse;
  if (name == "mae" || name == "meanAbsoluteError") return Loss::Mae;
  if (name == "huber") return Loss::Huber;
  if (name == "binaryCrossentropy") return Loss::BinaryCrossentropy;
  if (name == "categoricalCrossentropy") return Loss::CategoricalCrossentropy;
  throw Error(ErrorKind::Range, "ERR_INVALID_ARG_VALUE",
              "loss must be one of mse, mae, huber, binaryCrossentropy, categoricalCrossentropy; received '" + name +
                  "'");
}

const char* loss_name(Loss kind) {
  switch (kind) {
    case Loss::Mse: return "mse";
    case Loss::Mae: return "mae";
    case Loss::Huber: return "huber";
    case Loss::BinaryCrossentropy: return "binaryCrossentropy";
    case Loss::CategoricalCrossentropy: return "categoricalCrossentropy";
  }
  return "mse";
}

}  // namespace ae
