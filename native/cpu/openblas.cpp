// Finding and loading OpenBLAS at run time.
#include "cpu/openblas.h"

#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cpu/kernels.h"

#if defined(AE_HAVE_OPENBLAS)
#include <dlfcn.h>
#endif

namespace ae::cpu {

namespace {

struct Loaded {
  OpenBlas api{};
  bool ok = false;
  std::string reason;
  std::string requested_core;
};

#if defined(AE_HAVE_OPENBLAS)
std::vector<std::string> candidates() {
  // AE_OPENBLAS_LIBRARY names the one library to try (or, naming none that exists, turns OpenBLAS off).
  if (const char* chosen = std::getenv("AE_OPENBLAS_LIBRARY")) return {chosen};
  std::vector<std::string> names;
#if defined(AE_OPENBLAS_LIBDIR)
  names.emplace_back(std::string(AE_OPENBLAS_LIBDIR) + "/libopenblas.so");
#endif
#if defined(__APPLE__)
  names.insert(names.end(), {"libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
                             "/usr/local/opt/openblas/lib/libopenblas.dylib"});
#else
  names.insert(names.end(), {"libopenblas.so.0", "libopenblas.so"});
#endif
  return names;
}

// OpenBLAS reads its settings from the environment when it loads; these are set only while it loads,
// so child processes see the environment as it was.
// - OPENBLAS_CORETYPE: OpenBLAS picks its kernels from a table of CPUs it knows. Debian 12's 0.3.21
//   knows none newer than itself (Sapphire Rapids among them) and falls back to its generic Prescott
//   kernels, a quarter of the speed; on a CPU with the AVX-512 subsets its SkylakeX kernels use,
//   those are asked for instead, unless the user chose.
// - OPENBLAS_NUM_THREADS=1, whatever the user set: every product runs on the calling thread (the
//   library's pool splits large ones; see keep_blas_on_calling_thread), so OpenBLAS starts no threads
//   of its own, which would only idle beside the pool's.
class LoadSettings {
 public:
  LoadSettings() {
    if (const char* threads = std::getenv("OPENBLAS_NUM_THREADS")) user_threads_ = threads;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    if (cpu_has_avx512_core() && !std::getenv("OPENBLAS_CORETYPE") && !std::getenv("AE_OPENBLAS_CORE_AUTO")) {
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
      core_ = "SkylakeX";
    }
  }
  ~LoadSettings() {
    if (!core_.empty()) unsetenv("OPENBLAS_CORETYPE");
    if (user_threads_) {
      setenv("OPENBLAS_NUM_THREADS", user_threads_->c_str(), 1);
    } else {
      unsetenv("OPENBLAS_NUM_THREADS");
    }
  }
  const std::string& core() const { return core_; }

 private:
  std::string core_;
  std::optional<std::string> user_threads_;
};

Loaded load() {
  Loaded out;
  std::string tried;
  const LoadSettings settings;
  out.requested_core = settings.core();
  for (const std::string& name : candidates()) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      tried += (tried.empty() ? "" : "; ") + name;
      continue;
    }
    out.api.sgemm = reinterpret_cast<decltype(out.api.sgemm)>(dlsym(handle, "cblas_sgemm"));
    out.api.set_num_threads = reinterpret_cast<decltype(out.api.set_num_threads)>(dlsym(handle, "openblas_set_num_threads"));
    out.api.get_num_threads = reinterpret_cast<decltype(out.api.get_num_threads)>(dlsym(handle, "openblas_get_num_threads"));
    out.api.get_corename = reinterpret_cast<decltype(out.api.get_corename)>(dlsym(handle, "openblas_get_corename"));
    if (out.api.sgemm && out.api.set_num_threads && out.api.get_num_threads && out.api.get_corename) {
      out.ok = true;
      return out;
    }
    dlclose(handle);
    tried += (tried.empty() ? "" : "; ") + name + " (not OpenBLAS)";
  }
  out.reason = "OpenBLAS could not be loaded (tried " + tried + ")";
  return out;
}
#else
Loaded load() {
  Loaded out;
  out.reason = "the addon was built without OpenBLAS";
  return out;
}
#endif

const Loaded& loaded() {
  static const Loaded instance = load();
  return instance;
}

}  // namespace

const OpenBlas* openblas() { return loaded().ok ? &loaded().api : nullptr; }

const std::string& openblas_unavailable_reason() { return loaded().reason; }

const std::string& openblas_requested_core() { return loaded().requested_core; }

}  // namespace ae::cpu
