// Row-major float tensors: an aligned owning buffer, non-owning views into it, and a table of named
// slices so that parameters, gradients and optimizer state each live in one allocation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/memory.h"

namespace ae {

// Owns a 64-byte aligned, zero-initialised array of floats, in host memory or in the memory of a
// resource (see memory.h), or views one that another buffer owns (borrowed). Alignment suits
// AVX-512 loads and keeps every slice of a table on its own cache line.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t count, MemoryResource* memory = nullptr);
  // Host memory left as the allocator gave it, for results that are written whole before anyone reads them.
  static Buffer uninitialized(size_t count);
  // A view of owner's floats, which must outlive it; it never frees them.
  static Buffer borrowed(Buffer& owner);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t size() const { return size_; }
  void zero() {
    if (size_) std::memset(data_, 0, size_ * sizeof(float));
  }
  void copy_from(const Buffer& other);
  MemoryResource* memory() const { return memory_; }

 private:
  void release() noexcept;
  Buffer(size_t count, MemoryResource* memory, bool zeroed);

  float* data_ = nullptr;
  size_t size_ = 0;
  MemoryResource* memory_ = nullptr;
  bool owned_ = true;
};

// A non-owning row-major matrix view: rows × cols floats, rows `stride` apart.
struct MatrixView {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  float* row(int64_t r) const { return data + r * cols; }
  int64_t size() const { return rows * cols; }
};

// One named slice of a flat buffer.
struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;  // in floats from the start of the buffer
  size_t count() const {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    return n;
  }
};

// The layout of a flat buffer: each entry starts on a 32-float boundary so that views stay aligned,
// in float32 and in a bfloat16 copy of the same layout.
class TensorTable {
 public:
  size_t add(const std::string& name, std::vector<int64_t> shape);
  const std::vector<TensorEntry>& entries() const { return entries_; }
  const TensorEntry& at(size_t index) const { return entries_.at(index); }
  const TensorEntry* find(const std::string& name) const;
  size_t total() const { return total_; }

 private:
  std::vector<TensorEntry> entries_;
  size_t total_ = 0;
};

// Checked size arithmetic for buffers whose sizes come from user input.
size_t checked_mul(size_t a, size_t b, const char* what);

}  // namespace ae
