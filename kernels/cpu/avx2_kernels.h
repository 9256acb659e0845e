// Internal: the AVX2 + FMA + F16C implementations (files *_avx2.cc, compiled with those flags).
// Call them only through avx2_kernels(), which checks the CPU first.
#pragma once

#include "kernels/cpu/kernels.h"

namespace ds::kernels::avx2 {

void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate, ThreadPool* pool);
void gemm_packed(int M, int N, int K, const float* A, int lda, const PackedMatrix& B, float* C, int ldc,
                 bool accumulate, ThreadPool* pool);
void gemm_quant(int M, int N, int K, const float* A, int lda, const QuantMatrix& B, float* C, int ldc,
                bool accumulate, ThreadPool* pool);
// Shared by gemm_*.cc and quant_gemm_*.cc: C[M, nv] (+)= A[M, kc] @ panel^T for one kc x 24 panel
// (k-major, 32-byte aligned, PackedMatrix's layout), all M rows through the GEMM micro-kernel.
void panel_tiles(int M, int kc, const float* A, size_t lda, const float* panel, float* C, size_t ldc, int nv,
                 bool add);
void rmsnorm(const float* x, const float* w, float* y, int n, float eps);
void softmax(float* x, int n);
void gelu(float* x, size_t n);
void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq);
void fp16_to_fp32(const uint16_t* src, float* dst, size_t n);
void fp32_to_fp16(const float* src, uint16_t* dst, size_t n);
void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo);
void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo);

}  // namespace ds::kernels::avx2
