// CPU compute kernels for the Deepseek encoder. Every op has a plain scalar reference twin
// (namespace ds::kernels::ref) and a fast version picked once at run time by CPU features
// (AVX2+FMA+F16C, with a portable fallback). tests/kernels_test.cc holds the two together.
//
// Conventions: row-major FP32; a weight matrix W is stored [N, K] (output channel n is row n), so a
// linear layer is C = A @ W^T. Leading dimensions (lda, ldb, ldc) are in elements. Kernels are
// single-threaded unless they take a ThreadPool; they never allocate per call beyond small stack
// buffers unless noted, and they know nothing about the model above them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ds::kernels {

class ThreadPool;  // kernels/cpu/thread_pool.h

// C[M,N] (+)= A[M,K] @ B[N,K]^T. `accumulate` adds into C instead of overwriting it.
// M == 1 is routed to a GEMV-class path. `pool` may be null (single thread).
void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate, ThreadPool* pool);

// y[i] = x[i] / sqrt(mean(x^2) + eps) * w[i], i < n. x and y may alias.
void rmsnorm(const float* x, const float* w, float* y, int n, float eps);

// In place: x = softmax(x) over n values, max subtracted first. n >= 1.
void softmax(float* x, int n);

// In place exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
void gelu(float* x, size_t n);

// In place rotate-half RoPE on `rows` head vectors of size dh (even) stored with stride `ld`;
// row r has position positions[r]. inv_freq has dh/2 entries (see model/SPEC.md section 3).
void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq);

// IEEE binary16 -> FP32 for n values.
void fp16_to_fp32(const uint16_t* src, float* dst, size_t n);
// FP32 -> binary16, round to nearest even.
void fp32_to_fp16(const float* src, uint16_t* dst, size_t n);

// Indices of the k largest scores among n (ties: lower index first), written to out[0..k) in
// ascending index order. 1 <= k <= n.
void top_k(const float* scores, int n, int k, int32_t* out);

// One head of attention over an explicit key set.
// q: [T, dh] (stride ldq), k/v: [T, dh] (strides ldk, ldv), keys: nk key indices (ascending),
// key_bias: per-key additive logit bias indexed by key position (may be null),
// out: [T, dh] (stride ldo). Every query attends to all nk keys; scale = 1/sqrt(dh).
// Memory is O(nk) per query, never O(T^2).
void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo);

// One head of windowed attention: query i attends to keys j in [max(0,i-w), min(T-1,i+w)].
void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo);

// The name of the implementation picked at run time: "avx2" or "portable".
const char* isa();

namespace ref {
void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate);
void rmsnorm(const float* x, const float* w, float* y, int n, float eps);
void softmax(float* x, int n);
void gelu(float* x, size_t n);
void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq);
void fp16_to_fp32(const uint16_t* src, float* dst, size_t n);
void fp32_to_fp16(const float* src, uint16_t* dst, size_t n);
void top_k(const float* scores, int n, int k, int32_t* out);
void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo);
void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo);
}  // namespace ref

}  // namespace ds::kernels
