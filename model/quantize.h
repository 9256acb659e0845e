// Post-training quantization of a model file (DMPQ, ../shared/docs/MODEL.md section 4): the
// quantizers for the INT8 and INT4 layouts of model/SPEC.md ("Precisions and quantized layouts"),
// rewriting a file with a new per-matrix precision map, and the KL divergence between two runs'
// head outputs that `deepseek quantize` minimizes. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/encoder.h"
#include "model/model_file.h"
#include "model/safetensors_writer.h"

namespace ds::model {

// INT8, per output channel, symmetric: scale[n] = fp16(max_k |W[n,k]| / 127) (1 for an all-zero
// row), q = clamp(round(W / scale), -127, 127) with the F16-rounded scale, so that decoding
// q * scale reproduces what the file stores. `w` is row-major [rows, cols].
struct Int8Matrix {
  std::vector<int8_t> q;          // [rows, cols]
  std::vector<uint16_t> scale;    // [rows], IEEE binary16
};
Int8Matrix quantize_int8(const float* w, int64_t rows, int64_t cols);

// INT4, group-wise along the input (k) axis: scale[n,g] = fp16(max |W[n, gG..gG+G)| / 7) (1 for an
// all-zero group), u = clamp(round(W / scale) + 8, 0, 15); byte b of row n holds k = 2b (low nibble)
// and k = 2b + 1 (high nibble); decode W = (u - 8) * scale. Requires cols % group == 0 and an even
// group (throws std::invalid_argument otherwise).
struct Int4Matrix {
  std::vector<uint8_t> packed;    // [rows, cols / 2]
  std::vector<uint16_t> scale;    // [rows, cols / group], IEEE binary16
};
Int4Matrix quantize_int4(const float* w, int64_t rows, int64_t cols, int group);

// Adds the weight matrix `name`.weight [rows, cols] to `w` in precision `p`, from the row-major FP32
// values `v`: FP32 as given, FP16 rounded to nearest even, INT8 / INT4 by quantize_int8 /
// quantize_int4 (`group` for INT4) plus their `name`.weight.scale tensor, in SPEC.md's layouts.
// Throws std::invalid_argument as quantize_int4 does when INT4 does not fit the shape.
void add_weight_matrix(SafetensorsWriter& w, const std::string& name, int64_t rows, int64_t cols,
                       const std::vector<float>& v, Precision p, int group);

// Bytes a [rows, cols] matrix takes in the file at `p` (weights plus scales; alignment padding not
// counted). `group` is the INT4 group size.
int64_t matrix_bytes(Precision p, int64_t rows, int64_t cols, int group);

// Whether a weight matrix may leave FP16 under the article's rules: attention Q and K projections
// (global and local) stay FP16, and so does the embedding (gathered row by row, not a GEMM).
bool quantizable_matrix(const std::string& name);

// Whether `name` is a segment_labels head's lexical-bag table ("heads.<head>.lexical.embed", SPEC.md
// section 3). `deepseek quantize` keeps these at their stored precision (gathered rows, not a GEMM).
bool lexical_table_matrix(const std::string& name);

// Writes a copy of `src` with the weight matrices in `precision` (matrix name -> precision;
// matrices not named keep their stored precision and bytes). A changed matrix is decoded to FP32
// from its stored form and re-encoded, so FP32 -> FP16 -> FP32 keeps FP16 values exactly.
// Every other tensor and every metadata key is copied; `precision` and `quant` are rewritten (quant
// only when some matrix is INT4, with `group`), and `extra_metadata` is added or replaces keys.
// Throws std::invalid_argument naming the matrix if INT4 does not fit its shape, or an unknown name.
SafetensorsWriter requantize(const ModelFile& src, const std::map<std::string, Precision>& precision, int group,
                             const std::map<std::string, std::string>& extra_metadata = {});

// How far a run's head outputs are from a reference run's, in nats, per head (by name) and summed.
// Both runs are over the same sequences in the same order. Per head type:
//   sequence_classes  KL(softmax(ref) || softmax(test)), mean over sequences;
//   token_tags        the same per token, mean over all tokens;
//   segment_labels    sum over labels of the Bernoulli KL of sigmoid(logits), mean over segments
//                     (the KL of the joint distribution of independent labels);
//   embedding         retrieval over the batch: for each sequence i the distribution
//                     softmax_j(e_i . e_j / tau) over all sequences j (tau = 0.05, the trainer's
//                     InfoNCE temperature), reference against test, mean over i.
// mlm heads are not run. `heads` limits the heads counted (empty: all of `defs`).
struct HeadKl {
  std::map<std::string, double> per_head;
  double total = 0;
};
HeadKl head_kl(std::span<const SequenceOutput> ref, std::span<const SequenceOutput> test, const std::vector<HeadDef>& defs,
               const std::vector<std::string>& heads = {});

}  // namespace ds::model
