// gemm_degenerate, gemm_workers: see gemm_common.h.
#include "kernels/cpu/gemm_common.h"

#include "kernels/cpu/thread_pool.h"

namespace ds::kernels {

bool gemm_degenerate(int M, int N, int K, float* C, size_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return true;
  if (K > 0) return false;
  if (!accumulate)
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) C[size_t(m) * ldc + size_t(n)] = 0.0f;
  return true;
}

ThreadPool* gemm_workers(ThreadPool* pool, int M, int N, int K, double min_flops_per_thread) {
  if (!pool || pool->size() < 2) return nullptr;
  const double flops = 2.0 * M * N * K;
  return flops / 2 >= min_flops_per_thread ? pool : nullptr;  // two threads get the most each
}

}  // namespace ds::kernels
