// The encoder's weights as the forward pass reads them, prepared once from a validated ModelFile.
// Internal to model/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "model/linear.h"
#include "model/model_file.h"

namespace ds::model {

// Token embedding rows (or lexical-bag table rows), gathered one at a time; F32 rows are copied from
// the mapping, other precisions decoded per row (SPEC.md: "rows are converted when gathered").
class Embedding {
 public:
  Embedding(const ModelFile& file, const MatrixInfo& m) : file_(&file), m_(&m) {}
  // out[0..D) = E[id]. `id` must be in [0, rows).
  void gather(int32_t id, float* out) const { decode_matrix_rows(*file_, *m_, id, 1, out); }

 private:
  const ModelFile* file_;
  const MatrixInfo* m_;
};

struct LayerWeights {
  F32Tensor attn_norm, importance_w, importance_b;
  Linear global_q, global_k, global_v, global_o;
  Linear local_q, local_k, local_v, local_o;
  F32Tensor gate_w, gate_b;  // [2, D], [2]
  F32Tensor ffn_norm;
  Linear up, down;
};

struct HeadWeights {
  HeadDef def;
  F32Tensor weight;  // [C or E, D]
  F32Tensor bias;    // [C]; empty for embedding heads
  // A segment_labels head's lexical bag (def.lexical set): table [B, E], any precision, and proj [C, E].
  std::optional<Embedding> lexical_embed = std::nullopt;
  F32Tensor lexical_proj = {};
  F32Tensor lexical_length_bias = {};    // [L, C] when def.lexical->length_bins > 0
  F32Tensor lexical_position_bias = {};  // [P, C] when def.lexical->position_bins > 0
};

struct EncoderWeights {
  explicit EncoderWeights(const ModelFile& file);

  Embedding embed;
  std::vector<LayerWeights> layers;
  F32Tensor final_norm;
  std::vector<HeadWeights> heads;  // mlm heads are not loaded (pretraining only)
  std::vector<float> inv_freq;     // RoPE, head_dim / 2 values
};

}  // namespace ds::model
