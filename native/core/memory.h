// Where buffers live. Host memory by default; a device backend supplies memory that both the host
// and its device reach (CUDA managed memory), so the core's host-side steps (gathering a batch,
// drawing dropout masks, copying weights) work unchanged on either.
#pragma once
#include <cstddef>

namespace ae {

class MemoryResource {
 public:
  virtual ~MemoryResource() = default;
  // `bytes` of zeroed memory, 64-byte aligned; throws ERR_OUT_OF_MEMORY with the bytes asked and free.
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* data) noexcept = 0;
};

}  // namespace ae
