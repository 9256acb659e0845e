// Portable GEMM on FP16 / INT8 / INT4 weights (QuantMatrix), for CPUs without AVX2: every M goes
// the decode route of quant_gemm_avx2.cc (a kc x 24 block widened into a stack buffer, then the
// portable micro-kernel over all rows). Not tuned; it exists so a non-AVX2 machine is slow rather
// than unusable, and so DS_KERNELS=portable runs quantized models.
#include <algorithm>

#include "kernels/cpu/gemm_common.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/portable_kernels.h"

namespace ds::kernels::portable {
namespace {

constexpr int kNr = QuantMatrix::kPanel;
constexpr int kKc = 256;  // a multiple of 2, so int4 blocks start at even k

// Columns [k0, k0 + kc) of panel p as FP32, k-major (kc x 24).
void decode_block(const QuantMatrix& B, int p, int k0, int kc, float* dst) {
  const size_t K = size_t(B.cols());
  switch (B.format()) {
    case WeightFormat::kFp16: {
      const uint16_t* src = reinterpret_cast<const uint16_t*>(B.data()) + (size_t(p) * K + size_t(k0)) * kNr;
      ref::fp16_to_fp32(src, dst, size_t(kc) * kNr);
      return;
    }
    case WeightFormat::kInt8: {
      const int8_t* src = reinterpret_cast<const int8_t*>(B.data()) + (size_t(p) * K + size_t(k0)) * kNr;
      const float* s = B.channel_scales() + p * kNr;
      for (int k = 0; k < kc; ++k)
        for (int j = 0; j < kNr; ++j) dst[k * kNr + j] = float(src[k * kNr + j]) * s[j];
      return;
    }
    case WeightFormat::kInt4: {
      const int G = B.group_size();
      const uint8_t* codes = B.data() + size_t(p) * (K / 2) * kNr;
      const uint16_t* scales = B.group_scales() + size_t(p) * (K / size_t(G)) * kNr;
      float s[kNr];
      int group = -1;
      for (int k = 0; k < kc; ++k) {
        const int kk = k0 + k;
        if (kk / G != group) {
          group = kk / G;
          ref::fp16_to_fp32(scales + size_t(group) * kNr, s, kNr);
        }
        const uint8_t* row = codes + size_t(kk / 2) * kNr;
        for (int j = 0; j < kNr; ++j) {
          const int u = kk % 2 == 0 ? row[j] & 15 : row[j] >> 4;
          dst[k * kNr + j] = float(u - 8) * s[j];
        }
      }
      return;
    }
  }
}

}  // namespace

void gemm_quant(int M, int N, int K, const float* A, int lda, const QuantMatrix& B, float* C, int ldc, bool accumulate,
                ThreadPool* pool) {
  if (gemm_degenerate(M, N, K, C, size_t(ldc), accumulate)) return;
  ThreadPool* const workers = gemm_workers(pool, M, N, K, kMinFlopsPerThread);
  auto body = [&](size_t p0, size_t p1) {
    alignas(64) float buf[kKc * kNr];
    for (int k0 = 0; k0 < K; k0 += kKc) {
      const int kc = std::min(kKc, K - k0);
      for (size_t p = p0; p < p1; ++p) {
        const int n0 = int(p) * kNr;
        decode_block(B, int(p), k0, kc, buf);
        panel_tiles(M, kc, A + k0, size_t(lda), buf, C + n0, size_t(ldc), std::min(kNr, N - n0), accumulate || k0 > 0);
      }
    }
  };
  run_ranges(workers, size_t(N + kNr - 1) / kNr, body);
}

}  // namespace ds::kernels::portable
