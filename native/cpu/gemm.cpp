// GEMM dispatch and the built-in blocked GEMM (packing in the style of GotoBLAS: B in kc × nc
// panels, A in mc × kc panels, a register-tiled micro-kernel over both). A row-major A that only a
// few column panels reuse is read in place: packing it would cost about as much as the product.
#include "cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu/bands.h"
#include "cpu/openblas.h"

namespace ae::cpu {

bool have_openblas() { return openblas() != nullptr; }

std::string blas_kernel_name() {
  const char* name = have_openblas() ? openblas()->get_corename() : nullptr;
  return name ? name : "";
}

GemmChoice choose_gemm(const KernelTable& kernels, std::string* reason) {
  if (!have_openblas()) {
    *reason = openblas_unavailable_reason();
    return GemmChoice::Builtin;
  }
  const char* forced = std::getenv("AE_GEMM");
  if (forced && std::strcmp(forced, "builtin") == 0) {
    *reason = "AE_GEMM=builtin";
    return GemmChoice::Builtin;
  }
  if (forced && std::strcmp(forced, "openblas") == 0) {
    *reason = "AE_GEMM=openblas";
    return GemmChoice::OpenBlasOnly;
  }
  static const char* const kGeneric[] = {"Prescott", "Core2",   "Penryn", "Dunnington", "Nehalem", "Sandybridge",
                                         "Katmai",   "Northwood", "Banias", "Atom",      "Generic", "Barcelona"};
  const std::string name = blas_kernel_name();
  if (kernels.level != SimdLevel::Scalar) {
    for (const char* generic : kGeneric) {
      if (name == generic) {
        *reason = "OpenBLAS chose its generic " + name + " kernels for this CPU; the built-in " +
                  simd_level_name(kernels.level) + " GEMM is faster";
        return GemmChoice::Builtin;
      }
    }
  }
  *reason = "OpenBLAS " + name + " kernels";
  if (!openblas_requested_core().empty() && name == openblas_requested_core())
    *reason += " (asked for on every AVX-512 CPU, as OpenBLAS runs those newer than itself on generic kernels; "
               "AE_OPENBLAS_CORE_AUTO=1 lets it choose)";
  return GemmChoice::OpenBlasBySize;
}

bool blas_has_small_matrix_kernels() {
  const std::string name = blas_kernel_name();
  return name == "SkylakeX" || name == "Cooperlake" || name == "SapphireRapids";
}

void keep_blas_on_calling_thread() {
  if (have_openblas()) openblas()->set_num_threads(1);
}

namespace {

constexpr long kKc = 256;
constexpr long kMc = 96;
constexpr long kNc = 2048;
// Up to this many column panels of nr, a row-major A is read in place rather than packed.
constexpr long kInPlacePanels = 4;
// OpenBLAS's bands are whole cache lines of C and of the operand they cut.
constexpr long kOpenBlasBand = 16;

using FloatOperand = Operand<float>;

// Packs rows [r0, r0 + rows) × depth [p0, p0 + depth) of A into groups of `mr` rows, k-major.
void pack_a(const FloatOperand& a, long r0, long rows, long p0, long depth, int mr, float* out) {
  for (long g = 0; g < rows; g += mr) {
    const long h = std::min<long>(mr, rows - g);
    for (long p = 0; p < depth; ++p) {
      for (long i = 0; i < h; ++i) out[i] = a.at(r0 + g + i, p0 + p);
      for (long i = h; i < mr; ++i) out[i] = 0.0f;
      out += mr;
    }
  }
}

// Packs depth [p0, p0 + depth) × columns [c0, c0 + cols) of B into groups of `nr` columns, k-major.
void pack_b(const FloatOperand& b, long p0, long depth, long c0, long cols, int nr, float* out) {
  for (long g = 0; g < cols; g += nr) {
    const long w = std::min<long>(nr, cols - g);
    for (long p = 0; p < depth; ++p) {
      if (!b.trans) {
        const float* src = b.data + (p0 + p) * b.ld + c0 + g;
        std::copy_n(src, w, out);
      } else {
        for (long j = 0; j < w; ++j) out[j] = b.data[(c0 + g + j) * b.ld + p0 + p];
      }
      for (long j = w; j < nr; ++j) out[j] = 0.0f;
      out += nr;
    }
  }
}

void scale_c(long m, long n, float beta, float* c, long ldc) {
  for (long i = 0; i < m; ++i)
    for (long j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

void serial_gemm(const KernelTable& kt, const FloatOperand& a, const FloatOperand& b, long m, long n, long k, float alpha,
                 float beta, float* c, long ldc) {
  if (m <= 0 || n <= 0) return;
  if (k == 0 || alpha == 0.0f) return scale_c(m, n, beta, c, ldc);
  const int mr = kt.gemm_mr, nr = kt.gemm_nr;
  thread_local std::vector<float> packed_a, packed_b;
  packed_a.resize(size_t((kMc + mr) * kKc));
  packed_b.resize(size_t((kNc + nr) * kKc));
  for (long jc = 0; jc < n; jc += kNc) {
    const long nc = std::min(kNc, n - jc);
    for (long pc = 0; pc < k; pc += kKc) {
      const long kc = std::min(kKc, k - pc);
      const float beta_here = pc == 0 ? beta : 1.0f;
      pack_b(b, pc, kc, jc, nc, nr, packed_b.data());
      const bool in_place = !a.trans && (nc + nr - 1) / nr <= kInPlacePanels;
      for (long ic = 0; ic < m; ic += kMc) {
        const long mc = std::min(kMc, m - ic);
        if (!in_place) pack_a(a, ic, mc, pc, kc, mr, packed_a.data());
        for (long jr = 0; jr < nc; jr += nr) {
          const float* bp = packed_b.data() + (jr / nr) * nr * kc;
          for (long ir = 0; ir < mc; ir += mr) {
            float* cp = c + (ic + ir) * ldc + jc + jr;
            const long rows = std::min<long>(mr, mc - ir), cols = std::min<long>(nr, nc - jr);
            if (in_place) {
              kt.gemm_micro(kc, a.data + (ic + ir) * a.ld + pc, a.ld, 1, bp, cp, ldc, alpha, beta_here, rows, cols);
            } else {
              kt.gemm_micro(kc, packed_a.data() + (ir / mr) * mr * kc, 1, mr, bp, cp, ldc, alpha, beta_here, rows, cols);
            }
          }
        }
      }
    }
  }
}

// Products from this size are split across the pool; smaller ones run on the calling thread.
bool worth_splitting(const ThreadPool* pool, long m, long n, long k) {
  return pool && pool->size() > 1 && double(m) * double(n) * double(k) >= kSerialGemmBelow;
}

}  // namespace

void builtin_gemm(const KernelTable& kt, ThreadPool* pool, bool trans_a, bool trans_b, long m, long n, long k,
                  float alpha, const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  const FloatOperand A{a, lda, trans_a}, B{b, ldb, trans_b};
  if (!worth_splitting(pool, m, n, k)) return serial_gemm(kt, A, B, m, n, k, alpha, beta, c, ldc);
  const bool by_rows = m >= n;
  in_bands(*pool, A, B, m, n, c, ldc, by_rows, by_rows ? kt.gemm_mr : kt.gemm_nr,
           [&](const FloatOperand& as, const FloatOperand& bs, long rows, long cols, float* cs) {
             serial_gemm(kt, as, bs, rows, cols, k, alpha, beta, cs, ldc);
           });
}

void gemm(const KernelTable& kt, ThreadPool* pool, bool trans_a, bool trans_b, long m, long n, long k, float alpha,
          const float* a, long lda, const float* b, long ldb, float beta, float* c, long ldc) {
  const OpenBlas* blas = openblas();
  if (!blas) return builtin_gemm(kt, pool, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  // Row-major C = op(A)·op(B) maps directly onto cblas's CblasRowMajor with the same arguments.
  const auto sgemm = [&](const FloatOperand& as, const FloatOperand& bs, long rows, long cols, float* cs) {
    blas->sgemm(kCblasRowMajor, trans_a ? kCblasTrans : kCblasNoTrans, trans_b ? kCblasTrans : kCblasNoTrans,
                int(rows), int(cols), int(k), alpha, as.data, int(as.ld), bs.data, int(bs.ld), beta, cs, int(ldc));
  };
  const FloatOperand A{a, lda, trans_a}, B{b, ldb, trans_b};
  if (!worth_splitting(pool, m, n, k)) return sgemm(A, B, m, n, c);
  in_bands(*pool, A, B, m, n, c, ldc, m >= n, kOpenBlasBand, sgemm);
}

}  // namespace ae::cpu
