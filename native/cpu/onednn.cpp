// oneDNN's bf16 GEMM, looked up by name in libdnnl, behind bf16_matmul.
#include "cpu/onednn.h"

#include <cstdlib>

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

// oneDNN's row-major bf16 GEMM with float32 accumulation: exported by libdnnl 1.x-3.x, though the
// 2.x headers no longer declare it. It runs several times faster than the matmul primitive on
// plain layouts (2048³ on 2 threads here: about 1,250 against 410 GFLOP/s).
using GemmBf16 = dnnl_status_t (*)(char transa, char transb, dnnl_dim_t m, dnnl_dim_t n, dnnl_dim_t k, float alpha,
                                   const uint16_t* a, dnnl_dim_t lda, const uint16_t* b, dnnl_dim_t ldb, float beta,
                                   float* c, dnnl_dim_t ldc);

struct Api {
  GemmBf16 gemm = nullptr;
  void (*omp_set_num_threads)(int) = nullptr;
};

Api& api() {
  static Api instance;
  return instance;
}

// Loads libdnnl and checks that its kernels use the CPU's bf16 instructions.
Bf16Support load(Api& out) {
  Bf16Support s;
  const std::string cpu = cpu_bf16();
  if (cpu.empty()) {
    s.reason = "this CPU has neither AMX-BF16 nor AVX512-BF16";
    return s;
  }
  // oneDNN runs on OpenMP threads; by default they spin after each product and would take the
  // cores from the library's own threads. The user's setting wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  void* library = nullptr;
  for (const char* name : {"libdnnl.so.2", "libdnnl.so.3", "libdnnl.so"}) {
    library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library) break;
  }
  if (!library) {
    s.reason = "oneDNN could not be loaded (libdnnl.so.2; Debian: apt-get install libdnnl2)";
    return s;
  }
  auto effective_isa = reinterpret_cast<dnnl_cpu_isa_t (*)()>(dlsym(library, "dnnl_get_effective_cpu_isa"));
  out.gemm = reinterpret_cast<GemmBf16>(dlsym(library, "dnnl_gemm_bf16bf16f32"));
  out.omp_set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(library, "omp_set_num_threads"));
  if (!effective_isa || !out.gemm) {
    s.reason = "the oneDNN found exports no dnnl_gemm_bf16bf16f32";
    return s;
  }
  const unsigned isa = unsigned(effective_isa());
  // Each ISA value holds the bits of the ones below it.
  const bool amx = (isa & unsigned(dnnl_cpu_isa_avx512_core_amx)) == unsigned(dnnl_cpu_isa_avx512_core_amx);
  const bool avx512_bf16 = (isa & unsigned(dnnl_cpu_isa_avx512_core_bf16)) == unsigned(dnnl_cpu_isa_avx512_core_bf16);
  if (!amx && !avx512_bf16) {
    s.reason = "oneDNN does not use this CPU's " + cpu + " (its ISA limit is below avx512_core_bf16; see ONEDNN_MAX_CPU_ISA)";
    return s;
  }
  s.kernels = std::string("oneDNN gemm_bf16bf16f32 on ") + (amx ? "AMX-BF16" : "AVX512-BF16");
  s.available = true;
  return s;
}

}  // namespace

const Bf16Support& bf16_support() {
  static const Bf16Support support = load(api());
  return support;
}

void bf16_matmul(bool trans_a, bool trans_b, long m, long n, long k, const uint16_t* a, long lda, const uint16_t* b,
                 long ldb, float* c, long ldc, int threads) {
  const Bf16Support& support = bf16_support();
  if (!support.available) throw_unavailable(support.reason);
  const Api& dnnl = api();
  // OpenMP's thread count belongs to the calling thread; each fit thread sets its own once.
  thread_local int threads_set = 0;
  if (threads_set != threads && dnnl.omp_set_num_threads) {
    dnnl.omp_set_num_threads(threads);
    threads_set = threads;
  }
  const dnnl_status_t status =
      dnnl.gemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  if (status != dnnl_success)
    throw Error(ErrorKind::Internal, "ERR_INTERNAL", "oneDNN gemm_bf16bf16f32 failed with status " +
                                                         std::to_string(int(status)));
}

#endif

}  // namespace ae::cpu
