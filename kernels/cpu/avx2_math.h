// Internal: 8-wide float math for the AVX2 files (include only from *_avx2.cc). Everything here is
// `static inline` so no copy of it can be shared with baseline code by the linker.
//
// Accuracy (checked by tests/kernels_test.cc against the double-precision reference):
//  exp8    ~1-2 ulp for x in [-87.3, 88.7]; exactly 0 below, +inf above, NaN stays NaN.
//  phi8    the normal CDF 0.5 (1 + erf(x / sqrt 2)), ~3e-7 relative (GELU uses x * phi8(x)).
//  sincos8 ~1-2 ulp for |x| < 1e4 (Cody-Waite reduction by pi/2 in three FMA steps).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ds::kernels::avx2 {

static inline __m256 exp8(__m256 x) {
  // Cephes expf: x = n ln2 + r, |r| <= ln2 / 2, e^r by a degree-7 polynomial, 2^n by exponent bits.
  const __m256 hi = _mm256_set1_ps(88.7228391f), lo = _mm256_set1_ps(-87.3365447f);
  const __m256 too_small = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);  // also false for NaN
  const __m256 too_big = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
  const __m256 xc = _mm256_max_ps(_mm256_min_ps(x, hi), lo);  // NaN in x is kept by min/max order below
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // n is in [-126, 128]; 2^n built as (n + 127) << 23, split in two factors so n = 128 works.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half1 = _mm256_srai_epi32(ni, 1), half2 = _mm256_sub_epi32(ni, half1);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half1, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half2, _mm256_set1_epi32(127)), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), too_small);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), too_big);
  // min/max returned the bound for NaN lanes; put NaN back.
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// Horner evaluation of c[0] + c[1] t + ... with N coefficients.
template <int N>
static inline __m256 poly8(__m256 t, const float (&c)[N]) {
  __m256 p = _mm256_set1_ps(c[N - 1]);
#pragma GCC unroll 16
  for (int i = N - 2; i >= 0; --i) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c[i]));
  return p;
}

static inline __m256 phi8(__m256 x) {
  // Coefficients: Chebyshev interpolants (rounded to float), fitted against double erf/erfc.
  // Near 0: erf(z) = z P(z^2), z <= 1. Elsewhere: erfc(z) = exp(-z^2) Q(t), t = 1 / (1 + z/2), 0.5 <= z <= 10.
  // Negative x switches to erfc already at z = 0.5: 0.5 - 0.5 erf(z) cancels and would magnify
  // erf's rounding (5x at z = 1); positive x keeps erf up to z = 1, where nothing cancels.
  static constexpr float kP[6] = {1.1283791065216064f,    -0.37612342834472656f,  0.11280316859483719f,
                                  -0.026715055108070374f, 0.004921761807054281f, -0.0005648059886880219f};
  static constexpr float kQ[11] = {5.12597171109519e-06f, 0.28194209933280945f, 0.2840845584869385f,
                                   0.23190663754940033f, 0.2475869357585907f,  -0.14168904721736908f,
                                   0.4685268998146057f,  -0.6872732043266296f, 0.410767525434494f,
                                   -0.10108458250761032f, 0.005219195503741503f};
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 z = _mm256_min_ps(_mm256_mul_ps(ax, _mm256_set1_ps(0.70710678118654752f)), _mm256_set1_ps(10.0f));
  // Small |x|: Phi = 0.5 + 0.5 sign(x) erf(z).
  const __m256 erf_small = _mm256_mul_ps(z, poly8(_mm256_mul_ps(z, z), kP));
  const __m256 phi_small = _mm256_fmadd_ps(half, _mm256_xor_ps(erf_small, sign), half);
  // Large |x|: z^2 = x^2 / 2 taken from x exactly (hi + lo) so the exponent carries no rounding of z.
  // |x| is capped at 14 here (erfc is 0 in float well before) so infinities give 0 / 1, not NaN.
  const __m256 axc = _mm256_min_ps(ax, _mm256_set1_ps(14.0f));
  const __m256 sq = _mm256_mul_ps(axc, axc), sq_lo = _mm256_fmsub_ps(axc, axc, sq);
  const __m256 e = _mm256_mul_ps(exp8(_mm256_mul_ps(sq, _mm256_set1_ps(-0.5f))),
                                 _mm256_fnmadd_ps(half, sq_lo, one));  // exp(-lo/2) ~= 1 - lo/2
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(half, z, one));
  const __m256 half_erfc = _mm256_mul_ps(half, _mm256_mul_ps(e, poly8(t, kQ)));
  const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 phi_large = _mm256_blendv_ps(_mm256_sub_ps(one, half_erfc), half_erfc, negative);
  const __m256 limit = _mm256_blendv_ps(one, half, negative);
  return _mm256_blendv_ps(phi_large, phi_small, _mm256_cmp_ps(z, limit, _CMP_LT_OQ));
}

static inline void sincos8(__m256 x, __m256& s, __m256& c) {
  // Reduce by pi/2: x = j pi/2 + r, |r| <= pi/4; pi/2 = D1 + D2 + D3 with D1, D2 short enough that
  // j * D1 and j * D2 are exact for |j| < 2^15.
  const __m256 j = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.63661977236758134f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(j, _mm256_set1_ps(1.5703125f), x);
  r = _mm256_fnmadd_ps(j, _mm256_set1_ps(4.837512969970703125e-4f), r);
  r = _mm256_fnmadd_ps(j, _mm256_set1_ps(7.54978995489188216e-8f), r);
  const __m256 r2 = _mm256_mul_ps(r, r);
  // Cephes sinf / cosf polynomials on [-pi/4, pi/4].
  __m256 ps = _mm256_set1_ps(-1.9515295891e-4f);
  ps = _mm256_fmadd_ps(ps, r2, _mm256_set1_ps(8.3321608736e-3f));
  ps = _mm256_fmadd_ps(ps, r2, _mm256_set1_ps(-1.6666654611e-1f));
  const __m256 sin_r = _mm256_fmadd_ps(_mm256_mul_ps(ps, r2), r, r);
  __m256 pc = _mm256_set1_ps(2.443315711809948e-5f);
  pc = _mm256_fmadd_ps(pc, r2, _mm256_set1_ps(-1.388731625493765e-3f));
  pc = _mm256_fmadd_ps(pc, r2, _mm256_set1_ps(4.166664568298827e-2f));
  const __m256 cos_r = _mm256_fmadd_ps(pc, _mm256_mul_ps(r2, r2),
                                       _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), r2, _mm256_set1_ps(1.0f)));
  // Quadrant q = j mod 4: swap sin/cos for odd q, negate sin for q in {2,3}, cos for q in {1,2}.
  const __m256i q = _mm256_cvtps_epi32(j);
  const __m256 swap = _mm256_castsi256_ps(_mm256_slli_epi32(q, 31));  // bit 0 -> sign bit for blendv
  const __m256 sin_sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(q, 1), 31));
  const __m256 cos_sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(_mm256_add_epi32(q, _mm256_set1_epi32(1)), 1), 31));
  s = _mm256_xor_ps(_mm256_blendv_ps(sin_r, cos_r, swap), sin_sign);
  c = _mm256_xor_ps(_mm256_blendv_ps(cos_r, sin_r, swap), cos_sign);
}

static inline __m256i tail_mask8(int lanes) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace ds::kernels::avx2
