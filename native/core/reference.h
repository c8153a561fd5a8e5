// Scalar reference of the dense layer and of a row-major GEMM, templated on the scalar type so that
// gradient checks run them in double and the optimized paths are compared against them.
#pragma once

namespace ae::ref {

// C = alpha · op(A) · op(B) + beta · C, row-major; op transposes when asked. As in BLAS, beta == 0
// never reads C, so C may hold garbage then.
template <typename T>
void gemm(bool trans_a, bool trans_b, long m, long n, long k, T alpha, const T* a, long lda, const T* b, long ldb,
          T beta, T* c, long ldc) {
  for (long i = 0; i < m; ++i) {
    for (long j = 0; j < n; ++j) {
      T sum = 0;
      for (long p = 0; p < k; ++p) {
        const T av = trans_a ? a[p * lda + i] : a[i * lda + p];
        const T bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += av * bv;
      }
      T& out = c[i * ldc + j];
      out = beta == T(0) ? alpha * sum : alpha * sum + beta * out;
    }
  }
}

// z (rows × out) = x (rows × in) · Wᵀ + b, with W stored [out, in] as PyTorch's nn.Linear does.
template <typename T>
void dense_forward(const T* x, const T* w, const T* b, T* z, long rows, long in, long out) {
  for (long r = 0; r < rows; ++r) {
    for (long o = 0; o < out; ++o) {
      T sum = b[o];
      for (long i = 0; i < in; ++i) sum += x[r * in + i] * w[o * in + i];
      z[r * out + o] = sum;
    }
  }
}

// Given dz = dL/dz: dw = dzᵀ · x, db = column sums of dz, and dx = dz · W unless dx is null.
template <typename T>
void dense_backward(const T* x, const T* w, const T* dz, T* dw, T* db, T* dx, long rows, long in, long out) {
  for (long o = 0; o < out; ++o) {
    T bsum = 0;
    for (long r = 0; r < rows; ++r) bsum += dz[r * out + o];
    db[o] = bsum;
    for (long i = 0; i < in; ++i) {
      T sum = 0;
      for (long r = 0; r < rows; ++r) sum += dz[r * out + o] * x[r * in + i];
      dw[o * in + i] = sum;
    }
  }
  if (!dx) return;
  for (long r = 0; r < rows; ++r) {
    for (long i = 0; i < in; ++i) {
      T sum = 0;
      for (long o = 0; o < out; ++o) sum += dz[r * out + o] * w[o * in + i];
      dx[r * in + i] = sum;
    }
  }
}

}  // namespace ae::ref
