// The CUDA backend against the CPU backend, op by op on the same inputs: every result within 1e-4
// relative in float32 (3e-3 with TF32 products), optimizers step by step, and a whole fit. Built
// with AE_CUDA=ON; every test reports "skipped: no GPU" where the process finds none.
#if defined(AE_HAVE_CUDA)
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/trainer.h"
#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "cuda/kernels.h"
#include "test_util.h"

namespace ae {
namespace {

#define REQUIRE_GPU()                                                                                       \
  if (!cuda::cuda_status().available) GTEST_SKIP() << "skipped: no GPU (" << cuda::cuda_status().reason << ")"

constexpr double kFloat32Tolerance = 1e-4;
constexpr double kTf32Tolerance = 3e-3;

// A buffer in the CUDA backend's memory holding `values`.
Buffer on_gpu(const std::vector<float>& values) {
  Buffer b(values.size(), cuda::cuda_backend().memory());
  if (!values.empty()) std::memcpy(b.data(), values.data(), values.size() * sizeof(float));
  return b;
}

std::vector<double> values_of(const Buffer& b) { return {b.data(), b.data() + b.size()}; }
std::vector<double> values_of(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::vector<float> random_floats(uint64_t seed, size_t n, double lo, double hi) {
  Rng rng(seed);
  return test::to_float(test::signed_uniform(rng, n, lo, hi));
}

// Element-wise: |a - b| ≤ tolerance · max(|a|, |b|, 1e-3 · the largest |b|), so that values that cancel
// to near zero are judged against the scale of the result.
void expect_close(const std::vector<double>& gpu, const std::vector<double>& cpu, double tolerance,
                  const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  double scale = 0;
  for (double v : cpu) scale = std::fmax(scale, std::fabs(v));
  const double floor = std::fmax(1e-3 * scale, 1e-12);
  EXPECT_LE(test::max_rel_error(gpu, cpu, floor), tolerance) << what;
}

struct GemmShape {
  long m, n, k;
};

void check_gemm(bool tf32) {
  cpu::CpuBackend cpu_be(1);
  Backend& gpu = cuda::cuda_backend();
  for (const GemmShape s : {GemmShape{1, 1, 1}, GemmShape{37, 53, 29}, GemmShape{256, 64, 784}, GemmShape{512, 256, 2048}}) {
    for (int transposes = 0; transposes < 4; ++transposes) {
      const bool ta = transposes & 1, tb = transposes & 2;
      const long lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 1, ldc = s.n + 2;
      const std::vector<float> a = random_floats(1, size_t((ta ? s.k : s.m) * lda), 0.1, 1.0);
      const std::vector<float> b = random_floats(2, size_t((tb ? s.n : s.k) * ldb), 0.1, 1.0);
      const std::vector<float> c0 = random_floats(3, size_t(s.m * ldc), 0.1, 1.0);
      for (const float beta : {0.0f, 0.5f}) {
        std::vector<float> expected = c0;
        cpu_be.gemm(ta, tb, s.m, s.n, s.k, 1.5f, a.data(), lda, b.data(), ldb, beta, expected.data(), ldc);
        Buffer ga = on_gpu(a), gb = on_gpu(b), gc = on_gpu(c0);
        gpu.set_tf32(tf32);
        gpu.gemm(ta, tb, s.m, s.n, s.k, 1.5f, ga.data(), lda, gb.data(), ldb, beta, gc.data(), ldc);
        gpu.set_tf32(false);
        expect_close(values_of(gc), values_of(expected), tf32 ? kTf32Tolerance : kFloat32Tolerance,
                     "gemm " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) +
                         (ta ? " Aᵀ" : "") + (tb ? " Bᵀ" : "") + " beta " + std::to_string(beta));
        // The operands from host memory (as predict passes a JavaScript array) are staged, not refused.
        Buffer gc_host_operands = on_gpu(c0);
        gpu.gemm(ta, tb, s.m, s.n, s.k, 1.5f, a.data(), lda, b.data(), ldb, beta, gc_host_operands.data(), ldc);
        expect_close(values_of(gc_host_operands), values_of(expected), kFloat32Tolerance, "gemm from host operands");
      }
    }
  }
}

TEST(CudaParity, GemmMatchesCpuInFloat32) {
  REQUIRE_GPU();
  check_gemm(false);
}

TEST(CudaParity, GemmMatchesCpuInTf32) {
  REQUIRE_GPU();
  check_gemm(true);
}

// The library's own kernel, which runs where cuBLAS cannot be loaded, on every transpose and odd shapes.
TEST(CudaParity, TiledGemmMatchesCpu) {
  REQUIRE_GPU();
  cuda::cuda_backend();  // selects the device on this thread
  cpu::CpuBackend cpu_be(1);
  for (const GemmShape s : {GemmShape{1, 1, 1}, GemmShape{33, 65, 31}, GemmShape{128, 96, 300}}) {
    for (int transposes = 0; transposes < 4; ++transposes) {
      const bool ta = transposes & 1, tb = transposes & 2;
      const long lda = ta ? s.m : s.k, ldb = tb ? s.k : s.n, ldc = s.n;
      const std::vector<float> a = random_floats(4, size_t((ta ? s.k : s.m) * lda), 0.1, 1.0);
      const std::vector<float> b = random_floats(5, size_t((tb ? s.n : s.k) * ldb), 0.1, 1.0);
      std::vector<float> expected(size_t(s.m * ldc), std::numeric_limits<float>::quiet_NaN());
      cpu_be.gemm(ta, tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, expected.data(), ldc);
      Buffer ga = on_gpu(a), gb = on_gpu(b), gc = on_gpu(std::vector<float>(expected.size(), NAN));
      cuda::tiled_gemm(nullptr, ta, tb, s.m, s.n, s.k, 1.0f, ga.data(), lda, gb.data(), ldb, 0.0f, gc.data(), ldc);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      expect_close(values_of(gc), values_of(expected), kFloat32Tolerance, "tiled gemm");
    }
  }
}

TEST(CudaParity, ActivationsMatchCpu) {
  REQUIRE_GPU();
  cpu::CpuBackend cpu_be(1);
  Backend& gpu = cuda::cuda_backend();
  const long rows = 33, cols = 24;
  std::vector<test::ActivationCase> cases = test::elementwise_activations();
  cases.push_back({"softmaxGroup4", test::activation(Activation::Softmax, 0.0f, 4)});
  cases.push_back({"softmaxRow", test::activation(Activation::Softmax)});
  for (const test::ActivationCase& c : cases) {
    const std::vector<float> z0 = random_floats(6, size_t(rows * cols), 0.05, 3.0);
    const std::vector<float> bias = random_floats(7, size_t(cols), 0.0, 0.5);
    const std::vector<float> dy = random_floats(8, size_t(rows * cols), 0.1, 1.0);
    std::vector<float> z = z0, y(z.size()), dz(z.size());
    cpu_be.bias_activation_forward(c.spec, bias.data(), z.data(), y.data(), rows, cols);
    cpu_be.activation_backward(c.spec, z.data(), y.data(), dy.data(), dz.data(), rows, cols);
    Buffer gz = on_gpu(z0), gy = on_gpu(std::vector<float>(z.size())), gbias = on_gpu(bias), gdy = on_gpu(dy);
    Buffer gdz = on_gpu(std::vector<float>(z.size()));
    gpu.bias_activation_forward(c.spec, gbias.data(), gz.data(), gy.data(), rows, cols);
    gpu.activation_backward(c.spec, gz.data(), gy.data(), gdy.data(), gdz.data(), rows, cols);
    expect_close(values_of(gz), values_of(z), kFloat32Tolerance, c.name + " pre-activation");
    expect_close(values_of(gy), values_of(y), kFloat32Tolerance, c.name + " forward");
    expect_close(values_of(gdz), values_of(dz), kFloat32Tolerance, c.name + " backward");
  }
}

TEST(CudaParity, LossesMatchCpu) {
  REQUIRE_GPU();
  cpu::CpuBackend cpu_be(1);
  Backend& gpu = cuda::cuda_backend();
  const long rows = 17, cols = 12;
  for (const test::LossCase& c : test::loss_cases()) {
    std::vector<float> z = random_floats(9, size_t(rows * cols), 0.05, 3.0), y(z.size());
    const ActivationSpec act = test::activation(c.output, 0.0f, c.group);
    cpu_be.bias_activation_forward(act, nullptr, z.data(), y.data(), rows, cols);
    Rng target_rng(10);
    const std::vector<float> target = test::to_float(test::uniform(target_rng, z.size(), 0.0, 1.0));
    std::vector<float> grad(z.size());
    const float scale = float(1.0 / loss_terms(c.spec, rows, cols, c.group));
    const double expected = cpu_be.loss_forward_backward(c.spec, c.input, c.group, z.data(), y.data(), target.data(),
                                                         grad.data(), rows, cols, scale);
    Buffer gz = on_gpu(z), gy = on_gpu(y), gt = on_gpu(target), gg = on_gpu(std::vector<float>(z.size()));
    const double got = gpu.loss_forward_backward(c.spec, c.input, c.group, gz.data(), gy.data(), gt.data(), gg.data(),
                                                 rows, cols, scale);
    EXPECT_NEAR(got, expected, kFloat32Tolerance * std::fabs(expected)) << c.name;
    expect_close(values_of(gg), values_of(grad), kFloat32Tolerance, c.name + " gradient");
  }
}

TEST(CudaParity, ReductionsAndVectorOpsMatchCpu) {
  REQUIRE_GPU();
  cpu::CpuBackend cpu_be(1);
  Backend& gpu = cuda::cuda_backend();
  const size_t n = 100003;  // several blocks and a ragged end
  const std::vector<float> x = random_floats(11, n, 0.01, 2.0), m = random_floats(12, n, 0.0, 1.0);
  Buffer gx = on_gpu(x), gm = on_gpu(m);
  // The CPU sums in float lanes: within about 1e-6 of the exact sum that the GPU's doubles give.
  EXPECT_NEAR(gpu.sum_squares(gx.data(), n), cpu_be.sum_squares(x.data(), n), 1e-5 * cpu_be.sum_squares(x.data(), n));

  std::vector<float> y = m;
  cpu_be.axpy(0.3f, x.data(), y.data(), n);
  Buffer gy = on_gpu(m);
  gpu.axpy(0.3f, gx.data(), gy.data(), n);
  expect_close(values_of(gy), values_of(y), kFloat32Tolerance, "axpy");

  cpu_be.multiply(x.data(), m.data(), y.data(), n);
  gpu.multiply(gx.data(), gm.data(), gy.data(), n);
  expect_close(values_of(gy), values_of(y), kFloat32Tolerance, "multiply");

  std::vector<float> dh = m;
  const double l1 = cpu_be.l1_penalty(x.data(), dh.data(), 0.01f, n);
  Buffer gdh = on_gpu(m);
  EXPECT_NEAR(gpu.l1_penalty(gx.data(), gdh.data(), 0.01f, n), l1, 1e-5 * l1);
  expect_close(values_of(gdh), values_of(dh), kFloat32Tolerance, "l1 penalty gradient");

  const long rows = 513, cols = 301;
  const std::vector<float> dz = random_floats(13, size_t(rows * cols), 0.01, 1.0);
  std::vector<float> db(static_cast<size_t>(cols), 0.0f);
  cpu_be.bias_gradient(dz.data(), db.data(), rows, cols);
  Buffer gdz = on_gpu(dz), gdb = on_gpu(std::vector<float>(size_t(cols)));
  gpu.bias_gradient(gdz.data(), gdb.data(), rows, cols);
  expect_close(values_of(gdb), values_of(db), kFloat32Tolerance, "bias gradient");
}

// A NaN or an Inf anywhere makes the sum non-finite, as the non-finite check needs.
TEST(CudaParity, SumOfSquaresKeepsNonFiniteValues) {
  REQUIRE_GPU();
  Backend& gpu = cuda::cuda_backend();
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> x(70000, 1.0f);
    x[65432] = bad;
    Buffer gx = on_gpu(x);
    EXPECT_FALSE(std::isfinite(gpu.sum_squares(gx.data(), x.size())));
  }
}

TEST(CudaParity, OptimizersMatchCpuStepByStep) {
  REQUIRE_GPU();
  cpu::CpuBackend cpu_be(1);
  Backend& gpu = cuda::cuda_backend();
  const size_t n = 4099;
  for (const test::OptimizerCase& c : test::optimizer_cases()) {
    std::vector<float> w = random_floats(14, n, 0.1, 1.0), s1(n, 0.0f), s2(n, 0.0f);
    if (c.config.kind == OptimizerKind::Adagrad) std::fill(s1.begin(), s1.end(), c.config.initial_accumulator);
    Buffer gw = on_gpu(w), gs1 = on_gpu(s1), gs2 = on_gpu(s2);
    for (int step = 1; step <= 5; ++step) {
      const std::vector<float> grad = random_floats(uint64_t(100 + step), n, 0.01, 1.0);
      Buffer gg = on_gpu(grad);
      const UpdateStep update = make_update_step(c.config, c.config.learning_rate, step, 2.0);
      const double cpu_squares =
          cpu_be.optimizer_step(update, {w.data(), grad.data(), s1.data(), s2.data(), nullptr, nullptr}, n);
      const double gpu_squares =
          gpu.optimizer_step(update, {gw.data(), gg.data(), gs1.data(), gs2.data(), nullptr, nullptr}, n);
      EXPECT_NEAR(gpu_squares, cpu_squares, 1e-5 * cpu_squares) << c.name << " sum of squares, step " << step;
      expect_close(values_of(gw), values_of(w), kFloat32Tolerance, c.name + " weights, step " + std::to_string(step));
      expect_close(values_of(gs1), values_of(s1), kFloat32Tolerance, c.name + " first slot");
      expect_close(values_of(gs2), values_of(s2), kFloat32Tolerance, c.name + " second slot");
    }
  }
}

// A whole fit with dropout, input noise and a variational latent layer: the host-side draws and the
// device-side steps meet in managed memory, and every epoch's loss matches the CPU's.
TEST(CudaTraining, FitMatchesCpu) {
  REQUIRE_GPU();
  NetworkSpec spec = test::dense_stack({{24, 16, Activation::Relu}, {16, 8, Activation::Linear},
                                        {4, 16, Activation::Relu}, {16, 24, Activation::Sigmoid}});
  spec.layers[0].dropout = 0.1f;
  spec.latent_layer = 1;
  spec.variational = true;
  Rng rng(15);
  const std::vector<float> x = test::to_float(test::uniform(rng, 24 * 200, 0.0, 1.0));
  FitConfig config;
  config.epochs = 3;
  config.batch_size = 32;
  config.loss = test::loss(Loss::BinaryCrossentropy);
  config.noise = NoiseKind::Gaussian;
  config.noise_level = 0.05f;
  config.optimizer.kind = OptimizerKind::Adam;
  config.optimizer.learning_rate = 1e-2f;
  std::vector<double> losses[2], weights[2];
  cpu::CpuBackend cpu_be(1);
  Backend* backends[2] = {&cpu_be, &cuda::cuda_backend()};
  for (int i = 0; i < 2; ++i) {
    Model model(spec, 7, backends[i]->memory());
    FitObserver quiet;
    const FitResult result = fit(*backends[i], model, DataView{x.data(), 200, 24}, nullptr, config, quiet);
    for (const EpochStats& e : result.epochs) losses[i].push_back(e.loss);
    weights[i] = values_of(model.params());
  }
  expect_close(losses[1], losses[0], kFloat32Tolerance, "epoch losses");
  expect_close(weights[1], weights[0], 1e-3, "weights after 3 epochs");
}

// Predictions from host memory, in chunks, into host memory: the path of predict() from JavaScript.
TEST(CudaTraining, PredictMatchesCpu) {
  REQUIRE_GPU();
  const NetworkSpec spec = test::dense_stack({{40, 20, Activation::Tanh}, {20, 40, Activation::Sigmoid}});
  Model on_cpu(spec, 3);
  Model on_gpu_model(spec, 3, cuda::cuda_backend().memory());
  Rng rng(16);
  const long rows = 2500;  // more than one inference chunk
  const std::vector<float> x = test::to_float(test::uniform(rng, size_t(rows * 40), 0.0, 1.0));
  std::vector<float> expected(x.size()), got(x.size());
  cpu::CpuBackend cpu_be(1);
  predict(cpu_be, on_cpu, 0, 2, x.data(), rows, expected.data());
  predict(cuda::cuda_backend(), on_gpu_model, 0, 2, x.data(), rows, got.data());
  expect_close(values_of(got), values_of(expected), kFloat32Tolerance, "predict");
}

}  // namespace
}  // namespace ae
#endif
