// The training loop: whole epochs in native code with every buffer allocated once per fit, plus
// evaluation and inference over large inputs in fixed-size chunks.
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/collective.h"
#include "core/network.h"

namespace ae {

enum class NoiseKind { None, Gaussian, Masking };

// Everything a fit needs to continue exactly where it stopped: with the weights, a resumed fit
// reproduces the uninterrupted run bit for bit.
struct TrainingState {
  int epoch = 0;      // epochs completed
  int64_t step = 0;   // optimizer steps taken
  std::array<uint64_t, 4> rng{};
  double best_monitor = std::numeric_limits<double>::infinity();
  int wait = 0;
  int best_epoch = -1;
  Buffer s1, s2;  // the optimizer's state slots, laid out like the parameters
  // Resuming only: the weights to resume from, laid out like the parameters (empty: the model's own).
  // The fit writes them once it has checked its settings, so a fit refused leaves the model as it was.
  Buffer params;
};

struct FitConfig {
  int epochs = 1;
  long batch_size = 32;
  bool shuffle = true;
  bool reseed = false;  // reseed the model's generator with `seed` before the fit
  uint64_t seed = 0;
  LossSpec loss;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  float l2 = 0.0f;         // L2 penalty on weights: l2 · Σ W²
  float latent_l1 = 0.0f;  // L1 activity penalty on the latent layer: latent_l1 · Σ|h| / rows
  NoiseKind noise = NoiseKind::None;
  float noise_level = 0.0f;  // Gaussian standard deviation, or the masking rate
  int patience = -1;         // early stopping when >= 0
  float min_delta = 0.0f;
  bool restore_best = false;
  bool skip_non_finite = false;  // skip batches with a non-finite loss or gradient instead of stopping
  int checkpoint_every = 0;      // call FitObserver::on_checkpoint every this many epochs (0: never)
  float beta = 1.0f;             // variational models: weight of the KL term
  int kl_warmup_epochs = 0;      // variational models: β rises linearly over these first epochs
  // The epoch the warm-up takes this fit's epochs for, where a fit trains one part of an epoch (a
  // chunk of fitStream's pass): -1 counts them as they are.
  int warmup_epoch = -1;
  const TrainingState* resume = nullptr;  // continue from this state; epochs counts from the start
  // Data-parallel training: every rank holds the same rows and trains on its share of each batch
  // (batch_size is the global batch); gradients are averaged, so every rank takes the same step.
  Collective* collective = nullptr;
  // Set by fits that split batches across threads (rank 0 evaluates the whole validation set on this
  // backend and shares the result) and by fits on a one-thread twin, so that valLoss is what
  // evaluate() gives for the same weights.
  Backend* validation_backend = nullptr;
  Precision precision = Precision::Float32;  // of the forward and backward matrix products
};

struct DataView {
  const float* x = nullptr;
  long rows = 0;
  long cols = 0;
};

struct EpochStats {
  int epoch = 0;
  double loss = 0;      // mean objective over the epoch's batches: reconstruction + β · KL / terms per row
  double reconstruction = 0;  // its reconstruction part
  double kl = 0;        // variational models: mean KL divergence per row, summed over latent units
  double beta = 0;      // variational models: the β of this epoch (after warm-up)
  double penalty = 0;   // mean regularization penalty (L2 and latent L1)
  double val_loss = 0;  // NaN without validation data (and NaN when the validation loss is)
  bool has_validation = false;
  double learning_rate = 0;
  double samples_per_second = 0;
  double seconds = 0;
  long skipped_batches = 0;
  double communication_seconds = 0;  // distributed fits: time in gradient and statistics reductions
};

class FitObserver {
 public:
  virtual ~FitObserver() = default;
  virtual void on_batch(int /*epoch*/, long /*batch*/, long /*batches*/, double /*loss*/) {}
  virtual void on_epoch(const EpochStats& /*stats*/) {}
  virtual bool should_stop() { return false; }
  // At an epoch boundary every checkpoint_every epochs; copy what is needed before returning.
  virtual void on_checkpoint(const Model& /*model*/, const TrainingState& /*state*/) {}
};

enum class StopReason { Completed, EarlyStopping, Cancelled };

struct FitResult {
  std::vector<EpochStats> epochs;
  StopReason reason = StopReason::Completed;
  int best_epoch = -1;
  int64_t steps = 0;
  bool restored_best = false;
};

void validate_fit(const Model& model, const FitConfig& config, const DataView& train, const DataView* val);
FitResult fit(Backend& be, Model& model, const DataView& train, const DataView* val, const FitConfig& config,
              FitObserver& observer);

// Mean loss of the whole network's reconstruction of x (target = x); a variational model
// reconstructs from the mean. The KL term is not included.
double evaluate(Backend& be, const Model& model, const DataView& x, const LossSpec& loss);

struct Evaluation {
  double reconstruction = 0;  // mean loss per row
  double kl = 0;              // mean KL per row (variational models)
};
Evaluation evaluate_terms(Backend& be, const Model& model, const DataView& x, const LossSpec& loss);

// Output of layers [first, last) for each row of x, written to out (rows × units of last-1). A
// caller that predicts often passes a workspace for those layers to reuse (any capacity).
// Inference runs in chunks of this many rows, so its workspace stays small whatever the input.
constexpr long kInferenceChunk = 1024;

// With Precision::Bf16 the matrix products round their operands to bfloat16 (float32 sums); a
// reused workspace of another precision is left alone. Throws ERR_BF16_UNAVAILABLE where the
// backend has no bf16 products.
void predict(Backend& be, const Model& model, int first, int last, const float* x, long rows, float* out,
             Workspace* reuse = nullptr, Precision precision = Precision::Float32);

enum class RowMetric { Mse, Mae, BinaryCrossentropy };
RowMetric parse_row_metric(const std::string& name);
// One reconstruction error per row of x.
void reconstruction_error(Backend& be, const Model& model, const float* x, long rows, RowMetric metric, float* out,
                          Precision precision = Precision::Float32);

}  // namespace ae
