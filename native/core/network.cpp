// Model construction, the workspace layout, and the forward and backward passes of the stack.
#include "core/network.h"

#include <algorithm>
#include <string>

#include "core/errors.h"
#include "core/variational.h"

namespace ae {

void validate_spec(const NetworkSpec& spec) {
  if (spec.layers.empty()) throw_range("layers must contain at least one layer");
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    const std::string where = "layers[" + std::to_string(i) + "]";
    if (l.inputs <= 0 || l.units <= 0) throw_range(where + ".units must be a positive integer");
    const long feeding = i == 0 ? 0 : spec.reads_sample(int(i)) ? spec.layers[i - 1].units / 2 : spec.layers[i - 1].units;
    if (i > 0 && l.inputs != feeding)
      throw_range(where + " expects " + std::to_string(l.inputs) + " inputs but the previous layer feeds " +
                  std::to_string(feeding));
    if (!(l.dropout >= 0.0f && l.dropout < 1.0f)) throw_range(where + ".dropout must be in [0, 1)");
    const ActivationSpec& a = l.activation;
    if (a.kind == Activation::Softmax && a.group > 0 && l.units % a.group != 0)
      throw_range(where + ": softmax group size " + std::to_string(a.group) + " does not divide " +
                  std::to_string(l.units) + " units");
    if ((a.kind == Activation::LeakyRelu || a.kind == Activation::Elu) && !(a.alpha >= 0.0f && a.alpha < 1e6f))
      throw_range(where + ".alpha must be a finite number >= 0");
  }
  if (spec.latent_layer < -1 || spec.latent_layer >= int(spec.layers.size()))
    throw_range("latent layer index out of range");
  if (spec.variational) {
    if (spec.latent_layer < 0 || spec.latent_layer + 1 >= int(spec.layers.size()))
      throw_range("a variational model needs a latent layer followed by a decoder");
    const LayerSpec& latent = spec.layers[spec.latent_layer];
    if (latent.units % 2 != 0 || latent.activation.kind != Activation::Linear || latent.dropout > 0.0f)
      throw_range("the variational latent layer must be linear, without dropout, with 2 × latent units");
  }
}

Model::Model(NetworkSpec spec, uint64_t seed, MemoryResource* memory) : spec_(std::move(spec)), rng_(seed) {
  validate_spec(spec_);
  for (const LayerSpec& l : spec_.layers) {
    table_.add(l.name + ".weight", {l.units, l.inputs});
    table_.add(l.name + ".bias", {l.units});
  }
  params_ = Buffer(table_.total(), memory);
  for (int i = 0; i < layer_count(); ++i) {
    const LayerSpec& l = spec_.layers[i];
    initialize_weights(l.kernel_initializer, weight(i), l.inputs, l.units, rng_);
  }
}

Model::Model(SharingParametersOf shared)
    : spec_(shared.original.spec_),
      table_(shared.original.table_),
      params_(Buffer::borrowed(shared.original.params_)),
      rng_(0) {}

size_t Model::parameter_count() const {
  size_t n = 0;
  for (const auto& e : table_.entries()) n += e.count();
  return n;
}

Workspace::Workspace(const NetworkSpec& spec, int first, int last, long capacity, bool training,
                     Precision precision, MemoryResource* memory, bool keeps_logits)
    : first_(first), capacity_(capacity), training_(training), precision_(precision) {
  if (!training) {
    const size_t half = inference_floats(spec, first, last, capacity) / 2;
    for (int i = first; i < last; ++i) {
      const size_t offset = size_t(i - first) % 2 == 0 ? 0 : half;
      slots_.push_back(Slot{offset, offset});
    }
    const size_t logits = keeps_logits ? size_t(capacity) * size_t(spec.layers[size_t(last - 1)].units) : 0;
    if (keeps_logits) slots_.back().z = 2 * half;
    // Every value is written by a layer before the next one reads it.
    buffer_ = memory ? Buffer(2 * half + logits, memory) : Buffer::uninitialized(2 * half + logits);
    if (precision == Precision::Bf16) reserve_bf16(spec, first, last, capacity, false);
    return;
  }
  TensorTable table;
  long widest = spec.layers[first].inputs;
  for (int i = first; i < last; ++i) {
    const LayerSpec& l = spec.layers[i];
    const std::string p = l.name;
    Slot slot;
    slot.y = table.entries().size();
    table.add(p + ".y", {capacity, l.units});
    // The last layer keeps its logits apart: fused losses read them.
    if (needs_preactivation(l.activation.kind) || i == last - 1) {
      slot.z = table.entries().size();
      table.add(p + ".z", {capacity, l.units});
    }
    if (training && l.dropout > 0.0f) {
      slot.mask = table.entries().size();
      table.add(p + ".mask", {capacity, l.units});
      slot.dropped = table.entries().size();
      table.add(p + ".dropped", {capacity, l.units});
    }
    slots_.push_back(slot);
    widest = std::max(widest, l.units);
  }
  if (training && spec.variational && first <= spec.latent_layer && spec.latent_layer + 1 < last) {
    const long latent = spec.latent_units();
    sample_ = table.entries().size();
    table.add("vae.sample", {capacity, latent});
    noise_ = table.entries().size();
    table.add("vae.noise", {capacity, latent});
  }
  if (training) {
    grad_a_ = table.entries().size();
    table.add("grad.a", {capacity, widest});
    grad_b_ = table.entries().size();
    table.add("grad.b", {capacity, widest});
  }
  buffer_ = Buffer(table.total(), memory);
  // Slots recorded entry indices; turn them into offsets.
  auto resolve = [&](size_t& v) {
    if (v != npos) v = table.at(v).offset;
  };
  for (Slot& s : slots_) {
    resolve(s.y);
    resolve(s.z);
    resolve(s.mask);
    resolve(s.dropped);
    if (s.z == npos) s.z = s.y;
  }
  resolve(grad_a_);
  resolve(grad_b_);
  resolve(sample_);
  resolve(noise_);
  if (precision == Precision::Bf16) reserve_bf16(spec, first, last, capacity, training);
}

size_t Workspace::inference_floats(const NetworkSpec& spec, int first, int last, long capacity) {
  long widest = 0;
  for (int i = first; i < last; ++i) widest = std::max(widest, spec.layers[size_t(i)].units);
  // Each half starts on a cache line of its own.
  const size_t half = (size_t(widest) * size_t(capacity) + 15) / 16 * 16;
  return 2 * half;
}

Workspace::HalfLayout Workspace::half_layout(const NetworkSpec& spec, int first, int last, long capacity,
                                             bool training) {
  // Every operand starts on a cache line of its own (32 bfloat16 values).
  auto line_up = [](size_t count) { return (count + 31) / 32 * 32; };
  HalfLayout layout;
  if (!training) {
    // Inference: each layer's rounded input is read by its own product alone, so all share one slot,
    // and each layer's weights are rounded into a slot of their own on each pass.
    size_t widest_input = 0;
    for (int i = first; i < last; ++i)
      widest_input = std::max(widest_input, line_up(size_t(capacity) * size_t(spec.layers[i].inputs)));
    layout.values = widest_input;
    for (int i = first; i < last; ++i) {
      const LayerSpec& l = spec.layers[i];
      layout.slots.push_back({0, layout.values});
      layout.values += line_up(size_t(l.units) * size_t(l.inputs));
    }
    layout.grad16 = layout.values;
    return layout;
  }
  // Training: the backward pass reads each layer's rounded input again, and the trainer's rounded weights.
  long widest_units = 0;
  for (int i = first; i < last; ++i) {
    const LayerSpec& l = spec.layers[i];
    layout.slots.push_back({layout.values, npos});
    layout.values += line_up(size_t(capacity) * size_t(l.inputs));
    widest_units = std::max(widest_units, l.units);
  }
  layout.grad16 = layout.values;
  layout.values += size_t(capacity) * size_t(widest_units);
  return layout;
}

size_t Workspace::inference_bytes(const NetworkSpec& spec, int first, int last, long capacity, Precision precision) {
  const size_t floats = inference_floats(spec, first, last, capacity);
  const size_t halves = precision == Precision::Bf16 ? half_layout(spec, first, last, capacity, false).values : 0;
  return floats * sizeof(float) + halves * sizeof(uint16_t);
}

void Workspace::reserve_bf16(const NetworkSpec& spec, int first, int last, long capacity, bool training) {
  HalfLayout layout = half_layout(spec, first, last, capacity, training);
  half_slots_ = std::move(layout.slots);
  grad16_ = layout.grad16;
  half_.resize(layout.values);
  if (!training)
    for (const HalfSlot& slot : half_slots_) weights16_.push_back(half_.data() + slot.weight);
}

void Workspace::use_rounded_weights(const uint16_t* params16, const TensorTable& table) {
  weights16_.clear();
  for (size_t i = 0; i < half_slots_.size(); ++i)
    weights16_.push_back(params16 + table.at(2 * (size_t(first_) + i)).offset);
}

namespace {

// Inverted dropout: a kept unit is scaled by 1 / (1 - rate) so inference needs no change.
void draw_dropout_mask(float* mask, long rows, long units, float rate, RowDraws& draws) {
  const float keep_scale = 1.0f / (1.0f - rate);
  for (long r = 0; r < rows; ++r) {
    Rng& rng = draws.row(r);
    for (long u = 0; u < units; ++u) mask[r * units + u] = rng.uniform() >= rate ? keep_scale : 0.0f;
  }
}

// The input a layer saw, with its row stride: the network input, the previous layer's (dropped-out)
// output, or for the layer after a variational latent layer, the sample (training) or the mean
// (inference: the first half of each [mean | log-variance] row).
struct Input {
  const float* data;
  long stride;
};

Input layer_input(Workspace& ws, const NetworkSpec& spec, int layer, int first, const float* x, bool training) {
  const long width = spec.layers[layer].inputs;
  if (layer == first) return {x, width};
  if (spec.reads_sample(layer)) return training ? Input{ws.sample(), width} : Input{ws.y(layer - 1), 2 * width};
  if (training && spec.layers[layer - 1].dropout > 0.0f) return {ws.dropped(layer - 1), width};
  return {ws.y(layer - 1), width};
}

// Draws ε and the sample z = mean + exp(log-variance / 2) · ε, and records the KL term.
void draw_sample(Workspace& ws, const NetworkSpec& spec, long rows, RowDraws& draws) {
  const long latent = spec.latent_units();
  float* eps = ws.noise();
  for (long r = 0; r < rows; ++r) {
    Rng& rng = draws.row(r);
    for (long k = 0; k < latent; ++k) eps[r * latent + k] = float(rng.normal());
  }
  const float* y = ws.y(spec.latent_layer);
  vae::sample(y, eps, ws.sample(), rows, latent);
  ws.kl_sum = vae::kl_sum(y, rows, latent);
}

}  // namespace

const float* forward(Backend& be, const Model& model, Workspace& ws, int first, int last, const float* x, long rows,
                     bool training, RowDraws* draws, float* out) {
  const NetworkSpec& spec = model.spec();
  for (int i = first; i < last; ++i) {
    const LayerSpec& l = spec.layers[i];
    if (training && spec.reads_sample(i) && i > first) draw_sample(ws, spec, rows, *draws);
    const Input in = layer_input(ws, spec, i, first, x, training);
    const bool into_out = out && !training && i == last - 1;
    float* z = into_out ? out : ws.z(i);
    float* y = into_out ? out : ws.y(i);
    if (ws.precision() == Precision::Bf16) {
      be.round_bf16(in.data, rows, l.inputs, in.stride, ws.input16(i));
      if (ws.rounds_weights()) be.round_bf16(model.weight(i), l.units, l.inputs, l.inputs, ws.weight16_to_round(i));
      be.gemm_bf16(false, true, rows, l.units, l.inputs, ws.input16(i), l.inputs, ws.weight16(i), l.inputs, z, l.units);
    } else {
      be.gemm(false, true, rows, l.units, l.inputs, 1.0f, in.data, in.stride, model.weight(i), l.inputs, 0.0f, z,
              l.units);
    }
    be.bias_activation_forward(l.activation, model.bias(i), z, y, rows, l.units);
    if (training && l.dropout > 0.0f) {
      draw_dropout_mask(ws.mask(i), rows, l.units, l.dropout, *draws);
      be.multiply(ws.y(i), ws.mask(i), ws.dropped(i), size_t(rows) * size_t(l.units));
    }
  }
  return out && !training ? out : ws.y(last - 1);
}

double backward(Backend& be, const Model& model, Workspace& ws, int first, int last, const float* x, long rows,
                float* grads, float l2, float latent_l1, float kl_scale) {
  const NetworkSpec& spec = model.spec();
  const TensorTable& table = model.table();
  double penalty = 0.0;
  float* dz = ws.grad_a();
  float* scratch = ws.grad_b();
  for (int i = last - 1; i >= first; --i) {
    const LayerSpec& l = spec.layers[i];
    const Input in = layer_input(ws, spec, i, first, x, true);
    float* dw = grads + table.at(2 * i).offset;
    float* db = grads + table.at(2 * i + 1).offset;
    // dW (out × in) = dZᵀ · X ; db = Σ_rows dZ
    const bool bf16 = ws.precision() == Precision::Bf16;
    if (bf16) {
      be.round_bf16(dz, rows, l.units, l.units, ws.grad16());
      be.gemm_bf16(true, false, l.units, l.inputs, rows, ws.grad16(), l.units, ws.input16(i), l.inputs, dw, l.inputs);
    } else {
      be.gemm(true, false, l.units, l.inputs, rows, 1.0f, dz, l.units, in.data, in.stride, 0.0f, dw, l.inputs);
    }
    be.bias_gradient(dz, db, rows, l.units);
    if (l2 > 0.0f) be.axpy(2.0f * l2, model.weight(i), dw, size_t(l.units) * size_t(l.inputs));
    if (i == first) break;
    // dX (rows × in) = dZ · W, the gradient at the previous layer's (dropped-out) output.
    if (bf16) {
      be.gemm_bf16(false, false, rows, l.inputs, l.units, ws.grad16(), l.units, ws.weight16(i), l.inputs, scratch,
                   l.inputs);
    } else {
      be.gemm(false, false, rows, l.inputs, l.units, 1.0f, dz, l.units, model.weight(i), l.inputs, 0.0f, scratch,
              l.inputs);
    }
    if (spec.reads_sample(i)) {
      // Through the sample to [mean | log-variance], plus the KL term; dz is free to take the result.
      vae::backward(ws.y(i - 1), ws.noise(), scratch, dz, rows, l.inputs, kl_scale);
      std::swap(dz, scratch);
    }
    const LayerSpec& prev = spec.layers[i - 1];
    const size_t n = size_t(rows) * size_t(prev.units);
    if (prev.dropout > 0.0f) be.multiply(scratch, ws.mask(i - 1), scratch, n);
    if (latent_l1 > 0.0f && i - 1 == spec.latent_layer)
      penalty += be.l1_penalty(ws.y(i - 1), scratch, latent_l1 / float(rows), n) * latent_l1 / double(rows);
    const float* z_prev = needs_preactivation(prev.activation.kind) ? ws.z(i - 1) : nullptr;
    be.activation_backward(prev.activation, z_prev, ws.y(i - 1), scratch, scratch, rows, prev.units);
    std::swap(dz, scratch);
  }
  return penalty;
}

}  // namespace ae
