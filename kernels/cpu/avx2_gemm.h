// Internal: the pieces gemm_avx2.cc and quant_gemm_avx2.cc share (include only from *_avx2.cc).
// The quantized GEMM runs gemm_packed's micro-kernel over the same k blocks and row blocks, so these
// constants are one definition, not two that must agree. Everything here is a constant or
// `static inline`, so no copy of it can be shared with baseline code by the linker (README, Dispatch).
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/thread_pool.h"

namespace ds::kernels::avx2 {

constexpr int kNr = PackedMatrix::kPanel;  // 24 = 3 ymm
static_assert(QuantMatrix::kPanel == kNr, "QuantMatrix panels go through the PackedMatrix micro-kernel");
constexpr int kMr = 4;       // micro-kernel rows
constexpr int kKcMax = 256;  // B block kc x 24 floats = 24 KiB: fits L1 beside the A rows
constexpr double kMinFlopsPerThread = 1.0e5;  // below this a second thread costs more than it gives

// Rows of A per call of the blocked GEMMs. Each call keeps an M x kc block of A in L2 (kc <= 256);
// with thousands of rows (long sequences, big batches) that block spills and the GEMM turns
// bandwidth-bound. Measured with 2 threads at K = 384/1536: 95-155 GFLOP/s for M = 8192-16384 in
// one call, 175-213 in blocks of 256 rows (bench/RESULTS.md); at M <= 2048 blocks are as fast or faster.
constexpr int kRowBlock = 256;

static inline int imin(int a, int b) { return a < b ? a : b; }

// The k step of the packed path: K in equal blocks of at most kKcMax, rounded up to a multiple of 8
// (the last block may be shorter).
static inline int k_block_step(int K) {
  const int kblocks = (K + kKcMax - 1) / kKcMax;
  return ((K + kblocks - 1) / kblocks + 7) & ~7;
}

// Stores one 8-wide accumulator to c[0..lanes), adding the old value when `add`.
static inline void store_part(float* c, __m256 v, int lanes, bool add) {
  if (lanes >= 8) {
    if (add) v = _mm256_add_ps(v, _mm256_loadu_ps(c));
    _mm256_storeu_ps(c, v);
  } else if (lanes > 0) {
    const __m256i m = tail_mask8(lanes);
    if (add) v = _mm256_add_ps(v, _mm256_maskload_ps(c, m));
    _mm256_maskstore_ps(c, m, v);
  }
}

// Stores an MR x 24 tile of accumulators (3 per row) to C's rows, columns [0, nv), adding the old
// values when `add`.
template <int MR>
static inline void store_tile(const __m256 (&acc)[MR][3], float* c, size_t ldc, int nv, bool add) {
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    float* row = c + r * ldc;
    store_part(row, acc[r][0], nv, add);
    store_part(row + 8, acc[r][1], nv - 8, add);
    store_part(row + 16, acc[r][2], nv - 16, add);
  }
}

// Calls range(m0, m1, p0, p1) over rows [0, M) x panels [0, panels) on `workers` (null: inline):
// threads split the panels, or, with fewer than two panels per thread, the rows in units of kMr
// (each part then goes through the same few panels).
template <class Range>
static inline void split_panels_or_rows(ThreadPool* workers, int M, int panels, Range& range) {
  if (!workers || panels >= 2 * workers->size()) {
    auto body = [&](size_t p0, size_t p1) { range(0, M, int(p0), int(p1)); };
    run_ranges(workers, size_t(panels), body);
  } else {
    auto body = [&](size_t t0, size_t t1) { range(int(t0) * kMr, imin(M, int(t1) * kMr), 0, panels); };
    run_ranges(workers, size_t(M + kMr - 1) / kMr, body);
  }
}

}  // namespace ds::kernels::avx2
