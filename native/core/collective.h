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
};

}  // namespace ae
