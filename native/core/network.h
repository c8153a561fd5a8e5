// A stack of dense layers: y = act(x · Wᵀ + b), W stored [out, in] as PyTorch's nn.Linear does.
// The model owns one buffer of parameters described by a tensor table; a workspace owns the
// activations of one batch; forward and backward for the stack sit side by side below.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/activation.h"
#include "core/aligned_vector.h"
#include "core/backend.h"
#include "core/initializer.h"
#include "core/rng.h"
#include "core/row_draws.h"
#include "core/tensor.h"

namespace ae {

struct LayerSpec {
  std::string name;  // parameter prefix, e.g. "encoder.0"
  long inputs = 0;
  long units = 0;
  ActivationSpec activation;
  Initializer kernel_initializer = Initializer::GlorotUniform;
  float dropout = 0.0f;  // rate applied to this layer's output while training
};

struct NetworkSpec {
  std::vector<LayerSpec> layers;
  int latent_layer = -1;  // the layer whose output is the latent code (-1: none)
  // A variational autoencoder: the latent layer emits [mean | log-variance] (2·latent units, linear)
  // and the next layer reads a sample of `latent` units (see variational.h); at inference, the mean.
  bool variational = false;
  long latent_units() const { return variational ? layers[latent_layer].units / 2 : layers[latent_layer].units; }
  // True when layer `layer` reads the variational sample rather than the previous layer's output.
  bool reads_sample(int layer) const { return variational && layer == latent_layer + 1; }
};

void validate_spec(const NetworkSpec& spec);  // throws on inconsistent shapes or options

class Model {
 public:
  // The parameters live in `memory` (host memory when null): the memory of the backend that runs the model.
  Model(NetworkSpec spec, uint64_t seed, MemoryResource* memory = nullptr);
  // A replica that reads and writes the original's parameters in place, with a generator of its own:
  // for the ranks of a split fit, which update disjoint slices of one copy. The original outlives it.
  struct SharingParametersOf {
    Model& original;
  };
  explicit Model(SharingParametersOf shared);

  const NetworkSpec& spec() const { return spec_; }
  int layer_count() const { return int(spec_.layers.size()); }
  const TensorTable& table() const { return table_; }
  Buffer& params() { return params_; }
  const Buffer& params() const { return params_; }
  float* weight(int layer) { return params_.data() + table_.at(2 * layer).offset; }
  float* bias(int layer) { return params_.data() + table_.at(2 * layer + 1).offset; }
  const float* weight(int layer) const { return params_.data() + table_.at(2 * layer).offset; }
  const float* bias(int layer) const { return params_.data() + table_.at(2 * layer + 1).offset; }
  Rng& rng() { return rng_; }
  size_t parameter_count() const;

 private:
  NetworkSpec spec_;
  TensorTable table_;
  Buffer params_;
  Rng rng_;
};

// Activations of layers [first, last) for up to `capacity` rows, and the gradient scratch of a
// training step, in one allocation. With bfloat16 products it also holds each layer's input rounded
// to bfloat16 by the forward pass, which the backward pass of the step reuses, and the weights
// rounded: an inference workspace rounds them on each forward pass; a training one reads the copy
// its trainer keeps current (use_rounded_weights, before the first pass), which the optimizer
// step writes as it updates the weights.
// An inference workspace (training false) keeps only what a forward pass reads next: the layers
// alternate between two buffers as wide as the widest layer, and activate in place; with
// keeps_logits, the last layer's pre-activations stay apart (for losses taken from logits).
class Workspace {
 public:
  Workspace(const NetworkSpec& spec, int first, int last, long capacity, bool training,
            Precision precision = Precision::Float32, MemoryResource* memory = nullptr, bool keeps_logits = false);

  // The floats an inference workspace for these layers and rows holds in float32, and all the bytes
  // it holds in a precision (bf16 adds its rounded inputs and weights).
  static size_t inference_floats(const NetworkSpec& spec, int first, int last, long capacity);
  static size_t inference_bytes(const NetworkSpec& spec, int first, int last, long capacity, Precision precision);

  long capacity() const { return capacity_; }
  float* y(int layer) { return ptr(slots_[layer - first_].y); }
  float* z(int layer) { return ptr(slots_[layer - first_].z); }  // == y unless kept apart
  float* mask(int layer) { return ptr(slots_[layer - first_].mask); }  // dropout mask, training only
  float* dropped(int layer) { return ptr(slots_[layer - first_].dropped); }
  float* grad_a() { return ptr(grad_a_); }
  float* grad_b() { return ptr(grad_b_); }
  // The variational sample and its noise (training, when the range crosses the latent layer).
  float* sample() { return ptr(sample_); }
  float* noise() { return ptr(noise_); }
  double kl_sum = 0;  // of the last training forward pass, when variational
  Precision precision() const { return precision_; }
  // bfloat16 products only: layer inputs as the forward pass rounded them, the layer's rounded
  // weights, and the rounded gradient at the pre-activation of the layer the backward pass is at.
  uint16_t* input16(int layer) { return half_.data() + half_slots_[size_t(layer - first_)].input; }
  const uint16_t* weight16(int layer) const { return weights16_.at(size_t(layer - first_)); }
  uint16_t* grad16() { return half_.data() + grad16_; }
  // Whether the forward pass rounds the weights into weight16 (inference) or reads them there.
  bool rounds_weights() const { return !training_; }
  uint16_t* weight16_to_round(int layer) {
    const size_t slot = half_slots_[size_t(layer - first_)].weight;
    return slot == npos ? nullptr : half_.data() + slot;
  }
  // Training: the weights rounded to bfloat16, laid out as `table` lays out the parameters.
  void use_rounded_weights(const uint16_t* params16, const TensorTable& table);

 private:
  struct Slot {
    size_t y = npos, z = npos, mask = npos, dropped = npos;
  };
  struct HalfSlot {
    size_t input = 0, weight = 0;
  };
  static constexpr size_t npos = ~size_t(0);
  struct HalfLayout {
    std::vector<HalfSlot> slots;
    size_t grad16 = 0, values = 0;
  };
  static HalfLayout half_layout(const NetworkSpec& spec, int first, int last, long capacity, bool training);
  float* ptr(size_t offset) { return offset == npos ? nullptr : buffer_.data() + offset; }
  void reserve_bf16(const NetworkSpec& spec, int first, int last, long capacity, bool training);

  int first_;
  long capacity_;
  bool training_;
  std::vector<Slot> slots_;
  size_t grad_a_ = npos, grad_b_ = npos, sample_ = npos, noise_ = npos;
  Buffer buffer_;
  Precision precision_;
  std::vector<HalfSlot> half_slots_;
  size_t grad16_ = 0;
  AlignedVector<uint16_t> half_;
  std::vector<const uint16_t*> weights16_;
};

// Runs layers [first, last) on `rows` rows of x; returns the last layer's output inside ws, or in
// `out` where given (inference only: the last layer computes there, saving a copy). With `training`,
// dropout masks and variational samples are drawn from the rows' generators and applied.
const float* forward(Backend& be, const Model& model, Workspace& ws, int first, int last, const float* x, long rows,
                     bool training, RowDraws* draws, float* out = nullptr);

// Given d(loss)/d(pre-activation of layer last-1) in ws.grad_a(), accumulates parameter gradients
// for layers [first, last) into grads (laid out like model.params()). `x` is the input that
// forward saw. `l2` adds 2·l2·W to weight gradients; latent_l1 adds the activity penalty's
// gradient at the latent layer and returns its value. For a variational model, kl_scale weighs
// the gradient of ws.kl_sum (the loss holds kl_scale · kl_sum).
double backward(Backend& be, const Model& model, Workspace& ws, int first, int last, const float* x, long rows,
                float* grads, float l2, float latent_l1, float kl_scale = 0.0f);

}  // namespace ae
