// Reference GEMMs on stored FP16 / INT8 / INT4 weights, written straight from model/SPEC.md
// ("Precisions and quantized layouts"): every weight decoded on its own, sums in double.
#include <vector>

#include "kernels/cpu/kernels.h"

namespace ds::kernels::ref {

namespace {

double half(uint16_t h) {
  float f;
  fp16_to_fp32(&h, &f, 1);
  return f;
}

// C[m, n] (+)= sum_k A[m, k] * w(n, k), in double; w(n, k) is evaluated once per weight.
template <class Weight>
void gemm_with(int M, int N, int K, const float* A, int lda, float* C, int ldc, bool accumulate, Weight w) {
  std::vector<double> W(size_t(N) * size_t(K));
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) W[size_t(n) * K + k] = w(n, k);
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      double sum = 0.0;
      for (int k = 0; k < K; ++k) sum += double(A[size_t(m) * lda + k]) * W[size_t(n) * K + k];
      float& c = C[size_t(m) * ldc + n];
      c = accumulate ? float(double(c) + sum) : float(sum);
    }
  }
}

}  // namespace

void gemm_fp16(int M, int N, int K, const float* A, int lda, const uint16_t* W, int ldw, float* C, int ldc,
               bool accumulate) {
  gemm_with(M, N, K, A, lda, C, ldc, accumulate, [&](int n, int k) { return half(W[size_t(n) * ldw + k]); });
}

void gemm_int8(int M, int N, int K, const float* A, int lda, const int8_t* W, int ldw, const uint16_t* scale, float* C,
               int ldc, bool accumulate) {
  gemm_with(M, N, K, A, lda, C, ldc, accumulate,
            [&](int n, int k) { return double(W[size_t(n) * ldw + k]) * half(scale[n]); });
}

void gemm_int4(int M, int N, int K, const float* A, int lda, const uint8_t* W, int ldw, const uint16_t* scale, int lds,
               int G, float* C, int ldc, bool accumulate) {
  gemm_with(M, N, K, A, lda, C, ldc, accumulate, [&](int n, int k) {
    const uint8_t byte = W[size_t(n) * ldw + k / 2];
    const int u = k % 2 == 0 ? byte & 15 : byte >> 4;
    return double(u - 8) * half(scale[size_t(n) * lds + k / G]);
  });
}

}  // namespace ds::kernels::ref
