// The portable kernels: plain C++ that the compiler may auto-vectorize for the baseline target
// (SSE2 on x86-64, NEON on aarch64). Every wider path is tested against the scalar reference.
#include "cpu/kernels_prelude.h"

#define AE_ISA portable
#include "cpu/vec.h"
#include "cpu/kernels_impl.h"

namespace ae::cpu {

const KernelTable& scalar_kernels() {
  static const KernelTable table = portable::make_kernel_table<portable::ScalarVec>(SimdLevel::Scalar);
  return table;
}

}  // namespace ae::cpu
