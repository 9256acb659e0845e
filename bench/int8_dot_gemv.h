// Benchmark-only: the activation-quantizing INT8 GEMV that gemm_quant was measured against
// (int8_dot_gemv_avx2.cc). Needs AVX2 + FMA; call only after checking the CPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ds::bench {

// y[n] = scale[n] * sum_k q8(x)[k] * w[n, k] for n < N, where q8(x) is x quantized to INT8 per block
// of 32 (scale = block max / 127). N % 4 == 0, K % 32 == 0. Weights are INT8 codes in groups of 4
// rows and 32 columns: w[((n / 4) * (K / 32) + k / 32) * 128 + (n % 4) * 32 + k % 32].
// xq (K bytes) and xs (K / 32 floats) are scratch.
void int8_dot_gemv(int N, int K, const float* x, const int8_t* w, const float* scale, float* y, int8_t* xq, float* xs);

}  // namespace ds::bench
