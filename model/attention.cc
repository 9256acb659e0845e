// The dynamic attention sub-block of one layer (SPEC.md section 3): importance scores, top-k key
// selection, global and local channels, gate.
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/cpu/kernels.h"
#include "model/forward.h"
#include "model/parallel.h"

namespace ds::model {

namespace {

// log(sigmoid(s)) = -softplus(-s), without overflow for large |s|.
float log_sigmoid(float s) {
  const double x = s;
  return static_cast<float>(x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)));
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// S for one piece: every token when k >= len (dense), else token 0 plus the k - 1 other tokens
// with the highest scores, ties to the lower index. Forcing token 0 is done by ranking it above
// everything; the kernel's tie rule (lower index first) keeps that true even against +inf.
void select_keys(const float* scores, int len, int64_t k, std::vector<int32_t>& keys, std::vector<float>& tmp) {
  if (k >= len) {
    keys.resize(size_t(len));
    std::iota(keys.begin(), keys.end(), 0);
    return;
  }
  tmp.assign(scores, scores + len);
  tmp[0] = std::numeric_limits<float>::infinity();
  keys.resize(size_t(k));
  kernels::top_k(tmp.data(), len, static_cast<int>(k), keys.data());
}

// Importance s = u . w_imp + b_imp, its logit bias log(sigmoid(s)), and each piece's key set.
std::vector<std::vector<int32_t>> select_all_keys(const LayerWeights& w, int D, const std::vector<Piece>& pieces,
                                                  int64_t M, const ForwardPlan& plan, Activations& a,
                                                  kernels::ThreadPool* pool) {
  kernels::gemm_nt(static_cast<int>(M), 1, D, a.u.data(), D, w.importance_w.data(), D, a.scores.data(), 1, false, pool);
  const float b_imp = w.importance_b.data()[0];
  for (int64_t r = 0; r < M; ++r) {
    a.scores[size_t(r)] += b_imp;
    a.key_bias[size_t(r)] = log_sigmoid(a.scores[size_t(r)]);
  }
  std::vector<std::vector<int32_t>> keys(pieces.size());
  parallel_for(pool, pieces.size(), [&](size_t b, size_t e) {
    std::vector<float> tmp;
    for (size_t p = b; p < e; ++p)
      select_keys(a.scores.data() + pieces[p].row, pieces[p].len, plan.key_budget[p], keys[p], tmp);
  });
  return keys;
}

// Q/K/V projections, RoPE and attention of the global channel (and the local one when `hl` > 0),
// into a.gattn / a.lattn. One task per (piece, head) over both channels; RoPE is applied inside the
// task to exactly the rows and head it owns.
void project_and_attend(const LayerWeights& w, const ModelConfig& c, const EncoderWeights& all,
                        const std::vector<Piece>& pieces, int64_t M, int hg, int hl, int window,
                        const std::vector<std::vector<int32_t>>& keys, Activations& a, kernels::ThreadPool* pool) {
  const int D = c.d_model, dh = c.head_dim, gw = hg * dh, lw = hl * dh, m = static_cast<int>(M);
  w.global_q.apply(m, a.u.data(), D, a.gq.data(), gw, gw, D, false, pool);
  w.global_k.apply(m, a.u.data(), D, a.gk.data(), gw, gw, D, false, pool);
  w.global_v.apply(m, a.u.data(), D, a.gv.data(), gw, gw, D, false, pool);
  if (hl > 0) {
    w.local_q.apply(m, a.u.data(), D, a.lq.data(), lw, lw, D, false, pool);
    w.local_k.apply(m, a.u.data(), D, a.lk.data(), lw, lw, D, false, pool);
    w.local_v.apply(m, a.u.data(), D, a.lv.data(), lw, lw, D, false, pool);
  }
  const size_t per_piece = size_t(hg + hl);
  const float* inv_freq = all.inv_freq.data();
  parallel_for(pool, pieces.size() * per_piece, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) {
      const Piece& pc = pieces[t / per_piece];
      const int head = static_cast<int>(t % per_piece);
      const int32_t* pos = a.positions.data() + pc.row;
      if (head < hg) {
        const size_t off = size_t(pc.row) * gw + size_t(head) * dh;
        float *q = a.gq.data() + off, *k = a.gk.data() + off;
        kernels::rope(q, pc.len, dh, gw, pos, inv_freq);
        kernels::rope(k, pc.len, dh, gw, pos, inv_freq);
        const std::vector<int32_t>& s = keys[t / per_piece];
        kernels::attention_keys(pc.len, dh, q, gw, k, gw, a.gv.data() + off, gw, s.data(), static_cast<int>(s.size()),
                                a.key_bias.data() + pc.row, a.gattn.data() + off, gw);
      } else {
        const size_t off = size_t(pc.row) * lw + size_t(head - hg) * dh;
        float *q = a.lq.data() + off, *k = a.lk.data() + off;
        kernels::rope(q, pc.len, dh, lw, pos, inv_freq);
        kernels::rope(k, pc.len, dh, lw, pos, inv_freq);
        kernels::attention_local(pc.len, dh, window, q, lw, k, lw, a.lv.data() + off, lw, a.lattn.data() + off, lw);
      }
    }
  });
}

}  // namespace

void attention_block(const LayerWeights& w, const ModelConfig& c, const EncoderWeights& all,
                     const std::vector<Piece>& pieces, int64_t M, const ForwardPlan& plan, Activations& a,
                     kernels::ThreadPool* pool) {
  const int D = c.d_model, gw = plan.global_heads * c.head_dim, lw = plan.local_heads * c.head_dim;
  const int m = static_cast<int>(M);
  rmsnorm_rows(a.h.data(), w.attn_norm.data(), a.u.data(), M, D, static_cast<float>(c.rms_eps), pool);
  std::vector<std::vector<int32_t>> keys = select_all_keys(w, D, pieces, M, plan, a, pool);
  project_and_attend(w, c, all, pieces, M, plan.global_heads, plan.local_heads, plan.window, keys, a, pool);

  w.global_o.apply(m, a.gattn.data(), gw, a.out_global.data(), D, D, gw, false, pool);
  w.local_o.apply(m, a.lattn.data(), lw, a.out_local.data(), D, D, lw, false, pool);
  kernels::gemm_nt(m, 2, D, a.u.data(), D, w.gate_w.data(), D, a.gate.data(), 2, false, pool);

  const float b0 = w.gate_b.data()[0], b1 = w.gate_b.data()[1];
  parallel_for(pool, static_cast<size_t>(M), [&](size_t b, size_t e) {
    for (size_t r = b; r < e; ++r) {
      const float g0 = sigmoid(a.gate[2 * r] + b0), g1 = sigmoid(a.gate[2 * r + 1] + b1);
      float* h = a.h.data() + r * D;
      const float *og = a.out_global.data() + r * D, *ol = a.out_local.data() + r * D;
      for (int d = 0; d < D; ++d) h[d] += g0 * og[d] + g1 * ol[d];
    }
  });
}

std::vector<float> global_channel(const EncoderWeights& all, const ModelConfig& c, int layer, const float* u, int T,
                                  int heads, int64_t k, kernels::ThreadPool* pool) {
  const LayerWeights& w = all.layers.at(size_t(layer));
  const int D = c.d_model, gw = heads * c.head_dim;
  std::vector<Piece> pieces = {{nullptr, T, 0}};
  ForwardPlan plan;
  plan.global_heads = heads;
  plan.key_budget = {k};
  Activations a;
  a.u.assign(u, u + size_t(T) * D);
  a.scores.resize(size_t(T));
  a.key_bias.resize(size_t(T));
  for (auto* buf : {&a.gq, &a.gk, &a.gv, &a.gattn}) buf->resize(size_t(T) * gw);
  a.positions.resize(size_t(T));
  std::iota(a.positions.begin(), a.positions.end(), 0);
  std::vector<std::vector<int32_t>> keys = select_all_keys(w, D, pieces, T, plan, a, pool);
  project_and_attend(w, c, all, pieces, T, heads, 0, 0, keys, a, pool);
  std::vector<float> out(size_t(T) * D);
  w.global_o.apply(T, a.gattn.data(), gw, out.data(), D, D, gw, false, pool);
  return out;
}

}  // namespace ds::model
