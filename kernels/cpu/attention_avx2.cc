// AVX2 attention for one head: 4 queries at a time stream over their keys in blocks of 64 with an
// online softmax (running max m, running sum l, unnormalized output acc rescaled when m grows).
// Per query tile the state is 4 x dh floats plus two 4 x 64 score blocks, so memory is O(dh + 64)
// whatever T and the number of keys. Four queries share every K and V row load.
//
// The local (banded) version reuses the same core: a tile of 4 consecutive queries visits the union
// of their windows and masks the few keys outside each query's own window with -inf.
#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <new>

#include "kernels/cpu/avx2_kernels.h"
#include "kernels/cpu/avx2_math.h"

namespace ds::kernels::avx2 {
namespace {

constexpr int kQt = 4;   // queries per tile
constexpr int kKb = 64;  // keys per block
constexpr int kStackDh = 512;

struct Keys {
  const int32_t* list;  // token of key j is list[j], or first + j when list is null
  int first;
  int count;
  int token(int j) const { return list ? list[j] : first + j; }
};

struct TileArgs {
  int nq;                      // real queries in the tile, 1..4
  const float* q[kQt];         // rows (unused slots repeat row 0)
  float* out[kQt];
  int lo[kQt], hi[kQt];        // valid key tokens per query (local); INT_MIN/INT_MAX when unused
  bool banded;
};

inline __m256 load_part(const float* p, int lanes) {
  return lanes >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask8(lanes));
}

inline __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// s[q][jj] = q_q . k_{token(j0 + jj)} for jj < nb (all 4 query slots).
void block_scores(const TileArgs& t, int dh, const float* k, int ldk, const Keys& keys, int j0, int nb,
                  float (&s)[kQt][kKb]) {
  alignas(16) float tmp[4];
  for (int jj = 0; jj < nb; jj += 2) {
    const bool pair = jj + 1 < nb;
    const float* k0 = k + size_t(keys.token(j0 + jj)) * ldk;
    const float* k1 = pair ? k + size_t(keys.token(j0 + jj + 1)) * ldk : k0;
    __m256 a[kQt], b[kQt];
    for (int q = 0; q < kQt; ++q) a[q] = b[q] = _mm256_setzero_ps();
    for (int c = 0; c < dh; c += 8) {
      const int lanes = dh - c;
      const __m256 kv0 = load_part(k0 + c, lanes), kv1 = load_part(k1 + c, lanes);
#pragma GCC unroll 4
      for (int q = 0; q < kQt; ++q) {
        const __m256 qv = load_part(t.q[q] + c, lanes);
        a[q] = _mm256_fmadd_ps(qv, kv0, a[q]);
        b[q] = _mm256_fmadd_ps(qv, kv1, b[q]);
      }
    }
    _mm_store_ps(tmp, hsum4(a[0], a[1], a[2], a[3]));
    for (int q = 0; q < kQt; ++q) s[q][jj] = tmp[q];
    if (pair) {
      _mm_store_ps(tmp, hsum4(b[0], b[1], b[2], b[3]));
      for (int q = 0; q < kQt; ++q) s[q][jj + 1] = tmp[q];
    }
  }
}

void attend_tile(const TileArgs& t, int dh, const float* k, int ldk, const float* v, int ldv, const Keys& keys,
                 const float* key_bias, float* acc /* kQt x dhp */, int dhp) {
  const float scale = 1.0f / __builtin_sqrtf(float(dh));
  const float neg_inf = -INFINITY;
  float m[kQt], l[kQt];
  for (int q = 0; q < kQt; ++q) {
    m[q] = neg_inf;
    l[q] = 0.0f;
  }
  for (int i = 0; i < kQt * dhp; ++i) acc[i] = 0.0f;
  alignas(32) float s[kQt][kKb];
  alignas(32) float p[kQt][kKb];

  for (int j0 = 0; j0 < keys.count; j0 += kKb) {
    const int nb = keys.count - j0 < kKb ? keys.count - j0 : kKb;
    block_scores(t, dh, k, ldk, keys, j0, nb, s);
    for (int jj = 0; jj < nb; ++jj) {
      const int tok = keys.token(j0 + jj);
      const float bias = key_bias ? key_bias[tok] : 0.0f;
      for (int q = 0; q < kQt; ++q) {
        float x = s[q][jj] * scale + bias;
        if (t.banded && (tok < t.lo[q] || tok > t.hi[q])) x = neg_inf;
        s[q][jj] = x;
      }
    }
    for (int q = 0; q < kQt; ++q) {
      if (q >= t.nq) {
        for (int jj = 0; jj < nb; ++jj) p[q][jj] = 0.0f;
        continue;
      }
      float bm = neg_inf;
      for (int jj = 0; jj < nb; ++jj) bm = s[q][jj] > bm ? s[q][jj] : bm;
      const float m_new = bm > m[q] ? bm : m[q];
      if (m_new == neg_inf) {  // every key so far masked for this query: nothing to add yet
        for (int jj = 0; jj < nb; ++jj) p[q][jj] = 0.0f;
        continue;
      }
      const __m256 vm = _mm256_set1_ps(m_new);
      __m256 sum = _mm256_setzero_ps();
      for (int jj = 0; jj < nb; jj += 8) {
        const int lanes = nb - jj;
        __m256 e = exp8(_mm256_sub_ps(_mm256_load_ps(&s[q][jj]), vm));
        if (lanes < 8) e = _mm256_and_ps(e, _mm256_castsi256_ps(tail_mask8(lanes)));
        _mm256_store_ps(&p[q][jj], e);
        sum = _mm256_add_ps(sum, e);
      }
      if (m_new != m[q]) {
        const float corr = m[q] == neg_inf ? 0.0f : __builtin_expf(m[q] - m_new);
        l[q] *= corr;
        const __m256 vc = _mm256_set1_ps(corr);
        for (int c = 0; c < dhp; c += 8)
          _mm256_store_ps(acc + q * dhp + c, _mm256_mul_ps(_mm256_load_ps(acc + q * dhp + c), vc));
        m[q] = m_new;
      }
      l[q] += hsum8(sum);
    }
    // acc[q] += sum_j p[q][j] v_j, two 8-wide chunks of dh per pass (8 accumulators in registers).
    for (int c = 0; c < dhp; c += 16) {
      const bool two = c + 8 < dhp;
      __m256 a0[kQt], a1[kQt];
      for (int q = 0; q < kQt; ++q) {
        a0[q] = _mm256_load_ps(acc + q * dhp + c);
        a1[q] = two ? _mm256_load_ps(acc + q * dhp + c + 8) : _mm256_setzero_ps();
      }
      for (int jj = 0; jj < nb; ++jj) {
        const float* vr = v + size_t(keys.token(j0 + jj)) * ldv + c;
        const __m256 v0 = load_part(vr, dh - c);
        const __m256 v1 = two ? load_part(vr + 8, dh - c - 8) : _mm256_setzero_ps();
#pragma GCC unroll 4
        for (int q = 0; q < kQt; ++q) {
          const __m256 pq = _mm256_broadcast_ss(&p[q][jj]);
          a0[q] = _mm256_fmadd_ps(pq, v0, a0[q]);
          a1[q] = _mm256_fmadd_ps(pq, v1, a1[q]);
        }
      }
      for (int q = 0; q < kQt; ++q) {
        _mm256_store_ps(acc + q * dhp + c, a0[q]);
        if (two) _mm256_store_ps(acc + q * dhp + c + 8, a1[q]);
      }
    }
  }
  for (int q = 0; q < t.nq; ++q) {
    const __m256 inv = _mm256_set1_ps(1.0f / l[q]);
    for (int c = 0; c < dh; c += 8) {
      const __m256 r = _mm256_mul_ps(_mm256_load_ps(acc + q * dhp + c), inv);
      if (dh - c >= 8)
        _mm256_storeu_ps(t.out[q] + c, r);
      else
        _mm256_maskstore_ps(t.out[q] + c, tail_mask8(dh - c), r);
    }
  }
}

// Runs fn(acc, dhp) with 32-byte aligned scratch for kQt x dhp floats: on the stack for the usual
// head sizes, from the heap above kStackDh.
template <class Fn>
void with_scratch(int dh, const Fn& fn) {
  const int dhp = (dh + 15) & ~15;
  if (dhp <= kStackDh) {
    alignas(32) float acc[kQt * kStackDh];
    fn(acc, dhp);
    return;
  }
  float* acc = static_cast<float*>(std::aligned_alloc(32, size_t(kQt) * dhp * sizeof(float)));
  if (!acc) throw std::bad_alloc();
  fn(acc, dhp);
  std::free(acc);
}

TileArgs make_tile(int i0, int nq, const float* q, int ldq, float* out, int ldo) {
  TileArgs t{};
  t.nq = nq;
  for (int s = 0; s < kQt; ++s) {
    const int i = s < nq ? i0 + s : i0;
    t.q[s] = q + size_t(i) * ldq;
    t.out[s] = out + size_t(i) * ldo;
  }
  return t;
}

}  // namespace

void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo) {
  if (T <= 0 || dh <= 0 || nk <= 0) return;
  const Keys key_set{keys, 0, nk};
  with_scratch(dh, [&](float* acc, int dhp) {
    for (int i0 = 0; i0 < T; i0 += kQt) {
      const TileArgs t = make_tile(i0, T - i0 < kQt ? T - i0 : kQt, q, ldq, out, ldo);
      attend_tile(t, dh, k, ldk, v, ldv, key_set, key_bias, acc, dhp);
    }
  });
}

void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo) {
  if (T <= 0 || dh <= 0) return;
  if (window < 0) window = 0;
  with_scratch(dh, [&](float* acc, int dhp) {
    for (int i0 = 0; i0 < T; i0 += kQt) {
      const int nq = T - i0 < kQt ? T - i0 : kQt;
      TileArgs t = make_tile(i0, nq, q, ldq, out, ldo);
      t.banded = true;
      for (int s = 0; s < kQt; ++s) {
        const int i = s < nq ? i0 + s : i0;
        t.lo[s] = i - window < 0 ? 0 : i - window;
        t.hi[s] = i + window > T - 1 ? T - 1 : i + window;
      }
      const int first = t.lo[0], last = t.hi[nq - 1];
      attend_tile(t, dh, k, ldk, v, ldv, Keys{nullptr, first, last - first + 1}, nullptr, acc, dhp);
    }
  });
}

}  // namespace ds::kernels::avx2
