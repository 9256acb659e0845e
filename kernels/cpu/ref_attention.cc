// Reference attention: scores for one query at a time over its key set, a two-pass softmax in
// double, then the weighted sum of values. Memory is one score buffer of nk (or 2w+1) values.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/kernels.h"

namespace ds::kernels::ref {
namespace {

// out = softmax(scores) @ V[rows] for one query; rows[j] is the token of score j.
void weighted_sum(const std::vector<double>& scores, const int32_t* rows, int first_row, int count, int dh,
                  const float* v, int ldv, float* out) {
  double mx = -INFINITY;
  for (int j = 0; j < count; ++j) mx = std::max(mx, scores[size_t(j)]);
  double sum = 0.0;
  std::vector<double> acc(size_t(dh), 0.0);
  for (int j = 0; j < count; ++j) {
    const double p = std::exp(scores[size_t(j)] - mx);
    sum += p;
    const int r = rows ? rows[j] : first_row + j;
    for (int d = 0; d < dh; ++d) acc[size_t(d)] += p * v[size_t(r) * ldv + d];
  }
  for (int d = 0; d < dh; ++d) out[d] = float(acc[size_t(d)] / sum);
}

double dot(const float* a, const float* b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += double(a[i]) * double(b[i]);
  return s;
}

}  // namespace

void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo) {
  const double scale = 1.0 / std::sqrt(double(dh));
  std::vector<double> scores(static_cast<size_t>(nk));
  for (int i = 0; i < T; ++i) {
    for (int j = 0; j < nk; ++j) {
      const int32_t key = keys[j];
      scores[size_t(j)] = dot(q + size_t(i) * ldq, k + size_t(key) * ldk, dh) * scale +
                          (key_bias ? double(key_bias[key]) : 0.0);
    }
    weighted_sum(scores, keys, 0, nk, dh, v, ldv, out + size_t(i) * ldo);
  }
}

void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo) {
  const double scale = 1.0 / std::sqrt(double(dh));
  std::vector<double> scores;
  for (int i = 0; i < T; ++i) {
    const int lo = std::max(0, i - window), hi = std::min(T - 1, i + window);
    scores.assign(size_t(hi - lo + 1), 0.0);
    for (int j = lo; j <= hi; ++j)
      scores[size_t(j - lo)] = dot(q + size_t(i) * ldq, k + size_t(j) * ldk, dh) * scale;
    weighted_sum(scores, nullptr, lo, hi - lo + 1, dh, v, ldv, out + size_t(i) * ldo);
  }
}

}  // namespace ds::kernels::ref
