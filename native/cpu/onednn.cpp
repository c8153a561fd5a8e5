// oneDNN's matmul primitives and bf16 GEMM, looked up by name in libdnnl, behind bf16_matmul and
// f32_matmul.
#include "cpu/onednn.h"

#include <cstdlib>

#include "core/errors.h"
#include "cpu/kernels.h"

#if defined(AE_HAVE_ONEDNN)
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <tuple>
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

bool f32_matmul_available() { return false; }

bool try_f32_matmul(bool, bool, long, long, long, const float*, long, const float*, long, float*, long) {
  return false;
}

#else

namespace {

// oneDNN's row-major bf16 GEMM with float32 accumulation: exported by libdnnl 1.x-3.x, though the
// 2.x headers no longer declare it. It runs on AVX512-BF16 and repacks both operands on every
// call; the products that repeat go through matmul primitives instead (below).
using GemmBf16 = dnnl_status_t (*)(char transa, char transb, dnnl_dim_t m, dnnl_dim_t n, dnnl_dim_t k, float alpha,
                                   const uint16_t* a, dnnl_dim_t lda, const uint16_t* b, dnnl_dim_t ldb, float beta,
                                   float* c, dnnl_dim_t ldc);

#if DNNL_VERSION_MAJOR == 2
#define AE_ONEDNN_MATMUL 1
// The matmul primitive API of oneDNN 2.x (3.x changed these signatures; there only the GEMM runs).
struct MatmulApi {
  decltype(&dnnl_engine_create) engine_create = nullptr;
  decltype(&dnnl_stream_create) stream_create = nullptr;
  decltype(&dnnl_stream_wait) stream_wait = nullptr;
  decltype(&dnnl_stream_destroy) stream_destroy = nullptr;
  decltype(&dnnl_memory_desc_init_by_strides) memory_desc_init_by_strides = nullptr;
  decltype(&dnnl_memory_desc_get_size) memory_desc_get_size = nullptr;
  decltype(&dnnl_memory_create) memory_create = nullptr;
  decltype(&dnnl_memory_destroy) memory_destroy = nullptr;
  decltype(&dnnl_matmul_desc_init) matmul_desc_init = nullptr;
  decltype(&dnnl_primitive_attr_create) attr_create = nullptr;
  decltype(&dnnl_primitive_attr_set_scratchpad_mode) attr_set_scratchpad_mode = nullptr;
  decltype(&dnnl_primitive_attr_destroy) attr_destroy = nullptr;
  decltype(&dnnl_primitive_desc_create) desc_create = nullptr;
  decltype(&dnnl_primitive_desc_query_md) desc_query_md = nullptr;
  decltype(&dnnl_primitive_desc_destroy) desc_destroy = nullptr;
  decltype(&dnnl_primitive_create) primitive_create = nullptr;
  decltype(&dnnl_primitive_execute) primitive_execute = nullptr;
  decltype(&dnnl_primitive_destroy) primitive_destroy = nullptr;
  // Optional: float32 primitives are asked for strict float32 math, whatever
  // ONEDNN_DEFAULT_FPMATH_MODE says (it lets oneDNN compute them in bf16 on AMX).
  decltype(&dnnl_primitive_attr_set_fpmath_mode) attr_set_fpmath_mode = nullptr;
};
#endif

struct Api {
  GemmBf16 gemm = nullptr;
  void (*omp_set_num_threads)(int) = nullptr;
#if AE_ONEDNN_MATMUL
  MatmulApi matmul;
  bool has_matmul = false;  // the library has the primitive API
  // Per operand type, whether its products may take primitives: one that fails to be made sends
  // that type's products elsewhere from then on.
  std::atomic<bool> bf16_plans{false}, f32_plans{false};
  std::atomic<bool>& plans_of(dnnl_data_type_t operands) { return operands == dnnl_f32 ? f32_plans : bf16_plans; }
#endif
};

Api& api() {
  static Api instance;
  return instance;
}

template <class Function>
bool bind(void* library, const char* name, Function& out) {
  out = reinterpret_cast<Function>(dlsym(library, name));
  return out != nullptr;
}

void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success)
    throw Error(ErrorKind::Internal, "ERR_INTERNAL",
                std::string("oneDNN ") + what + " failed with status " + std::to_string(int(status)));
}

#if AE_ONEDNN_MATMUL

bool bind_matmul(void* library, MatmulApi& m) {
  const bool all =
      bind(library, "dnnl_engine_create", m.engine_create) && bind(library, "dnnl_stream_create", m.stream_create) &&
      bind(library, "dnnl_stream_wait", m.stream_wait) && bind(library, "dnnl_stream_destroy", m.stream_destroy) &&
      bind(library, "dnnl_memory_desc_init_by_strides", m.memory_desc_init_by_strides) &&
      bind(library, "dnnl_memory_desc_get_size", m.memory_desc_get_size) &&
      bind(library, "dnnl_memory_create", m.memory_create) && bind(library, "dnnl_memory_destroy", m.memory_destroy) &&
      bind(library, "dnnl_matmul_desc_init", m.matmul_desc_init) &&
      bind(library, "dnnl_primitive_attr_create", m.attr_create) &&
      bind(library, "dnnl_primitive_attr_set_scratchpad_mode", m.attr_set_scratchpad_mode) &&
      bind(library, "dnnl_primitive_attr_destroy", m.attr_destroy) &&
      bind(library, "dnnl_primitive_desc_create", m.desc_create) &&
      bind(library, "dnnl_primitive_desc_query_md", m.desc_query_md) &&
      bind(library, "dnnl_primitive_desc_destroy", m.desc_destroy) &&
      bind(library, "dnnl_primitive_create", m.primitive_create) &&
      bind(library, "dnnl_primitive_execute", m.primitive_execute) &&
      bind(library, "dnnl_primitive_destroy", m.primitive_destroy);
  bind(library, "dnnl_primitive_attr_set_fpmath_mode", m.attr_set_fpmath_mode);
  return all;
}

// Made on first use, not when oneDNN loads: backendInfo() and processes that never run a product on
// oneDNN stay free of its state (and of OpenMP's threads, which gcc 12's LeakSanitizer
// cannot stop at exit).
dnnl_engine_t engine() {
  static const dnnl_engine_t instance = [] {
    dnnl_engine_t made = nullptr;
    check(api().matmul.engine_create(&made, dnnl_cpu, 0), "engine");
    return made;
  }();
  return instance;
}

// What a product's shape decides: transposes, sizes and leading dimensions.
// A primitive splits its work for the OpenMP thread count of its making, whatever the count when it
// runs (a 2048³ product on two threads ran at the one-thread rate, 579 against 1,215 GFLOP/s, on
// a primitive made for one): the threads are part of the shape.
struct ProductShape {
  dnnl_data_type_t operands;  // of A and B; C is float32
  bool trans_a, trans_b;
  long m, n, k, lda, ldb, ldc;
  int threads;
  auto key() const { return std::tie(operands, trans_a, trans_b, m, n, k, lda, ldb, ldc, threads); }
  bool operator<(const ProductShape& other) const { return key() < other.key(); }
};

// The calling thread's stream and scratchpad: primitives run with a user scratchpad, so one
// primitive serves several threads at once.
class ThreadContext {
 public:
  ~ThreadContext() {
    if (stream_) api().matmul.stream_destroy(stream_);
  }
  dnnl_stream_t stream() {
    if (!stream_) check(api().matmul.stream_create(&stream_, engine(), dnnl_stream_default_flags), "stream");
    return stream_;
  }
  void* scratchpad(size_t bytes) {
    if (bytes > scratchpad_bytes_) {
      const size_t rounded = (bytes + 63) / 64 * 64;
      scratchpad_bytes_ = 0;
      scratchpad_.reset(static_cast<char*>(std::aligned_alloc(64, rounded)));
      if (!scratchpad_) throw std::bad_alloc();
      scratchpad_bytes_ = rounded;
    }
    return scratchpad_.get();
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  dnnl_stream_t stream_ = nullptr;
  std::unique_ptr<char, Free> scratchpad_;
  size_t scratchpad_bytes_ = 0;
};

ThreadContext& thread_context() {
  thread_local ThreadContext context;
  return context;
}

// A matmul primitive for one product shape, on the row-major operands as they lie (blocked
// weights were measured: the products gain 5-8%, but reordering each step's new weights costs more).
class MatmulPlan {
 public:
  explicit MatmulPlan(const ProductShape& s) {
    const MatmulApi& m = api().matmul;
    const dnnl_dims_t a_dims = {s.m, s.k}, b_dims = {s.k, s.n}, c_dims = {s.m, s.n};
    const dnnl_dims_t a_strides = {s.trans_a ? 1 : s.lda, s.trans_a ? s.lda : 1};
    const dnnl_dims_t b_strides = {s.trans_b ? 1 : s.ldb, s.trans_b ? s.ldb : 1};
    const dnnl_dims_t c_strides = {s.ldc, 1};
    check(m.memory_desc_init_by_strides(&a_, 2, a_dims, s.operands, a_strides), "memory descriptor");
    check(m.memory_desc_init_by_strides(&b_, 2, b_dims, s.operands, b_strides), "memory descriptor");
    check(m.memory_desc_init_by_strides(&c_, 2, c_dims, dnnl_f32, c_strides), "memory descriptor");
    dnnl_matmul_desc_t op;
    check(m.matmul_desc_init(&op, &a_, &b_, nullptr, &c_), "matmul descriptor");
    dnnl_primitive_attr_t attr = nullptr;
    check(m.attr_create(&attr), "attributes");
    dnnl_primitive_desc_t desc = nullptr;
    dnnl_status_t status = m.attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (status == dnnl_success && s.operands == dnnl_f32 && m.attr_set_fpmath_mode)
      status = m.attr_set_fpmath_mode(attr, dnnl_fpmath_mode_strict);
    if (status == dnnl_success) status = m.desc_create(&desc, &op, attr, engine(), nullptr);
    m.attr_destroy(attr);
    check(status, "matmul primitive descriptor");
    const dnnl_memory_desc_t* scratch = m.desc_query_md(desc, dnnl_query_scratchpad_md, 0);
    if (scratch) scratchpad_ = *scratch;
    scratchpad_bytes_ = scratch ? m.memory_desc_get_size(scratch) : 0;
    status = m.primitive_create(&primitive_, desc);
    m.desc_destroy(desc);
    check(status, "matmul primitive");
  }
  ~MatmulPlan() { api().matmul.primitive_destroy(primitive_); }
  MatmulPlan(const MatmulPlan&) = delete;
  MatmulPlan& operator=(const MatmulPlan&) = delete;

  void run(const void* a, const void* b, float* c) const {
    const MatmulApi& m = api().matmul;
    const dnnl_engine_t cpu = engine();
    ThreadContext& context = thread_context();
    void* scratch = scratchpad_bytes_ ? context.scratchpad(scratchpad_bytes_) : nullptr;
    struct Memory {
      dnnl_memory_t handle = nullptr;
      ~Memory() {
        if (handle) api().matmul.memory_destroy(handle);
      }
    } src, weights, dst, scratchpad;
    check(m.memory_create(&src.handle, &a_, cpu, const_cast<void*>(a)), "memory");
    check(m.memory_create(&weights.handle, &b_, cpu, const_cast<void*>(b)), "memory");
    check(m.memory_create(&dst.handle, &c_, cpu, c), "memory");
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, src.handle}, {DNNL_ARG_WEIGHTS, weights.handle}, {DNNL_ARG_DST, dst.handle}, {0, nullptr}};
    int count = 3;
    if (scratch) {
      check(m.memory_create(&scratchpad.handle, &scratchpad_, cpu, scratch), "memory");
      args[count++] = {DNNL_ARG_SCRATCHPAD, scratchpad.handle};
    }
    check(m.primitive_execute(primitive_, context.stream(), count, args), "matmul");
    check(m.stream_wait(context.stream()), "stream");
  }

 private:
  dnnl_memory_desc_t a_{}, b_{}, c_{}, scratchpad_{};
  size_t scratchpad_bytes_ = 0;
  dnnl_primitive_t primitive_ = nullptr;
};

// bf16 products from 2^24 multiply-adds on take a primitive, made on first use of the shape (0.1-4 ms
// of JIT) and kept; smaller ones go through the bf16 GEMM, where making a primitive would cost more
// than it saves. The choice depends on the shape alone, so a product's result never depends on
// which products ran before it.
constexpr double kMatmulFrom = double(1L << 24);
// Bands add shapes (a band, and the last, narrower band; a batch's last, shorter rows): room for
// deep networks' several hundred, whose rebuilding each step would cost far more than it saves.
constexpr size_t kMaxPlans = 512;

class MatmulPlans {
 public:
  std::shared_ptr<const MatmulPlan> get(const ProductShape& shape) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = plans_.find(shape);
      if (found != plans_.end()) {
        found->second.last_use = ++clock_;
        return found->second.plan;
      }
    }
    auto plan = std::make_shared<const MatmulPlan>(shape);
    std::lock_guard<std::mutex> lock(mutex_);
    if (plans_.size() >= kMaxPlans) {
      auto oldest = std::min_element(plans_.begin(), plans_.end(), [](const auto& x, const auto& y) {
        return x.second.last_use < y.second.last_use;
      });
      plans_.erase(oldest);  // a thread still running it holds its own reference
    }
    auto inserted = plans_.emplace(shape, Entry{plan, ++clock_});
    return inserted.first->second.plan;
  }

 private:
  struct Entry {
    std::shared_ptr<const MatmulPlan> plan;
    unsigned long last_use;
  };
  std::mutex mutex_;
  std::map<ProductShape, Entry> plans_;
  unsigned long clock_ = 0;
};

// Never destroyed: at exit, libdnnl may be torn down before this library's statics.
MatmulPlans& plans() {
  static MatmulPlans* instance = new MatmulPlans;
  return *instance;
}

#endif

// What loading libdnnl found: its kernels' instruction set, and whether its matmul primitives
// are there to make (api().has_matmul).
struct Library {
  bool loaded = false;
  std::string missing;  // why not loaded
  unsigned isa = 0;     // dnnl_get_effective_cpu_isa(); each value holds the bits of the ones below it
  bool has(dnnl_cpu_isa_t wanted) const { return (isa & unsigned(wanted)) == unsigned(wanted); }
};

Library open_library(Api& out) {
  Library lib;
  // oneDNN runs on OpenMP threads; by default they spin after each product and would take the
  // cores from the library's own threads. The user's setting wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  void* handle = nullptr;
  for (const char* name : {"libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"}) {
    handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle) break;
  }
  if (!handle) {
    lib.missing = "oneDNN could not be loaded (libdnnl.so.2; Debian: apt-get install libdnnl2)";
    return lib;
  }
  dnnl_cpu_isa_t (*effective_isa)() = nullptr;
  if (!bind(handle, "dnnl_get_effective_cpu_isa", effective_isa)) {
    lib.missing = "the oneDNN found exports no dnnl_get_effective_cpu_isa";
    return lib;
  }
  bind(handle, "omp_set_num_threads", out.omp_set_num_threads);
  bind(handle, "dnnl_gemm_bf16bf16f32", out.gemm);
#if AE_ONEDNN_MATMUL
  out.has_matmul = bind_matmul(handle, out.matmul);
  out.bf16_plans = out.has_matmul;
  out.f32_plans = out.has_matmul;
#endif
  lib.isa = unsigned(effective_isa());
  lib.loaded = true;
  return lib;
}

// Loaded on first use (backendInfo(), a bf16 fit, a fit whose products may run on oneDNN):
// other processes never map it.
const Library& library() {
  static const Library loaded = open_library(api());
  return loaded;
}

// Checks that the CPU has bf16 instructions, then that oneDNN's kernels use them.
Bf16Support find_bf16() {
  Bf16Support s;
  const std::string cpu = cpu_bf16();
  if (cpu.empty()) {
    s.reason = "this CPU has neither AMX-BF16 nor AVX512-BF16";
    return s;
  }
  const Library& lib = library();
  if (!lib.loaded) {
    s.reason = lib.missing;
    return s;
  }
  if (!api().gemm) {
    s.reason = "the oneDNN found exports no dnnl_gemm_bf16bf16f32";
    return s;
  }
  const bool amx = lib.has(dnnl_cpu_isa_avx512_core_amx);
  if (!amx && !lib.has(dnnl_cpu_isa_avx512_core_bf16)) {
    s.reason = "oneDNN does not use this CPU's " + cpu + " (its ISA limit is below avx512_core_bf16; see ONEDNN_MAX_CPU_ISA)";
    return s;
  }
  const std::string unit = amx ? "AMX-BF16" : "AVX512-BF16";
  s.kernels = "oneDNN gemm_bf16bf16f32 on " + unit;
#if AE_ONEDNN_MATMUL
  if (api().has_matmul) {
    s.kernels = "oneDNN matmul primitives (brgemm) on " + unit +
                " for products from 2^24 multiply-adds, gemm_bf16bf16f32 below";
  }
#endif
  s.available = true;
  return s;
}

// OpenMP's thread count belongs to the calling thread, and others set it too (an OpenMP build of
// OpenBLAS, told to run on one thread), so each product sets it.
void set_openmp_threads(int threads) {
  if (api().omp_set_num_threads) api().omp_set_num_threads(threads);
}

#if AE_ONEDNN_MATMUL
// The primitive made (or kept) for the shape, or null where this oneDNN cannot make one: the caller
// then takes another route, as every later caller will.
std::shared_ptr<const MatmulPlan> plan_for(const ProductShape& shape) {
  Api& dnnl = api();
  std::atomic<bool>& usable = dnnl.plans_of(shape.operands);
  if (!usable.load(std::memory_order_relaxed)) return nullptr;
  try {
    return plans().get(shape);
  } catch (const Error&) {
    usable = false;
    return nullptr;
  }
}
#endif

}  // namespace

const Bf16Support& bf16_support() {
  static const Bf16Support support = find_bf16();
  return support;
}

void bf16_matmul(bool trans_a, bool trans_b, long m, long n, long k, const uint16_t* a, long lda, const uint16_t* b,
                 long ldb, float* c, long ldc, int threads) {
  const Bf16Support& support = bf16_support();
  if (!support.available) throw_unavailable(support.reason);
  set_openmp_threads(threads);
#if AE_ONEDNN_MATMUL
  if (double(m) * double(n) * double(k) >= kMatmulFrom) {
    if (auto plan = plan_for(ProductShape{dnnl_bf16, trans_a, trans_b, m, n, k, lda, ldb, ldc, threads})) {
      plan->run(a, b, c);
      return;
    }
  }
#endif
  check(api().gemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc),
        "gemm_bf16bf16f32");
}

bool f32_matmul_available() {
#if AE_ONEDNN_MATMUL
  static const bool available = [] {
    // The CPU is checked first, so that others never map libdnnl for float32 products. Where OpenMP's
    // thread count cannot be set, a "one-thread" product could take every core.
    return cpu_has_avx512_core() && library().loaded && api().has_matmul && api().omp_set_num_threads &&
           library().has(dnnl_cpu_isa_avx512_core);
  }();
  return available && api().f32_plans.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

bool try_f32_matmul(bool trans_a, bool trans_b, long m, long n, long k, const float* a, long lda, const float* b,
                    long ldb, float* c, long ldc) {
#if AE_ONEDNN_MATMUL
  if (!f32_matmul_available()) return false;
  set_openmp_threads(1);
  auto plan = plan_for(ProductShape{dnnl_f32, trans_a, trans_b, m, n, k, lda, ldb, ldc, 1});
  if (!plan) return false;
  plan->run(a, b, c);
  return true;
#else
  return false;
#endif
}

#endif

}  // namespace ae::cpu
