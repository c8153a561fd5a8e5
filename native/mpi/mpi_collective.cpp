// MPI behind the Collective interface, with libmpi opened by dlopen and its functions looked up by
// name. Open MPI loads its transport plugins with dlopen too, and they resolve libmpi's symbols
// globally: libmpi is opened with RTLD_GLOBAL before MPI_Init, which Node's own dlopen of the addon
// (RTLD_LOCAL) would not give it.
#include "mpi/mpi_collective.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/errors.h"

#ifdef AE_HAVE_MPI
#include <dlfcn.h>
// Only the C interface: the C++ bindings would need libmpi_cxx at load time.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace ae {

namespace {

[[noreturn]] void throw_unavailable(const std::string& why) {
  throw Error(ErrorKind::State, "ERR_MPI_UNAVAILABLE", "MPI is unavailable: " + why);
}

}  // namespace

#ifndef AE_HAVE_MPI

struct MpiCollective::Api {};

MpiCollective& MpiCollective::instance() {
  throw_unavailable(
      "this build of native-autoencoder has no MPI support. Install Open MPI with its headers "
      "(Debian: apt-get install openmpi-bin libopenmpi-dev) and rebuild (npm rebuild native-autoencoder, "
      "or cmake-js rebuild --CDAE_MPI=ON)");
}
MpiCollective::MpiCollective() : api_(nullptr) {}
void MpiCollective::wait(void*, const char*) {}
void MpiCollective::check(int, const char*) {}
void MpiCollective::broadcast(void*, size_t) {}
void MpiCollective::allreduce_sum(float*, size_t) {}
void MpiCollective::allreduce_sum(double*, size_t) {}

#else

struct MpiCollective::Api {
  void* library = nullptr;
  std::string path;
  int (*Initialized)(int*);
  int (*Finalized)(int*);
  int (*Init_thread)(int*, char***, int, int*);
  int (*Finalize)();
  int (*Comm_rank)(MPI_Comm, int*);
  int (*Comm_size)(MPI_Comm, int*);
  int (*Comm_set_errhandler)(MPI_Comm, MPI_Errhandler);
  int (*Ibcast)(void*, int, MPI_Datatype, int, MPI_Comm, MPI_Request*);
  int (*Iallreduce)(const void*, void*, int, MPI_Datatype, MPI_Op, MPI_Comm, MPI_Request*);
  int (*Test)(MPI_Request*, int*, MPI_Status*);
  int (*Error_string)(int, char*, int*);
  int (*Get_library_version)(char*, int*);
  // Open MPI's predefined handles are addresses of global objects in libmpi.
  MPI_Comm world;
  MPI_Datatype byte, float32, float64;
  MPI_Op sum;
  MPI_Errhandler errors_return;
};

namespace {

template <typename T>
void bind(const MpiCollective::Api& api, T& slot, const char* name) {
  void* symbol = dlsym(api.library, name);
  if (!symbol)
    throw_unavailable(api.path + " has no " + name + "; native-autoencoder needs Open MPI 3 or later");
  slot = reinterpret_cast<T>(symbol);
}

const MpiCollective::Api* load_api() {
  static MpiCollective::Api api;
  const char* candidates[] = {
#ifdef AE_MPI_LIBRARY
      AE_MPI_LIBRARY,
#endif
      "libmpi.so.40", "libmpi.so"};
  std::string errors;
  for (const char* path : candidates) {
    api.library = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (api.library) {
      api.path = path;
      break;
    }
    errors += std::string("\n  ") + dlerror();
  }
  if (!api.library) throw_unavailable("libmpi could not be loaded (install openmpi-bin):" + errors);
  bind(api, api.Initialized, "MPI_Initialized");
  bind(api, api.Finalized, "MPI_Finalized");
  bind(api, api.Init_thread, "MPI_Init_thread");
  bind(api, api.Finalize, "MPI_Finalize");
  bind(api, api.Comm_rank, "MPI_Comm_rank");
  bind(api, api.Comm_size, "MPI_Comm_size");
  bind(api, api.Comm_set_errhandler, "MPI_Comm_set_errhandler");
  bind(api, api.Ibcast, "MPI_Ibcast");
  bind(api, api.Iallreduce, "MPI_Iallreduce");
  bind(api, api.Test, "MPI_Test");
  bind(api, api.Error_string, "MPI_Error_string");
  bind(api, api.Get_library_version, "MPI_Get_library_version");
  bind(api, api.world, "ompi_mpi_comm_world");
  bind(api, api.byte, "ompi_mpi_byte");
  bind(api, api.float32, "ompi_mpi_float");
  bind(api, api.float64, "ompi_mpi_double");
  bind(api, api.sum, "ompi_mpi_op_sum");
  bind(api, api.errors_return, "ompi_mpi_errors_return");
  return &api;
}

// MPI counts are ints: larger buffers go in pieces.
constexpr size_t kMaxCount = size_t(1) << 30;
// Open MPI's non-blocking allreduce (libnbc) of one large buffer runs at about 40% of the blocking
// one's speed; in 4 MB segments it comes within 10% (71 MB on 2 ranks: 125 ms whole, 55 ms
// segmented, 51 ms blocking).
constexpr size_t kSegmentFloats = size_t(1) << 20;

std::mutex instance_mutex;
MpiCollective* the_instance = nullptr;

}  // namespace

void finalize_mpi_at_exit() {
  MpiCollective* mpi = the_instance;
  // A rank whose collective failed is out of step with the others, and MPI_Finalize could wait on
  // them forever; exiting without it lets mpirun end the job. So does a fit still running.
  if (!mpi || mpi->broken_.load() || mpi->leased_.load()) return;
  int finalized = 0;
  mpi->api_->Finalized(&finalized);
  if (!finalized) mpi->api_->Finalize();
}

MpiCollective& MpiCollective::instance() {
  std::lock_guard<std::mutex> lock(instance_mutex);
  if (!the_instance) {
    the_instance = new MpiCollective();
    std::atexit(finalize_mpi_at_exit);
  }
  return *the_instance;
}

MpiCollective::MpiCollective() : api_(load_api()) {
  int initialized = 0;
  api_->Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    const int status = api_->Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (status != MPI_SUCCESS) throw_unavailable("MPI_Init_thread failed with status " + std::to_string(status));
    if (provided < MPI_THREAD_SERIALIZED)
      throw_unavailable("this MPI gives thread level " + std::to_string(provided) +
                        "; fits run on their own thread and need MPI_THREAD_SERIALIZED");
  }
  // Errors come back as status codes, which become JS errors, instead of aborting the job.
  check(api_->Comm_set_errhandler(api_->world, api_->errors_return), "MPI_Comm_set_errhandler");
  check(api_->Comm_rank(api_->world, &rank_), "MPI_Comm_rank");
  check(api_->Comm_size(api_->world, &size_), "MPI_Comm_size");
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  api_->Get_library_version(version, &length);
  library_ = std::string(version, size_t(length));
  library_ = library_.substr(0, library_.find_first_of("\r\n,"));
}

void MpiCollective::check(int status, const char* what) {
  if (status == MPI_SUCCESS) return;
  broken_ = true;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  api_->Error_string(status, text, &length);
  throw Error(ErrorKind::State, "ERR_DISTRIBUTED",
              std::string(what) + " failed on rank " + std::to_string(rank_) + ": " + std::string(text, size_t(length)));
}

void MpiCollective::wait(void* handle, const char* what) {
  auto* request = static_cast<MPI_Request*>(handle);
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds_);
  for (unsigned polls = 1;; ++polls) {
    int done = 0;
    check(api_->Test(request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (Clock::now() > deadline) {
      broken_ = true;
      throw Error(ErrorKind::State, "ERR_DISTRIBUTED_TIMEOUT",
                  std::string(what) + " did not complete within " + std::to_string(int(timeout_seconds_)) +
                      " s on rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                      ": another rank has stopped, or is not running the same fit");
    }
    if (polls % 256 == 0) std::this_thread::yield();
  }
}

void MpiCollective::broadcast(void* data, size_t bytes) {
  usable();
  for (size_t done = 0; done < bytes; done += kMaxCount) {
    MPI_Request request;
    check(api_->Ibcast(static_cast<char*>(data) + done, int(std::min(kMaxCount, bytes - done)), api_->byte, 0,
                       api_->world, &request),
          "MPI_Ibcast");
    wait(&request, "a broadcast from rank 0");
  }
}

void MpiCollective::allreduce_sum(float* data, size_t n) {
  usable();
  for (size_t done = 0; done < n; done += kSegmentFloats) {
    MPI_Request request;
    check(api_->Iallreduce(MPI_IN_PLACE, data + done, int(std::min(kSegmentFloats, n - done)), api_->float32, api_->sum,
                           api_->world, &request),
          "MPI_Iallreduce");
    wait(&request, "the gradient allreduce");
  }
}

void MpiCollective::allreduce_sum(double* data, size_t n) {
  usable();
  MPI_Request request;
  check(api_->Iallreduce(MPI_IN_PLACE, data, int(n), api_->float64, api_->sum, api_->world, &request),
        "MPI_Iallreduce");
  wait(&request, "an allreduce of training statistics");
}

#endif

bool MpiCollective::built_with_mpi() {
#ifdef AE_HAVE_MPI
  return true;
#else
  return false;
#endif
}

MpiInfo MpiCollective::info() const { return {rank_, size_, library_}; }

void MpiCollective::set_timeout(double seconds) {
  if (!(seconds > 0) || seconds > 1e7) throw_range("timeoutSeconds must be > 0 and at most 1e7");
  timeout_seconds_ = seconds;
}

int MpiCollective::rank() const { return rank_; }
int MpiCollective::size() const { return size_; }

void MpiCollective::usable() const {
  if (broken_.load())
    throw Error(ErrorKind::State, "ERR_DISTRIBUTED",
                "an earlier collective failed on rank " + std::to_string(rank_) +
                    ", so the ranks are out of step; restart the job (a checkpoint resumes it)");
}

std::shared_ptr<Collective> MpiCollective::lease() {
  usable();
  if (leased_.exchange(true))
    throw Error(ErrorKind::State, "ERR_BUSY", "another distributed fit is running in this process");
  return std::shared_ptr<Collective>(this, [](Collective* c) { static_cast<MpiCollective*>(c)->leased_ = false; });
}

}  // namespace ae
