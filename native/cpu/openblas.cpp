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

Loaded load() {
  Loaded out;
  std::string tried;
  for (const std::string& name : candidates()) {
    void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      tried += (tried.empty() ? "" : "; ") + name;
      continue;
    }
    out.api.sgemm = reinterpret_cast<decltype(out.api.sgemm)>(dlsym(handle, "cblas_sgemm"));
    out.api.set_num_threads = reinterpret_cast<decltype(out.api.set_num_threads)>(dlsym(handle, "openblas_set_num_threads"));
    out.api.get_corename = reinterpret_cast<decltype(out.api.get_corename)>(dlsym(handle, "openblas_get_corename"));
    if (out.api.sgemm && out.api.set_num_threads && out.api.get_corename) {
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

}  // namespace ae::cpu
