// Random (untrained) model files for tests and benchmarks: a complete, valid file per SPEC.md
// written with SafetensorsWriter, weights drawn with scales that keep attention, importance and
// gates non-trivial (so a wrong forward pass shows). Matrices in FP16 / INT8 / INT4 are encoded by
// model/quantize.h's add_weight_matrix, as `deepseek quantize` writes them.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/config.h"
#include "model/safetensors_writer.h"

namespace ds::model {

// A small config: V=64 D=32 L=2 H=4 dh=8 F=48, max_len 64, overlap 8, window 4, top_k fixed 16.
ModelConfig small_test_config();

// The config as the JSON text of the `config` metadata key.
std::string config_json(const ModelConfig& config);

struct RandomModelSpec {
  ModelConfig config = small_test_config();
  // JSON text of `paths`; empty: light (ratio 0.5, H/2 heads, skips layer 0 when L > 1),
  // standard (ratio 1.0, H heads), heavy (ratio 1.5, H heads, dense top_k).
  std::string paths_json;
  // JSON text of `heads`; empty: tags (token_tags, 5 labels), clauses (segment_labels, 4),
  // triage (sequence_classes, 4), embed (embedding, 16). A segment_labels head's "lexical" bag gets
  // its table (at `precision` / `overrides`, like any matrix) and its F32 projection.
  std::string heads_json;
  Precision precision = Precision::kFp32;        // of every weight matrix...
  std::map<std::string, Precision> overrides;    // ...except these (matrix name -> precision)
  int int4_group_size = 8;                       // written as `quant` when any matrix is int4
  uint64_t seed = 1;
  std::string tokenizer = "sha256:" + std::string(64, '0');
};

// The writer holding the whole model (tests may add to it before serializing).
SafetensorsWriter make_random_model(const RandomModelSpec& spec);

}  // namespace ds::model
