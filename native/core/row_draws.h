// The random draws of a batch's rows in training (input noise, dropout masks, variational samples).
// Each row draws from a generator of its own, seeded by the epoch's key and the row's place in the
// epoch, so what a row draws does not depend on which thread or process trains it: a seed fixes a
// fit whatever its threads, and a data-parallel fit draws what one process would.
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace ae {

class RowDraws {
 public:
  // Room for `capacity` rows, made once: nothing is allocated per batch.
  explicit RowDraws(long capacity) : generators_(size_t(capacity)) {}

  // Rows [first, first + rows) of the epoch whose draws have the key `key` (a word of the model's
  // generator, taken at the epoch's start). A generator seeded with s takes its four
  // words from splitmix64's stream from s at places 1 to 4, so row p takes places 4p + 1 to 4p + 4 of
  // the stream from the key: no two rows share a word.
  void start(uint64_t key, long first, long rows) {
    for (long r = 0; r < rows; ++r) generators_[size_t(r)].reseed(key + 4 * uint64_t(first + r) * kGolden);
  }

  Rng& row(long r) { return generators_[size_t(r)]; }

 private:
  static constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
  std::vector<Rng> generators_;
};

}  // namespace ae
