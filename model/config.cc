#include "model/config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <set>

#include "model/model_error.h"

namespace ds::model {

namespace {

using nlohmann::json;

// Parses one metadata value; `key` is the metadata key, for the message.
json parse_json(const std::string& text, const std::string& key, const std::string& file) {
  json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) throw ModelError(file, "metadata key '" + key + "'", "value is not valid JSON");
  return v;
}

// Reads fields of one JSON object, naming `subject` (e.g. "config key 'd_model'") in errors.
class Fields {
 public:
  Fields(const json& obj, std::string where, std::string file) : obj_(obj), where_(std::move(where)), file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw ModelError(file_, where_ + " key '" + key + "'", problem);
  }

  const json& get(const std::string& key) const {
    auto it = obj_.find(key);
    if (it == obj_.end()) fail(key, "missing");
    return *it;
  }

  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    const json& v = get(key);
    if (!v.is_number_integer()) fail(key, "expected an integer, got " + v.dump());
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      fail(key, "is " + v.dump() + ", expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    int64_t x = v.get<int64_t>();
    if (x < lo || x > hi)
      fail(key, "is " + std::to_string(x) + ", expected an integer in [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
    return x;
  }

  double number(const std::string& key) const {
    const json& v = get(key);
    if (!v.is_number()) fail(key, "expected a number, got " + v.dump());
    double x = v.get<double>();
    if (!std::isfinite(x)) fail(key, "is not finite");
    return x;
  }

  std::string string(const std::string& key) const {
    const json& v = get(key);
    if (!v.is_string()) fail(key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }

  // Every key must be one of `known`.
  void only(std::initializer_list<const char*> known) const {
    for (const auto& [k, _] : obj_.items())
      if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; })) fail(k, "unknown key");
  }

 private:
  const json& obj_;
  std::string where_;
  std::string file_;
};

constexpr int64_t kMaxDim = 1 << 24;  // far above any real size; keeps products inside int64

TopKSpec parse_top_k_json(const json& v, const std::string& where, const std::string& file) {
  if (!v.is_object()) throw ModelError(file, where, "expected {\"fixed\": k} or {\"fraction\": f, \"min\": m}, got " + v.dump());
  Fields f(v, where, file);
  TopKSpec spec;
  if (v.contains("fixed")) {
    f.only({"fixed"});
    spec.kind = TopKSpec::Kind::kFixed;
    spec.fixed = f.integer("fixed", 0, std::numeric_limits<int64_t>::max());  // k < 1 acts as 1
    return spec;
  }
  if (!v.contains("fraction"))
    throw ModelError(file, where, "expected {\"fixed\": k} or {\"fraction\": f, \"min\": m}, got " + v.dump());
  f.only({"fraction", "min"});
  spec.kind = TopKSpec::Kind::kFraction;
  spec.fraction = f.number("fraction");
  if (spec.fraction < 0.0) f.fail("fraction", "is " + std::to_string(spec.fraction) + ", expected a number >= 0");
  spec.min = f.integer("min", 0, std::numeric_limits<int64_t>::max());
  return spec;
}

}  // namespace

TopKSpec TopKSpec::dense() {
  TopKSpec s;
  s.kind = Kind::kFixed;
  s.fixed = std::numeric_limits<int64_t>::max();
  return s;
}

int64_t TopKSpec::resolve(int64_t T) const {
  int64_t k = fixed;
  if (kind == Kind::kFraction) {
    double c = std::ceil(fraction * static_cast<double>(T));
    k = std::max(min, c >= 9.0e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(c));
  }
  return std::max<int64_t>(k, 1);
}

std::string TopKSpec::text() const {
  if (kind == Kind::kFixed) return fixed == std::numeric_limits<int64_t>::max() ? "dense" : std::to_string(fixed);
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, fraction);
  std::string out(buf, r.ptr);
  if (out.find('.') == std::string::npos && out.find('e') == std::string::npos) out += ".0";
  return min > 0 ? out + ",min=" + std::to_string(min) : out;
}

std::optional<TopKSpec> parse_top_k_text(std::string_view text, std::string* error) {
  auto fail = [&]() -> std::optional<TopKSpec> {
    if (error)
      *error = "expected a top-k spec: a key count (e.g. 64), 'dense', or a fraction of the tokens with an optional "
               "floor (e.g. 0.25 or 0.25,min=32), got '" + std::string(text) + "'";
    return std::nullopt;
  };
  if (text == "dense") return TopKSpec::dense();
  if (text.empty()) return fail();
  std::string_view head = text, tail;
  if (size_t comma = text.find(','); comma != std::string_view::npos) {
    head = text.substr(0, comma);
    tail = text.substr(comma + 1);
  }
  bool fractional = head.find_first_of(".eE") != std::string_view::npos;
  if (!fractional) {
    int64_t k = 0;
    auto r = std::from_chars(head.data(), head.data() + head.size(), k);
    if (r.ec != std::errc() || r.ptr != head.data() + head.size() || k < 1 || !tail.empty()) return fail();
    TopKSpec s;
    s.fixed = k;
    return s;
  }
  TopKSpec s;
  s.kind = TopKSpec::Kind::kFraction;
  auto r = std::from_chars(head.data(), head.data() + head.size(), s.fraction);
  if (r.ec != std::errc() || r.ptr != head.data() + head.size() || !(s.fraction > 0.0 && s.fraction <= 1.0)) return fail();
  if (!tail.empty()) {
    if (tail.substr(0, 4) != "min=") return fail();
    std::string_view m = tail.substr(4);
    auto rm = std::from_chars(m.data(), m.data() + m.size(), s.min);
    if (m.empty() || rm.ec != std::errc() || rm.ptr != m.data() + m.size() || s.min < 0) return fail();
  }
  return s;
}

const char* head_type_name(HeadType type) {
  switch (type) {
    case HeadType::kTokenTags: return "token_tags";
    case HeadType::kSegmentLabels: return "segment_labels";
    case HeadType::kSequenceClasses: return "sequence_classes";
    case HeadType::kEmbedding: return "embedding";
    case HeadType::kMlm: return "mlm";
  }
  return "?";
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kInt8: return "int8";
    case Precision::kInt4: return "int4";
  }
  return "?";
}

std::optional<Precision> parse_precision(std::string_view name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "fp16") return Precision::kFp16;
  if (name == "int8") return Precision::kInt8;
  if (name == "int4") return Precision::kInt4;
  return std::nullopt;
}

int path_ffn_units(const PathSpec& path, const ModelConfig& config) {
  double f = std::floor(path.ffn_ratio * static_cast<double>(config.ffn_dim));
  if (!(f >= 0)) return 0;
  return f > 1e9 ? 1000000000 : static_cast<int>(f);
}

int path_local_heads(const PathSpec& path, const ModelConfig& config) {
  return std::min(std::max(1, path.attn_heads / 2), config.n_local_heads);
}

std::string check_path(const PathSpec& path, const ModelConfig& config) {
  if (path.attn_heads < 1 || path.attn_heads > config.n_heads)
    return "attn_heads is " + std::to_string(path.attn_heads) + ", expected 1.." + std::to_string(config.n_heads);
  int f = path_ffn_units(path, config);
  if (!std::isfinite(path.ffn_ratio) || f < 1 || f > config.ffn_max_dim)
    return "ffn_ratio " + std::to_string(path.ffn_ratio) + " gives " + std::to_string(f) +
           " FFN units, expected 1.." + std::to_string(config.ffn_max_dim) + " (floor(ffn_ratio * " +
           std::to_string(config.ffn_dim) + "))";
  for (int l : path.skip_ffn_layers)
    if (l < 0 || l >= config.n_layers)
      return "skip_ffn_layers holds " + std::to_string(l) + ", expected layer indices 0.." + std::to_string(config.n_layers - 1);
  return "";
}

ModelConfig parse_config(const std::string& text, const std::string& file) {
  json v = parse_json(text, "config", file);
  if (!v.is_object()) throw ModelError(file, "metadata key 'config'", "is not a JSON object");
  Fields f(v, "config", file);
  f.only({"vocab_size", "d_model", "n_layers", "n_heads", "n_local_heads", "head_dim", "ffn_dim", "ffn_max_dim",
          "rms_eps", "rope_theta", "max_len", "window_overlap", "window", "top_k", "pad_id", "default_path"});
  ModelConfig c;
  c.vocab_size = static_cast<int>(f.integer("vocab_size", 1, kMaxDim));
  c.d_model = static_cast<int>(f.integer("d_model", 1, kMaxDim));
  c.n_layers = static_cast<int>(f.integer("n_layers", 1, 4096));
  c.n_heads = static_cast<int>(f.integer("n_heads", 1, 4096));
  c.n_local_heads = static_cast<int>(f.integer("n_local_heads", 1, 4096));
  if (c.n_local_heads != std::max(1, c.n_heads / 2))
    f.fail("n_local_heads", "is " + std::to_string(c.n_local_heads) + " but must equal max(1, n_heads / 2) = " +
                                std::to_string(std::max(1, c.n_heads / 2)));
  c.head_dim = static_cast<int>(f.integer("head_dim", 2, 65536));
  if (c.head_dim % 2 != 0) f.fail("head_dim", "is " + std::to_string(c.head_dim) + " but must be even (RoPE rotates pairs)");
  c.ffn_dim = static_cast<int>(f.integer("ffn_dim", 1, kMaxDim));
  c.ffn_max_dim = static_cast<int>(f.integer("ffn_max_dim", 1, kMaxDim));
  if (c.ffn_max_dim != c.ffn_dim * 3 / 2)
    f.fail("ffn_max_dim", "is " + std::to_string(c.ffn_max_dim) + " but must equal floor(1.5 * ffn_dim) = " +
                              std::to_string(c.ffn_dim * 3 / 2));
  c.rms_eps = f.number("rms_eps");
  if (!(c.rms_eps > 0)) f.fail("rms_eps", "must be > 0");
  c.rope_theta = f.number("rope_theta");
  if (!(c.rope_theta > 0)) f.fail("rope_theta", "must be > 0");
  c.max_len = static_cast<int>(f.integer("max_len", 1, 1 << 30));
  c.window_overlap = static_cast<int>(f.integer("window_overlap", 0, 1 << 30));
  if (2 * static_cast<int64_t>(c.window_overlap) >= c.max_len)
    f.fail("window_overlap", "is " + std::to_string(c.window_overlap) + " but must be < max_len / 2 (max_len is " +
                                 std::to_string(c.max_len) + ")");
  c.window = static_cast<int>(f.integer("window", 0, 1 << 30));
  c.top_k = parse_top_k_json(f.get("top_k"), "config.top_k", file);
  c.pad_id = static_cast<int>(f.integer("pad_id", 0, c.vocab_size - 1));
  c.default_path = f.string("default_path");
  return c;
}

namespace {

PathSpec parse_path_object(const json& p, const ModelConfig& config, const std::string& where, const std::string& file) {
  if (!p.is_object()) throw ModelError(file, where, "is not a JSON object");
  Fields f(p, where, file);
  f.only({"ffn_ratio", "attn_heads", "skip_ffn_layers", "top_k"});
  PathSpec s;
  s.ffn_ratio = f.number("ffn_ratio");
  s.attn_heads = static_cast<int>(f.integer("attn_heads", 1, config.n_heads));
  const json& skip = f.get("skip_ffn_layers");
  if (!skip.is_array()) f.fail("skip_ffn_layers", "expected an array of layer indices, got " + skip.dump());
  std::set<int> seen;
  for (const json& l : skip) {
    if (!l.is_number_integer() || l.get<int64_t>() < 0 || l.get<int64_t>() >= config.n_layers)
      f.fail("skip_ffn_layers", "holds " + l.dump() + ", expected layer indices 0.." + std::to_string(config.n_layers - 1));
    seen.insert(static_cast<int>(l.get<int64_t>()));
  }
  s.skip_ffn_layers.assign(seen.begin(), seen.end());
  // top_k may be absent or null: the config's top_k then applies.
  if (auto tk = p.find("top_k"); tk != p.end() && !tk->is_null()) s.top_k = parse_top_k_json(*tk, where + ".top_k", file);
  if (std::string why = check_path(s, config); !why.empty()) throw ModelError(file, where, why);
  return s;
}

// A segment_labels or sequence_classes head's `lexical` object {"buckets": B, "dim": E, "max_n": N[, "shrink": k]
// [, "length_bins": L][, "position_bins": P]} (SPEC.md section 3).
LexicalSpec parse_lexical(const json& v, const std::string& where, const std::string& file) {
  if (!v.is_object())
    throw ModelError(file, where, "expected {\"buckets\": B, \"dim\": E, \"max_n\": N}, got " + v.dump());
  Fields f(v, where, file);
  f.only({"buckets", "dim", "max_n", "shrink", "length_bins", "position_bins"});
  LexicalSpec s;
  s.buckets = static_cast<int>(f.integer("buckets", 1, 1 << 24));
  s.dim = static_cast<int>(f.integer("dim", 1, 4096));
  s.max_n = static_cast<int>(f.integer("max_n", 1, 4));
  if (v.contains("shrink")) s.shrink = static_cast<int>(f.integer("shrink", 0, 4096));
  if (v.contains("length_bins")) s.length_bins = static_cast<int>(f.integer("length_bins", 0, 64));
  if (v.contains("position_bins")) s.position_bins = static_cast<int>(f.integer("position_bins", 0, 64));
  return s;
}

}  // namespace

std::map<std::string, PathSpec> parse_paths(const std::string& text, const ModelConfig& config, const std::string& file) {
  json v = parse_json(text, "paths", file);
  if (!v.is_object() || v.empty()) throw ModelError(file, "metadata key 'paths'", "expected a non-empty JSON object name -> path");
  std::map<std::string, PathSpec> paths;
  for (const auto& [name, p] : v.items()) paths.emplace(name, parse_path_object(p, config, "paths." + name, file));
  if (!paths.count(config.default_path))
    throw ModelError(file, "config key 'default_path'", "names path '" + config.default_path + "', which 'paths' does not define");
  return paths;
}

PathSpec parse_path_json(const std::string& text, const ModelConfig& config, const std::string& where) {
  json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) throw ModelError("", where, "is not valid JSON");
  return parse_path_object(v, config, where, "");
}

TopKSpec parse_top_k_json(const std::string& text, const std::string& where) {
  json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) throw ModelError("", where, "is not valid JSON");
  return parse_top_k_json(v, where, "");
}

std::vector<HeadDef> parse_heads(const std::string& text, const std::string& file) {
  json v = parse_json(text, "heads", file);
  if (!v.is_array()) throw ModelError(file, "metadata key 'heads'", "expected a JSON array of head definitions");
  static const std::regex kName("[a-z][a-z0-9_]*");
  std::vector<HeadDef> heads;
  std::set<std::string> names;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& h = v[i];
    std::string where = "heads[" + std::to_string(i) + "]";
    if (!h.is_object()) throw ModelError(file, where, "is not a JSON object");
    Fields f(h, where, file);
    HeadDef d;
    d.name = f.string("name");
    if (!std::regex_match(d.name, kName)) f.fail("name", "'" + d.name + "' does not match [a-z][a-z0-9_]*");
    if (!names.insert(d.name).second) f.fail("name", "'" + d.name + "' is used by two heads");
    where = "heads." + d.name;
    Fields g(h, where, file);
    std::string type = g.string("type");
    if (type == "token_tags") d.type = HeadType::kTokenTags;
    else if (type == "segment_labels") d.type = HeadType::kSegmentLabels;
    else if (type == "sequence_classes") d.type = HeadType::kSequenceClasses;
    else if (type == "embedding") d.type = HeadType::kEmbedding;
    else if (type == "mlm") d.type = HeadType::kMlm;
    else g.fail("type", "'" + type + "' is not one of token_tags, segment_labels, sequence_classes, embedding, mlm");
    const bool may_have_lexical = d.type == HeadType::kSegmentLabels || d.type == HeadType::kSequenceClasses;
    if (h.contains("lexical") && !may_have_lexical)
      g.fail("lexical", std::string("only segment_labels and sequence_classes heads may have a lexical bag, this head is ") +
                            head_type_name(d.type));
    if (d.type == HeadType::kEmbedding) {
      g.only({"name", "type", "dim"});
      d.dim = static_cast<int>(g.integer("dim", 1, kMaxDim));
    } else if (d.type == HeadType::kMlm) {
      g.only({"name", "type"});
    } else {
      if (may_have_lexical) g.only({"name", "type", "labels", "lexical"});
      else g.only({"name", "type", "labels"});
      const json& labels = g.get("labels");
      if (!labels.is_array() || labels.empty()) g.fail("labels", "expected a non-empty array of label names");
      for (const json& l : labels) {
        if (!l.is_string()) g.fail("labels", "holds " + l.dump() + ", not a string");
        d.labels.push_back(l.get<std::string>());
      }
      if (auto lx = h.find("lexical"); lx != h.end()) d.lexical = parse_lexical(*lx, where + ".lexical", file);
    }
    heads.push_back(std::move(d));
  }
  return heads;
}

std::map<std::string, Precision> parse_precision_map(const std::string& text, const std::string& file) {
  json v = parse_json(text, "precision", file);
  if (!v.is_object()) throw ModelError(file, "metadata key 'precision'", "expected a JSON object matrix -> precision");
  std::map<std::string, Precision> out;
  for (const auto& [name, p] : v.items()) {
    std::optional<Precision> prec = p.is_string() ? parse_precision(p.get<std::string>()) : std::nullopt;
    if (!prec)
      throw ModelError(file, "precision key '" + name + "'", "is " + p.dump() + ", expected fp32, fp16, int8 or int4");
    out.emplace(name, *prec);
  }
  return out;
}

int parse_int4_group_size(const std::string& text, const std::string& file) {
  json v = parse_json(text, "quant", file);
  if (!v.is_object()) throw ModelError(file, "metadata key 'quant'", "expected a JSON object");
  Fields f(v, "quant", file);
  f.only({"int4_group_size"});
  int g = static_cast<int>(f.integer("int4_group_size", 2, kMaxDim));
  if (g % 2 != 0) f.fail("int4_group_size", "is " + std::to_string(g) + " but must be even");
  return g;
}

}  // namespace ds::model
