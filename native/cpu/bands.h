// Large products split across the pool: C cut into one band of rows or of columns per thread, each
// band a product of its own on that thread.
#pragma once
#include "cpu/thread_pool.h"

namespace ae::cpu {

// A row-major matrix operand as a product reads it: op(X) is X, or Xᵀ when trans.
template <class T>
struct Operand {
  const T* data;
  long ld;
  bool trans;
  T at(long row, long col) const { return trans ? data[col * ld + row] : data[row * ld + col]; }
};

// Calls product(a_band, b_band, rows, cols, c_band) once per thread of the pool: C cut into bands of
// rows (by_rows) or of columns, whole multiples of `unit` but the last.
template <class T, class Product>
void in_bands(ThreadPool& pool, const Operand<T>& a, const Operand<T>& b, long m, long n, float* c, long ldc,
              bool by_rows, long unit, Product&& product) {
  const int threads = pool.size();
  const size_t extent = size_t(by_rows ? m : n);
  pool.run(threads, [&](int t) {
    const Span band = part_of(extent, t, threads, size_t(unit));
    const long start = long(band.begin), size = long(band.end - band.begin);
    if (size <= 0) return;
    if (by_rows) {
      const Operand<T> rows_of_a{a.trans ? a.data + start : a.data + start * a.ld, a.ld, a.trans};
      product(rows_of_a, b, size, n, c + start * ldc);
    } else {
      const Operand<T> cols_of_b{b.trans ? b.data + start * b.ld : b.data + start, b.ld, b.trans};
      product(a, cols_of_b, m, size, c + start);
    }
  });
}

}  // namespace ae::cpu
