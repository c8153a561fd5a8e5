// Aligned buffers and tensor tables.
#include "core/tensor.h"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "core/errors.h"

namespace ae {

namespace {
constexpr size_t kAlignBytes = 64;
// Entries start on 32-float boundaries: a bfloat16 copy laid out alike (the weights of bf16 training)
// then starts each on a cache line too, as oneDNN's AMX kernels want.
constexpr size_t kAlignFloats = 32;

// Physical memory, or 0 when unknown. Allocations beyond it are refused up front: with overcommit
// the allocation itself would succeed and zeroing it would bring the out-of-memory killer.
size_t physical_memory() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return size_t(pages) * size_t(page);
#endif
  return 0;
}

std::string gib(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", double(bytes) / double(1ull << 30));
  return text;
}
}  // namespace

Buffer::Buffer(size_t count, MemoryResource* memory) : Buffer(count, memory, true) {}

Buffer Buffer::uninitialized(size_t count) { return Buffer(count, nullptr, false); }

Buffer Buffer::borrowed(Buffer& owner) {
  Buffer view;
  view.data_ = owner.data_;
  view.size_ = owner.size_;
  view.memory_ = owner.memory_;
  view.owned_ = false;
  return view;
}

Buffer::Buffer(size_t count, MemoryResource* memory, bool zeroed) : size_(count), memory_(memory) {
  if (count == 0) return;
  if (count > std::numeric_limits<size_t>::max() / sizeof(float) - kAlignBytes) {
    throw Error(ErrorKind::Resource, "ERR_OUT_OF_MEMORY", "buffer of " + std::to_string(count) + " floats is too large");
  }
  size_t bytes = (count * sizeof(float) + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
  if (memory) {
    try {
      data_ = static_cast<float*>(memory->allocate(bytes));
    } catch (...) {
      size_ = 0;
      throw;
    }
    return;
  }
  static const size_t physical = physical_memory();
  if (physical != 0 && bytes > physical) {
    size_ = 0;
    throw Error(ErrorKind::Resource, "ERR_OUT_OF_MEMORY",
                "refused to allocate " + std::to_string(bytes) + " bytes (" + gib(bytes) + "): the machine has " +
                    std::to_string(physical) + " bytes (" + gib(physical) + ") of memory");
  }
  data_ = static_cast<float*>(std::aligned_alloc(kAlignBytes, bytes));
  if (!data_) {
    size_ = 0;
    throw Error(ErrorKind::Resource, "ERR_OUT_OF_MEMORY",
                "could not allocate " + std::to_string(bytes) + " bytes");
  }
  if (zeroed) std::memset(data_, 0, bytes);
}

Buffer::~Buffer() { release(); }

void Buffer::release() noexcept {
  if (!data_) return;
  if (!owned_) {
    data_ = nullptr;
    return;
  }
  if (memory_) {
    memory_->release(data_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
}

Buffer::Buffer(Buffer&& other) noexcept
    : data_(other.data_), size_(other.size_), memory_(other.memory_), owned_(other.owned_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    size_ = other.size_;
    memory_ = other.memory_;
    owned_ = other.owned_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void Buffer::copy_from(const Buffer& other) {
  if (other.size_ != size_) throw Error(ErrorKind::Internal, "ERR_INTERNAL", "buffer size mismatch in copy");
  if (size_) std::memcpy(data_, other.data_, size_ * sizeof(float));
}

size_t TensorTable::add(const std::string& name, std::vector<int64_t> shape) {
  TensorEntry entry{name, std::move(shape), total_};
  size_t count = 1;
  for (int64_t d : entry.shape) count = checked_mul(count, static_cast<size_t>(d), name.c_str());
  total_ += (count + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  entries_.push_back(std::move(entry));
  return entries_.size() - 1;
}

const TensorEntry* TensorTable::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

size_t checked_mul(size_t a, size_t b, const char* what) {
  if (a != 0 && b > std::numeric_limits<size_t>::max() / a) {
    throw Error(ErrorKind::Range, "ERR_OUT_OF_RANGE", std::string(what) + ": size overflows");
  }
  return a * b;
}

}  // namespace ae
