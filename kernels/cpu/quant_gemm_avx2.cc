// AVX2 + FMA + F16C GEMM on FP16 / INT8 / INT4 weights (QuantMatrix): C[M,N] (+)= A[M,K] @ W^T.
//
// Weights are widened to FP32 inside the kernel and multiplied with FMAs; activations stay FP32.
// The alternative, quantizing A to INT8 on the fly for maddubs/madd integer dot products, was
// measured faster for M = 1 with hot weights but changes the results beyond FP32 rounding
// (kernels/cpu/README.md, "Quantized weights", has the numbers and the reasons for this choice).
//  * M = 1 (GEMV): per panel of 24 rows, each k loads 3 x 8 codes (vpmovsxbd / vpmovzxbd / vcvtph2ps
//    straight from memory), converts them and FMAs them with the broadcast x[k]; 12 accumulators.
//    INT8 applies the row scale once at the end, INT4 once per group (G is any even number; the
//    zero point 8 is subtracted in integers, so the weight is exactly (u - 8) * scale).
//  * FP16 / INT8 with 2 <= M <= kWidenMaxM: 4 x 24 tiles whose 3 weight vectors are widened in
//    registers inside the k loop, next to the 12 FMAs that use them.
//  * Otherwise (and INT4 from M = 2): per k block (kc <= 256, the same blocks as gemm_packed) and
//    panel, the kc x 24 block is widened and scaled into an aligned stack buffer in L1, then
//    gemm_packed's 4x24 micro-kernel (panel_tiles, gemm_avx2.cc) runs all M rows over it.
// Threads split panels; with fewer than two panels per thread and M > 1 they split rows.
//
// This file is compiled with -mavx2 -mfma -mf16c and runs only after dispatch found those features.
// Like the other AVX2 files it instantiates no std:: templates (see kernels/cpu/README.md).
#include <immintrin.h>

#include "kernels/cpu/avx2_gemm.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/gemm_common.h"

namespace ds::kernels::avx2 {
namespace {

// Panel and block sizes (gemm_packed's), tile stores and the thread split: avx2_gemm.h.
constexpr int kWidenMaxM = 15;  // FP16 / INT8 with M <= this: weights widened in registers per 4-row tile

// 8 codes (rows j..j+7 of a panel at one k) as floats.
inline __m256 widen_i8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline __m256 widen_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// 8 bytes of int4 codes (rows j..j+7 at k = 2b, 2b + 1) as the signed values u - 8 of both nibbles.
inline void widen_i4(const uint8_t* p, __m256& lo, __m256& hi) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m256i eight = _mm256_set1_epi32(8);
  lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(v, _mm256_set1_epi32(15)), eight));
  hi = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(v, 4), eight));
}

// Where panel p starts, and its scales.
struct Panel {
  const uint8_t* codes;
  const float* channel_scales;   // int8: 24 floats
  const uint16_t* group_scales;  // int4: [groups][24] halves
};

Panel panel_of(const QuantMatrix& B, int p) {
  const size_t K = size_t(B.cols());
  switch (B.format()) {
    case WeightFormat::kFp16: return {B.data() + size_t(p) * K * kNr * 2, nullptr, nullptr};
    case WeightFormat::kInt8: return {B.data() + size_t(p) * K * kNr, B.channel_scales() + p * kNr, nullptr};
    case WeightFormat::kInt4:
      return {B.data() + size_t(p) * (K / 2) * kNr, nullptr,
              B.group_scales() + size_t(p) * (K / size_t(B.group_size())) * kNr};
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// M > 1: widen a kc x 24 block (columns k0 .. k0 + kc of one panel) into dst, k-major.

void decode_fp16(const Panel& pn, int k0, int kc, float* dst) {
  const uint16_t* src = reinterpret_cast<const uint16_t*>(pn.codes) + size_t(k0) * kNr;
  for (int i = 0; i < kc * kNr; i += 8) _mm256_store_ps(dst + i, widen_f16(src + i));
}

void decode_int8(const Panel& pn, int k0, int kc, float* dst) {
  const int8_t* src = reinterpret_cast<const int8_t*>(pn.codes) + size_t(k0) * kNr;
  const __m256 s0 = _mm256_loadu_ps(pn.channel_scales), s1 = _mm256_loadu_ps(pn.channel_scales + 8),
               s2 = _mm256_loadu_ps(pn.channel_scales + 16);
  for (int k = 0; k < kc; ++k, src += kNr, dst += kNr) {
    _mm256_store_ps(dst, _mm256_mul_ps(widen_i8(src), s0));
    _mm256_store_ps(dst + 8, _mm256_mul_ps(widen_i8(src + 8), s1));
    _mm256_store_ps(dst + 16, _mm256_mul_ps(widen_i8(src + 16), s2));
  }
}

// k0 is even (k blocks are multiples of 8); an odd kc (the end of an odd K prefix) uses only the
// low nibbles of the last byte row. The weight is u * s - 8 s in one FMA: u * s and (u - 8) * s are
// exact in FP32 (4-bit times 11-bit significands), so the fused result is exactly (u - 8) * s.
void decode_int4(const Panel& pn, int G, int k0, int kc, float* dst) {
  const uint8_t* src = pn.codes + size_t(k0 / 2) * kNr;
  const __m256i low = _mm256_set1_epi32(15);
  for (int k = 0; k < kc;) {
    const int g = (k0 + k) / G, k1 = imin(kc, (g + 1) * G - k0);  // this group's part of the block
    const uint16_t* sp = pn.group_scales + size_t(g) * kNr;
    __m256 s[3], s8[3];
    for (int j = 0; j < 3; ++j) {
      s[j] = widen_f16(sp + 8 * j);
      s8[j] = _mm256_mul_ps(s[j], _mm256_set1_ps(8.0f));
    }
    for (; k < k1; k += 2, src += kNr) {
      for (int j = 0; j < 3; ++j) {
        const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + 8 * j)));
        const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(v, low));
        _mm256_store_ps(dst + k * kNr + 8 * j, _mm256_fmsub_ps(lo, s[j], s8[j]));
        if (k + 1 < kc) {
          const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
          _mm256_store_ps(dst + (k + 1) * kNr + 8 * j, _mm256_fmsub_ps(hi, s[j], s8[j]));
        }
      }
    }
  }
}

void decode_block(const QuantMatrix& B, const Panel& pn, int k0, int kc, float* dst) {
  switch (B.format()) {
    case WeightFormat::kFp16: return decode_fp16(pn, k0, kc, dst);
    case WeightFormat::kInt8: return decode_int8(pn, k0, kc, dst);
    case WeightFormat::kInt4: return decode_int4(pn, B.group_size(), k0, kc, dst);
  }
}

// Rows [0, M) x panels [p0, p1), M >= 1 (used for M > 1; also correct for M = 1).
void decoded_range(int M, int N, int K, const float* A, size_t lda, const QuantMatrix& B, float* C, size_t ldc,
                   bool accumulate, int p0, int p1) {
  alignas(64) float buf[kKcMax * kNr];
  const int step = k_block_step(K);  // gemm_packed's blocks: equal, multiples of 8
  for (int k0 = 0; k0 < K; k0 += step) {
    const int kc = imin(step, K - k0);
    const bool add = accumulate || k0 > 0;
    for (int p = p0; p < p1; ++p) {
      const int n0 = p * kNr;
      decode_block(B, panel_of(B, p), k0, kc, buf);
      panel_tiles(M, kc, A + k0, lda, buf, C + n0, ldc, imin(kNr, N - n0), add);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Few rows (2 <= M <= kWidenMaxM, FP16 and INT8): tiles of up to 4 rows x 24 columns whose weights
// are widened in registers inside the k loop, so the conversions overlap the FMAs instead of running
// as a pass of their own; every tile widens the panel again, which costs less than a widening pass
// only while the tiles are few.

template <int MR>
inline void fma_rows(const float* a, size_t lda, int k, __m256 w0, __m256 w1, __m256 w2, __m256 (&acc)[MR][3]) {
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    const __m256 av = _mm256_broadcast_ss(a + r * lda + k);
    acc[r][0] = _mm256_fmadd_ps(av, w0, acc[r][0]);
    acc[r][1] = _mm256_fmadd_ps(av, w1, acc[r][1]);
    acc[r][2] = _mm256_fmadd_ps(av, w2, acc[r][2]);
  }
}

// FP16 or INT8 (INT4 takes the widening pass at every M > 1, see quant_impl).
template <int MR>
void widen_tile(const QuantMatrix& B, const Panel& pn, int K, const float* a, size_t lda, float* c, size_t ldc, int nv,
                bool add) {
  __m256 acc[MR][3];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = _mm256_setzero_ps();
  if (B.format() == WeightFormat::kFp16) {
    const uint16_t* b = reinterpret_cast<const uint16_t*>(pn.codes);
    for (int k = 0; k < K; ++k, b += kNr)
      fma_rows<MR>(a, lda, k, widen_f16(b), widen_f16(b + 8), widen_f16(b + 16), acc);
  } else {
    const int8_t* b = reinterpret_cast<const int8_t*>(pn.codes);
    for (int k = 0; k < K; ++k, b += kNr) fma_rows<MR>(a, lda, k, widen_i8(b), widen_i8(b + 8), widen_i8(b + 16), acc);
    const __m256 s0 = _mm256_loadu_ps(pn.channel_scales), s1 = _mm256_loadu_ps(pn.channel_scales + 8),
                 s2 = _mm256_loadu_ps(pn.channel_scales + 16);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = _mm256_mul_ps(acc[r][0], s0);
      acc[r][1] = _mm256_mul_ps(acc[r][1], s1);
      acc[r][2] = _mm256_mul_ps(acc[r][2], s2);
    }
  }
  store_tile<MR>(acc, c, ldc, nv, add);
}

void widened_range(int M, int N, int K, const float* A, size_t lda, const QuantMatrix& B, float* C, size_t ldc,
                   bool accumulate, int p0, int p1) {
  for (int p = p0; p < p1; ++p) {
    const Panel pn = panel_of(B, p);
    const int n0 = p * kNr, nv = imin(kNr, N - n0);
    for (int m = 0; m < M; m += kMr) {
      const float* a = A + size_t(m) * lda;
      float* c = C + size_t(m) * ldc + n0;
      switch (imin(kMr, M - m)) {
        case 4: widen_tile<4>(B, pn, K, a, lda, c, ldc, nv, accumulate); break;
        case 3: widen_tile<3>(B, pn, K, a, lda, c, ldc, nv, accumulate); break;
        case 2: widen_tile<2>(B, pn, K, a, lda, c, ldc, nv, accumulate); break;
        default: widen_tile<1>(B, pn, K, a, lda, c, ldc, nv, accumulate); break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// M = 1: weights widened in registers. `tot` is the panel's 3 output vectors before the store.

inline void finish_panel(const __m256 (&acc)[12], __m256 (&out)[3]) {
  for (int j = 0; j < 3; ++j)
    out[j] = _mm256_add_ps(_mm256_add_ps(acc[j], acc[3 + j]), _mm256_add_ps(acc[6 + j], acc[9 + j]));
}

// Sums x[k] * widen(codes at k) over k in [0, K) for the 24 rows of a panel whose k rows are `row`
// elements apart; Widen(ptr) gives 8 floats.
template <class T, __m256 (*Widen)(const T*)>
void gemv_dense(int K, const float* x, const T* b, __m256 (&out)[3]) {
  __m256 acc[12];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  int k = 0;
  for (; k + 4 <= K; k += 4, b += 4 * kNr) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m256 xv = _mm256_broadcast_ss(x + k + u);
#pragma GCC unroll 3
      for (int j = 0; j < 3; ++j) acc[3 * u + j] = _mm256_fmadd_ps(xv, Widen(b + u * kNr + 8 * j), acc[3 * u + j]);
    }
  }
  for (; k < K; ++k, b += kNr) {
    const __m256 xv = _mm256_broadcast_ss(x + k);
    for (int j = 0; j < 3; ++j) acc[j] = _mm256_fmadd_ps(xv, Widen(b + 8 * j), acc[j]);
  }
  finish_panel(acc, out);
}

// One group (or the part of it below K) of int4 codes: k in [k0, k1), k0 even.
inline void gemv_int4_group(int k0, int k1, const float* x, const uint8_t* b, __m256 (&out)[3]) {
  __m256 acc[12];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  int k = k0;
  for (; k + 4 <= k1; k += 4, b += 2 * kNr) {
#pragma GCC unroll 2
    for (int u = 0; u < 2; ++u) {
      const __m256 x0 = _mm256_broadcast_ss(x + k + 2 * u), x1 = _mm256_broadcast_ss(x + k + 2 * u + 1);
#pragma GCC unroll 3
      for (int j = 0; j < 3; ++j) {
        __m256 lo, hi;
        widen_i4(b + u * kNr + 8 * j, lo, hi);
        acc[6 * u + j] = _mm256_fmadd_ps(x0, lo, acc[6 * u + j]);
        acc[6 * u + 3 + j] = _mm256_fmadd_ps(x1, hi, acc[6 * u + 3 + j]);
      }
    }
  }
  for (; k < k1; k += 2, b += kNr) {
    const __m256 x0 = _mm256_broadcast_ss(x + k);
    const bool odd = k + 1 < k1;
    const __m256 x1 = odd ? _mm256_broadcast_ss(x + k + 1) : _mm256_setzero_ps();
    for (int j = 0; j < 3; ++j) {
      __m256 lo, hi;
      widen_i4(b + 8 * j, lo, hi);
      acc[j] = _mm256_fmadd_ps(x0, lo, acc[j]);
      if (odd) acc[3 + j] = _mm256_fmadd_ps(x1, hi, acc[3 + j]);
    }
  }
  finish_panel(acc, out);
}

void gemv_range(int N, int K, const float* x, const QuantMatrix& B, float* y, bool add, int p0, int p1) {
  for (int p = p0; p < p1; ++p) {
    const Panel pn = panel_of(B, p);
    __m256 out[3] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    switch (B.format()) {
      case WeightFormat::kFp16:
        gemv_dense<uint16_t, widen_f16>(K, x, reinterpret_cast<const uint16_t*>(pn.codes), out);
        break;
      case WeightFormat::kInt8:
        gemv_dense<int8_t, widen_i8>(K, x, reinterpret_cast<const int8_t*>(pn.codes), out);
        for (int j = 0; j < 3; ++j) out[j] = _mm256_mul_ps(out[j], _mm256_loadu_ps(pn.channel_scales + 8 * j));
        break;
      case WeightFormat::kInt4: {
        const int G = B.group_size();
        for (int k0 = 0; k0 < K; k0 += G) {
          __m256 part[3];
          gemv_int4_group(k0, imin(k0 + G, K), x, pn.codes + size_t(k0 / 2) * kNr, part);
          const uint16_t* s = pn.group_scales + size_t(k0 / G) * kNr;
          for (int j = 0; j < 3; ++j) out[j] = _mm256_fmadd_ps(part[j], widen_f16(s + 8 * j), out[j]);
        }
        break;
      }
    }
    const int n0 = p * kNr;
    for (int j = 0; j < 3; ++j) store_part(y + n0 + 8 * j, out[j], N - n0 - 8 * j, add);
  }
}

// ---------------------------------------------------------------------------------------------

void quant_impl(int M, int N, int K, const float* A, size_t lda, const QuantMatrix& B, float* C, size_t ldc,
                bool accumulate, ThreadPool* pool) {
  ThreadPool* const workers = gemm_workers(pool, M, N, K, kMinFlopsPerThread);
  const int panels = (N + kNr - 1) / kNr;
  if (M == 1) {
    auto body = [&](size_t p0, size_t p1) { gemv_range(N, K, A, B, C, accumulate, int(p0), int(p1)); };
    run_ranges(workers, size_t(panels), body);
    return;
  }
  // Widening in registers wins over a widening pass for FP16 and INT8 while M is small; INT4 needs
  // about twice the integer work per weight, which the FMAs no longer hide (README, measured).
  void (*const kernel)(int, int, int, const float*, size_t, const QuantMatrix&, float*, size_t, bool, int, int) =
      M <= kWidenMaxM && B.format() != WeightFormat::kInt4 ? widened_range : decoded_range;
  // With few panels the row parts each widen the same panels.
  auto range = [&](int m0, int m1, int p0, int p1) {
    kernel(m1 - m0, N, K, A + size_t(m0) * lda, lda, B, C + size_t(m0) * ldc, ldc, accumulate, p0, p1);
  };
  split_panels_or_rows(workers, M, panels, range);
}

}  // namespace

void gemm_quant(int M, int N, int K, const float* A, int lda, const QuantMatrix& B, float* C, int ldc, bool accumulate,
                ThreadPool* pool) {
  if (gemm_degenerate(M, N, K, C, size_t(ldc), accumulate)) return;
  for (int m0 = 0; m0 < M; m0 += kRowBlock) {
    quant_impl(imin(kRowBlock, M - m0), N, K, A + size_t(m0) * size_t(lda), size_t(lda), B,
               C + size_t(m0) * size_t(ldc), size_t(ldc), accumulate, pool);
  }
}

}  // namespace ds::kernels::avx2
