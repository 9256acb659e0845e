// AVX2 + FMA GEMM: C[M,N] (+)= A[M,K] @ B[N,K]^T.
//
// Three paths (numbers in kernels/cpu/README.md):
//  * Packed: B is read as panels of 24 output columns laid out k-major, either pre-packed by
//    pack_weights (gemm_packed) or packed here, one kc x 24 block at a time, into a stack buffer
//    that stays in L1 (gemm_nt with M > kDotMaxM). The 4x24 micro-kernel keeps 12 ymm
//    accumulators, loads 3 vectors of B and broadcasts 4 scalars of A per k: 12 FMAs per 7 loads,
//    enough to keep both FMA pipes busy. Loop order: k-block (the M x kc block of A stays in L2)
//    -> panel (its kc x 24 block of B stays in L1) -> 4-row tiles.
//  * Dot (gemm_nt with M <= kDotMaxM or N <= kDotMaxN, GEMV included): both operands are
//    K-contiguous, so rows of A are dotted with rows of B straight from memory; packing B per call
//    would cost as much as the arithmetic. B is read from memory once; horizontal sums at the end
//    are cheap next to K / 8 steps.
//  * Packed GEMV (gemm_packed with M = 1): two panels and two k at once, 12 accumulators.
//    gemm_packed with N <= kDotMaxN and M >= 4 N copies its few rows back out per k block and uses
//    the dot path.
// Threads split the output columns (panels or B rows) so each thread reads only its own part of B;
// when there are fewer panels than threads they split the rows of A instead.
//
// This file is compiled with -mavx2 -mfma -mf16c and runs only after dispatch found those features.
// It avoids std:: templates that another translation unit could also instantiate (the linker keeps
// one copy of an inline function, and it must not be the AVX2 one).
#include <immintrin.h>

#include "kernels/cpu/avx2_gemm.h"
#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/gemm_common.h"

namespace ds::kernels::avx2 {
namespace {

// Panel and block sizes, tile stores and the thread split: avx2_gemm.h (shared with quant_gemm_avx2.cc).
constexpr int kDotMaxM = 15;  // up to here the no-packing dot path beats packing per call (README)
constexpr int kDotMaxN = 16;  // a 24-wide panel would be mostly padding (e.g. the N = 1 importance scorer)

// C[MR, nv] (+)= A[MR, kc] @ panel^T, panel = kc x 24 floats (k-major, 32-byte aligned).
template <int MR>
void micro_kernel(int kc, const float* a, size_t lda, const float* bp, float* c, size_t ldc, int nv, bool add) {
  __m256 acc[MR][3];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = _mm256_setzero_ps();
  const float* a_rows[MR];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) a_rows[r] = a + r * lda;
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8), b2 = _mm256_load_ps(bp + 16);
    bp += kNr;
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a_rows[r] + k);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
      acc[r][2] = _mm256_fmadd_ps(av, b2, acc[r][2]);
    }
  }
  store_tile<MR>(acc, c, ldc, nv, add);
}

void micro_kernel_rows(int rows, int kc, const float* a, size_t lda, const float* bp, float* c, size_t ldc, int nv,
                       bool add) {
  switch (rows) {
    case 4: micro_kernel<4>(kc, a, lda, bp, c, ldc, nv, add); break;
    case 3: micro_kernel<3>(kc, a, lda, bp, c, ldc, nv, add); break;
    case 2: micro_kernel<2>(kc, a, lda, bp, c, ldc, nv, add); break;
    default: micro_kernel<1>(kc, a, lda, bp, c, ldc, nv, add); break;
  }
}

inline void transpose8(__m256& r0, __m256& r1, __m256& r2, __m256& r3, __m256& r4, __m256& r5, __m256& r6,
                       __m256& r7) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(s0, s4, 0x20);
  r1 = _mm256_permute2f128_ps(s1, s5, 0x20);
  r2 = _mm256_permute2f128_ps(s2, s6, 0x20);
  r3 = _mm256_permute2f128_ps(s3, s7, 0x20);
  r4 = _mm256_permute2f128_ps(s0, s4, 0x31);
  r5 = _mm256_permute2f128_ps(s1, s5, 0x31);
  r6 = _mm256_permute2f128_ps(s2, s6, 0x31);
  r7 = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// dst[k * 24 + j] = B[j * ldb + k] for j < nv, k < kc; rows j >= nv are zero.
void pack_panel(const float* b, size_t ldb, int nv, int kc, float* dst) {
  const int k8 = kc & ~7;
  for (int g = 0; g < 3; ++g) {
    const int j0 = g * 8;
    const int rows = imin(8, nv - j0);
    if (rows <= 0) {
      for (int k = 0; k < kc; ++k) _mm256_store_ps(dst + k * kNr + j0, _mm256_setzero_ps());
      continue;
    }
    const float* src[8];
    for (int j = 0; j < 8; ++j) src[j] = b + size_t(j0 + (j < rows ? j : 0)) * ldb;
    for (int k = 0; k < k8; k += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = j < rows ? _mm256_loadu_ps(src[j] + k) : _mm256_setzero_ps();
      transpose8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
      for (int i = 0; i < 8; ++i) _mm256_store_ps(dst + (k + i) * kNr + j0, r[i]);
    }
    for (int k = k8; k < kc; ++k) {
      for (int j = 0; j < 8; ++j) dst[k * kNr + j0 + j] = j < rows ? src[j][k] : 0.0f;
    }
  }
}

// M = 1 on pre-packed weights: two panels at once and k unrolled by two give 12 independent
// accumulators; the loop streams the panels once (a GEMV is bound by reading B).
void packed_gemv(int N, int K, const float* a, const float* packed, size_t packed_k, float* c, bool add, int p0,
                 int p1) {
  int p = p0;
  for (; p + 2 <= p1; p += 2) {
    const float* b0 = packed + size_t(p) * packed_k * kNr;
    const float* b1 = b0 + packed_k * kNr;
    __m256 acc[12];
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 2 <= K; k += 2, b0 += 2 * kNr, b1 += 2 * kNr) {
      const __m256 x0 = _mm256_broadcast_ss(a + k), x1 = _mm256_broadcast_ss(a + k + 1);
#pragma GCC unroll 3
      for (int j = 0; j < 3; ++j) {
        acc[j] = _mm256_fmadd_ps(x0, _mm256_load_ps(b0 + 8 * j), acc[j]);
        acc[3 + j] = _mm256_fmadd_ps(x0, _mm256_load_ps(b1 + 8 * j), acc[3 + j]);
        acc[6 + j] = _mm256_fmadd_ps(x1, _mm256_load_ps(b0 + kNr + 8 * j), acc[6 + j]);
        acc[9 + j] = _mm256_fmadd_ps(x1, _mm256_load_ps(b1 + kNr + 8 * j), acc[9 + j]);
      }
    }
    if (k < K) {
      const __m256 x0 = _mm256_broadcast_ss(a + k);
      for (int j = 0; j < 3; ++j) {
        acc[j] = _mm256_fmadd_ps(x0, _mm256_load_ps(b0 + 8 * j), acc[j]);
        acc[3 + j] = _mm256_fmadd_ps(x0, _mm256_load_ps(b1 + 8 * j), acc[3 + j]);
      }
    }
    const int n0 = p * kNr;
    for (int j = 0; j < 3; ++j) {
      store_part(c + n0 + 8 * j, _mm256_add_ps(acc[j], acc[6 + j]), N - n0 - 8 * j, add);
      store_part(c + n0 + kNr + 8 * j, _mm256_add_ps(acc[3 + j], acc[9 + j]), N - n0 - kNr - 8 * j, add);
    }
  }
  if (p < p1) {
    const int n0 = p * kNr;
    micro_kernel<1>(K, a, 0, packed + size_t(p) * packed_k * kNr, c + n0, 0, imin(kNr, N - n0), add);
  }
}

// The packed path for output columns in panels [p0, p1) and all M rows. `packed` is null when B
// is a plain [N, K] matrix to pack on the fly; otherwise it is the panel storage with row stride
// `packed_k` (the packed matrix's full K).
void packed_range(int M, int N, int K, const float* A, size_t lda, const float* B, size_t ldb, const float* packed,
                  size_t packed_k, float* C, size_t ldc, bool accumulate, int p0, int p1) {
  if (M == 1 && packed) return packed_gemv(N, K, A, packed, packed_k, C, accumulate, p0, p1);
  alignas(64) float buf[kKcMax * kNr];
  const int step = k_block_step(K);
  for (int k0 = 0; k0 < K; k0 += step) {
    const int kc = imin(step, K - k0);
    const bool add = accumulate || k0 > 0;
    for (int p = p0; p < p1; ++p) {
      const int n0 = p * kNr, nv = imin(kNr, N - n0);
      const float* bp;
      if (packed) {
        bp = packed + (size_t(p) * packed_k + k0) * kNr;
      } else {
        pack_panel(B + size_t(n0) * ldb + k0, ldb, nv, kc, buf);
        bp = buf;
      }
      panel_tiles(M, kc, A + k0, lda, bp, C + n0, ldc, nv, add);
    }
  }
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The four horizontal sums of a0..a3 as one __m128.
inline __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// C[MR, NR] (+)= A[MR, K] . B[NR, K] rows, dot-product form.
template <int MR, int NR>
void dot_tile(int K, const float* a, size_t lda, const float* b, size_t ldb, float* c, size_t ldc, bool add) {
  __m256 acc[MR][NR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[r][j] = _mm256_setzero_ps();
  int k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 bv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) bv[j] = _mm256_loadu_ps(b + j * ldb + k);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_loadu_ps(a + r * lda + k);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[r][j] = _mm256_fmadd_ps(av, bv[j], acc[r][j]);
    }
  }
  if (k < K) {
    const __m256i m = tail_mask8(K - k);
    __m256 bv[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) bv[j] = _mm256_maskload_ps(b + j * ldb + k, m);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_maskload_ps(a + r * lda + k, m);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[r][j] = _mm256_fmadd_ps(av, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* row = c + r * ldc;
    if constexpr (NR % 4 == 0) {
#pragma GCC unroll 8
      for (int j = 0; j < NR; j += 4) {
        __m128 s = hsum4(acc[r][j], acc[r][j + 1], acc[r][j + 2], acc[r][j + 3]);
        if (add) s = _mm_add_ps(s, _mm_loadu_ps(row + j));
        _mm_storeu_ps(row + j, s);
      }
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) row[j] = (add ? row[j] : 0.0f) + hsum(acc[r][j]);
    }
  }
}

// Tiles of MR x NR over rows [0, M), then one tile for the leftover rows (fewer than MR).
template <int NR, int MR>
void dot_tail(int rows, int K, const float* A, size_t lda, const float* b, size_t ldb, float* C, size_t ldc, bool add) {
  if constexpr (MR >= 1) {
    if (rows == MR)
      dot_tile<MR, NR>(K, A, lda, b, ldb, C, ldc, add);
    else
      dot_tail<NR, MR - 1>(rows, K, A, lda, b, ldb, C, ldc, add);
  }
}

template <int NR, int MR>
void dot_column_group(int M, int K, const float* A, size_t lda, const float* b, size_t ldb, float* C, size_t ldc,
                      bool add) {
  int m = 0;
  for (; m + MR <= M; m += MR) dot_tile<MR, NR>(K, A + m * lda, lda, b, ldb, C + m * ldc, ldc, add);
  dot_tail<NR, MR - 1>(M - m, K, A + m * lda, lda, b, ldb, C + m * ldc, ldc, add);
}

// Rows [0, M) x output columns [n0, n1) of the dot path. B rows are the outer loop: a group of up
// to 4 rows (K floats each) stays in L1 while every A row visits it, so B is read from memory once
// whatever M is. Tiles keep 8-12 accumulators to cover the FMA latency: 3x4, and for the 1-3
// leftover columns 4x3, 6x2 or 8x1; M = 1 uses 1x8.
void dot_range(int M, int K, const float* A, size_t lda, const float* B, size_t ldb, float* C, size_t ldc,
               bool add, int n0, int n1) {
  int n = n0;
  if (M == 1) {
    for (; n + 8 <= n1; n += 8) dot_tile<1, 8>(K, A, lda, B + n * ldb, ldb, C + n, ldc, add);
  }
  for (; n + 4 <= n1; n += 4) dot_column_group<4, 3>(M, K, A, lda, B + n * ldb, ldb, C + n, ldc, add);
  switch (n1 - n) {
    case 3: dot_column_group<3, 4>(M, K, A, lda, B + n * ldb, ldb, C + n, ldc, add); break;
    case 2: dot_column_group<2, 6>(M, K, A, lda, B + n * ldb, ldb, C + n, ldc, add); break;
    case 1: dot_column_group<1, 8>(M, K, A, lda, B + n * ldb, ldb, C + n, ldc, add); break;
    default: break;
  }
}

// All M rows x N columns of the dot path, split across `workers` by rows, in units of 3 (the tile height).
void dot_rows(ThreadPool* workers, int M, int N, int K, const float* A, size_t lda, const float* B, size_t ldb,
              float* C, size_t ldc, bool add) {
  auto body = [&](size_t r0, size_t r1) {
    const int m0 = int(r0) * 3, m1 = imin(M, int(r1) * 3);
    dot_range(m1 - m0, K, A + m0 * lda, lda, B, ldb, C + m0 * ldc, ldc, add, 0, N);
  };
  run_ranges(workers, size_t(M + 2) / 3, body);
}

// gemm_packed with few columns (N <= kDotMaxN, all inside panel 0): the 24-wide micro-kernel would
// mostly multiply padding, so each kc block of the N rows is copied back to row-major on the stack
// and goes through the dot path.
void packed_small_n(ThreadPool* workers, int M, int N, int K, const float* A, size_t lda, const float* packed,
                    float* C, size_t ldc, bool accumulate) {
  alignas(32) float rows[kDotMaxN * kKcMax];
  for (int k0 = 0; k0 < K; k0 += kKcMax) {
    const int kc = imin(kKcMax, K - k0);
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < kc; ++k) rows[n * kc + k] = packed[size_t(k0 + k) * kNr + n];
    dot_rows(workers, M, N, kc, A + k0, lda, rows, size_t(kc), C, ldc, accumulate || k0 > 0);
  }
}

void gemm_impl(int M, int N, int K, const float* A, int lda, const float* B, int ldb, const float* packed,
               int packed_k, float* C, int ldc, bool accumulate, ThreadPool* pool) {
  if (gemm_degenerate(M, N, K, C, size_t(ldc), accumulate)) return;
  ThreadPool* const workers = gemm_workers(pool, M, N, K, kMinFlopsPerThread);
  if (!packed && (M <= kDotMaxM || N <= kDotMaxN)) {
    if (!workers || N >= 16 * workers->size()) {
      // Units of 8 columns so every range runs full 1x8 tiles.
      auto body = [&](size_t g0, size_t g1) {
        dot_range(M, K, A, size_t(lda), B, size_t(ldb), C, size_t(ldc), accumulate, int(g0) * 8,
                  imin(N, int(g1) * 8));
      };
      run_ranges(workers, size_t(N + 7) / 8, body);
    } else {
      dot_rows(workers, M, N, K, A, size_t(lda), B, size_t(ldb), C, size_t(ldc), accumulate);  // too few columns
    }
    return;
  }
  // Copying the rows back out costs N x K; it pays once M >= 4 N (measured: at M = 128 it is 1.3-10x
  // the padded micro-kernel for N = 16..1; at M = 1 it is 3x slower).
  if (packed && N <= kDotMaxN && M >= 4 * N)
    return packed_small_n(workers, M, N, K, A, size_t(lda), packed, C, size_t(ldc), accumulate);
  const int panels = (N + kNr - 1) / kNr;
  if (M == 1 && packed) {
    // Units of two panels, the GEMV kernel's step.
    auto body = [&](size_t u0, size_t u1) {
      packed_range(1, N, K, A, size_t(lda), B, size_t(ldb), packed, size_t(packed_k), C, size_t(ldc), accumulate,
                   int(u0) * 2, imin(panels, int(u1) * 2));
    };
    run_ranges(workers, size_t(panels + 1) / 2, body);
  } else {
    // With few panels the row parts each pack the same panels (N is small then).
    auto range = [&](int m0, int m1, int p0, int p1) {
      packed_range(m1 - m0, N, K, A + size_t(m0) * lda, size_t(lda), B, size_t(ldb), packed, size_t(packed_k),
                   C + size_t(m0) * ldc, size_t(ldc), accumulate, p0, p1);
    };
    split_panels_or_rows(workers, M, panels, range);
  }
}

// Rows of A per gemm_impl call: kRowBlock (avx2_gemm.h says why).
void gemm_row_blocks(int M, int N, int K, const float* A, int lda, const float* B, int ldb, const float* packed,
                     int packed_k, float* C, int ldc, bool accumulate, ThreadPool* pool) {
  for (int m0 = 0; m0 < M; m0 += kRowBlock) {
    const int rows = M - m0 < kRowBlock ? M - m0 : kRowBlock;
    gemm_impl(rows, N, K, A + size_t(m0) * size_t(lda), lda, B, ldb, packed, packed_k, C + size_t(m0) * size_t(ldc),
              ldc, accumulate, pool);
  }
}

}  // namespace

void panel_tiles(int M, int kc, const float* A, size_t lda, const float* panel, float* C, size_t ldc, int nv,
                 bool add) {
  for (int m = 0; m < M; m += kMr)
    micro_kernel_rows(imin(kMr, M - m), kc, A + size_t(m) * lda, lda, panel, C + size_t(m) * ldc, ldc, nv, add);
}

void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate, ThreadPool* pool) {
  gemm_row_blocks(M, N, K, A, lda, B, ldb, nullptr, 0, C, ldc, accumulate, pool);
}

void gemm_packed(int M, int N, int K, const float* A, int lda, const PackedMatrix& B, float* C, int ldc,
                 bool accumulate, ThreadPool* pool) {
  gemm_row_blocks(M, N, K, A, lda, nullptr, 0, B.data(), B.cols(), C, ldc, accumulate, pool);
}

}  // namespace ds::kernels::avx2
