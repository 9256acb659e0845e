// The model's configuration as stored in a model file's metadata (model/SPEC.md sections 1-3 and 6):
// config, paths, heads, precisions. Parsing validates every field and throws ModelError naming the
// metadata key and field; nothing here reads tensors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::model {

// Global-channel key budget: `{"fixed": k}` or `{"fraction": f, "min": m}` (k = max(m, ceil(f*T))).
struct TopKSpec {
  enum class Kind { kFixed, kFraction };
  Kind kind = Kind::kFixed;
  int64_t fixed = 1;      // kFixed: k (>= 0; k < 1 acts as 1)
  double fraction = 1.0;  // kFraction: f >= 0
  int64_t min = 0;        // kFraction: m (>= 0)

  static TopKSpec dense();  // a fixed budget no sequence reaches, i.e. always dense

  // The key budget for a sequence of `T` real tokens; at least 1. k >= T means dense.
  int64_t resolve(int64_t T) const;
  // The text form parse_top_k_text() reads back: "64", "dense", "0.25" or "0.25,min=32".
  std::string text() const;
  bool operator==(const TopKSpec&) const = default;
};

// Parses the YAML / command-line text form of a top-k spec (see TopKSpec::text). On failure
// returns nullopt and sets `error` to what was expected.
std::optional<TopKSpec> parse_top_k_text(std::string_view text, std::string* error);

// An adaptive computation path (SPEC.md section 2).
struct PathSpec {
  double ffn_ratio = 1.0;
  int attn_heads = 1;
  std::vector<int> skip_ffn_layers;  // sorted, distinct
  std::optional<TopKSpec> top_k;     // nullopt: the config's top_k
};

enum class HeadType { kTokenTags, kSegmentLabels, kSequenceClasses, kEmbedding, kMlm };
const char* head_type_name(HeadType type);  // "token_tags", ...

// The optional lexical bag of a segment_labels or sequence_classes head (SPEC.md section 3): the mean of a [B, E] table's
// rows over the span's hashed token n-grams (n = 1..N), projected to the labels by a [C, E] matrix.
struct LexicalSpec {
  int buckets = 0;  // B, 1..2^24
  int dim = 0;      // E, 1..4096
  int max_n = 0;    // N, 1..4
  int shrink = 0;   // k, 0..4096: u = (sum of the rows) / (F + k); 0 is the plain mean
  int length_bins = 0;    // L, 0..64: a [L, C] bias by floor(log2(span tokens)); 0: none
  int position_bins = 0;  // P, 0..64: a [P, C] bias by floor(log2(span begin + 1)); 0: none
  bool operator==(const LexicalSpec&) const = default;
};

struct HeadDef {
  std::string name;
  HeadType type = HeadType::kTokenTags;
  std::vector<std::string> labels;  // token_tags, segment_labels, sequence_classes
  int dim = 0;                      // embedding: E
  std::optional<LexicalSpec> lexical = std::nullopt;  // segment_labels and sequence_classes only
};

// Storage precision of one weight matrix (SPEC.md section 6).
enum class Precision { kFp32, kFp16, kInt8, kInt4 };
const char* precision_name(Precision p);  // "fp32", "fp16", "int8", "int4"
std::optional<Precision> parse_precision(std::string_view name);

struct ModelConfig {
  int vocab_size = 0;
  int d_model = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_local_heads = 0;
  int head_dim = 0;
  int ffn_dim = 0;
  int ffn_max_dim = 0;
  double rms_eps = 1e-6;
  double rope_theta = 10000.0;
  int max_len = 0;
  int window_overlap = 0;
  int window = 0;
  TopKSpec top_k;
  int pad_id = 0;
  std::string default_path;
};

// Hidden units a path uses: floor(ffn_ratio * F). Local heads: min(max(1, hg / 2), n_local_heads).
int path_ffn_units(const PathSpec& path, const ModelConfig& config);
int path_local_heads(const PathSpec& path, const ModelConfig& config);

// Empty if `path` fits the config (1 <= attn_heads <= H, 1 <= f <= F_max, skipped layers in
// [0, L)), else what is wrong, naming the field.
std::string check_path(const PathSpec& path, const ModelConfig& config);

// Each parser reads one metadata value (JSON text). `file` prefixes error messages.
ModelConfig parse_config(const std::string& json_text, const std::string& file);
// Also checks that config.default_path is one of the paths.
std::map<std::string, PathSpec> parse_paths(const std::string& json_text, const ModelConfig& config,
                                            const std::string& file);
std::vector<HeadDef> parse_heads(const std::string& json_text, const std::string& file);
// One path object {ffn_ratio, attn_heads, skip_ffn_layers[, top_k]} (a custom path given by a caller),
// checked against the config; `where` names it in errors (e.g. "request path").
PathSpec parse_path_json(const std::string& json_text, const ModelConfig& config, const std::string& where);
// One top-k spec object {"fixed": k} or {"fraction": f, "min": m}.
TopKSpec parse_top_k_json(const std::string& json_text, const std::string& where);
// Names are not checked here (the model file knows which matrices exist).
std::map<std::string, Precision> parse_precision_map(const std::string& json_text, const std::string& file);
// The optional `quant` metadata: int4 group size G (0 when absent).
int parse_int4_group_size(const std::string& json_text, const std::string& file);

}  // namespace ds::model
