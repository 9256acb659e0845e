#include "model/forward.h"

#include <algorithm>

#include "kernels/cpu/kernels.h"
#include "model/parallel.h"

namespace ds::model {

void rmsnorm_rows(const float* x, const float* weight, float* y, int64_t M, int n, float eps, kernels::ThreadPool* pool) {
  parallel_for(pool, static_cast<size_t>(M), [&](size_t b, size_t e) {
    for (size_t r = b; r < e; ++r) kernels::rmsnorm(x + r * n, weight, y + r * n, n, eps);
  });
}

namespace {

// h += gelu(rmsnorm(h) @ up[:f]^T) @ down[:, :f]^T; the down projection accumulates straight into h.
void ffn_block(const LayerWeights& w, const ModelConfig& c, int64_t M, const ForwardPlan& plan, Activations& a,
               kernels::ThreadPool* pool) {
  const int D = c.d_model, f = plan.ffn_units;
  rmsnorm_rows(a.h.data(), w.ffn_norm.data(), a.u.data(), M, D, static_cast<float>(c.rms_eps), pool);
  w.up.apply(static_cast<int>(M), a.u.data(), D, a.ffn.data(), f, f, D, false, pool);
  // Chunks of whole rows keep each thread's slice contiguous.
  parallel_for(pool, static_cast<size_t>(M), [&](size_t b, size_t e) {
    kernels::gelu(a.ffn.data() + b * f, (e - b) * static_cast<size_t>(f));
  });
  w.down.apply(static_cast<int>(M), a.ffn.data(), f, a.h.data(), D, D, f, true, pool);
}

}  // namespace

void run_forward(const EncoderWeights& w, const ModelConfig& c, const std::vector<Piece>& pieces, int64_t M,
                 const ForwardPlan& plan, float* z, kernels::ThreadPool* pool) {
  const int D = c.d_model;
  const size_t rows = static_cast<size_t>(M);
  const size_t gw = size_t(plan.global_heads) * c.head_dim, lw = size_t(plan.local_heads) * c.head_dim;
  Activations a;
  a.h.resize(rows * D);
  a.u.resize(rows * D);
  a.scores.resize(rows);
  a.key_bias.resize(rows);
  for (auto* buf : {&a.gq, &a.gk, &a.gv, &a.gattn}) buf->resize(rows * gw);
  for (auto* buf : {&a.lq, &a.lk, &a.lv, &a.lattn}) buf->resize(rows * lw);
  a.out_global.resize(rows * D);
  a.out_local.resize(rows * D);
  a.gate.resize(rows * 2);
  a.ffn.resize(rows * static_cast<size_t>(plan.ffn_units));
  a.positions.resize(rows);

  parallel_for(pool, pieces.size(), [&](size_t b, size_t e) {
    for (size_t p = b; p < e; ++p) {
      const Piece& pc = pieces[p];
      for (int i = 0; i < pc.len; ++i) {
        w.embed.gather(pc.ids[i], a.h.data() + (pc.row + i) * D);
        a.positions[size_t(pc.row + i)] = i;
      }
    }
  });

  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& layer = w.layers[size_t(l)];
    attention_block(layer, c, w, pieces, M, plan, a, pool);
    if (!plan.skip_ffn[size_t(l)]) ffn_block(layer, c, M, plan, a, pool);
  }
  rmsnorm_rows(a.h.data(), w.final_norm.data(), z, M, D, static_cast<float>(c.rms_eps), pool);
}

}  // namespace ds::model
