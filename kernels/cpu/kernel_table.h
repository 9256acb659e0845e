// Internal: one table of function pointers per implementation. dispatch.cc picks a table once; the
// test and the benchmark reach every table directly so both can run in one process.
#pragma once

#include "kernels/cpu/kernels.h"

namespace ds::kernels {

struct KernelTable {
  const char* name;
  void (*gemm_nt)(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
                  bool accumulate, ThreadPool* pool);
  void (*gemm_packed)(int M, int N, int K, const float* A, int lda, const PackedMatrix& B, float* C, int ldc,
                      bool accumulate, ThreadPool* pool);
  void (*gemm_quant)(int M, int N, int K, const float* A, int lda, const QuantMatrix& B, float* C, int ldc,
                     bool accumulate, ThreadPool* pool);
  void (*rmsnorm)(const float* x, const float* w, float* y, int n, float eps);
  void (*softmax)(float* x, int n);
  void (*gelu)(float* x, size_t n);
  void (*rope)(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq);
  void (*fp16_to_fp32)(const uint16_t* src, float* dst, size_t n);
  void (*fp32_to_fp16)(const float* src, uint16_t* dst, size_t n);
  void (*top_k)(const float* scores, int n, int k, int32_t* out);
  void (*attention_keys)(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                         const int32_t* keys, int nk, const float* key_bias, float* out, int ldo);
  void (*attention_local)(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk,
                          const float* v, int ldv, float* out, int ldo);
};

// Always available; baseline x86-64 (or any other target).
const KernelTable& portable_kernels();
// Null when the CPU lacks AVX2, FMA or F16C (or the build has no AVX2 code).
const KernelTable* avx2_kernels();
// The table the public functions use: select_kernels(getenv("DS_KERNELS"), avx2_kernels()), once.
const KernelTable& active_kernels();
// The choice itself, separate so it can be tested: `fast` unless it is null or `env` is "portable".
// Any other non-empty value than "avx2" is ignored with a warning on stderr.
const KernelTable& select_kernels(const char* env, const KernelTable* fast);

}  // namespace ds::kernels
