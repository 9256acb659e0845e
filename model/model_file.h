// A Deepseek encoder model file, mapped and validated (model/SPEC.md section 6).
//
// open() checks the WHOLE file before anything uses it: the safetensors container, the metadata
// (format, spec revision, config, paths, heads, tokenizer, precision map), and every tensor the
// config implies, with its exact dtype and shape; unknown tensors are an error. Tensor data is not
// read during validation, so a file that opens can be used without further checks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/mapped_file.h"
#include "model/safetensors.h"

namespace ds::model {

// The spec revisions this loader reads.
inline constexpr const char* kSupportedSpecRevisions[] = {"1"};
inline constexpr const char* kFormatName = "deepseek-encoder";

// One weight matrix with a per-matrix precision: X.weight (logical [rows, cols]) and, for int8/int4,
// X.weight.scale.
struct MatrixInfo {
  std::string name;  // without ".weight", e.g. "layers.0.ffn.up"
  int64_t rows = 0;  // N, output channels
  int64_t cols = 0;  // K, input features
  Precision precision = Precision::kFp32;
  const TensorEntry* weight = nullptr;
  const TensorEntry* scale = nullptr;  // int8/int4 only
};

class ModelFile {
 public:
  // Maps and validates `path`. Throws ModelError ("<path>: <tensor or key>: <problem>") on any
  // problem. The result is immutable and safe to share between threads.
  static std::shared_ptr<const ModelFile> open(const std::string& path);

  const std::string& path() const { return map_->path(); }
  uint64_t file_size() const { return map_->size(); }
  const SafetensorsHeader& header() const { return header_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  const ModelConfig& config() const { return config_; }
  const std::map<std::string, PathSpec>& paths() const { return paths_; }
  const std::vector<HeadDef>& heads() const { return heads_; }
  const std::string& tokenizer() const { return tokenizer_; }  // "sha256:<hex>"
  const std::string& spec_revision() const { return spec_revision_; }
  int int4_group_size() const { return int4_group_size_; }  // 0 when the file has no `quant`

  // Every weight matrix with a precision entry (the embedding, the layer projections in order of
  // layers, then the lexical tables of segment_labels heads, "heads.<name>.lexical.embed").
  const std::vector<MatrixInfo>& matrices() const { return matrices_; }
  const MatrixInfo& matrix(std::string_view name) const;  // throws std::out_of_range if absent
  // A tensor of the validated file; throws std::out_of_range if absent.
  const TensorEntry& tensor(std::string_view name) const;
  // Start of a tensor's bytes in the mapping (valid while this object lives). Not necessarily
  // aligned for its dtype.
  const uint8_t* data(const TensorEntry& entry) const { return map_->data() + header_.data_offset + entry.begin; }

  // Logical parameters: every weight counted at its [rows, cols], vectors and head tensors included,
  // quantization scales excluded.
  int64_t parameter_count() const { return parameter_count_; }

 private:
  ModelFile() = default;
  void validate();

  std::unique_ptr<MappedFile> map_;
  SafetensorsHeader header_;
  ModelConfig config_;
  std::map<std::string, PathSpec> paths_;
  std::vector<HeadDef> heads_;
  std::string tokenizer_;
  std::string spec_revision_;
  int int4_group_size_ = 0;
  std::vector<MatrixInfo> matrices_;
  int64_t parameter_count_ = 0;
};

}  // namespace ds::model
