// Reference GEMM: the obvious triple loop. Accumulates in double so it is a better oracle than any
// FP32 ordering the fast kernels may choose.
#include "kernels/cpu/kernels.h"

namespace ds::kernels::ref {

void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate) {
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      double sum = 0.0;
      for (int k = 0; k < K; ++k) sum += double(A[size_t(m) * lda + k]) * double(B[size_t(n) * ldb + k]);
      float& c = C[size_t(m) * ldc + n];
      c = accumulate ? float(double(c) + sum) : float(sum);
    }
  }
}

}  // namespace ds::kernels::ref
