// Portable attention: the same streaming (online softmax over blocks of keys) as attention_avx2.cc,
// one query at a time in plain C++. Memory per query is dh + one block of scores.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/portable_kernels.h"

namespace ds::kernels::portable {
namespace {

constexpr int kKb = 64;
constexpr int kLanes = 8;  // independent partial sums so the dot product vectorizes

float dot(const float* a, const float* b, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  float s = 0.0f;
  for (; i < n; ++i) s += a[i] * b[i];
  for (float x : acc) s += x;
  return s;
}

// out = softmax_j(q . k_tok(j) * scale + bias[tok(j)]) @ V over keys j < count, where
// tok(j) = list ? list[j] : first + j.
void attend_one(const float* q, int dh, const float* k, int ldk, const float* v, int ldv, const int32_t* list,
                int first, int count, const float* bias, float* acc, float* out) {
  const float scale = 1.0f / std::sqrt(float(dh));
  float m = -INFINITY, l = 0.0f;
  std::fill(acc, acc + dh, 0.0f);
  float s[kKb];
  for (int j0 = 0; j0 < count; j0 += kKb) {
    const int nb = std::min(kKb, count - j0);
    float bm = -INFINITY;
    for (int jj = 0; jj < nb; ++jj) {
      const int tok = list ? list[j0 + jj] : first + j0 + jj;
      s[jj] = dot(q, k + size_t(tok) * ldk, dh) * scale + (bias ? bias[tok] : 0.0f);
      bm = std::max(bm, s[jj]);
    }
    const float m_new = std::max(m, bm);
    const float corr = m == -INFINITY ? 0.0f : std::exp(m - m_new);
    l *= corr;
    for (int d = 0; d < dh; ++d) acc[d] *= corr;
    m = m_new;
    for (int jj = 0; jj < nb; ++jj) {
      const int tok = list ? list[j0 + jj] : first + j0 + jj;
      const float p = std::exp(s[jj] - m);
      l += p;
      const float* vr = v + size_t(tok) * ldv;
      for (int d = 0; d < dh; ++d) acc[d] += p * vr[d];
    }
  }
  for (int d = 0; d < dh; ++d) out[d] = acc[d] / l;
}

// dh floats: on the stack for the usual head sizes, on the heap above.
class Scratch {
 public:
  explicit Scratch(int n) {
    if (n > kStack) heap_.resize(static_cast<size_t>(n));
  }
  float* data() { return heap_.empty() ? stack_ : heap_.data(); }

 private:
  static constexpr int kStack = 512;
  float stack_[kStack];
  std::vector<float> heap_;
};

}  // namespace

void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo) {
  if (T <= 0 || dh <= 0 || nk <= 0) return;
  Scratch acc(dh);
  for (int i = 0; i < T; ++i)
    attend_one(q + size_t(i) * ldq, dh, k, ldk, v, ldv, keys, 0, nk, key_bias, acc.data(), out + size_t(i) * ldo);
}

void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo) {
  if (T <= 0 || dh <= 0) return;
  window = std::max(window, 0);
  Scratch acc(dh);
  for (int i = 0; i < T; ++i) {
    const int lo = std::max(0, i - window), hi = std::min(T - 1, i + window);
    attend_one(q + size_t(i) * ldq, dh, k, ldk, v, ldv, nullptr, lo, hi - lo + 1, nullptr, acc.data(),
               out + size_t(i) * ldo);
  }
}

}  // namespace ds::kernels::portable
