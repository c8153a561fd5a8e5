// The registry of addon-owned arrays, by address, and the fit's hold on them.
#include "binding/owned_rows.h"

#include <map>
#include <mutex>
#include <vector>

#include "binding/errors.h"
#include "core/tensor.h"

namespace ae::binding {

namespace {

std::mutex registry_mutex;
// Keyed by the first float; an entry lives as long as the JavaScript array that owns the memory.
std::map<const float*, std::weak_ptr<Buffer>>& registry() {
  static auto* blocks = new std::map<const float*, std::weak_ptr<Buffer>>();
  return *blocks;
}

void release(Napi::Env, void*, std::shared_ptr<Buffer>* share) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry().erase((*share)->data());
  }
  delete share;  // a running fit may still hold its own share
}

}  // namespace

Napi::Float32Array owned_float32(Napi::Env env, size_t length, bool zeroed) {
  // One float at least, so that every array has an address of its own.
  const size_t count = std::max<size_t>(length, 1);
  auto block = std::make_shared<Buffer>(zeroed ? Buffer(count) : Buffer::uninitialized(count));
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry()[block->data()] = block;
  }
  // Where V8 refuses the array, it has already called release() through the backing store's deleter.
  auto* share = new std::shared_ptr<Buffer>(block);
  Napi::ArrayBuffer memory = Napi::ArrayBuffer::New(env, block->data(), length * sizeof(float), release, share);
  return Napi::Float32Array::New(env, length, memory, 0);
}

Napi::Value allocate_float32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const long length = integer_arg(info[0], "length", 0, (1L << 53) / long(sizeof(float)));
    return owned_float32(env, size_t(length), true);
  });
}

std::shared_ptr<const float> hold_rows(const FloatSpan& span) {
  if (span.length > 0) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto next = registry().upper_bound(span.data);
    if (next != registry().begin()) {
      if (std::shared_ptr<Buffer> block = std::prev(next)->second.lock()) {
        if (span.data + span.length <= block->data() + block->size())
          return std::shared_ptr<const float>(block, span.data);
      }
    }
  }
  auto copy = std::make_shared<std::vector<float>>(span.data, span.data + span.length);
  return std::shared_ptr<const float>(copy, copy->data());
}

}  // namespace ae::binding
