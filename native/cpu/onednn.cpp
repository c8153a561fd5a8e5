// oneDNN's C API, looked up by name in libdnnl, behind bf16_matmul. Each shape's matmul primitive is
// created once per thread and reused; oneDNN's own cache shares the compiled kernels across threads.
#include "cpu/onednn.h"

#include <cstdlib>
#include <map>
#include <tuple>

#include "core/errors.h"

#if defined(AE_HAVE_ONEDNN)
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace ae::cpu {

namespace {

[[noreturn]] void throw_unavailable(const std::string& why) {
  throw Error(ErrorKind::State, "ERR_BF16_UNAVAILABLE", "precision 'bf16' is unavailable: " + why);
}

// AMX-BF16 (CPUID.7.0:EDX[22], with the OS enabling the tile state) or AVX512-BF16 (CPUID.7.1:EAX[5]).
std::string cpu_bf16() {
#if defined(__x86_64__) || defined(_M_X64)
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return "";
  const bool amx = (edx >> 22) & 1;
  const unsigned max_subleaf = eax;
  bool avx512_bf16 = false;
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) avx512_bf16 = (eax >> 5) & 1;
  if (amx) return "amx-bf16";
  if (avx512_bf16) return "avx512-bf16";
#endif
  return "";
}

}  // namespace

#if !defined(AE_HAVE_ONEDNN)

const Bf16Support& bf16_support() {
  static const Bf16Support support = [] {
    Bf16Support s;
    const std::string cpu = cpu_bf16();
    s.reason = (cpu.empty() ? std::string("this CPU has neither AMX-BF16 nor AVX512-BF16, and ") : std::string()) +
               "this build has no oneDNN: install it (Debian: apt-get install libdnnl-dev) and rebuild "
               "(npm rebuild native-autoencoder)";
    return s;
  }();
  return support;
}

void bf16_matmul(bool, bool, long, long, long, const uint16_t*, long, const uint16_t*, long, float*, long, int) {
  throw_unavailable(bf16_support().reason);
}

#else

namespace {

struct Api {
  void* library = nullptr;
  decltype(&dnnl_engine_create) engine_create;
  decltype(&dnnl_stream_create) stream_create;
  decltype(&dnnl_stream_wait) stream_wait;
  decltype(&dnnl_stream_destroy) stream_destroy;
  decltype(&dnnl_memory_desc_init_by_strides) memory_desc_init_by_strides;
  decltype(&dnnl_matmul_desc_init) matmul_desc_init;
  decltype(&dnnl_primitive_desc_create) primitive_desc_create;
  decltype(&dnnl_primitive_desc_query) primitive_desc_query;
  decltype(&dnnl_primitive_desc_destroy) primitive_desc_destroy;
  decltype(&dnnl_primitive_create) primitive_create;
  decltype(&dnnl_primitive_destroy) primitive_destroy;
  decltype(&dnnl_primitive_execute) primitive_execute;
  decltype(&dnnl_memory_create) memory_create;
  decltype(&dnnl_memory_destroy) memory_destroy;
  void (*omp_set_num_threads)(int) = nullptr;
  dnnl_engine_t engine = nullptr;
};

template <typename T>
bool bind(void* library, T& slot, const char* name) {
  slot = reinterpret_cast<T>(dlsym(library, name));
  return slot != nullptr;
}

// Loads libdnnl and probes a bf16 matmul; the implementation it picks says which kernels run.
Bf16Support load(Api& api) {
  Bf16Support s;
  const std::string cpu = cpu_bf16();
  if (cpu.empty()) {
    s.reason = "this CPU has neither AMX-BF16 nor AVX512-BF16";
    return s;
  }
  // oneDNN runs on OpenMP threads; by default they spin after each product and would take the
  // cores from the library's own threads. The user's setting wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  for (const char* name : {"libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"}) {
    api.library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (api.library) break;
  }
  if (!api.library) {
    s.reason = "oneDNN could not be loaded (libdnnl.so.2; Debian: apt-get install libdnnl2)";
    return s;
  }
  const bool bound = bind(api.library, api.engine_create, "dnnl_engine_create") &&
                     bind(api.library, api.stream_create, "dnnl_stream_create") &&
                     bind(api.library, api.stream_wait, "dnnl_stream_wait") &&
                     bind(api.library, api.stream_destroy, "dnnl_stream_destroy") &&
                     bind(api.library, api.memory_desc_init_by_strides, "dnnl_memory_desc_init_by_strides") &&
                     bind(api.library, api.matmul_desc_init, "dnnl_matmul_desc_init") &&
                     bind(api.library, api.primitive_desc_create, "dnnl_primitive_desc_create") &&
                     bind(api.library, api.primitive_desc_query, "dnnl_primitive_desc_query") &&
                     bind(api.library, api.primitive_desc_destroy, "dnnl_primitive_desc_destroy") &&
                     bind(api.library, api.primitive_create, "dnnl_primitive_create") &&
                     bind(api.library, api.primitive_destroy, "dnnl_primitive_destroy") &&
                     bind(api.library, api.primitive_execute, "dnnl_primitive_execute") &&
                     bind(api.library, api.memory_create, "dnnl_memory_create") &&
                     bind(api.library, api.memory_destroy, "dnnl_memory_destroy");
  if (!bound) {
    s.reason = "the oneDNN found lacks the oneDNN 2.x C API (dnnl_matmul_desc_init)";
    return s;
  }
  bind(api.library, api.omp_set_num_threads, "omp_set_num_threads");
  if (api.engine_create(&api.engine, dnnl_cpu, 0) != dnnl_success) {
    s.reason = "oneDNN could not create a CPU engine";
    return s;
  }
  dnnl_memory_desc_t a, b, c;
  dnnl_dims_t dims = {64, 64}, strides = {64, 1};
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd = nullptr;
  const char* impl = nullptr;
  if (api.memory_desc_init_by_strides(&a, 2, dims, dnnl_bf16, strides) != dnnl_success ||
      api.memory_desc_init_by_strides(&b, 2, dims, dnnl_bf16, strides) != dnnl_success ||
      api.memory_desc_init_by_strides(&c, 2, dims, dnnl_f32, strides) != dnnl_success ||
      api.matmul_desc_init(&desc, &a, &b, nullptr, &c) != dnnl_success ||
      api.primitive_desc_create(&pd, &desc, nullptr, api.engine, nullptr) != dnnl_success ||
      api.primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl) {
    if (pd) api.primitive_desc_destroy(pd);
    s.reason = "oneDNN has no bf16 matmul for this CPU";
    return s;
  }
  s.kernels = impl;
  api.primitive_desc_destroy(pd);
  // A reference (scalar) implementation would be many times slower than float32.
  if (s.kernels.find("ref") != std::string::npos || s.kernels.find("gemm:") != std::string::npos) {
    s.reason = "oneDNN's bf16 matmul here is '" + s.kernels + "', not a " + cpu + " kernel";
    return s;
  }
  s.available = true;
  return s;
}

Api& api() {
  static Api instance;
  return instance;
}

void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success)
    throw Error(ErrorKind::Internal, "ERR_INTERNAL", std::string("oneDNN ") + what + " failed with status " +
                                                         std::to_string(int(status)));
}

// One shape's matmul, created on first use by each thread.
class Matmul {
 public:
  Matmul(bool trans_a, bool trans_b, long m, long n, long k, long lda, long ldb, long ldc) {
    const Api& dnnl = api();
    dnnl_dims_t a_dims = {m, k}, b_dims = {k, n}, c_dims = {m, n};
    dnnl_dims_t a_strides = {trans_a ? 1 : lda, trans_a ? lda : 1};
    dnnl_dims_t b_strides = {trans_b ? 1 : ldb, trans_b ? ldb : 1};
    dnnl_dims_t c_strides = {ldc, 1};
    check(dnnl.memory_desc_init_by_strides(&a_, 2, a_dims, dnnl_bf16, a_strides), "memory descriptor");
    check(dnnl.memory_desc_init_by_strides(&b_, 2, b_dims, dnnl_bf16, b_strides), "memory descriptor");
    check(dnnl.memory_desc_init_by_strides(&c_, 2, c_dims, dnnl_f32, c_strides), "memory descriptor");
    dnnl_matmul_desc_t desc;
    check(dnnl.matmul_desc_init(&desc, &a_, &b_, nullptr, &c_), "matmul descriptor");
    dnnl_primitive_desc_t pd;
    check(dnnl.primitive_desc_create(&pd, &desc, nullptr, dnnl.engine, nullptr), "matmul primitive descriptor");
    const dnnl_status_t created = dnnl.primitive_create(&primitive_, pd);
    dnnl.primitive_desc_destroy(pd);
    check(created, "matmul primitive");
  }
  ~Matmul() { api().primitive_destroy(primitive_); }
  Matmul(const Matmul&) = delete;
  Matmul& operator=(const Matmul&) = delete;

  void run(dnnl_stream_t stream, const uint16_t* a, const uint16_t* b, float* c) const {
    const Api& dnnl = api();
    dnnl_memory_t ma, mb, mc;
    check(dnnl.memory_create(&ma, &a_, dnnl.engine, const_cast<uint16_t*>(a)), "memory");
    check(dnnl.memory_create(&mb, &b_, dnnl.engine, const_cast<uint16_t*>(b)), "memory");
    check(dnnl.memory_create(&mc, &c_, dnnl.engine, c), "memory");
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    const dnnl_status_t executed = dnnl.primitive_execute(primitive_, stream, 3, args);
    if (executed == dnnl_success) dnnl.stream_wait(stream);
    dnnl.memory_destroy(ma);
    dnnl.memory_destroy(mb);
    dnnl.memory_destroy(mc);
    check(executed, "matmul");
  }

 private:
  dnnl_memory_desc_t a_, b_, c_;
  dnnl_primitive_t primitive_ = nullptr;
};

struct ThreadMatmuls {
  dnnl_stream_t stream = nullptr;
  int threads = 0;
  std::map<std::tuple<bool, bool, long, long, long, long, long, long>, Matmul> shapes;
  ~ThreadMatmuls() {
    shapes.clear();
    if (stream) api().stream_destroy(stream);
  }
};

}  // namespace

const Bf16Support& bf16_support() {
  static const Bf16Support support = load(api());
  return support;
}

void bf16_matmul(bool trans_a, bool trans_b, long m, long n, long k, const uint16_t* a, long lda, const uint16_t* b,
                 long ldb, float* c, long ldc, int threads) {
  const Bf16Support& support = bf16_support();
  if (!support.available) throw_unavailable(support.reason);
  thread_local ThreadMatmuls mine;
  const Api& dnnl = api();
  if (!mine.stream) check(dnnl.stream_create(&mine.stream, dnnl.engine, dnnl_stream_default_flags), "stream");
  if (mine.threads != threads && dnnl.omp_set_num_threads) {
    dnnl.omp_set_num_threads(threads);
    mine.threads = threads;
  }
  auto key = std::make_tuple(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  auto found = mine.shapes.find(key);
  if (found == mine.shapes.end())
    found = mine.shapes
                .emplace(std::piecewise_construct, std::forward_as_tuple(key),
                         std::forward_as_tuple(trans_a, trans_b, m, n, k, lda, ldb, ldc))
                .first;
  found->second.run(mine.stream, a, b, c);
}

#endif

}  // namespace ae::cpu
