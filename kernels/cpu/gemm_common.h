// Internal: what every GEMM entry point (FP32 and quantized weights, AVX2 and portable) does before
// any arithmetic. Plain functions in a baseline-ISA file, so the AVX2 files can call them without
// sharing an inline copy with baseline code (kernels/cpu/README.md, Dispatch).
#pragma once

#include <cstddef>

namespace ds::kernels {

class ThreadPool;

// True when C[M, N] (+)= A[M, K] @ B^T needs no arithmetic: M <= 0 or N <= 0 (nothing is written),
// or K <= 0, in which case the M x N block of C (row stride ldc) is set to zero unless `accumulate`.
bool gemm_degenerate(int M, int N, int K, float* C, size_t ldc, bool accumulate);

// `pool` when at least two of its threads would each get `min_flops_per_thread` of the product's
// 2 M N K flops; otherwise null, i.e. the caller runs the product on its own thread.
ThreadPool* gemm_workers(ThreadPool* pool, int M, int N, int K, double min_flops_per_thread);

}  // namespace ds::kernels
