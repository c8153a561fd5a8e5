// The registry of addon-owned arrays, by address, and the fit's hold on them.
#include "binding/owned_rows.h"

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "binding/errors.h"
#include "core/tensor.h"

namespace ae::binding {

namespace {

// Results of fewer bytes go into V8's memory, which is quicker to get.
constexpr size_t kOwnedResultBytes = size_t(64) << 10;
// Node frees an array's outside memory only when its event loop next turns, however soon V8 collects
// the array, so results of a synchronous loop of predictions would pile up unfreed (2 GB after 600
// W2 predictions of 1,024 rows): beyond this many bytes awaiting release, new results go into V8's
// memory, which its collections free at once. V8 collects about every 64 MiB of arrays outside its
// heap; twice that leaves room for the results made before the loop turns. With 64 MiB, the W2 and
// bf16 predictions of `npm run bench`'s rounds often found the limit reached. The same many bytes of
// freed results are kept for reuse.
constexpr size_t kMaxResultBytesAwaitingRelease = size_t(128) << 20;

size_t bytes_of(const Buffer& block) { return block.size() * sizeof(float); }

std::mutex registry_mutex;
// Keyed by the first float; an entry lives as long as the JavaScript array that owns the memory.
std::map<const float*, std::weak_ptr<Buffer>>& registry() {
  static auto* blocks = new std::map<const float*, std::weak_ptr<Buffer>>();
  return *blocks;
}

// Under AddressSanitizer freed blocks are freed, so that it still sees a block used after its release.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kRecycles = false;
#else
constexpr bool kRecycles = true;
#endif

// Blocks of arrays that JavaScript has handed back, kept for the next arrays of about their size.
// Freed instead, a large block goes back to the system, and the next result faults in each of its
// pages afresh: a W2 prediction of 1,024 rows (3.2 MB of results) took 12 ms instead of 9.
class RecycledBlocks {
 public:
  // A block of at least `count` floats and at most a quarter more, or null.
  std::unique_ptr<Buffer> take(size_t count) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto best = blocks_.end();
    for (auto it = blocks_.begin(); it != blocks_.end(); ++it) {
      const size_t size = (*it)->size();
      const bool fits = size >= count && size - count <= count / 4;
      if (fits && (best == blocks_.end() || size < (*best)->size())) best = it;
    }
    if (best == blocks_.end()) return nullptr;
    std::unique_ptr<Buffer> block = std::move(*best);
    blocks_.erase(best);
    bytes_ -= bytes_of(*block);
    return block;
  }

  // Keeps a block of a large result's size, freeing the oldest kept ones beyond kMaxBytes; frees
  // others (and any block where keeping it fails: this runs in a shared_ptr's deleter).
  void give(std::unique_ptr<Buffer> block) noexcept {
    const size_t bytes = bytes_of(*block);
    if (!kRecycles || bytes < kOwnedResultBytes || bytes > kMaxBytes) return;
    try {
      std::vector<std::unique_ptr<Buffer>> dropped;  // freed outside the lock
      std::lock_guard<std::mutex> lock(mutex_);
      while (bytes_ + bytes > kMaxBytes) {
        bytes_ -= bytes_of(*blocks_.front());
        dropped.push_back(std::move(blocks_.front()));
        blocks_.pop_front();
      }
      blocks_.push_back(std::move(block));
      bytes_ += bytes;
    } catch (...) {
      // Out of memory: the block is freed instead.
    }
  }

 private:
  // All the results awaiting release may come back at once. With half that, W2 predictions of
  // 1,024 rows in a loop that let the event loop turn faulted in 50% more pages and took 6% longer.
  static constexpr size_t kMaxBytes = kMaxResultBytesAwaitingRelease;

  std::mutex mutex_;
  std::deque<std::unique_ptr<Buffer>> blocks_;  // oldest first
  size_t bytes_ = 0;
};

RecycledBlocks& recycled() {
  static auto* blocks = new RecycledBlocks();
  return *blocks;
}

// Bytes of owned results and rows (allocateRows) whose arrays JavaScript has not yet handed back.
std::atomic<size_t> counted_bytes_awaiting_release{0};

// What an owned array's finalizer receives: its share of the block (a running fit may hold another).
struct ArrayShare {
  std::shared_ptr<Buffer> block;
  bool counted;  // in counted_bytes_awaiting_release
};

void release(Napi::Env, void*, ArrayShare* share) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry().erase(share->block->data());
  }
  if (share->counted) counted_bytes_awaiting_release -= bytes_of(*share->block);
  delete share;
}

Napi::Float32Array owned_array(Napi::Env env, size_t length, bool zeroed, bool counted) {
  // One float at least, so that every array has an address of its own.
  const size_t count = std::max<size_t>(length, 1);
  std::unique_ptr<Buffer> reused = recycled().take(count);
  if (reused && zeroed) reused->zero();
  // The last share of the block, the array's or a fit's, hands it back for the next array.
  const auto recycle = [](Buffer* freed) { recycled().give(std::unique_ptr<Buffer>(freed)); };
  std::shared_ptr<Buffer> block(
      reused ? reused.release() : new Buffer(zeroed ? Buffer(count) : Buffer::uninitialized(count)), recycle);
  auto* share = new ArrayShare{block, counted};
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry()[block->data()] = block;
  }
  if (counted) counted_bytes_awaiting_release += bytes_of(*block);
  Napi::ArrayBuffer memory;
  try {
    memory = Napi::ArrayBuffer::New(env, block->data(), length * sizeof(float), release, share);
  } catch (...) {
    // Refused (an environment shutting down, or a runtime that allows no memory from outside V8): the
    // finalizer will not run, unless it already has, which left the registry without the block.
    bool registered = false;
    {
      std::lock_guard<std::mutex> lock(registry_mutex);
      auto entry = registry().find(block->data());
      registered = entry != registry().end() && entry->second.lock() == block;
    }
    if (registered) release(env, nullptr, share);
    throw;
  }
  return Napi::Float32Array::New(env, length, memory, 0);
}

// Large arrays go into addon-owned memory while the results and rows awaiting release leave room (see
// kMaxResultBytesAwaitingRelease), others into V8's, which zeroes them.
Napi::Float32Array counted_float32(Napi::Env env, size_t length, bool zeroed) {
  const size_t bytes = length * sizeof(float);
  const size_t awaiting = counted_bytes_awaiting_release.load();
  if (bytes >= kOwnedResultBytes && (awaiting == 0 || awaiting + bytes <= kMaxResultBytesAwaitingRelease))
    return owned_array(env, length, zeroed, true);
  return Napi::Float32Array::New(env, length);
}

// A JavaScript function of one argument, `length`, that returns make(env, length).
template <typename Make>
Napi::Value float32_of_length(const Napi::CallbackInfo& info, Make make) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const long length = integer_arg(info[0], "length", 0, (1L << 53) / long(sizeof(float)));
    return make(env, size_t(length));
  });
}

}  // namespace

Napi::Float32Array result_float32(Napi::Env env, size_t length) { return counted_float32(env, length, false); }

Napi::Value allocate_float32(const Napi::CallbackInfo& info) {
  return float32_of_length(info, [](Napi::Env env, size_t length) { return owned_array(env, length, true, false); });
}

Napi::Value allocate_rows(const Napi::CallbackInfo& info) {
  return float32_of_length(info, [](Napi::Env env, size_t length) { return counted_float32(env, length, true); });
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
