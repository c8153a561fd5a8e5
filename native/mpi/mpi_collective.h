// Data-parallel communication over MPI. libmpi is loaded at run time, so the addon loads where MPI
// is absent and only a distributed fit needs it; a build without MPI's headers refuses one with an
// error that says how to build with it.
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "core/collective.h"

namespace ae {

struct MpiInfo {
  int rank = 0;
  int size = 1;
  std::string library;  // MPI_Get_library_version's first line
};

class MpiCollective final : public Collective {
 public:
  // Loads libmpi and initialises MPI over all the processes of the job (MPI_COMM_WORLD) on the
  // first call; later calls return the same communicator. MPI is finalised at process exit.
  static MpiCollective& instance();
  // Whether this build has MPI support (Open MPI's headers were found); libmpi may still be missing.
  static bool built_with_mpi();
  MpiInfo info() const;
  // How long a rank waits for the others in one collective before it gives up (ERR_DISTRIBUTED_TIMEOUT).
  void set_timeout(double seconds);

  // One distributed fit at a time (MPI is initialised for serialized calls): the fit holds the
  // lease for its duration; a second one meanwhile is refused with ERR_BUSY.
  std::shared_ptr<Collective> lease();

  int rank() const override;
  int size() const override;
  void broadcast(void* data, size_t bytes) override;
  void allreduce_sum(float* data, size_t n) override;
  void allreduce_sum(double* data, size_t n) override;

  struct Api;  // the functions and handles looked up in libmpi

 private:
  MpiCollective();
  void wait(void* request, const char* what);
  void check(int status, const char* what);
  void usable() const;

  const Api* api_;
  int rank_ = 0, size_ = 1;
  double timeout_seconds_ = 300;
  std::string library_;
  std::atomic<bool> leased_{false};
  std::atomic<bool> broken_{false};  // a collective failed or timed out: the ranks are out of step
  friend void finalize_mpi_at_exit();
};

}  // namespace ae
