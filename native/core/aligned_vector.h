// A std::vector whose storage starts on a 64-byte boundary. malloc gives large blocks 16-byte
// alignment; AMX tile loads and AVX-512 stores from such storage straddle cache lines (2048³ bf16
// products through oneDNN ran about 20% slower from operands 16 bytes off a line).
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace ae {

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr size_t kAlignBytes = 64;

  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}

  T* allocate(size_t count) {
    const size_t bytes = (count * sizeof(T) + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
    void* data = std::aligned_alloc(kAlignBytes, bytes == 0 ? kAlignBytes : bytes);
    if (!data) throw std::bad_alloc();
    return static_cast<T*>(data);
  }
  void deallocate(T* data, size_t) noexcept { std::free(data); }

  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept {
    return false;
  }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace ae
