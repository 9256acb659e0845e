#include "model/model_file.h"

#include <algorithm>
#include <regex>
#include <set>
#include <stdexcept>

#include "model/model_error.h"

namespace ds::model {

namespace {

std::string tensor_subject(const std::string& name) { return "tensor '" + name + "'"; }

// One tensor the config implies, with the shape it must have and why (for the message).
struct Expected {
  std::string name;
  std::vector<int64_t> shape;
  std::string because = "the config implies";
};

// Checks tensors against what the config implies, remembering which ones were claimed, so that
// anything left over is reported as unknown.
class TensorChecker {
 public:
  TensorChecker(const SafetensorsHeader& header, std::string file) : header_(header), file_(std::move(file)) {}

  const TensorEntry& require(const Expected& e, Dtype dtype, const std::string& dtype_reason) {
    const TensorEntry* t = header_.find(e.name);
    if (!t) throw ModelError(file_, tensor_subject(e.name), "missing (" + e.because + " " + shape_text(e.shape) + ")");
    if (t->shape != e.shape)
      throw ModelError(file_, tensor_subject(e.name), "shape " + shape_text(t->shape) + " but " + e.because + " " + shape_text(e.shape));
    if (t->dtype != dtype)
      throw ModelError(file_, tensor_subject(e.name),
                       std::string("dtype ") + dtype_name(t->dtype) + " but " + dtype_reason + " needs " + dtype_name(dtype));
    claimed_.insert(e.name);
    return *t;
  }

  void reject_unknown() const {
    for (const TensorEntry& t : header_.tensors)
      if (!claimed_.count(t.name))
        throw ModelError(file_, tensor_subject(t.name), "unknown tensor (not implied by the config, heads or precision map)");
  }

 private:
  const SafetensorsHeader& header_;
  std::string file_;
  std::set<std::string> claimed_;
};

const std::string& required_metadata(const SafetensorsHeader& h, const std::string& key, const std::string& file) {
  auto it = h.metadata.find(key);
  if (it == h.metadata.end()) throw ModelError(file, "metadata key '" + key + "'", "missing");
  return it->second;
}

}  // namespace

std::shared_ptr<const ModelFile> ModelFile::open(const std::string& path) {
  std::shared_ptr<ModelFile> f(new ModelFile());
  f->map_ = std::make_unique<MappedFile>(path);
  f->header_ = parse_safetensors(f->map_->data(), f->map_->size(), path);
  f->validate();
  return f;
}

void ModelFile::validate() {
  const std::string& file = path();
  const SafetensorsHeader& h = header_;

  const std::string& format = required_metadata(h, "format", file);
  if (format != kFormatName)
    throw ModelError(file, "metadata key 'format'", "is '" + format + "', expected '" + kFormatName + "'");
  spec_revision_ = required_metadata(h, "spec_revision", file);
  if (std::none_of(std::begin(kSupportedSpecRevisions), std::end(kSupportedSpecRevisions),
                   [&](const char* r) { return spec_revision_ == r; })) {
    std::string supported;
    for (const char* r : kSupportedSpecRevisions) supported += (supported.empty() ? "" : ", ") + std::string(r);
    throw ModelError(file, "metadata key 'spec_revision'",
                     "revision '" + spec_revision_ + "' is not supported (this runtime reads: " + supported + ")");
  }
  config_ = parse_config(required_metadata(h, "config", file), file);
  paths_ = parse_paths(required_metadata(h, "paths", file), config_, file);
  heads_ = parse_heads(required_metadata(h, "heads", file), file);
  tokenizer_ = required_metadata(h, "tokenizer", file);
  static const std::regex kHash("sha256:[0-9a-f]{64}");
  if (!std::regex_match(tokenizer_, kHash))
    throw ModelError(file, "metadata key 'tokenizer'", "is '" + tokenizer_ + "', expected sha256:<64 hex digits>");
  std::map<std::string, Precision> precision = parse_precision_map(required_metadata(h, "precision", file), file);
  if (auto q = h.metadata.find("quant"); q != h.metadata.end()) int4_group_size_ = parse_int4_group_size(q->second, file);

  const ModelConfig& c = config_;
  const int64_t D = c.d_model, V = c.vocab_size, Hd = int64_t(c.n_heads) * c.head_dim,
                Hld = int64_t(c.n_local_heads) * c.head_dim, Fm = c.ffn_max_dim;
  TensorChecker check(h, file);
  std::set<std::string> matrix_names;

  auto add_matrix = [&](const std::string& name, int64_t rows, int64_t cols, const std::string& because = "the config implies") {
    matrix_names.insert(name);
    auto p = precision.find(name);
    if (p == precision.end()) throw ModelError(file, "precision key '" + name + "'", "missing (every weight matrix needs a precision)");
    MatrixInfo m{name, rows, cols, p->second, nullptr, nullptr};
    const std::string w = name + ".weight", reason = std::string("precision '") + precision_name(m.precision) + "'";
    switch (m.precision) {
      case Precision::kFp32: m.weight = &check.require({w, {rows, cols}, because}, Dtype::kF32, reason); break;
      case Precision::kFp16: m.weight = &check.require({w, {rows, cols}, because}, Dtype::kF16, reason); break;
      case Precision::kInt8:
        m.weight = &check.require({w, {rows, cols}, because}, Dtype::kI8, reason);
        m.scale = &check.require({w + ".scale", {rows}, "int8 per-channel scales imply"}, Dtype::kF16, reason);
        break;
      case Precision::kInt4: {
        const int64_t g = int4_group_size_;
        if (g == 0)
          throw ModelError(file, "precision key '" + name + "'", "int4 needs metadata key 'quant' with int4_group_size");
        if (cols % g != 0)
          throw ModelError(file, "precision key '" + name + "'",
                           "int4 needs the input size " + std::to_string(cols) + " to be a multiple of int4_group_size " + std::to_string(g));
        m.weight = &check.require({w, {rows, cols / 2}, "int4 packing of " + shape_text({rows, cols}) + " implies"}, Dtype::kU8, reason);
        m.scale = &check.require({w + ".scale", {rows, cols / g}, "int4 group scales imply"}, Dtype::kF16, reason);
        break;
      }
    }
    parameter_count_ += rows * cols;
    matrices_.push_back(std::move(m));
  };
  auto add_f32 = [&](const std::string& name, std::vector<int64_t> shape, std::string because = "the config implies") {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    check.require({name, std::move(shape), std::move(because)}, Dtype::kF32, "a norm, bias, scorer, gate or head tensor");
    parameter_count_ += n;
  };

  add_matrix("embed", V, D);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    add_f32(p + "attn_norm.weight", {D});
    add_f32(p + "importance.weight", {D});
    add_f32(p + "importance.bias", {1});
    for (const char* m : {"q", "k", "v"}) add_matrix(p + "global." + m, Hd, D);
    add_matrix(p + "global.o", D, Hd);
    for (const char* m : {"q", "k", "v"}) add_matrix(p + "local." + m, Hld, D);
    add_matrix(p + "local.o", D, Hld);
    add_f32(p + "gate.weight", {2, D});
    add_f32(p + "gate.bias", {2});
    add_f32(p + "ffn_norm.weight", {D});
    add_matrix(p + "ffn.up", Fm, D);
    add_matrix(p + "ffn.down", D, Fm);
  }
  add_f32("final_norm.weight", {D});

  std::set<std::string> f32_matrix_names;  // may appear in the precision map, as fp32 only
  for (const HeadDef& hd : heads_) {
    const std::string p = "heads." + hd.name;
    std::string why = "head '" + hd.name + "' (" + head_type_name(hd.type);
    switch (hd.type) {
      case HeadType::kTokenTags:
      case HeadType::kSegmentLabels:
      case HeadType::kSequenceClasses: {
        const int64_t C = static_cast<int64_t>(hd.labels.size());
        why += ", " + std::to_string(C) + " labels";
        add_f32(p + ".weight", {C, D}, why + ") implies");
        add_f32(p + ".bias", {C}, why + ") implies");
        f32_matrix_names.insert(p);
        if (hd.lexical) {  // the lexical bag (SPEC.md section 3): a [B, E] table of any precision, an F32 [C, E] projection
          const LexicalSpec& lx = *hd.lexical;
          why += ", lexical buckets " + std::to_string(lx.buckets) + " dim " + std::to_string(lx.dim) + ") implies";
          add_matrix(p + ".lexical.embed", lx.buckets, lx.dim, why);
          add_f32(p + ".lexical.proj.weight", {C, lx.dim}, why);
          f32_matrix_names.insert(p + ".lexical.proj");
          if (lx.length_bins > 0) add_f32(p + ".lexical.length_bias", {lx.length_bins, C}, why);
          if (lx.position_bins > 0) add_f32(p + ".lexical.position_bias", {lx.position_bins, C}, why);
        }
        break;
      }
      case HeadType::kEmbedding:
        why += ", dim " + std::to_string(hd.dim) + ") implies";
        add_f32(p + ".weight", {hd.dim, D}, why);
        f32_matrix_names.insert(p);
        break;
      case HeadType::kMlm:
        why += ", weight tied to embed.weight) implies";
        add_f32(p + ".bias", {V}, why);
        break;
    }
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    f32_matrix_names.insert(p + "importance");
    f32_matrix_names.insert(p + "gate");
  }
  for (const auto& [name, prec] : precision) {
    if (matrix_names.count(name)) continue;
    if (f32_matrix_names.count(name)) {
      if (prec != Precision::kFp32)
        throw ModelError(file, "precision key '" + name + "'",
                         std::string("is ") + precision_name(prec) + " but heads, the importance scorer and the gate are always fp32");
      continue;
    }
    throw ModelError(file, "precision key '" + name + "'", "names no weight matrix of this model");
  }
  check.reject_unknown();
}

const MatrixInfo& ModelFile::matrix(std::string_view name) const {
  for (const MatrixInfo& m : matrices_)
    if (m.name == name) return m;
  throw std::out_of_range(path() + ": no weight matrix '" + std::string(name) + "'");
}

const TensorEntry& ModelFile::tensor(std::string_view name) const {
  const TensorEntry* t = header_.find(name);
  if (!t) throw std::out_of_range(path() + ": no tensor '" + std::string(name) + "'");
  return *t;
}

}  // namespace ds::model
