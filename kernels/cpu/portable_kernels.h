// Internal: the portable implementations (baseline ISA, plain C++ the compiler may vectorize).
// Ops without an entry here use the reference directly.
#pragma once

#include "kernels/cpu/kernels.h"

namespace ds::kernels::portable {

// The GEMMs (FP32 and quantized) run on one thread below this many flops per thread (gemm_workers).
constexpr double kMinFlopsPerThread = 2.0e5;

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
void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo);
void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo);

}  // namespace ds::kernels::portable

namespace ds::kernels {
// O(n) selection with the reference's tie rule; plain C++, shared by every table.
void top_k_select(const float* scores, int n, int k, int32_t* out);
}  // namespace ds::kernels
