// The communication a data-parallel fit needs between its processes (ranks): the trainer calls it,
// and an implementation (MPI in native/mpi) carries it. Every rank calls each operation in the
// same order with the same sizes; an implementation that cannot complete one throws ae::Error.
#pragma once
#include <cstddef>

namespace ae {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every rank's data becomes rank 0's.
  virtual void broadcast(void* data, size_t bytes) = 0;
  // Every rank's data becomes the element-wise sum over the ranks, in place.
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void allreduce_sum(double* data, size_t n) = 0;

  // The optimizer's update, which every rank would otherwise repeat in full. Ranks that share one
  // address space split it: each sums and updates its own slice of the parameters, then copies the
  // others' slices. By default every rank's slice is all of them.
  struct Slice {
    size_t begin, end;
    size_t size() const { return end - begin; }
  };
  virtual Slice update_slice(size_t n) const { return {0, n}; }
  // Over this rank's update slice of data[0, n), the sum over the ranks of weight × their values;
  // data[n, n + extras) becomes the plain sum over the ranks, whole, on every rank.
  virtual void reduce_gradients(float* data, size_t n, float weight, size_t extras) {
    for (size_t i = 0; i < n; ++i) data[i] *= weight;
    allreduce_sum(data, n + extras);
  }
  // The ranks' gradients as an update can read them in place of a reduced copy (UpdateBuffers'
  // grad_parts): every rank's data and weight, in rank order.
  struct GradientParts {
    const float* const* data = nullptr;
    const float* weights = nullptr;
    int count = 0;
  };
  // In place of reduce_gradients, where the ranks share one address space: publishes data[0, n)
  // with its weight for the update to sum (each rank over its own slice), and writes the plain sum
  // over the ranks of data[n, n + extras) into totals. Every rank takes the same path, so ranks that
  // all stop (a stop asked, a non-finite loss) read nothing more. Returns false, having done nothing,
  // where the ranks do not share memory.
  // Every rank's data[0, n) must then stay as it is while the others update from it:
  // - where the ranks split the update, until gather_slices, whose first wait holds every rank until
  //   all are done with the update;
  // - where each takes all of it, until the next share_gradients returns (its wait holds every rank
  //   until all are done with this update), so consecutive calls pass the two buffers of
  //   gradient_buffer in turn.
  virtual bool share_gradients(float* /*data*/, size_t /*n*/, float /*weight*/, size_t /*extras*/, float* /*totals*/,
                               GradientParts* /*parts*/) {
    return false;
  }
  // Where the ranks share memory, buffer `which` (0 or 1) of n floats for this rank's gradients, kept
  // by the collective so that it outlives the rank's fit: another rank may still be reading it when
  // this rank leaves on an error. Null where the ranks do not share memory.
  virtual float* gradient_buffer(size_t /*n*/, int /*which*/) { return nullptr; }
  // After each rank wrote its update slice of data[0, n): every rank's data becomes whole.
  virtual void gather_slices(float* /*data*/, size_t /*n*/) {}
  // The sum over the ranks of a value each computed over its own update slice of n parameters.
  virtual double sum_over_slices(double mine, size_t /*n*/) { return mine; }
};

}  // namespace ae
