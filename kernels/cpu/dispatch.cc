// Public entry points: each forwards to the table chosen once at the first call.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/kernel_table.h"

namespace ds::kernels {

const KernelTable& select_kernels(const char* env, const KernelTable* fast) {
  const bool portable = env && std::strcmp(env, "portable") == 0;
  const bool avx2 = env && std::strcmp(env, "avx2") == 0;
  if (env && *env && !portable && !avx2)
    std::fprintf(stderr, "[kernels] ignoring DS_KERNELS=%s (expected portable or avx2)\n", env);
  if (avx2 && !fast) std::fprintf(stderr, "[kernels] DS_KERNELS=avx2 but this CPU lacks AVX2/FMA/F16C; using portable\n");
  return fast && !portable ? *fast : portable_kernels();
}

const KernelTable& active_kernels() {
  // A function-local static: chosen on first use, thread-safe, no static-initialization order issues.
  static const KernelTable& table = select_kernels(std::getenv("DS_KERNELS"), avx2_kernels());
  return table;
}

const char* isa() { return active_kernels().name; }

void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate, ThreadPool* pool) {
  active_kernels().gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, accumulate, pool);
}
void gemm_packed(int M, int N, int K, const float* A, int lda, const PackedMatrix& B, float* C, int ldc,
                 bool accumulate, ThreadPool* pool) {
  active_kernels().gemm_packed(M, N, K, A, lda, B, C, ldc, accumulate, pool);
}
void gemm_quant(int M, int N, int K, const float* A, int lda, const QuantMatrix& B, float* C, int ldc,
                bool accumulate, ThreadPool* pool) {
  active_kernels().gemm_quant(M, N, K, A, lda, B, C, ldc, accumulate, pool);
}
void rmsnorm(const float* x, const float* w, float* y, int n, float eps) { active_kernels().rmsnorm(x, w, y, n, eps); }
void softmax(float* x, int n) { active_kernels().softmax(x, n); }
void gelu(float* x, size_t n) { active_kernels().gelu(x, n); }
void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq) {
  active_kernels().rope(x, rows, dh, ld, positions, inv_freq);
}
void fp16_to_fp32(const uint16_t* src, float* dst, size_t n) { active_kernels().fp16_to_fp32(src, dst, n); }
void fp32_to_fp16(const float* src, uint16_t* dst, size_t n) { active_kernels().fp32_to_fp16(src, dst, n); }
void top_k(const float* scores, int n, int k, int32_t* out) { active_kernels().top_k(scores, n, k, out); }
void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo) {
  active_kernels().attention_keys(T, dh, q, ldq, k, ldk, v, ldv, keys, nk, key_bias, out, ldo);
}
void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo) {
  active_kernels().attention_local(T, dh, window, q, ldq, k, ldk, v, ldv, out, ldo);
}

}  // namespace ds::kernels
