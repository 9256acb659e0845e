#include "model/encoder_weights.h"

#include <cmath>

namespace ds::model {

namespace {

Linear linear(const ModelFile& f, const std::string& name) { return Linear(f, f.matrix(name)); }
F32Tensor f32(const ModelFile& f, const std::string& name) { return F32Tensor(f, f.tensor(name)); }

}  // namespace

EncoderWeights::EncoderWeights(const ModelFile& file) : embed(file, file.matrix("embed")) {
  const ModelConfig& c = file.config();
  layers.resize(static_cast<size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    LayerWeights& w = layers[size_t(l)];
    w.attn_norm = f32(file, p + "attn_norm.weight");
    w.importance_w = f32(file, p + "importance.weight");
    w.importance_b = f32(file, p + "importance.bias");
    w.global_q = linear(file, p + "global.q");
    w.global_k = linear(file, p + "global.k");
    w.global_v = linear(file, p + "global.v");
    w.global_o = linear(file, p + "global.o");
    w.local_q = linear(file, p + "local.q");
    w.local_k = linear(file, p + "local.k");
    w.local_v = linear(file, p + "local.v");
    w.local_o = linear(file, p + "local.o");
    w.gate_w = f32(file, p + "gate.weight");
    w.gate_b = f32(file, p + "gate.bias");
    w.ffn_norm = f32(file, p + "ffn_norm.weight");
    w.up = linear(file, p + "ffn.up");
    w.down = linear(file, p + "ffn.down");
  }
  final_norm = f32(file, "final_norm.weight");
  for (const HeadDef& d : file.heads()) {
    if (d.type == HeadType::kMlm) continue;
    const std::string p = "heads." + d.name;
    HeadWeights h{d, f32(file, p + ".weight"), {}};
    if (d.type != HeadType::kEmbedding) h.bias = f32(file, p + ".bias");
    if (d.lexical) {
      h.lexical_embed.emplace(file, file.matrix(p + ".lexical.embed"));
      h.lexical_proj = f32(file, p + ".lexical.proj.weight");
      if (d.lexical->length_bins > 0) h.lexical_length_bias = f32(file, p + ".lexical.length_bias");
      if (d.lexical->position_bins > 0) h.lexical_position_bias = f32(file, p + ".lexical.position_bias");
    }
    heads.push_back(std::move(h));
  }
  // SPEC.md section 3: inv_freq_i = 1 / rope_theta^(2i/dh) as FP32. Evaluated in double and rounded
  // once, as the reference does, so both sides hold the correctly rounded value.
  const int dh = c.head_dim;
  for (int i = 0; i < dh / 2; ++i)
    inv_freq.push_back(static_cast<float>(1.0 / std::pow(c.rope_theta, 2.0 * i / dh)));
}

}  // namespace ds::model
