// Portable GEMM for CPUs without AVX2: the same panel layout and loop order as gemm_avx2.cc, with a
// 2x24 micro-kernel in plain C++ that the compiler vectorizes with SSE2 (12 xmm accumulators).
// Not tuned; it exists so a non-AVX2 machine is slow rather than unusable.
#include <algorithm>

#include "kernels/cpu/gemm_common.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/portable_kernels.h"

namespace ds::kernels::portable {
namespace {

constexpr int kNr = PackedMatrix::kPanel;
constexpr int kMr = 2;
constexpr int kKc = 256;
constexpr int kLanes = 8;  // independent partial sums so the dot loop vectorizes without -ffast-math

template <int MR>
void micro_kernel(int kc, const float* a, size_t lda, const float* bp, float* c, size_t ldc, int nv, bool add) {
  float acc[MR][kNr] = {};
  for (int k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const float av = a[r * lda + k];
      for (int j = 0; j < kNr; ++j) acc[r][j] += av * bp[k * kNr + j];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < nv; ++j) c[r * ldc + j] = (add ? c[r * ldc + j] : 0.0f) + acc[r][j];
}

void packed_range(int M, int N, int K, const float* A, size_t lda, const float* B, size_t ldb, const float* packed,
                  size_t packed_k, float* C, size_t ldc, bool accumulate, int p0, int p1) {
  alignas(64) float buf[kKc * kNr];
  for (int k0 = 0; k0 < K; k0 += kKc) {
    const int kc = std::min(kKc, K - k0);
    const bool add = accumulate || k0 > 0;
    for (int p = p0; p < p1; ++p) {
      const int n0 = p * kNr, nv = std::min(kNr, N - n0);
      const float* bp = buf;
      if (packed) {
        bp = packed + (size_t(p) * packed_k + k0) * kNr;
      } else {
        for (int j = 0; j < kNr; ++j)
          for (int k = 0; k < kc; ++k) buf[k * kNr + j] = j < nv ? B[size_t(n0 + j) * ldb + k0 + k] : 0.0f;
      }
      panel_tiles(M, kc, A + k0, lda, bp, C + n0, ldc, nv, add);
    }
  }
}

float dot(const float* a, const float* b, int K) {
  float acc[kLanes] = {};
  int k = 0;
  for (; k + kLanes <= K; k += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[k + l] * b[k + l];
  float s = 0.0f;
  for (; k < K; ++k) s += a[k] * b[k];
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

void gemm_impl(int M, int N, int K, const float* A, int lda, const float* B, int ldb, const float* packed,
               int packed_k, float* C, int ldc, bool accumulate, ThreadPool* pool) {
  if (gemm_degenerate(M, N, K, C, size_t(ldc), accumulate)) return;
  ThreadPool* const workers = gemm_workers(pool, M, N, K, kMinFlopsPerThread);
  if (M == 1 && !packed) {
    // GEMV: packing would cost as much as the product.
    auto body = [&](size_t n0, size_t n1) {
      for (size_t n = n0; n < n1; ++n) C[n] = (accumulate ? C[n] : 0.0f) + dot(A, B + n * ldb, K);
    };
    run_ranges(workers, size_t(N), body);
    return;
  }
  auto body = [&](size_t p0, size_t p1) {
    packed_range(M, N, K, A, size_t(lda), B, size_t(ldb), packed, size_t(packed_k), C, size_t(ldc), accumulate,
                 int(p0), int(p1));
  };
  run_ranges(workers, size_t(N + kNr - 1) / kNr, body);
}

}  // namespace

void panel_tiles(int M, int kc, const float* A, size_t lda, const float* panel, float* C, size_t ldc, int nv,
                 bool add) {
  for (int m = 0; m < M; m += kMr) {
    if (M - m >= 2)
      micro_kernel<2>(kc, A + size_t(m) * lda, lda, panel, C + size_t(m) * ldc, ldc, nv, add);
    else
      micro_kernel<1>(kc, A + size_t(m) * lda, lda, panel, C + size_t(m) * ldc, ldc, nv, add);
  }
}

void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate, ThreadPool* pool) {
  gemm_impl(M, N, K, A, lda, B, ldb, nullptr, 0, C, ldc, accumulate, pool);
}

void gemm_packed(int M, int N, int K, const float* A, int lda, const PackedMatrix& B, float* C, int ldc,
                 bool accumulate, ThreadPool* pool) {
  gemm_impl(M, N, K, A, lda, nullptr, 0, B.data(), B.cols(), C, ldc, accumulate, pool);
}

}  // namespace ds::kernels::portable
