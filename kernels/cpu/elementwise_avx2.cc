// AVX2 row-wise ops: rmsnorm, softmax, gelu, rope. Tails (n not a multiple of 8) use masked
// loads and stores, so no scalar epilogue can drift from the vector math.
#include <immintrin.h>

#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/avx2_math.h"

namespace ds::kernels::avx2 {

void rmsnorm(const float* x, const float* w, float* y, int n, float eps) {
  // Four accumulators: the sum is latency-bound otherwise, and FP32 sums of n <= a few thousand
  // squares stay within ~1e-6 of the double reference.
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int i = 0;
  for (; i + 32 <= n; i += 32)
    for (int u = 0; u < 4; ++u) {
      const __m256 v = _mm256_loadu_ps(x + i + 8 * u);
      acc[u] = _mm256_fmadd_ps(v, v, acc[u]);
    }
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    acc[0] = _mm256_fmadd_ps(v, v, acc[0]);
  }
  if (i < n) {
    const __m256 v = _mm256_maskload_ps(x + i, tail_mask8(n - i));
    acc[1] = _mm256_fmadd_ps(v, v, acc[1]);
  }
  const float ss = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  // Divide and sqrt exactly (not rsqrt's 12-bit estimate).
  const __m256 inv = _mm256_set1_ps(1.0f / __builtin_sqrtf(ss / float(n) + eps));
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv), _mm256_loadu_ps(w + i)));
  if (i < n) {
    const __m256i m = tail_mask8(n - i);
    _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv), _mm256_maskload_ps(w + i, m)));
  }
}

void softmax(float* x, int n) {
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
  __m256 mx = neg_inf;
  int i = 0;
  for (; i + 8 <= n; i += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(x + i));
  if (i < n) {
    const __m256i m = tail_mask8(n - i);
    mx = _mm256_max_ps(mx, _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(x + i, m), _mm256_castsi256_ps(m)));
  }
  const __m256 vmax = _mm256_set1_ps(hmax8(mx));
  __m256 sum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (i < n) {
    const __m256i m = tail_mask8(n - i);
    const __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vmax)), _mm256_castsi256_ps(m));
    _mm256_maskstore_ps(x + i, m, e);
    sum = _mm256_add_ps(sum, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum8(sum));
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  if (i < n) {
    const __m256i m = tail_mask8(n - i);
    _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv));
  }
}

void gelu(float* x, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(v, phi8(v)));
  }
  if (i < n) {
    const __m256i m = tail_mask8(int(n - i));
    const __m256 v = _mm256_maskload_ps(x + i, m);
    _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(v, phi8(v)));
  }
}

void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq) {
  const int half = dh / 2;
  for (int r = 0; r < rows; ++r) {
    float* a = x + size_t(r) * ld;
    float* b = a + half;
    const __m256 p = _mm256_set1_ps(float(positions[r]));
    for (int i = 0; i < half; i += 8) {
      const int lanes = half - i;
      const __m256i m = tail_mask8(lanes);
      const bool full = lanes >= 8;
      // The angle is one FP32 product, exactly as model/SPEC.md section 3 fixes it.
      const __m256 f = full ? _mm256_loadu_ps(inv_freq + i) : _mm256_maskload_ps(inv_freq + i, m);
      __m256 s, c;
      sincos8(_mm256_mul_ps(p, f), s, c);
      const __m256 va = full ? _mm256_loadu_ps(a + i) : _mm256_maskload_ps(a + i, m);
      const __m256 vb = full ? _mm256_loadu_ps(b + i) : _mm256_maskload_ps(b + i, m);
      const __m256 ra = _mm256_fmsub_ps(va, c, _mm256_mul_ps(vb, s));
      const __m256 rb = _mm256_fmadd_ps(vb, c, _mm256_mul_ps(va, s));
      if (full) {
        _mm256_storeu_ps(a + i, ra);
        _mm256_storeu_ps(b + i, rb);
      } else {
        _mm256_maskstore_ps(a + i, m, ra);
        _mm256_maskstore_ps(b + i, m, rb);
      }
    }
  }
}

}  // namespace ds::kernels::avx2
