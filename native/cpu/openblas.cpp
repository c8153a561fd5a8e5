// Finding and loading OpenBLAS at run time.
#include "cpu/openblas.h"

#include <cstdlib>
#include <mutex>
#include <vector>

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
// so child processes see the environment as it was, and never over the user's own.
// - OPENBLAS_CORETYPE: OpenBLAS picks its kernels from a table of CPUs it knows. Debian 12's 0.3.21
//   knows none newer than itself (Sapphire Rapids among them) and falls back to its generic Prescott
//   kernels, a quarter of the speed; on a CPU with the AVX-512 subsets its SkylakeX kernels use,
//   those are asked for instead.
// - OPENBLAS_THREAD_TIMEOUT: its threads otherwise spin for about 2^28 cycles after each product,
//   taking a core from the library's own pool and from the JavaScript thread (the event loop's p99
//   delay reached 30 ms during a W2 fit); at 4 they sleep at once, which cost nothing measurable.
class LoadSettings {
 public:
  LoadSettings() {
    if (!std::getenv("OPENBLAS_THREAD_TIMEOUT")) {
      setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
      set_timeout_ = true;
    }
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const bool skylakex = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (skylakex && !std::getenv("OPENBLAS_CORETYPE") && !std::getenv("AE_OPENBLAS_CORE_AUTO")) {
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
      core_ = "SkylakeX";
    }
#endif
  }
  ~LoadSettings() {
    if (!core_.empty()) unsetenv("OPENBLAS_CORETYPE");
    if (set_timeout_) unsetenv("OPENBLAS_THREAD_TIMEOUT");
  }
  const std::string& core() const { return core_; }

 private:
  std::string core_;
  bool set_timeout_ = false;
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
