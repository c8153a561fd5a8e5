// Native benchmark: trains the three reference workloads and prints samples per second and
// achieved GFLOP/s beside the GFLOP/s of the same step's matrix products run bare through the
// same GEMM, measured in the same run.
//   ae_bench [--threads N[,N...]] [--epochs N] [--workloads W1,W2,W3]
//   ae_bench --bf16-gemm N [--threads ...]    bfloat16 product rates on N × N × N instead
//   ae_bench --precision bf16 ...             train with bfloat16 products (the GEMM column stays float32)
//   ae_bench --backend cuda [--precision tf32] [--rows-factor F] ...
//                                             train on the GPU (F times the rows, for steadier epochs)
//   ae_bench --sgemm N [--backend cuda]       the backend's bare float32 GEMM rate on N × N × N
//   ae_bench --products ROWS [--workloads ...]
//                                             each step product of the workloads on ROWS rows, one
//                                             thread: OpenBLAS (or the built-in GEMM) against oneDNN
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/aligned_vector.h"
#include "core/split_fit.h"
#include "core/trainer.h"
#include "cpu/bf16.h"
#include "cpu/cpu_backend.h"
#include "cpu/onednn.h"
#include "cuda/cuda_backend.h"

namespace {

using namespace ae;
using Clock = std::chrono::steady_clock;

struct Workload {
  std::string name;
  std::vector<long> widths;
  std::vector<Activation> activations;  // one per layer
  Loss loss;
  OptimizerKind optimizer;
  float learning_rate;
  long batch;
  long rows;
};

std::vector<Workload> workloads() {
  using A = Activation;
  return {
      {"W1", {100, 32, 32, 32, 100}, {A::Relu, A::Relu, A::Relu, A::Sigmoid}, Loss::Mse, OptimizerKind::Sgd, 0.05f, 64,
       65536},
      {"W2", {784, 512, 256, 64, 256, 512, 784}, {A::Relu, A::Relu, A::Linear, A::Relu, A::Relu, A::Sigmoid},
       Loss::BinaryCrossentropy, OptimizerKind::Adam, 1e-3f, 256, 8192},
      {"W3", {4096, 2048, 256, 2048, 4096}, {A::Relu, A::Linear, A::Relu, A::Sigmoid}, Loss::Mse, OptimizerKind::Adam,
       1e-3f, 512, 2048},
  };
}

double flops_per_sample(const Workload& w) {
  double sum = 0;
  for (size_t i = 0; i + 1 < w.widths.size(); ++i) sum += double(w.widths[i]) * double(w.widths[i + 1]);
  return 2.0 * (3.0 * sum - double(w.widths[0]) * double(w.widths[1]));
}

NetworkSpec make_spec(const Workload& w) {
  NetworkSpec spec;
  for (size_t i = 0; i + 1 < w.widths.size(); ++i) {
    LayerSpec l;
    l.name = "layer." + std::to_string(i);
    l.inputs = w.widths[i];
    l.units = w.widths[i + 1];
    l.activation.kind = w.activations[i];
    spec.layers.push_back(l);
  }
  spec.latent_layer = int(spec.layers.size() / 2) - 1;
  return spec;
}

// Learnable data in [0, 1]: x = sigmoid(z · M) with z of width 8.
std::vector<float> make_data(long rows, long cols, uint64_t seed) {
  Rng rng(seed);
  const long latent = 8;
  std::vector<float> m(size_t(latent * cols)), x(size_t(rows * cols));
  for (auto& v : m) v = float(rng.normal());
  std::vector<float> z(latent);
  for (long r = 0; r < rows; ++r) {
    for (auto& v : z) v = float(rng.normal());
    for (long c = 0; c < cols; ++c) {
      double s = 0;
      for (long k = 0; k < latent; ++k) s += z[k] * m[size_t(k * cols + c)];
      x[size_t(r * cols + c)] = float(1.0 / (1.0 + std::exp(-s)));
    }
  }
  return x;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A buffer where the backend computes, filled with `value`.
Buffer filled(Backend& be, size_t n, float value) {
  Buffer b(n, be.memory());
  std::fill(b.data(), b.data() + n, value);
  return b;
}

// GFLOP/s of the step's GEMMs alone (forward, weight gradient, input gradient), same shapes, run as
// the fit runs them: each product cut across the backend's threads, or, where the fit splits its
// batches between threads (core/split_fit.h), each thread running the products of its rows alone
// on a one-thread twin, as a fit on one thread does.
double gemm_rate(Backend& be, const Workload& w, int ranks) {
  const long rows = w.batch / ranks;
  const long widest = *std::max_element(w.widths.begin(), w.widths.end());
  struct Rank {
    std::unique_ptr<Backend> twin;
    Backend* be;
    Buffer x, y, wt, dw;
  };
  std::vector<Rank> team;
  for (int r = 0; r < ranks; ++r) {
    Rank rank;
    if (ranks > 1 || fits_on_twin(be)) rank.twin = be.single_thread_twin();
    rank.be = rank.twin ? rank.twin.get() : &be;
    rank.x = filled(*rank.be, size_t(rows * widest), 0.5f);
    rank.y = filled(*rank.be, size_t(rows * widest), 0.0f);
    rank.wt = filled(*rank.be, size_t(widest * widest), 0.01f);
    rank.dw = filled(*rank.be, size_t(widest * widest), 0.0f);
    team.push_back(std::move(rank));
  }
  auto step = [&](Rank& k) {
    for (size_t i = 0; i + 1 < w.widths.size(); ++i) {
      const long in = w.widths[i], out = w.widths[i + 1];
      k.be->gemm(false, true, rows, out, in, 1.0f, k.x.data(), in, k.wt.data(), in, 0.0f, k.y.data(), out);
      k.be->gemm(true, false, out, in, rows, 1.0f, k.y.data(), out, k.x.data(), in, 0.0f, k.dw.data(), in);
      if (i > 0) k.be->gemm(false, false, rows, in, out, 1.0f, k.y.data(), out, k.wt.data(), in, 0.0f, k.x.data(), in);
    }
  };
  // Every rank takes `iters` steps at once; the calling thread is rank 0.
  auto steps = [&](int iters) {
    std::vector<std::thread> others;
    for (int r = 1; r < ranks; ++r)
      others.emplace_back([&, r] {
        for (int i = 0; i < iters; ++i) step(team[size_t(r)]);
      });
    for (int i = 0; i < iters; ++i) step(team[0]);
    for (std::thread& t : others) t.join();
  };
  const double flops_per_step = flops_per_sample(w) * double(w.batch);
  steps(1);
  std::vector<double> rates;
  for (int rep = 0; rep < 5; ++rep) {
    // Several steps a round where threads are started for it, so that starting them does not count.
    const int iters = std::max(ranks > 1 ? 4 : 1, int(2e9 / flops_per_step / 5));
    auto t0 = Clock::now();
    steps(iters);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    rates.push_back(flops_per_step * iters / s / 1e9);
  }
  return median(rates);
}

struct Row {
  std::string name;
  int threads;
  double samples_per_second, gflops, gemm_gflops, final_loss;
};

// The bare float32 GEMM rate on n × n × n, best of 5.
double sgemm_rate(Backend& be, long n) {
  auto scope = be.enter_compute();
  Buffer a = filled(be, size_t(n * n), 0.5f), b = filled(be, size_t(n * n), 0.25f), c = filled(be, size_t(n * n), 0.0f);
  be.gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = Clock::now();
    be.gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    best = std::max(best, 2.0 * double(n) * double(n) * double(n) /
                              std::chrono::duration<double>(Clock::now() - t0).count() / 1e9);
  }
  return best;
}

Row run(Backend& be, const Workload& w, int threads, int epochs, Precision precision, long rows) {
  be.set_threads(threads);
  Model model(make_spec(w), 1, be.memory());
  std::vector<float> data = make_data(rows, w.widths[0], 7);
  DataView train{data.data(), rows, w.widths[0]};
  FitConfig config;
  config.epochs = 1;
  config.batch_size = w.batch;
  config.loss.kind = w.loss;
  config.optimizer.kind = w.optimizer;
  config.optimizer.learning_rate = w.learning_rate;
  config.precision = precision;
  FitObserver quiet;
  fit(be, model, train, nullptr, config, quiet);  // warm-up
  config.epochs = epochs;
  FitResult result = fit(be, model, train, nullptr, config, quiet);
  std::vector<double> rates;
  for (const auto& e : result.epochs) rates.push_back(e.samples_per_second);
  config.precision = Precision::Float32;
  Row row{w.name, threads, median(rates), 0, gemm_rate(be, w, split_ranks(be, model, config, train)),
          result.epochs.back().loss};
  row.gflops = row.samples_per_second * flops_per_sample(w) / 1e9;
  return row;
}

// The bfloat16 product rate on n × n × n: oneDNN's matmul on operands already rounded, and the
// backend's gemm_bf16, which rounds its float32 operands first.
void bf16_gemm_rates(long n, int threads) {
  const cpu::Bf16Support& support = cpu::bf16_support();
  if (!support.available) {
    std::printf("bf16 products: unavailable (%s)\n", support.reason.c_str());
    return;
  }
  cpu::CpuBackend be(threads);
  auto scope = be.enter_compute();
  AlignedVector<float> a(size_t(n * n), 0.5f), b(size_t(n * n), 0.25f), c(size_t(n * n));
  AlignedVector<uint16_t> a16(a.size(), cpu::to_bf16(0.5f)), b16(b.size(), cpu::to_bf16(0.25f));
  auto best_rate = [&](auto&& product) {
    product();
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      auto t0 = Clock::now();
      product();
      best = std::max(best, 2.0 * double(n) * double(n) * double(n) /
                                std::chrono::duration<double>(Clock::now() - t0).count() / 1e9);
    }
    return best;
  };
  const double alone = best_rate([&] { cpu::bf16_matmul(false, false, n, n, n, a16.data(), n, b16.data(), n, c.data(), n, threads); });
  const double rounding = best_rate([&] {
    be.round_bf16(a.data(), n, n, n, a16.data());
    be.round_bf16(b.data(), n, n, n, b16.data());
    be.gemm_bf16(false, false, n, n, n, a16.data(), n, b16.data(), n, c.data(), n);
  });
  std::printf("bf16 products %ld^3, %d threads: %.1f GFLOP/s (%s alone), %.1f GFLOP/s rounding from float32\n", n,
              threads, alone, support.kernels.c_str(), rounding);
}

// "n/a" where nothing was timed.
std::string gflops_text(double flops, double seconds) {
  if (seconds <= 0) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", flops / seconds / 1e9);
  return text;
}

// The rate of each of a workload's step products on `rows` rows, on one thread: through the CPU
// GEMM that a fit would use without oneDNN, and through oneDNN's float32 matmul (see
// CpuBackend::gemm for which products take it).
void product_rates(const Workload& w, long rows) {
  const cpu::KernelTable& kernels = cpu::best_kernels();
  const bool onednn = cpu::f32_matmul_available();
  std::printf("| %s product (rows %ld) | m | n | k | %s GFLOP/s | oneDNN GFLOP/s |\n", w.name.c_str(), rows,
              cpu::have_openblas() ? "OpenBLAS" : "built-in");
  std::printf("|---|---|---|---|---|---|\n");
  double blas_seconds = 0, onednn_seconds = 0, total_flops = 0;
  bool all_on_onednn = onednn;
  for (size_t i = 0; i + 1 < w.widths.size(); ++i) {
    const long in = w.widths[i], out = w.widths[i + 1];
    struct Product {
      const char* what;
      bool trans_a, trans_b;
      long m, n, k;
    };
    std::vector<Product> products = {{"forward", false, true, rows, out, in}, {"weight gradient", true, false, out, in, rows}};
    if (i > 0) products.push_back({"input gradient", false, false, rows, in, out});
    for (const Product& p : products) {
      AlignedVector<float> a(size_t(p.m * p.k), 0.5f), b(size_t(p.k * p.n), 0.25f), c(size_t(p.m * p.n));
      const long lda = p.trans_a ? p.m : p.k, ldb = p.trans_b ? p.k : p.n;
      const double flops = 2.0 * double(p.m) * double(p.n) * double(p.k);
      auto best_seconds = [&](auto&& product) {
        product();
        const int reps = std::max(3, int(1e9 / flops));
        double best = 1e30;
        for (int round = 0; round < 3; ++round) {
          auto t0 = Clock::now();
          for (int r = 0; r < reps; ++r) product();
          best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count() / reps);
        }
        return best;
      };
      const double on_blas = best_seconds([&] {
        cpu::gemm(kernels, nullptr, p.trans_a, p.trans_b, p.m, p.n, p.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
                  c.data(), p.n);
      });
      // A product oneDNN could not take (its primitive failed to be made) reads "n/a".
      const auto on_onednn_once = [&] {
        return cpu::try_f32_matmul(p.trans_a, p.trans_b, p.m, p.n, p.k, a.data(), lda, b.data(), ldb, c.data(), p.n);
      };
      const double on_onednn = onednn && on_onednn_once() ? best_seconds(on_onednn_once) : 0;
      all_on_onednn = all_on_onednn && on_onednn > 0;
      blas_seconds += on_blas;
      onednn_seconds += on_onednn;
      total_flops += flops;
      std::printf("| layer %zu %s | %ld | %ld | %ld | %s | %s |\n", i + 1, p.what, p.m, p.n, p.k,
                  gflops_text(flops, on_blas).c_str(), gflops_text(flops, on_onednn).c_str());
    }
  }
  std::printf("| all | | | | %s | %s |\n", gflops_text(total_flops, blas_seconds).c_str(),
              gflops_text(total_flops, all_on_onednn ? onednn_seconds : 0).c_str());
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts = {1, 2};
  int epochs = 3;
  std::vector<std::string> names = {"W1", "W2", "W3"};
  long bf16_n = 0, sgemm_n = 0, rows_factor = 1, product_rows = 0;
  bool on_gpu = false;
  Precision precision = Precision::Float32;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--threads") {
      thread_counts.clear();
      for (auto& t : split_list(value)) thread_counts.push_back(std::atoi(t.c_str()));
    } else if (flag == "--epochs") {
      epochs = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--workloads") {
      names = split_list(value);
    } else if (flag == "--precision") {
      precision = value == "bf16" ? Precision::Bf16 : value == "tf32" ? Precision::Tf32 : Precision::Float32;
    } else if (flag == "--bf16-gemm") {
      bf16_n = std::atol(value.c_str());
    } else if (flag == "--sgemm") {
      sgemm_n = std::atol(value.c_str());
    } else if (flag == "--products") {
      product_rows = std::max(1L, std::atol(value.c_str()));
    } else if (flag == "--rows-factor") {
      rows_factor = std::max(1L, std::atol(value.c_str()));
    } else if (flag == "--backend") {
      on_gpu = value == "cuda";
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 64;
    }
  }
  if (bf16_n > 0) {
    for (int t : thread_counts) bf16_gemm_rates(bf16_n, t);
    return 0;
  }
  if (product_rows > 0) {
    cpu::keep_blas_on_calling_thread();
    cpu::DenormalFlush flush;
    for (const Workload& w : workloads())
      if (std::find(names.begin(), names.end(), w.name) != names.end()) product_rates(w, product_rows);
    return 0;
  }
  cpu::CpuBackend cpu_backend(thread_counts.front());
  Backend* backend = &cpu_backend;
  if (on_gpu) {
    if (!cuda::cuda_status().available) {
      std::printf("cuda: unavailable (%s)\n", cuda::cuda_status().reason.c_str());
      return 69;
    }
    backend = &cuda::cuda_backend();
    thread_counts = {1};
  }
  BackendInfo info = backend->info();
  if (sgemm_n > 0) {
    for (int t : thread_counts) {
      backend->set_threads(t);
      std::printf("sgemm %ld^3 on %s%s, %d threads: %.1f GFLOP/s\n", sgemm_n, info.backend.c_str(),
                  (info.device.empty() ? "" : " " + info.device).c_str(), t, sgemm_rate(*backend, sgemm_n));
    }
    return 0;
  }
  std::printf("backend: %s%s, GEMM %s %s(%s), SIMD %s; medians of %d epochs after a warm-up\n", info.backend.c_str(),
              (info.device.empty() ? "" : " " + info.device).c_str(), info.blas.c_str(), info.blas_kernels.c_str(),
              info.gemm_reason.c_str(), info.simd.c_str(), epochs);
  std::printf("| workload | threads | samples/s | GFLOP/s | step GEMMs alone GFLOP/s | share | loss |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Workload& w : workloads()) {
    if (std::find(names.begin(), names.end(), w.name) == names.end()) continue;
    for (int t : thread_counts) {
      Row r = run(*backend, w, t, epochs, precision, w.rows * rows_factor);
      std::printf("| %s | %d | %.0f | %.1f | %.1f | %.0f%% | %.5f |\n", r.name.c_str(), r.threads, r.samples_per_second,
                  r.gflops, r.gemm_gflops, 100.0 * r.gflops / r.gemm_gflops, r.final_loss);
      std::fflush(stdout);
    }
  }
  return 0;
}
