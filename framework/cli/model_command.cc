#include "cli/model_command.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/app.h"
#include "model/model_error.h"
#include "model/model_file.h"

namespace ds {

namespace {

using nlohmann::ordered_json;

constexpr const char* kModelHelp = R"(usage: deepseek model info FILE [--json]

Validates a Deepseek encoder model file (.safetensors) and describes it: config, computation
paths, heads with their labels (and lexical bags), the precision of every weight matrix (counts
per precision; the per-tensor list with --json), parameter count, size on disk and the tokenizer
hash.
Exit code 0 if the file is valid, 2 otherwise (the message names the tensor or key at fault).
)";

ordered_json top_k_json(const std::optional<model::TopKSpec>& s) {
  if (!s) return nullptr;
  if (s->kind == model::TopKSpec::Kind::kFixed) return {{"fixed", s->fixed}};
  return {{"fraction", s->fraction}, {"min", s->min}};
}

std::string top_k_text(const std::optional<model::TopKSpec>& s) {
  if (!s) return "the config's";
  if (s->kind == model::TopKSpec::Kind::kFixed) return std::to_string(s->fixed) + " keys";
  return s->text() + " of the tokens";
}

std::string bytes_text(uint64_t n) {
  char buf[64];
  if (n >= 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
  else std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
  return std::string(buf) + " (" + std::to_string(n) + " bytes)";
}

ordered_json describe(const model::ModelFile& f) {
  const model::ModelConfig& c = f.config();
  ordered_json j;
  j["file"] = f.path();
  j["format"] = model::kFormatName;
  j["spec_revision"] = f.spec_revision();
  for (const char* key : {"name", "description"})
    if (auto it = f.metadata().find(key); it != f.metadata().end()) j[key] = it->second;
  j["size_bytes"] = f.file_size();
  j["parameters"] = f.parameter_count();
  j["tokenizer"] = f.tokenizer();
  j["config"] = {{"vocab_size", c.vocab_size},   {"d_model", c.d_model},     {"n_layers", c.n_layers},
                 {"n_heads", c.n_heads},         {"n_local_heads", c.n_local_heads}, {"head_dim", c.head_dim},
                 {"ffn_dim", c.ffn_dim},         {"ffn_max_dim", c.ffn_max_dim}, {"rms_eps", c.rms_eps},
                 {"rope_theta", c.rope_theta},   {"max_len", c.max_len},     {"window_overlap", c.window_overlap},
                 {"window", c.window},           {"top_k", top_k_json(c.top_k)}, {"pad_id", c.pad_id},
                 {"default_path", c.default_path}};
  ordered_json paths = ordered_json::object();
  for (const auto& [name, p] : f.paths())
    paths[name] = {{"ffn_ratio", p.ffn_ratio},
                   {"ffn_units", model::path_ffn_units(p, c)},
                   {"attn_heads", p.attn_heads},
                   {"local_heads", model::path_local_heads(p, c)},
                   {"skip_ffn_layers", p.skip_ffn_layers},
                   {"top_k", top_k_json(p.top_k)}};
  j["paths"] = paths;
  ordered_json heads = ordered_json::array();
  for (const model::HeadDef& h : f.heads()) {
    ordered_json o = {{"name", h.name}, {"type", model::head_type_name(h.type)}};
    if (h.type == model::HeadType::kEmbedding) o["dim"] = h.dim;
    else if (h.type != model::HeadType::kMlm) o["labels"] = h.labels;
    if (h.lexical)
      o["lexical"] = {{"buckets", h.lexical->buckets},         {"dim", h.lexical->dim},
                      {"max_n", h.lexical->max_n},             {"shrink", h.lexical->shrink},
                      {"length_bins", h.lexical->length_bins}, {"position_bins", h.lexical->position_bins}};
    heads.push_back(o);
  }
  j["heads"] = heads;
  ordered_json counts = ordered_json::object(), tensors = ordered_json::object();
  for (const model::MatrixInfo& m : f.matrices()) {
    const char* p = model::precision_name(m.precision);
    counts[p] = counts.value(p, 0) + 1;
    tensors[m.name] = p;
  }
  j["precision"] = {{"counts", counts}, {"matrices", tensors}};
  if (f.int4_group_size() > 0) j["precision"]["int4_group_size"] = f.int4_group_size();
  return j;
}

void print_text(const model::ModelFile& f) {
  const model::ModelConfig& c = f.config();
  std::ostringstream out;
  out << f.path() << ": " << model::kFormatName << ", spec revision " << f.spec_revision() << "\n";
  if (auto it = f.metadata().find("name"); it != f.metadata().end()) out << "name:       " << it->second << "\n";
  out << "size:       " << bytes_text(f.file_size()) << "\n";
  out << "parameters: " << f.parameter_count() << "\n";
  out << "tokenizer:  " << f.tokenizer() << "\n";
  out << "config:     vocab " << c.vocab_size << ", d_model " << c.d_model << ", layers " << c.n_layers << ", heads "
      << c.n_heads << " global + " << c.n_local_heads << " local of " << c.head_dim << ", ffn " << c.ffn_dim << " (max "
      << c.ffn_max_dim << ")\n";
  out << "            max_len " << c.max_len << " (windows overlap " << c.window_overlap << "), local window "
      << c.window << ", top_k " << top_k_text(c.top_k) << ", rms_eps " << c.rms_eps << ", rope_theta "
      << c.rope_theta << ", pad_id " << c.pad_id << "\n";
  out << "paths:\n";
  for (const auto& [name, p] : f.paths()) {
    out << "  " << name << (name == c.default_path ? " (default)" : "") << ": ffn_ratio " << p.ffn_ratio << " ("
        << model::path_ffn_units(p, c) << " units), " << p.attn_heads << " global + " << model::path_local_heads(p, c)
        << " local heads, top_k " << top_k_text(p.top_k);
    if (!p.skip_ffn_layers.empty()) {
      out << ", skips the FFN of layers";
      for (int l : p.skip_ffn_layers) out << " " << l;
    }
    out << "\n";
  }
  out << "heads:\n";
  for (const model::HeadDef& h : f.heads()) {
    out << "  " << h.name << " (" << model::head_type_name(h.type);
    if (h.type == model::HeadType::kEmbedding) out << ", dim " << h.dim << ")\n";
    else if (h.type == model::HeadType::kMlm) out << ")\n";
    else {
      out << ", " << h.labels.size() << " labels):";
      for (const std::string& l : h.labels) out << " " << l;
      out << "\n";
      if (h.lexical)
        out << "    lexical bag: " << h.lexical->buckets << " buckets of dim " << h.lexical->dim << ", n-grams up to "
            << h.lexical->max_n << (h.lexical->shrink ? ", shrink " + std::to_string(h.lexical->shrink) : std::string())
            << (h.lexical->length_bins ? ", " + std::to_string(h.lexical->length_bins) + " length bins" : std::string())
            << (h.lexical->position_bins ? ", " + std::to_string(h.lexical->position_bins) + " position bins" : std::string())
            << " (" << model::precision_name(f.matrix("heads." + h.name + ".lexical.embed").precision)
            << " table)\n";
    }
  }
  std::map<std::string, int> counts;
  for (const model::MatrixInfo& m : f.matrices()) ++counts[model::precision_name(m.precision)];
  out << "precision:";
  for (const auto& [p, n] : counts) out << " " << p << " " << n;
  out << " (of " << f.matrices().size() << " weight matrices)";
  if (f.int4_group_size() > 0) out << ", int4 group size " << f.int4_group_size();
  out << "\n";
  std::cout << out.str();
}

}  // namespace

int run_model_command(const std::vector<std::string>& args, bool json, bool help) {
  if (help || args.empty()) {
    (help ? std::cout : std::cerr) << kModelHelp;
    return help ? kExitOk : kExitUsage;
  }
  if (args[0] != "info" || args.size() != 2) {
    std::cerr << "deepseek: model takes 'info FILE' (see deepseek model --help)\n";
    return kExitUsage;
  }
  std::shared_ptr<const model::ModelFile> f;
  try {
    f = model::ModelFile::open(args[1]);
  } catch (const model::ModelError& e) {
    std::cerr << "deepseek: invalid model file: " << e.what() << "\n";
    return kExitUsage;
  }
  if (json) std::cout << describe(*f).dump(2, ' ', false, ordered_json::error_handler_t::replace) << "\n";
  else print_text(*f);
  return kExitOk;
}

}  // namespace ds
