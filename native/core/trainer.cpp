// The training loop, evaluation and chunked inference.
#include "core/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

#include "core/errors.h"
#include "core/split_fit.h"
#include "core/variational.h"

namespace ae {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int output_group(const Model& model) {
  const LayerSpec& out = model.spec().layers.back();
  return out.activation.kind == Activation::Softmax ? out.activation.group : 0;
}

// Fresh optimizer slots, initialised as each update rule expects.
void init_optimizer_slots(TrainingState& state, const OptimizerConfig& config, size_t n, MemoryResource* memory) {
  const int slots = optimizer_state_slots(config);
  state.s1 = Buffer(slots >= 1 ? n : 0, memory);
  state.s2 = Buffer(slots >= 2 ? n : 0, memory);
  if (config.kind == OptimizerKind::Adagrad) std::fill(state.s1.data(), state.s1.data() + n, config.initial_accumulator);
}

void copy_slots(TrainingState& to, const TrainingState& from) {
  if (to.s1.size() != from.s1.size() || to.s2.size() != from.s2.size())
    throw_range("the checkpoint's optimizer state does not match this optimizer");
  if (to.s1.size()) to.s1.copy_from(from.s1);
  if (to.s2.size()) to.s2.copy_from(from.s2);
}

void corrupt_input(NoiseKind noise, float level, float* x, long rows, long cols, RowDraws& draws) {
  for (long r = 0; r < rows; ++r) {
    Rng& rng = draws.row(r);
    float* row = x + r * cols;
    if (noise == NoiseKind::Gaussian) {
      for (long c = 0; c < cols; ++c) row[c] += float(rng.normal() * level);
    } else if (noise == NoiseKind::Masking) {
      for (long c = 0; c < cols; ++c)
        if (rng.uniform() < level) row[c] = 0.0f;
    }
  }
}

// Loss of one forward pass over `rows` rows whose target is `target`; writes the gradient at the
// output layer's pre-activation into ws.grad_a() when `grad` is true.
double output_loss(Backend& be, const Model& model, Workspace& ws, const LossSpec& loss, const float* target,
                   long rows, float* grad) {
  const int last = model.layer_count() - 1;
  const LayerSpec& out = model.spec().layers[last];
  const int group = output_group(model);
  const LossInput input = loss_input(loss.kind, out.activation.kind);
  const float scale = float(1.0 / loss_terms(loss, rows, out.units, group));
  double sum = be.loss_forward_backward(loss, input, group, ws.z(last), ws.y(last), target, grad, rows, out.units,
                                        scale);
  if (input == LossInput::Output) {
    const float* z = needs_preactivation(out.activation.kind) ? ws.z(last) : nullptr;
    be.activation_backward(out.activation, z, ws.y(last), grad, grad, rows, out.units);
  }
  return sum * scale;
}

double weight_penalty(const Model& model, Backend& be, float l2) {
  if (l2 <= 0.0f) return 0.0;
  double sum = 0;
  for (int i = 0; i < model.layer_count(); ++i) {
    const LayerSpec& l = model.spec().layers[i];
    sum += be.sum_squares(model.weight(i), size_t(l.units) * size_t(l.inputs));
  }
  return l2 * sum;
}

// The part of a block of rows that one rank takes: the ranks split every block evenly, in rank
// order, so together they cover it exactly once.
struct Share {
  long first, rows;
};
Share share_of(long first, long rows, int rank, int ranks) {
  const long lo = rows * rank / ranks, hi = rows * (rank + 1) / ranks;
  return {first + lo, hi - lo};
}

// A checkpoint's weights and generator become the model's, once nothing can refuse the fit: a fit
// refused leaves the model as it was. Where ranks may share one copy of the weights, one writes them.
void start_from(Model& model, const TrainingState& resume, bool writes_weights) {
  if (writes_weights && resume.params.size() != 0) model.params().copy_from(resume.params);
  model.rng().set_state(resume.rng);
}

// Every rank must train the same network on the same rows with the same settings, or one would
// wait forever for the others: all ranks compare with rank 0 and refuse together. Rank 0's
// weights (a checkpoint's, when resuming), generator and optimizer state then become everyone's.
void agree_across_ranks(Collective& comm, Model& model, const DataView& train, const DataView* val,
                        const FitConfig& c, TrainingState& state) {
  const char* names[] = {"rows", "columns", "validation rows", "batch size", "epochs", "parameters", "start epoch",
                         "start step"};
  double mine[8] = {double(train.rows), double(train.cols), double(val ? val->rows : 0), double(c.batch_size),
                    double(c.epochs), double(model.params().size()), double(state.epoch), double(state.step)};
  double root[8];
  std::copy(std::begin(mine), std::end(mine), std::begin(root));
  comm.broadcast(root, sizeof root);
  std::string difference;
  for (int i = 0; i < 8; ++i)
    if (mine[i] != root[i])
      difference += (difference.empty() ? "" : ", ") + std::string(names[i]) + " " + std::to_string(int64_t(mine[i])) +
                    " where rank 0 has " + std::to_string(int64_t(root[i]));
  double mismatched = difference.empty() ? 0.0 : 1.0;
  comm.allreduce_sum(&mismatched, 1);
  if (mismatched > 0)
    throw Error(ErrorKind::Range, "ERR_DISTRIBUTED_MISMATCH",
                difference.empty() ? std::to_string(int(mismatched)) + " rank(s) differ from rank 0 in their data or settings"
                                   : "rank " + std::to_string(comm.rank()) + " differs from rank 0: " + difference);
  if (c.resume) start_from(model, *c.resume, comm.rank() == 0);
  comm.broadcast(model.params().data(), model.params().size() * sizeof(float));
  std::array<uint64_t, 4> generator = model.rng().state();
  comm.broadcast(generator.data(), sizeof generator);
  model.rng().set_state(generator);
  if (state.s1.size()) comm.broadcast(state.s1.data(), state.s1.size() * sizeof(float));
  if (state.s2.size()) comm.broadcast(state.s2.data(), state.s2.size() * sizeof(float));
}

// What each rank adds to the gradient reduction after its gradients: its weighted share of the
// batch's loss terms, and whether it wants to stop, so every rank decides alike.
enum ReducedExtra { kLoss, kKl, kPenalty, kStop, kReducedExtras };

// `restored_to`: the epoch whose starting weights the model went back to, or -1 where it kept the
// weights of the last finite step.
[[noreturn]] void throw_non_finite(int epoch, long batch, const char* what, int restored_to) {
  throw Error(ErrorKind::NonFinite, "ERR_NON_FINITE",
              std::string("non-finite ") + what + " at epoch " + std::to_string(epoch) + ", batch " +
                  std::to_string(batch) +
                  (restored_to >= 0 ? "; weights restored to the start of epoch " + std::to_string(restored_to)
                                    : std::string("; weights kept at the last finite step")));
}

void require_precision(Backend& be, Precision precision) {
  if (precision != Precision::Bf16) return;
  const BackendInfo info = be.info();
  if (info.bf16_kernels.empty())
    throw Error(ErrorKind::State, "ERR_BF16_UNAVAILABLE", "precision 'bf16' is unavailable: " + info.bf16_reason);
}

// The bf16 copy of the parameters outside this rank's slice, from their float32 values just gathered.
void round_others_slices(Backend& be, const float* params, Collective::Slice own, size_t nparams, uint16_t* rounded) {
  be.round_bf16(params, 1, long(own.begin), long(own.begin), rounded);
  be.round_bf16(params + own.end, 1, long(nparams - own.end), long(nparams - own.end), rounded + own.end);
}

}  // namespace

void validate_fit(const Model& model, const FitConfig& c, const DataView& train, const DataView* val) {
  const NetworkSpec& spec = model.spec();
  const long width = spec.layers.front().inputs;
  if (spec.layers.back().units != width)
    throw_range("the network's output width " + std::to_string(spec.layers.back().units) +
                " differs from its input width " + std::to_string(width));
  if (train.cols != width) throw_range("x has " + std::to_string(train.cols) + " columns; expected " + std::to_string(width));
  if (train.rows <= 0) throw_range("x must contain at least one row");
  if (val && val->cols != width)
    throw_range("validationData has " + std::to_string(val->cols) + " columns; expected " + std::to_string(width));
  if (c.epochs < 0) throw_range("epochs must be >= 0");
  if (c.batch_size <= 0) throw_range("batchSize must be >= 1");
  if (!(c.optimizer.learning_rate > 0.0f) || !std::isfinite(c.optimizer.learning_rate))
    throw_range("optimizer.learningRate must be a finite number > 0");
  if (c.loss.kind == Loss::CategoricalCrossentropy && spec.layers.back().activation.kind != Activation::Softmax &&
      spec.layers.back().activation.kind != Activation::Sigmoid && spec.layers.back().activation.kind != Activation::Linear)
    throw_range("categoricalCrossentropy needs a softmax, sigmoid or linear output layer");
  if (c.noise == NoiseKind::Masking && !(c.noise_level >= 0.0f && c.noise_level < 1.0f))
    throw_range("noise rate must be in [0, 1)");
  if (c.checkpoint_every < 0) throw_range("checkpoint interval must be >= 0");
  if (c.resume && (c.resume->epoch < 0 || c.resume->step < 0)) throw_range("the checkpoint's epoch and step must be >= 0");
}

FitResult fit(Backend& be, Model& model, const DataView& train, const DataView* val, const FitConfig& c,
              FitObserver& observer) {
  validate_fit(model, c, train, val);
  require_precision(be, c.precision);
  if (const int ranks = split_ranks(be, model, c, train); ranks > 1) return fit_split(be, model, train, val, c, observer, ranks);
  // Validation stays on `be`, so that valLoss is what evaluate() gives for the same weights.
  if (!c.collective && !c.validation_backend && fits_on_twin(be)) {
    const std::unique_ptr<Backend> twin = be.single_thread_twin();
    FitConfig on_twin = c;
    on_twin.validation_backend = &be;
    return fit(*twin, model, train, val, on_twin, observer);
  }
  auto scope = be.enter_compute();
  be.set_tf32(c.precision == Precision::Tf32);
  struct Float32Products {
    Backend& be;
    ~Float32Products() { be.set_tf32(false); }
  } restore_float32{be};
  if (c.reseed && !c.resume) model.rng().reseed(c.seed);

  const int layers = model.layer_count();
  const long cols = train.cols;
  const long batch = std::min(c.batch_size, train.rows);
  const long batches = (train.rows + batch - 1) / batch;
  const size_t nparams = model.params().size();
  Collective* comm = c.collective;
  const int rank = comm ? comm->rank() : 0;
  const int ranks = comm ? comm->size() : 1;
  const long rank_batch = (batch + ranks - 1) / ranks;
  // The parameters whose update this rank computes, and a sum over them made whole.
  const Collective::Slice own = comm ? comm->update_slice(nparams) : Collective::Slice{0, nparams};
  auto slices_sum = [comm, nparams](double mine) { return comm ? comm->sum_over_slices(mine, nparams) : mine; };

  // Everything the loop touches is allocated here, once.
  MemoryResource* memory = be.memory();
  Workspace ws(model.spec(), 0, layers, rank_batch, true, c.precision, memory);
  // Ranks that share memory keep their gradients in the collective (see Collective::gradient_buffer);
  // where each takes the whole update, in two buffers used in turn.
  const size_t gradient_floats = nparams + (comm ? kReducedExtras : 0);
  Buffer own_gradients;
  float* gradient_buffers[2] = {comm && !memory ? comm->gradient_buffer(gradient_floats, 0) : nullptr, nullptr};
  if (gradient_buffers[0]) {
    gradient_buffers[1] = own.size() == nparams ? comm->gradient_buffer(gradient_floats, 1) : gradient_buffers[0];
  } else {
    own_gradients = Buffer(gradient_floats, memory);
    gradient_buffers[0] = gradient_buffers[1] = own_gradients.data();
  }
  // Where each rank takes the whole update, the update may read the others' gradients only while
  // they alternate between two buffers (see Collective::share_gradients).
  const bool may_share_gradients = own.size() < nparams || gradient_buffers[0] != gradient_buffers[1];
  uint64_t batches_begun = 0;
  TrainingState state;
  init_optimizer_slots(state, c.optimizer, nparams, memory);
  if (c.resume) {
    copy_slots(state, *c.resume);
    if (c.resume->params.size() != 0 && c.resume->params.size() != nparams)
      throw_range("the checkpoint's weights do not match this model");
    state.epoch = c.resume->epoch;
    state.step = c.resume->step;
    state.best_monitor = c.resume->best_monitor;
    state.wait = c.resume->wait;
    state.best_epoch = c.resume->best_epoch;
  }
  AlignedVector<uint16_t> weights16(c.precision == Precision::Bf16 ? nparams : 0);
  // Unshuffled, uncorrupted batches of host rows are read where they are, not copied.
  const bool reads_rows_in_place = !c.shuffle && c.noise == NoiseKind::None && !memory;
  Buffer inputs(reads_rows_in_place ? 0 : size_t(rank_batch) * size_t(cols), memory);
  Buffer targets(c.noise != NoiseKind::None ? size_t(rank_batch) * size_t(cols) : 0, memory);
  const NetworkSpec& spec = model.spec();
  const bool draws_rows = c.noise != NoiseKind::None || spec.variational ||
                          std::any_of(spec.layers.begin(), spec.layers.end(), [](const LayerSpec& l) { return l.dropout > 0; });
  RowDraws draws(draws_rows ? rank_batch : 0);
  // The weights at the start of the epoch, copied by the epoch's first update as it reads them.
  Buffer epoch_start(nparams);
  int epoch_start_of = -1;
  Buffer best(c.restore_best ? nparams : 0);
  bool best_held = false;  // whether `best` holds an epoch of this fit (a resumed fit's best may predate it)
  std::vector<long> order(size_t(train.rows));
  // Everything that may refuse the fit has run but the ranks' agreement, which takes a checkpoint's
  // start once it has passed.
  if (comm) {
    agree_across_ranks(*comm, model, train, val, c, state);
  } else if (c.resume) {
    start_from(model, *c.resume, true);
  }
  // bf16: the weights rounded once here (after the ranks agree on them), then by each optimizer
  // step as it writes them; where the ranks split the update, each rounds the others' slices as it
  // gathers them.
  if (!weights16.empty()) {
    be.round_bf16(model.params().data(), 1, long(nparams), long(nparams), weights16.data());
    ws.use_rounded_weights(weights16.data(), model.table());
  }

  FitResult result;
  result.best_epoch = state.best_epoch;
  result.steps = state.step;  // a resumed fit with no epoch left to train has taken the checkpoint's steps
  const bool variational = model.spec().variational;
  const double terms_per_row = loss_terms(c.loss, 1, model.spec().layers.back().units, output_group(model));
  int64_t& step = state.step;

  for (int epoch = state.epoch; epoch < c.epochs; ++epoch) {
    const auto start = Clock::now();
    // Each epoch's order depends on the generator alone, so a resumed fit shuffles as the original would.
    // Taken from the generator, so that each epoch draws anew even where it does not shuffle.
    const uint64_t draws_key = model.rng().next_u64();
    std::iota(order.begin(), order.end(), 0L);
    if (c.shuffle) {
      for (long i = train.rows - 1; i > 0; --i) std::swap(order[i], order[model.rng().below(uint64_t(i) + 1)]);
    }
    double loss_sum = 0, penalty_sum = 0, kl_sum = 0, communication = 0;
    long seen = 0, skipped = 0;
    double lr = 0;
    const int warming = c.warmup_epoch >= 0 ? c.warmup_epoch : epoch;
    const double beta =
        c.kl_warmup_epochs > 0 ? c.beta * std::min(1.0, double(warming + 1) / c.kl_warmup_epochs) : c.beta;
    for (long b = 0; b < batches; ++b) {
      const bool stop_asked = observer.should_stop();
      if (stop_asked && !comm) {
        result.reason = StopReason::Cancelled;
        return result;
      }
      float* const grads = gradient_buffers[batches_begun++ % 2];
      const long first = b * batch;
      const long rows = std::min(batch, train.rows - first);
      const Share mine = share_of(first, rows, rank, ranks);
      double loss = 0, kl_row = 0, penalty = 0;
      if (mine.rows > 0) {
        const float* batch_rows = train.x + size_t(mine.first) * cols;
        if (!reads_rows_in_place) {
          for (long r = 0; r < mine.rows; ++r)
            std::copy_n(train.x + size_t(order[mine.first + r]) * cols, cols, inputs.data() + size_t(r) * cols);
          batch_rows = inputs.data();
        }
        const float* target = batch_rows;
        if (draws_rows) draws.start(draws_key, mine.first, mine.rows);
        if (c.noise != NoiseKind::None) {
          std::copy_n(inputs.data(), size_t(mine.rows) * cols, targets.data());
          target = targets.data();
          corrupt_input(c.noise, c.noise_level, inputs.data(), mine.rows, cols, draws);
        }

        forward(be, model, ws, 0, layers, batch_rows, mine.rows, true, &draws);
        const double reconstruction = output_loss(be, model, ws, c.loss, target, mine.rows, ws.grad_a());
        // The loss holds β · (KL per row) / (loss terms per row): weighed against the per-term
        // reconstruction exactly as the per-sample ELBO weighs the summed reconstruction.
        const double kl_weight = variational ? beta / terms_per_row : 0.0;
        kl_row = variational ? ws.kl_sum / double(mine.rows) : 0.0;
        loss = reconstruction + kl_weight * kl_row;
        penalty = backward(be, model, ws, 0, layers, batch_rows, mine.rows, grads, c.l2, c.latent_l1,
                           float(kl_weight / double(mine.rows)));
        penalty += weight_penalty(model, be, c.l2);
      } else {
        std::fill_n(grads, nparams, 0.0f);
      }
      // The gradient's norm is needed before the update to clip by it, or to skip a non-finite
      // gradient and go on; otherwise the update's own pass sums the squares. A step found bad
      // after its update (a non-finite gradient under a finite loss, or an update that overflowed)
      // has spoilt the weights: they go back to the start of the epoch. Found before, they stay.
      // Skipping, the batches after an update that overflowed are skipped.
      const bool check_first = c.skip_non_finite || c.optimizer.clip_norm > 0;
      // Ranks in one process leave the sum of their gradients to the update's pass where nothing
      // needs the summed gradient before it: one pass over the gradients fewer.
      Collective::GradientParts parts;
      bool update_sums_parts = false;
      if (comm) {
        // Each rank's gradient is the mean over its rows; weighted by its share of the batch, the
        // sum over the ranks is the mean over the whole batch, as one process computes it.
        // Ranks that split the update sum only the slice they update.
        const float share = float(double(mine.rows) / double(rows));
        float* extra = grads + nparams;
        extra[kLoss] = float(loss * share);
        extra[kKl] = float(kl_row * share);
        extra[kPenalty] = float(penalty * share);
        extra[kStop] = stop_asked ? 1.0f : 0.0f;
        float totals[kReducedExtras];
        const auto reducing = Clock::now();
        update_sums_parts = !check_first && may_share_gradients &&
                            comm->share_gradients(grads, nparams, share, kReducedExtras, totals, &parts);
        if (!update_sums_parts) {
          comm->reduce_gradients(grads, nparams, share, kReducedExtras);
          std::copy_n(extra, size_t(kReducedExtras), totals);
        }
        communication += seconds_since(reducing);
        if (totals[kStop] > 0) {
          result.reason = StopReason::Cancelled;
          return result;
        }
        loss = totals[kLoss];
        kl_row = totals[kKl];
        penalty = totals[kPenalty];
      }
      const double sumsq = check_first ? slices_sum(be.sum_squares(grads + own.begin, own.size())) : 0.0;
      if (!std::isfinite(loss) || !std::isfinite(sumsq)) {
        if (c.skip_non_finite) {
          ++skipped;
          continue;
        }
        throw_non_finite(epoch, b, std::isfinite(loss) ? "gradient" : "loss", -1);
      }

      ++step;
      lr = scheduled_learning_rate(c.schedule, c.optimizer.learning_rate, step - 1);
      const UpdateStep update = make_update_step(c.optimizer, lr, step, std::sqrt(sumsq));
      UpdateBuffers buffers;
      buffers.weights = model.params().data();
      buffers.grads = grads;
      buffers.slot1 = state.s1.size() ? state.s1.data() : nullptr;
      buffers.slot2 = state.s2.size() ? state.s2.data() : nullptr;
      buffers.weights16 = weights16.empty() ? nullptr : weights16.data();
      buffers.previous = epoch_start_of == epoch ? nullptr : epoch_start.data();
      if (update_sums_parts) {
        buffers.grad_parts = parts.data;
        buffers.part_weights = parts.weights;
        buffers.parts = parts.count;
      }
      double updated_sumsq = be.optimizer_step(update, buffers.from(own.begin), own.size());
      epoch_start_of = epoch;
      if (comm) {
        const auto gathering = Clock::now();
        comm->gather_slices(model.params().data(), nparams);
        if (!weights16.empty()) round_others_slices(be, model.params().data(), own, nparams, weights16.data());
        updated_sumsq = slices_sum(updated_sumsq);
        communication += seconds_since(gathering);
      }
      if (!std::isfinite(updated_sumsq) && !c.skip_non_finite) {
        std::copy(epoch_start.data() + own.begin, epoch_start.data() + own.end, model.params().data() + own.begin);
        if (comm) comm->gather_slices(model.params().data(), nparams);
        double own_squares = 0;
        if (update_sums_parts) {
          // The summed slice the update read, summed again as it summed it. The others' buffers stay:
          // every rank takes this path, and writes no gradients after it (nor frees them: they are
          // the collective's).
          std::vector<float> summed(own.size(), 0.0f);
          for (int r = 0; r < parts.count; ++r)
            be.axpy(parts.weights[r], parts.data[r] + own.begin, summed.data(), summed.size());
          own_squares = be.sum_squares(summed.data(), summed.size());
        } else if (!check_first) {
          own_squares = be.sum_squares(grads + own.begin, own.size());
        }
        const bool gradient_bad = !check_first && !std::isfinite(slices_sum(own_squares));
        throw_non_finite(epoch, b, gradient_bad ? "gradient" : "weights after the update", epoch);
      }

      loss_sum += loss * double(rows);
      kl_sum += kl_row * double(rows);
      penalty_sum += penalty * double(rows);
      seen += rows;
      observer.on_batch(epoch, b, batches, loss);
    }

    EpochStats stats;
    stats.epoch = epoch;
    stats.loss = seen > 0 ? loss_sum / double(seen) : std::numeric_limits<double>::quiet_NaN();
    stats.kl = seen > 0 ? kl_sum / double(seen) : 0.0;
    stats.reconstruction = stats.loss - (variational ? beta / terms_per_row : 0.0) * stats.kl;
    stats.beta = variational ? beta : 0.0;
    stats.penalty = seen > 0 ? penalty_sum / double(seen) : 0.0;
    stats.val_loss = std::numeric_limits<double>::quiet_NaN();
    stats.has_validation = val != nullptr;
    if (val) {
      Evaluation e;
      if (comm && c.validation_backend) {
        double whole[2] = {0, 0};
        if (rank == 0) {
          e = evaluate_terms(*c.validation_backend, model, *val, c.loss);
          whole[0] = e.reconstruction;
          whole[1] = e.kl;
        }
        comm->broadcast(whole, sizeof whole);
        e = {whole[0], whole[1]};
      } else if (comm) {
        const Share part = share_of(0, val->rows, rank, ranks);
        double sums[2] = {0, 0};
        if (part.rows > 0) {
          e = evaluate_terms(be, model, {val->x + size_t(part.first) * cols, part.rows, cols}, c.loss);
          sums[0] = e.reconstruction * double(part.rows);
          sums[1] = e.kl * double(part.rows);
        }
        const auto reducing = Clock::now();
        comm->allreduce_sum(sums, 2);
        communication += seconds_since(reducing);
        e = {sums[0] / double(val->rows), sums[1] / double(val->rows)};
      } else {
        e = evaluate_terms(c.validation_backend ? *c.validation_backend : be, model, *val, c.loss);
      }
      stats.val_loss = e.reconstruction + (variational ? beta / terms_per_row : 0.0) * e.kl;
    }
    stats.learning_rate = lr;
    stats.seconds = seconds_since(start);
    stats.samples_per_second = stats.seconds > 0 ? double(seen) / stats.seconds : 0.0;
    stats.skipped_batches = skipped;
    stats.communication_seconds = communication;
    result.epochs.push_back(stats);
    result.steps = step;

    const double monitor = val ? stats.val_loss : stats.loss;
    bool stop = false;
    if (monitor < state.best_monitor - c.min_delta) {
      state.best_monitor = monitor;
      state.best_epoch = result.best_epoch = epoch;
      state.wait = 0;
      // Each rank keeps its own slice, which is all it restores.
      if (c.restore_best) {
        std::copy(model.params().data() + own.begin, model.params().data() + own.end, best.data() + own.begin);
        best_held = true;
      }
    } else if (c.patience >= 0 && ++state.wait >= std::max(c.patience, 1)) {
      stop = true;
    }
    state.epoch = epoch + 1;
    observer.on_epoch(stats);
    if (c.checkpoint_every > 0 && state.epoch % c.checkpoint_every == 0) {
      state.rng = model.rng().state();
      if (comm) {
        if (state.s1.size()) comm->gather_slices(state.s1.data(), nparams);
        if (state.s2.size()) comm->gather_slices(state.s2.data(), nparams);
      }
      observer.on_checkpoint(model, state);
    }
    if (stop) {
      result.reason = StopReason::EarlyStopping;
      break;
    }
  }
  if (c.restore_best && best_held && result.best_epoch != result.epochs.back().epoch) {
    // Each rank its own slice, as its updates write them: the ranks of a split fit may share one copy,
    // so none writes before every rank is done with the last epoch's weights (rank 0's checkpoint of
    // them); where they share it, gathering the slices is only that wait.
    if (comm) comm->gather_slices(model.params().data(), nparams);
    std::copy(best.data() + own.begin, best.data() + own.end, model.params().data() + own.begin);
    if (comm) comm->gather_slices(model.params().data(), nparams);
    result.restored_best = true;
  }
  return result;
}

Evaluation evaluate_terms(Backend& be, const Model& model, const DataView& x, const LossSpec& loss) {
  auto scope = be.enter_compute();
  const NetworkSpec& spec = model.spec();
  const int layers = model.layer_count();
  const long chunk = std::min(kInferenceChunk, std::max(x.rows, 1L));
  Workspace ws(spec, 0, layers, chunk, true, Precision::Float32, be.memory());
  double total = 0, kl = 0;
  for (long first = 0; first < x.rows; first += chunk) {
    const long rows = std::min(chunk, x.rows - first);
    const float* in = x.x + size_t(first) * x.cols;
    forward(be, model, ws, 0, layers, in, rows, false, nullptr);
    total += output_loss(be, model, ws, loss, in, rows, ws.grad_a()) * double(rows);
    if (spec.variational) kl += vae::kl_sum(ws.y(spec.latent_layer), rows, spec.latent_units());
  }
  if (x.rows <= 0) return {std::numeric_limits<double>::quiet_NaN(), 0.0};
  return {total / double(x.rows), kl / double(x.rows)};
}

double evaluate(Backend& be, const Model& model, const DataView& x, const LossSpec& loss) {
  return evaluate_terms(be, model, x, loss).reconstruction;
}

void predict(Backend& be, const Model& model, int first_layer, int last_layer, const float* x, long rows, float* out,
             Workspace* reuse, Precision precision) {
  require_precision(be, precision);
  auto scope = be.enter_compute();
  const long in_cols = model.spec().layers[first_layer].inputs;
  const long out_cols = model.spec().layers[last_layer - 1].units;
  if (reuse && reuse->precision() != precision) reuse = nullptr;
  std::unique_ptr<Workspace> own;
  if (!reuse) own = std::make_unique<Workspace>(model.spec(), first_layer, last_layer,
                                                std::min(kInferenceChunk, std::max(rows, 1L)), false, precision,
                                                be.memory());
  Workspace& ws = reuse ? *reuse : *own;
  const long chunk = ws.capacity();
  for (long first = 0; first < rows; first += chunk) {
    const long n = std::min(chunk, rows - first);
    float* rows_out = out + size_t(first) * out_cols;
    // Host backends write the last layer straight into `out`; a device computes in its own memory.
    if (!be.memory()) {
      forward(be, model, ws, first_layer, last_layer, x + size_t(first) * in_cols, n, false, nullptr, rows_out);
    } else {
      const float* y = forward(be, model, ws, first_layer, last_layer, x + size_t(first) * in_cols, n, false, nullptr);
      std::copy_n(y, size_t(n) * out_cols, rows_out);
    }
  }
}

RowMetric parse_row_metric(const std::string& name) {
  if (name == "mse") return RowMetric::Mse;
  if (name == "mae") return RowMetric::Mae;
  if (name == "binaryCrossentropy") return RowMetric::BinaryCrossentropy;
  throw Error(ErrorKind::Range, "ERR_INVALID_ARG_VALUE",
              "metric must be one of mse, mae, binaryCrossentropy; received '" + name + "'");
}

void reconstruction_error(Backend& be, const Model& model, const float* x, long rows, RowMetric metric, float* out,
                          Precision precision) {
  require_precision(be, precision);
  auto scope = be.enter_compute();
  const NetworkSpec& spec = model.spec();
  const int layers = model.layer_count();
  const long cols = spec.layers.front().inputs;
  const Loss loss = metric == RowMetric::Mse   ? Loss::Mse
                    : metric == RowMetric::Mae ? Loss::Mae
                                               : Loss::BinaryCrossentropy;
  // Binary cross-entropy of a sigmoid output is taken from its logits, as training and evaluate take
  // it: an output rounded to 0 or 1 would otherwise score at the clipping bound, not its own loss.
  const LossInput input = loss_input(loss, spec.layers.back().activation.kind);
  const bool keeps_logits = input == LossInput::Logits;
  const long chunk = std::min(kInferenceChunk, std::max(rows, 1L));
  // One workspace for every chunk (with bf16, its rounded weights too), not one per chunk.
  Workspace ws(spec, 0, layers, chunk, false, precision, be.memory(), keeps_logits);
  for (long first = 0; first < rows; first += chunk) {
    const long n = std::min(chunk, rows - first);
    const float* y = forward(be, model, ws, 0, layers, x + size_t(first) * cols, n, false, nullptr);
    const float* z = keeps_logits ? ws.z(layers - 1) : y;
    for (long r = 0; r < n; ++r) {
      const size_t row = size_t(r) * size_t(cols);
      const float* target = x + size_t(first + r) * size_t(cols);
      double sum = 0, unused_grad = 0;
      for (long c = 0; c < cols; ++c) {
        sum += ref::element_loss<double>(loss, input, 0.0, z[row + size_t(c)], y[row + size_t(c)], target[c], 0.0,
                                         unused_grad);
      }
      out[first + r] = float(sum / double(cols));
    }
  }
}

}  // namespace ae
