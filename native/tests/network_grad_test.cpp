// Whole-network gradient check: the parameter gradients of forward + loss + backward through
// CpuBackend in float (and with bfloat16 matrix products, where the CPU has them; and through the
// CUDA backend, in float32 and TF32, where there is a GPU), against finite differences of a
// double-precision reference forward.
#include <gtest/gtest.h>

#include "core/network.h"
#include "core/reference.h"
#include "core/trainer.h"
#include "cpu/cpu_backend.h"
#include "cpu/onednn.h"
#include "cuda/cuda_backend.h"
#include "test_util.h"

namespace ae {
namespace {

constexpr long kRows = 8;

NetworkSpec mixed_network() {
  return test::dense_stack({{10, 7, Activation::Tanh}, {7, 5, Activation::Gelu}, {5, 10, Activation::Sigmoid}});
}

// Mean loss of reconstructing x, with every parameter taken from `params` (laid out like
// model.params()) and every step in double.
double reference_loss(const Model& model, const std::vector<double>& params, const std::vector<double>& x,
                      const LossSpec& loss) {
  const NetworkSpec& spec = model.spec();
  std::vector<double> in = x;
  for (int i = 0; i < model.layer_count(); ++i) {
    const LayerSpec& l = spec.layers[size_t(i)];
    auto [z, y] = test::reference_layer(model, params, i, in, kRows);
    if (i == model.layer_count() - 1) {
      const double scale = 1.0 / loss_terms(loss, kRows, l.units, 0);
      std::vector<double> grad(z.size());
      return ref::loss_forward_backward<double>(loss, loss_input(loss.kind, l.activation.kind), 0, z.data(), y.data(),
                                                x.data(), grad.data(), kRows, l.units, scale) *
             scale;
    }
    in = std::move(y);
  }
  return 0.0;
}

// Parameter gradients as fit() computes them: forward, the loss gradient at the output layer's
// pre-activation (fused, or d/dy followed by the activation's backward), then backward.
std::vector<float> production_gradients(Backend& be, Model& model, const std::vector<float>& x, const LossSpec& loss,
                                        Precision precision) {
  const int layers = model.layer_count();
  const LayerSpec& out = model.spec().layers.back();
  be.set_tf32(precision == Precision::Tf32);
  Workspace ws(model.spec(), 0, layers, kRows, true, precision, be.memory());
  const size_t nparams = model.params().size();
  std::vector<uint16_t> weights16(precision == Precision::Bf16 ? nparams : 0);
  if (!weights16.empty()) {
    be.round_bf16(model.params().data(), 1, long(nparams), long(nparams), weights16.data());
    ws.use_rounded_weights(weights16.data(), model.table());
  }
  RowDraws draws(kRows);
  draws.start(model.rng().next_u64(), 0, kRows);
  forward(be, model, ws, 0, layers, x.data(), kRows, true, &draws);
  const LossInput input = loss_input(loss.kind, out.activation.kind);
  const float scale = float(1.0 / loss_terms(loss, kRows, out.units, 0));
  be.loss_forward_backward(loss, input, 0, ws.z(layers - 1), ws.y(layers - 1), x.data(), ws.grad_a(), kRows,
                           out.units, scale);
  if (input == LossInput::Output) {
    const float* z = needs_preactivation(out.activation.kind) ? ws.z(layers - 1) : nullptr;
    be.activation_backward(out.activation, z, ws.y(layers - 1), ws.grad_a(), ws.grad_a(), kRows, out.units);
  }
  Buffer grads(model.params().size(), be.memory());
  backward(be, model, ws, 0, layers, x.data(), kRows, grads.data(), 0.0f, 0.0f);
  be.set_tf32(false);
  return std::vector<float>(grads.data(), grads.data() + grads.size());
}

void check_network_gradient(Backend& be, Loss kind, LossInput expected_input, Precision precision = Precision::Float32,
                            double tolerance = 2e-3) {
  Model model(mixed_network(), 5, be.memory());
  Rng rng(41);
  // Biases start at zero; random ones put every unit at a generic point.
  for (int i = 0; i < model.layer_count(); ++i) {
    const long units = model.spec().layers[size_t(i)].units;
    for (long u = 0; u < units; ++u) model.bias(i)[u] = float(rng.uniform() - 0.5);
  }
  const std::vector<float> x = test::to_float(test::uniform(rng, size_t(kRows * 10), 0.0, 1.0));
  const LossSpec loss = test::loss(kind);
  ASSERT_EQ(loss_input(kind, Activation::Sigmoid), expected_input);

  const std::vector<float> grads = production_gradients(be, model, x, loss, precision);
  const std::vector<double> params(model.params().data(), model.params().data() + model.params().size());
  const std::vector<double> xd = test::to_double(x);
  const auto numeric = test::numeric_gradient(
      [&](const std::vector<double>& p) { return reference_loss(model, p, xd, loss); }, params);
  test::expect_gradients_match(model, grads, numeric, tolerance);
}

TEST(NetworkGrad, MseThroughSigmoidOutputMatchesFiniteDifferences) {
  cpu::CpuBackend be;
  check_network_gradient(be, Loss::Mse, LossInput::Output);
}

TEST(NetworkGrad, FusedBinaryCrossentropyMatchesFiniteDifferences) {
  cpu::CpuBackend be;
  check_network_gradient(be, Loss::BinaryCrossentropy, LossInput::Logits);
}

TEST(NetworkGrad, CudaBackendMatchesFiniteDifferences) {
  if (!cuda::cuda_status().available) GTEST_SKIP() << "skipped: no GPU (" << cuda::cuda_status().reason << ")";
  check_network_gradient(cuda::cuda_backend(), Loss::Mse, LossInput::Output);
  check_network_gradient(cuda::cuda_backend(), Loss::BinaryCrossentropy, LossInput::Logits);
}

// TF32 keeps 10 significant bits: products match to about 1e-3, gradients to about 1e-2.
TEST(NetworkGrad, CudaTf32ProductsMatchFiniteDifferencesWithinTf32Tolerance) {
  if (!cuda::cuda_status().available) GTEST_SKIP() << "skipped: no GPU (" << cuda::cuda_status().reason << ")";
  check_network_gradient(cuda::cuda_backend(), Loss::Mse, LossInput::Output, Precision::Tf32, 1e-2);
}

// bfloat16 keeps 8 significant bits: each product's operands carry relative errors up to 2^-9, so
// the gradients match to about 1e-2.
TEST(NetworkGrad, Bf16ProductsMatchFiniteDifferencesWithinBf16Tolerance) {
  if (!cpu::bf16_support().available) GTEST_SKIP() << "no bf16 here: " << cpu::bf16_support().reason;
  cpu::CpuBackend be;
  check_network_gradient(be, Loss::Mse, LossInput::Output, Precision::Bf16, 1e-2);
  check_network_gradient(be, Loss::BinaryCrossentropy, LossInput::Logits, Precision::Bf16, 1e-2);
}

// oneDNN's AMX kernels load whole cache lines: bf16 operands 16 bytes off a line made 2048³
// products about 20% slower. Odd widths and row counts must not shift any operand off its line,
// nor odd layer sizes a training fit's rounded weights (laid out as the parameters are).
TEST(Workspace, Bf16OperandsStartOnCacheLines) {
  const NetworkSpec spec = test::dense_stack({{13, 7, Activation::Tanh}, {7, 3, Activation::Relu}, {3, 13, Activation::Sigmoid}});
  const Model model(spec, 1);
  AlignedVector<uint16_t> weights16(model.params().size());
  for (const bool training : {false, true}) {
    for (const long capacity : {1L, 5L, 33L}) {
      Workspace ws(spec, 0, 3, capacity, training, Precision::Bf16);
      if (training) ws.use_rounded_weights(weights16.data(), model.table());
      for (int layer = 0; layer < 3; ++layer) {
        if (training) EXPECT_EQ(ws.weight16(layer), weights16.data() + model.table().at(2 * size_t(layer)).offset);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(ws.input16(layer)) % 64, 0u) << "layer " << layer << ", " << capacity;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(ws.weight16(layer)) % 64, 0u) << "layer " << layer << ", " << capacity;
      }
      if (training) EXPECT_EQ(reinterpret_cast<uintptr_t>(ws.grad16()) % 64, 0u) << capacity;
    }
  }
}

}  // namespace
}  // namespace ae

namespace ae {
namespace {

// predict keeps two alternating activation buffers and activates in place (softmax and the
// activations whose backward needs the pre-activation among them), chunk by chunk through a workspace
// smaller than the input: every row must match the double-precision reference forward.
TEST(Inference, AlternatingBuffersMatchTheReferenceForward) {
  const NetworkSpec spec = test::dense_stack({{12, 20, Activation::Gelu},
                                              {20, 9, Activation::Softplus},
                                              {9, 16, Activation::Silu},
                                              {16, 3, Activation::Relu},
                                              {3, 12, Activation::Softmax}});
  Model model(spec, 11);
  const long rows = 2 * 64 + 37;
  Rng rng(12);
  const std::vector<float> x = test::to_float(test::uniform(rng, size_t(rows * 12), -1.0, 1.0));
  cpu::CpuBackend be;
  Workspace ws(spec, 0, model.layer_count(), 64, false);
  EXPECT_EQ(Workspace::inference_floats(spec, 0, model.layer_count(), 64), size_t(2 * 20 * 64));
  std::vector<float> out(size_t(rows * 12));
  predict(be, model, 0, model.layer_count(), x.data(), rows, out.data(), &ws);

  const std::vector<double> params(model.params().data(), model.params().data() + model.params().size());
  std::vector<double> in = test::to_double(x);
  for (int i = 0; i < model.layer_count(); ++i) in = test::reference_layer(model, params, i, in, rows).y;
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], in[i], 1e-5) << "value " << i;
}

}  // namespace
}  // namespace ae
