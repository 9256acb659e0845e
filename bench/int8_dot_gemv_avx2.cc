// The GEMV design gemm_quant did NOT take, kept so the comparison in kernels/cpu/README.md can be rerun:
// activations quantized on the fly to INT8 (one scale per block of 32, as ggml's Q8_0) and integer
// dot products with maddubs/madd against INT8 weights, 4 weight rows per pass sharing each block of x.
// Compiled with -mavx2 -mfma; called only after the benchmark's CPU check. Plain pointers only (no
// std:: templates in an AVX2 file, see kernels/cpu/README.md).
#include <immintrin.h>

#include "int8_dot_gemv.h"

namespace ds::bench {

namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// x[32] -> 32 int8 codes with scale amax / 127 (round to nearest even).
float quantize_block(const float* x, int8_t* q) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 mx = _mm256_setzero_ps();
  for (int j = 0; j < 4; ++j) mx = _mm256_max_ps(mx, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + 8 * j)));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float d = _mm_cvtss_f32(m) / 127.0f;
  const __m256 inv = _mm256_set1_ps(d > 0 ? 1.0f / d : 0.0f);
  __m256i v[4];
  for (int j = 0; j < 4; ++j) v[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * j), inv));
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  return d;
}

}  // namespace

void int8_dot_gemv(int N, int K, const float* x, const int8_t* w, const float* scale, float* y, int8_t* xq, float* xs) {
  const int blocks = K / 32;
  for (int b = 0; b < blocks; ++b) xs[b] = quantize_block(x + 32 * b, xq + 32 * b);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int n = 0; n < N; n += 4) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const int8_t* wb = w + size_t(n) * size_t(K);
    for (int b = 0; b < blocks; ++b, wb += 128) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
      const __m256 dx = _mm256_broadcast_ss(xs + b);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 32 * r));
        // maddubs multiplies unsigned by signed bytes: |w| times x with w's sign (codes are in -127..127,
        // so pairs of products stay below 2^15).
        const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones)), dx, acc[r]);
      }
    }
    for (int r = 0; r < 4; ++r) y[n + r] = hsum(acc[r]) * scale[n + r];
  }
}

}  // namespace ds::bench
