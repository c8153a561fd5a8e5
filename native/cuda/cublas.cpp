// Finds libcublas with dlopen and looks up the functions the backend calls.
#include "cuda/cublas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

namespace ae::cuda {

namespace {

std::vector<std::string> candidates() {
  std::vector<std::string> names;
  if (const char* chosen = std::getenv("AE_CUBLAS_LIBRARY"); chosen && *chosen) names.emplace_back(chosen);
  std::vector<std::string> dirs;
  for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* home = std::getenv(var); home && *home) dirs.push_back(std::string(home) + "/lib64/");
  dirs.push_back("/usr/local/cuda/lib64/");
  for (const char* soname : {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11"}) {
    names.emplace_back(soname);
    for (const std::string& dir : dirs) names.push_back(dir + soname);
  }
  return names;
}

template <typename Fn>
bool bind(void* library, const char* name, Fn& fn, std::string& missing) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  if (!fn) missing += (missing.empty() ? "" : ", ") + std::string(name);
  return fn != nullptr;
}

}  // namespace

const Cublas* load_cublas(std::string& why) {
  static Cublas cublas;
  static std::string failure;
  static const bool loaded = [] {
    for (const std::string& name : candidates()) {
      void* library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!library) continue;
      std::string missing;
      bind(library, "cublasCreate_v2", cublas.create, missing);
      bind(library, "cublasDestroy_v2", cublas.destroy, missing);
      bind(library, "cublasSetStream_v2", cublas.set_stream, missing);
      bind(library, "cublasSetMathMode", cublas.set_math_mode, missing);
      bind(library, "cublasGetVersion_v2", cublas.get_version, missing);
      bind(library, "cublasSgemm_v2", cublas.sgemm, missing);
      if (missing.empty()) {
        cublas.library = name;
        return true;
      }
      failure = name + " lacks " + missing;
      dlclose(library);
    }
    if (failure.empty())
      failure = "libcublas.so.13, .12 or .11 was not found (set AE_CUBLAS_LIBRARY to its path, or add the CUDA "
                "toolkit's lib64 to LD_LIBRARY_PATH)";
    return false;
  }();
  if (!loaded) why = failure;
  return loaded ? &cublas : nullptr;
}

}  // namespace ae::cuda
