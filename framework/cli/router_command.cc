#include "cli/router_command.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include "core/hash.h"
#include "io/extract.h"
#include "io/reader.h"
#include "kernels/cpu/thread_pool.h"
#include "model/complexity_features.h"
#include "model/encode_stage.h"
#include "model/encoder.h"
#include "model/model_error.h"
#include "model/router.h"
#include "model/router_train.h"
#include "sinks/result_fields.h"
#include "text/decode.h"
#include "text/normalize.h"
#include "text/segment.h"
#include "tokenize/tokenizer.h"

namespace ds {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr int kOk = 0;
constexpr int kUsage = 2;
constexpr int kRuntime = 3;

constexpr const char* kRouterHelp = R"(usage: deepseek router train --model FILE --data PATH [options]
       deepseek router info ROUTER [--model FILE]

train: runs the model's light, standard and heavy paths on every calibration input, labels each
input with the cheapest path whose outputs agree with heavy's (same decisions, scores within the
tolerances of the settings), trains an XGBoost router on 12 complexity features (model/SPEC.md
section 7), picks the thresholds low/medium on cross-validated scores under the trade-off, and
writes <stem>.router.json (XGBoost's JSON model) and <stem>.router.yaml (the sidecar: model
sha256, features, thresholds, trade-off, training counts) next to the model. `model.encode` with
`path: auto` then uses it.

train options:
  --model FILE       the model file (.safetensors) to route for (required)
  --data PATH        calibration inputs: a JSONL file with one {"text": ...} object per line, or a
                     folder of documents (read and decoded as `deepseek run` does) (required)
  --config FILE      training settings (YAML: tokenizer, split, text_field, agreement, protect,
                     tradeoff, xgboost); see pipelines/router/medical.yaml
  --split NAME       JSONL: keep only lines whose "split" is NAME (overrides the settings' split)
  --tokenizer FILE   the SentencePiece model (default: the settings', else tokenizer.model next to
                     the model); it must be the one the model was trained with
  --kind K           xgboost (default), length (the token-count baseline, written as
                     <stem>.length-router.yaml) or both
  --out DIR          where to write (default: the model's folder)
  --include GLOB     folder data: only files whose name matches (repeatable), e.g. '*.txt'
  --labels FILE      also write one JSONL row per input: features, agreement per path, label
  --threads N        encoder threads (default 2)
  --json             print the summary as JSON
info: loads ROUTER (a .router.yaml sidecar) and prints what it records; with --model, also checks
  that it was trained for that model file.

exit codes: 0 done, 2 usage error or bad input (the message names the file and line or key),
            3 runtime failure (XGBoost, a file that cannot be written)
)";

class RouterUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RouterArgs {
  std::string verb;
  std::vector<std::string> positional;
  bool help = false;
  bool json = false;
  std::string model, data, config, split, tokenizer, out, labels;
  std::vector<std::string> include;
  bool split_given = false;
  std::string kind = "xgboost";
  int threads = 2;
};

RouterArgs parse_router_args(const std::vector<std::string>& args) {
  RouterArgs a;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string s = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (s.rfind("--", 0) == 0 && s.find('=') != std::string::npos) {
      inline_value = s.substr(s.find('=') + 1);
      s = s.substr(0, s.find('='));
      has_inline = true;
    }
    auto value = [&]() -> std::string {
      if (has_inline) return inline_value;
      if (i + 1 >= args.size()) throw RouterUsageError(s + " needs a value");
      return args[++i];
    };
    if (s == "-h" || s == "--help") a.help = true;
    else if (s == "--json") a.json = true;
    else if (s == "--model") a.model = value();
    else if (s == "--data") a.data = value();
    else if (s == "--config") a.config = value();
    else if (s == "--split") a.split = value(), a.split_given = true;
    else if (s == "--tokenizer") a.tokenizer = value();
    else if (s == "--out") a.out = value();
    else if (s == "--labels") a.labels = value();
    else if (s == "--include") a.include.push_back(value());
    else if (s == "--kind") {
      a.kind = value();
      if (a.kind != "xgboost" && a.kind != "length" && a.kind != "both")
        throw RouterUsageError("--kind expects xgboost, length or both, got '" + a.kind + "'");
    } else if (s == "--threads") {
      std::string v = value();
      try {
        size_t used = 0;
        a.threads = std::stoi(v, &used);
        if (used != v.size() || a.threads < 1) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        throw RouterUsageError("--threads expects a positive integer, got '" + v + "'");
      }
    } else if (s.size() > 1 && s[0] == '-') throw RouterUsageError("unknown option '" + s + "'");
    else if (a.verb.empty()) a.verb = s;
    else a.positional.push_back(s);
  }
  return a;
}

// The training settings (--config), with defaults for everything.
struct TrainSettings {
  std::string tokenizer;  // resolved against the settings file's folder
  std::string split;
  std::string text_field = "text";
  model::AgreementSettings agreement;
  model::TradeOff tradeoff;
  model::BoosterParams booster;
};

// "FILE:LINE: key 'a.b': problem".
[[noreturn]] void settings_error(const std::string& file, const YAML::Node& n, const std::string& key, const std::string& what) {
  std::string where = file;
  if (n.Mark().line >= 0) where += ":" + std::to_string(n.Mark().line + 1);
  throw RouterUsageError(where + ": key '" + key + "': " + what);
}

void check_keys(const std::string& file, const YAML::Node& map, const std::string& prefix,
                const std::vector<std::string>& known) {
  if (!map.IsMap()) settings_error(file, map, prefix.empty() ? "(top)" : prefix, "expected a mapping");
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string list;
      for (const std::string& n : known) list += (list.empty() ? "" : ", ") + n;
      settings_error(file, kv.first, prefix + (prefix.empty() ? "" : ".") + k, "unknown key (known: " + list + ")");
    }
  }
}

template <typename T>
void read_value(const std::string& file, const YAML::Node& map, const char* key, const std::string& prefix, T& out) {
  YAML::Node n = map[key];
  if (!n) return;
  try {
    out = n.as<T>();
  } catch (const YAML::Exception&) {
    settings_error(file, n, prefix + (prefix.empty() ? "" : ".") + key, "has the wrong type");
  }
}

TrainSettings load_settings(const std::string& file) {
  TrainSettings s;
  if (file.empty()) return s;
  YAML::Node y;
  try {
    y = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw RouterUsageError("--config: cannot read " + file);
  } catch (const YAML::Exception& e) {
    throw RouterUsageError(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (y.IsNull()) return s;
  check_keys(file, y, "", {"tokenizer", "split", "text_field", "agreement", "protect", "tradeoff", "xgboost"});
  read_value(file, y, "tokenizer", "", s.tokenizer);
  if (!s.tokenizer.empty() && fs::path(s.tokenizer).is_relative())
    s.tokenizer = (fs::path(file).parent_path() / s.tokenizer).lexically_normal().string();
  read_value(file, y, "split", "", s.split);
  read_value(file, y, "text_field", "", s.text_field);
  if (YAML::Node a = y["agreement"]) {
    check_keys(file, a, "agreement", {"heads", "class_prob_tolerance", "segment_threshold", "segment_prob_tolerance",
                                      "min_segment_share", "min_cosine", "min_tag_share"});
    model::AgreementSettings& g = s.agreement;
    read_value(file, a, "heads", "agreement", g.heads);
    read_value(file, a, "class_prob_tolerance", "agreement", g.class_prob_tolerance);
    read_value(file, a, "segment_threshold", "agreement", g.segment_threshold);
    read_value(file, a, "segment_prob_tolerance", "agreement", g.segment_prob_tolerance);
    read_value(file, a, "min_segment_share", "agreement", g.min_segment_share);
    read_value(file, a, "min_cosine", "agreement", g.min_cosine);
    read_value(file, a, "min_tag_share", "agreement", g.min_tag_share);
  }
  if (YAML::Node p = y["protect"]) {
    if (!p.IsSequence()) settings_error(file, p, "protect", "expected a list of {head, label, threshold, near}");
    for (size_t i = 0; i < p.size(); ++i) {
      const std::string key = "protect[" + std::to_string(i) + "]";
      check_keys(file, p[i], key, {"head", "label", "threshold", "near"});
      model::ProtectedLabel l;
      read_value(file, p[i], "head", key, l.head);
      read_value(file, p[i], "label", key, l.label);
      read_value(file, p[i], "threshold", key, l.threshold);
      read_value(file, p[i], "near", key, l.near);
      if (l.head.empty() || l.label.empty()) settings_error(file, p[i], key, "needs head and label");
      s.agreement.protect.push_back(l);
    }
  }
  if (YAML::Node t = y["tradeoff"]) {
    check_keys(file, t, "tradeoff", {"max_disagreement", "protected_max_disagreement", "protected_weight"});
    read_value(file, t, "max_disagreement", "tradeoff", s.tradeoff.max_disagreement);
    read_value(file, t, "protected_max_disagreement", "tradeoff", s.tradeoff.protected_max_disagreement);
    read_value(file, t, "protected_weight", "tradeoff", s.tradeoff.protected_weight);
    auto in01 = [](double v) { return v >= 0 && v <= 1; };
    if (!in01(s.tradeoff.max_disagreement) || !in01(s.tradeoff.protected_max_disagreement) || !(s.tradeoff.protected_weight > 0))
      settings_error(file, t, "tradeoff", "disagreement shares must lie in [0, 1] and protected_weight be positive");
  }
  if (YAML::Node x = y["xgboost"]) {
    check_keys(file, x, "xgboost", {"rounds", "max_depth", "eta", "min_child_weight", "lambda", "folds", "seed"});
    model::BoosterParams& b = s.booster;
    read_value(file, x, "rounds", "xgboost", b.rounds);
    read_value(file, x, "max_depth", "xgboost", b.max_depth);
    read_value(file, x, "eta", "xgboost", b.eta);
    read_value(file, x, "min_child_weight", "xgboost", b.min_child_weight);
    read_value(file, x, "lambda", "xgboost", b.lambda);
    read_value(file, x, "folds", "xgboost", b.folds);
    read_value(file, x, "seed", "xgboost", b.seed);
    if (b.rounds < 1 || b.max_depth < 1 || !(b.eta > 0) || b.folds < 2)
      settings_error(file, x, "xgboost", "rounds and max_depth must be at least 1, eta positive, folds at least 2");
  }
  return s;
}

// One calibration input, ready for the encoder.
struct Input {
  std::string name;  // the JSONL id / line, or the file path
  std::string normalized;
  std::vector<int32_t> ids;
  std::vector<model::TokenRange> segments;
};

// The framework's front end with its default options: decode (files), NFKC, segments (only when a
// head needs them), tokens.
class FrontEnd {
 public:
  FrontEnd(const Tokenizer& tokenizer, bool segments) : tokenizer_(tokenizer) {
    if (segments) segmenter_ = std::make_unique<Segmenter>(SegmentOptions{});
  }
  Input make(std::string name, std::string_view text) {
    Input in;
    in.name = std::move(name);
    in.normalized = normalize_nfkc(text).normalized;
    std::vector<Token> tokens;
    tokenizer_.encode(in.normalized, 0, tokens);
    for (const Token& t : tokens) in.ids.push_back(t.id);
    if (segmenter_) in.segments = segment_token_ranges(segmenter_->segment(in.normalized), tokens);
    return in;
  }

 private:
  const Tokenizer& tokenizer_;
  std::unique_ptr<Segmenter> segmenter_;
};

std::vector<Input> read_jsonl(const std::string& path, const TrainSettings& s, FrontEnd& fe) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RouterUsageError("--data: cannot read " + path);
  std::vector<Input> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ordered_json j;
    try {
      j = ordered_json::parse(line);
    } catch (const std::exception& e) {
      throw RouterUsageError(path + ":" + std::to_string(n) + ": not a JSON object: " + e.what());
    }
    if (!j.is_object() || !j.contains(s.text_field) || !j[s.text_field].is_string())
      throw RouterUsageError(path + ":" + std::to_string(n) + ": expected an object with a string member \"" + s.text_field + "\"");
    if (!s.split.empty() && !(j.contains("split") && j["split"] == s.split)) continue;
    std::string name = j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : path + ":" + std::to_string(n);
    out.push_back(fe.make(std::move(name), j[s.text_field].get<std::string>()));
  }
  return out;
}

std::vector<Input> read_folder(const std::string& path, const std::vector<std::string>& include, FrontEnd& fe) {
  InputSpec spec;
  spec.paths = {path};
  spec.include = include;
  std::vector<Input> out;
  for (const InputEntry& e : list_inputs(spec)) {
    if (!e.error.empty()) throw RouterUsageError("--data: " + e.error);
    Document d = read_document(e, spec.max_file_bytes);
    if (d.failed()) throw RouterUsageError("--data: " + d.error);
    std::string text;
    const SourceFormat format = source_format(d.source.path);
    try {
      if (format != SourceFormat::kText) {
        Extraction x = extract_text(format, d.bytes);
        if (!x.ok()) throw std::runtime_error(x.error);
        text = std::move(x.text);
      } else {
        DecodeOptions o;
        o.on_error = "replace";
        text = decode_bytes(d.bytes, o).text;
      }
    } catch (const std::exception& ex) {
      std::cerr << "deepseek router: skipping " << d.source.path << ": " << ex.what() << "\n";
      continue;
    }
    out.push_back(fe.make(d.source.path, text));
  }
  return out;
}

struct Labelled {
  std::vector<model::RouterExample> examples;
  std::vector<std::string> why;  // per input: why light / standard disagree ("" when they agree)
};

// Runs the three paths over the inputs in batches of up to `max_tokens` and labels every input.
Labelled label_inputs(const model::Encoder& enc, const std::array<std::string, 3>& paths, const std::vector<Input>& inputs,
                      const model::UnigramTable& table, const model::AgreementSettings& agreement, int threads) {
  std::unique_ptr<kernels::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<kernels::ThreadPool>(threads);
  std::array<model::EncodeRequest, 3> req;
  for (size_t p = 0; p < 3; ++p) {
    req[p].path = enc.path(paths[p]);
    req[p].hidden = false;
  }
  constexpr int64_t kMaxTokens = 8192;
  Labelled out;
  out.examples.resize(inputs.size());
  out.why.resize(inputs.size());
  const auto start = std::chrono::steady_clock::now();
  const bool tty = isatty(2);
  size_t done = 0;
  for (size_t first = 0; first < inputs.size();) {
    size_t last = first;
    int64_t tokens = 0;
    while (last < inputs.size() && (last == first || tokens + static_cast<int64_t>(inputs[last].ids.size()) <= kMaxTokens))
      tokens += static_cast<int64_t>(inputs[last++].ids.size());
    std::vector<model::SequenceInput> batch;
    for (size_t i = first; i < last; ++i) batch.push_back({inputs[i].ids, inputs[i].segments});
    std::array<std::vector<model::SequenceOutput>, 3> outs;
    for (size_t p = 0; p < 3; ++p) outs[p] = enc.encode(batch, req[p], pool.get());
    for (size_t i = first; i < last; ++i) {
      model::RouterExample& e = out.examples[i];
      e.features = model::complexity_features(inputs[i].normalized, inputs[i].ids, table);
      const model::SequenceOutput& heavy = outs[2][i - first];
      for (size_t p = 0; p < 2; ++p) {
        model::Agreement a = model::outputs_agree(outs[p][i - first], heavy, enc.file().heads(), agreement);
        e.agrees[p] = a.agrees;
        e.drops_protected[p] = a.drops_protected;
        if (!a.agrees && out.why[i].empty()) out.why[i] = paths[p] + ": " + a.why;
      }
      e.agrees[2] = true;
      e.is_protected = model::is_protected(heavy, enc.file().heads(), agreement);
    }
    done = last;
    first = last;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (tty) std::fprintf(stderr, "\rdeepseek router: ran 3 paths on %zu/%zu inputs (%.0f s)", done, inputs.size(), secs);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%sdeepseek router: ran 3 paths on %zu inputs in %.1f s\n", tty ? "\r" : "", inputs.size(), secs);
  return out;
}

ordered_json choice_json(const model::ThresholdChoice& c, const std::array<std::string, 3>& paths) {
  ordered_json routed = ordered_json::object();
  for (size_t p = 0; p < 3; ++p) routed[paths[p]] = c.routed[p];
  return {{"low", c.thresholds.low},
          {"medium", c.thresholds.medium},
          {"routed", routed},
          {"disagreements", c.disagreements},
          {"protected_disagreements", c.protected_disagreements},
          {"protected_inputs", c.protected_inputs},
          {"relative_cost", c.relative_cost}};
}

void write_text(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out || !(out << text) || !out.flush())
      throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  }
  fs::rename(tmp, path);
}

int cmd_train(const RouterArgs& a) {
  if (a.model.empty()) throw RouterUsageError("router train needs --model FILE");
  if (a.data.empty()) throw RouterUsageError("router train needs --data PATH");
  TrainSettings s = load_settings(a.config);
  if (a.split_given) s.split = a.split;
  std::shared_ptr<const model::ModelFile> file;
  try {
    file = model::ModelFile::open(a.model);
  } catch (const model::ModelError& e) {
    throw RouterUsageError(std::string("--model: ") + e.what());
  }
  // The three paths, cheapest first: the model's light/standard/heavy.
  const std::array<std::string, 3> paths = {"light", "standard", "heavy"};
  for (const std::string& p : paths)
    if (!file->paths().count(p))
      throw RouterUsageError("--model: " + a.model + " has no path '" + p + "'; the router routes between light, standard and heavy");
  try {
    model::check_agreement_settings(s.agreement, file->heads());
  } catch (const std::invalid_argument& e) {
    throw RouterUsageError((a.config.empty() ? std::string("settings") : a.config) + ": " + e.what());
  }

  std::string tok = !a.tokenizer.empty() ? a.tokenizer : s.tokenizer;
  if (tok.empty()) tok = (fs::path(a.model).parent_path() / "tokenizer.model").string();
  if (!fs::exists(tok)) throw RouterUsageError("the tokenizer " + tok + " does not exist: pass --tokenizer FILE");
  std::string tok_hash;
  try {
    tok_hash = sha256_file_tagged(tok);
  } catch (const std::runtime_error& e) {
    throw RouterUsageError(std::string("--tokenizer: ") + e.what());
  }
  if (tok_hash != file->tokenizer())
    throw RouterUsageError("model " + a.model + " was trained with tokenizer " + file->tokenizer() + ", but " + tok + " is " +
                           tok_hash + ": pass the right --tokenizer");
  Tokenizer tokenizer(tok);
  const model::UnigramTable table(tokenizer.unigram_log_probs());

  bool needs_segments = false;
  for (const model::HeadDef& h : file->heads()) needs_segments |= h.type == model::HeadType::kSegmentLabels;
  FrontEnd fe(tokenizer, needs_segments);
  std::vector<Input> inputs;
  if (fs::is_directory(a.data)) inputs = read_folder(a.data, a.include, fe);
  else if (fs::is_regular_file(a.data)) inputs = read_jsonl(a.data, s, fe);
  else throw RouterUsageError("--data: " + a.data + " is neither a JSONL file nor a folder");
  if (inputs.empty())
    throw RouterUsageError("--data: no inputs in " + a.data + (s.split.empty() ? "" : " with split '" + s.split + "'"));

  model::Encoder enc(file);
  Labelled lab = label_inputs(enc, paths, inputs, table, s.agreement, a.threads);
  std::vector<model::RouterExample>& ex = lab.examples;

  model::RouterTrainingReport r;
  r.model_file = fs::path(a.model).filename().string();
  r.info.model_name = fs::path(a.model).stem().string();
  r.info.model_sha256 = model_file_sha256(a.model);
  r.info.tokenizer = file->tokenizer();
  r.info.paths = paths;
  r.data = a.data;
  r.split = s.split;
  r.date = iso8601_utc(now_unix_ms());
  r.inputs = static_cast<int64_t>(ex.size());
  for (const model::RouterExample& e : ex) {
    ++r.labels[static_cast<size_t>(e.label())];
    r.agree_counts[0] += e.agrees[0];
    r.agree_counts[1] += e.agrees[1];
    r.protected_inputs += e.is_protected;
  }
  r.agreement = s.agreement;
  if (r.agreement.heads.empty())
    for (const model::HeadDef& h : file->heads())
      if (h.type != model::HeadType::kMlm) r.agreement.heads.push_back(h.name);
  r.tradeoff = s.tradeoff;
  r.booster = s.booster;
  std::array<model::PathSpec, 3> specs;
  for (size_t p = 0; p < 3; ++p) specs[p] = file->paths().at(paths[p]);
  r.costs = model::relative_path_costs(specs, file->config());

  const fs::path out_dir = a.out.empty() ? fs::path(a.model).parent_path() : fs::path(a.out);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  const std::string stem = fs::path(a.model).stem().string();
  ordered_json summary;
  summary["model"] = a.model;
  summary["data"] = a.data;
  summary["split"] = s.split;
  summary["inputs"] = r.inputs;
  summary["labels"] = {{"light", r.labels[0]}, {"standard", r.labels[1]}, {"heavy", r.labels[2]}};
  summary["agree_with_heavy"] = {{"light", r.agree_counts[0]}, {"standard", r.agree_counts[1]}};
  summary["protected_inputs"] = r.protected_inputs;
  summary["path_costs"] = r.costs;
  summary["routers"] = ordered_json::array();

  std::vector<double> scores(ex.size()), oof;
  if (a.kind == "xgboost" || a.kind == "both") {
    oof = model::cross_validated_scores(ex, s.booster, s.tradeoff);
    r.cross_validated = model::choose_thresholds(oof, ex, r.costs, s.tradeoff, 0.0, 1.0);
    const std::string json_text = model::train_xgboost(ex, s.booster, s.tradeoff);
    const model::TreeEnsemble trees = model::TreeEnsemble::parse(json_text, "trained model");
    for (size_t i = 0; i < ex.size(); ++i) scores[i] = trees.predict(ex[i].features);
    r.info.kind = model::RouterKind::kXgboost;
    r.info.thresholds = r.cross_validated.thresholds;
    r.info.trees_file = stem + ".router.json";
    r.training = model::evaluate_thresholds(scores, ex, r.costs, r.info.thresholds);
    write_text(out_dir / r.info.trees_file, json_text);
    write_text(out_dir / (stem + ".router.yaml"), model::router_sidecar_yaml(r));
    summary["routers"].push_back({{"kind", "xgboost"},
                                  {"file", (out_dir / (stem + ".router.yaml")).string()},
                                  {"trees", (out_dir / r.info.trees_file).string()},
                                  {"trees_count", trees.num_trees()},
                                  {"cross_validated", choice_json(r.cross_validated, paths)},
                                  {"on_training_inputs", choice_json(r.training, paths)}});
  }
  if (a.kind == "length" || a.kind == "both") {
    model::RouterTrainingReport l = r;
    double max_tokens = 0;
    for (size_t i = 0; i < ex.size(); ++i) max_tokens = std::max(max_tokens, scores[i] = ex[i].tokens());
    l.info.kind = model::RouterKind::kLength;
    l.info.trees_file.clear();
    l.cross_validated = model::choose_thresholds(scores, ex, r.costs, s.tradeoff, 0.0, max_tokens + 1);
    l.training = l.cross_validated;
    l.info.thresholds = l.cross_validated.thresholds;
    const fs::path file_out = out_dir / (stem + ".length-router.yaml");
    write_text(file_out, model::router_sidecar_yaml(l));
    summary["routers"].push_back({{"kind", "length"},
                                  {"file", file_out.string()},
                                  {"on_training_inputs", choice_json(l.training, paths)}});
  }

  if (!a.labels.empty()) {
    std::ostringstream rows;
    const auto& names = model::complexity_feature_names();
    for (size_t i = 0; i < ex.size(); ++i) {
      ordered_json f = ordered_json::object();
      for (size_t k = 0; k < names.size(); ++k) f[std::string(names[k])] = ex[i].features[k];
      rows << ordered_json{{"name", inputs[i].name},
                           {"label", paths[static_cast<size_t>(ex[i].label())]},
                           {"agrees", {{"light", ex[i].agrees[0]}, {"standard", ex[i].agrees[1]}}},
                           {"protected", ex[i].is_protected},
                           {"drops_protected", {{"light", ex[i].drops_protected[0]}, {"standard", ex[i].drops_protected[1]}}},
                           {"why", lab.why[i]},
                           {"cv_score", oof.empty() ? ordered_json(nullptr) : ordered_json(oof[i])},
                           {"features", f}}
                  .dump(-1, ' ', false, ordered_json::error_handler_t::replace)
           << "\n";
    }
    write_text(a.labels, rows.str());
  }

  if (a.json) {
    std::cout << summary.dump(2) << "\n";
    return kOk;
  }
  std::printf("model:     %s (%s)\n", a.model.c_str(), r.info.model_sha256.c_str());
  std::printf("data:      %s%s: %lld inputs, %lld protected\n", a.data.c_str(),
              s.split.empty() ? "" : (" (split " + s.split + ")").c_str(), static_cast<long long>(r.inputs),
              static_cast<long long>(r.protected_inputs));
  std::printf("agreement: light agrees with heavy on %lld, standard on %lld; labels light %lld, standard %lld, heavy %lld\n",
              static_cast<long long>(r.agree_counts[0]), static_cast<long long>(r.agree_counts[1]),
              static_cast<long long>(r.labels[0]), static_cast<long long>(r.labels[1]), static_cast<long long>(r.labels[2]));
  std::printf("costs:     light %.3f, standard %.3f, heavy 1 (multiply-adds per token)\n", r.costs[0], r.costs[1]);
  for (const auto& router : summary["routers"]) {
    std::printf("%s router: %s\n", router["kind"].get<std::string>().c_str(), router["file"].get<std::string>().c_str());
    for (const char* key : {"cross_validated", "on_training_inputs"}) {
      if (!router.contains(key)) continue;
      const auto& c = router[key];
      std::printf("  %-19s low %.4g medium %.4g: light %lld, standard %lld, heavy %lld; %lld disagree (%lld protected); cost %.3f of heavy\n",
                  key, c["low"].get<double>(), c["medium"].get<double>(), c["routed"]["light"].get<long long>(),
                  c["routed"]["standard"].get<long long>(), c["routed"]["heavy"].get<long long>(),
                  c["disagreements"].get<long long>(), c["protected_disagreements"].get<long long>(),
                  c["relative_cost"].get<double>());
    }
  }
  return kOk;
}

int cmd_info(const RouterArgs& a) {
  if (a.positional.size() != 1) throw RouterUsageError("router info needs one ROUTER file (a .router.yaml)");
  std::shared_ptr<const model::Router> r;
  try {
    r = model::Router::load(a.positional[0]);
    if (!a.model.empty()) r->check_model(model_file_sha256(a.model), a.model);
  } catch (const model::ModelError& e) {
    throw RouterUsageError(e.what());
  }
  const model::RouterInfo& i = r->info();
  std::printf("%s: %s router for model '%s' (%s)\n", i.file.c_str(), model::router_kind_name(i.kind), i.model_name.c_str(),
              i.model_sha256.c_str());
  if (!i.trees_file.empty()) std::printf("trees:      %s\n", i.trees_file.c_str());
  std::printf("paths:      %s < low %.4g <= %s < medium %.4g <= %s\n", i.paths[0].c_str(), i.thresholds.low,
              i.paths[1].c_str(), i.thresholds.medium, i.paths[2].c_str());
  if (!a.model.empty()) std::printf("model:      %s matches\n", a.model.c_str());
  return kOk;
}

}  // namespace

int run_router_command(const std::vector<std::string>& args) {
  try {
    RouterArgs a = parse_router_args(args);
    if (a.help || a.verb.empty()) {
      std::cout << kRouterHelp;
      return a.help ? kOk : kUsage;
    }
    if (a.verb == "train") return cmd_train(a);
    if (a.verb == "info") return cmd_info(a);
    throw RouterUsageError("unknown router command '" + a.verb + "' (train, info)");
  } catch (const RouterUsageError& e) {
    std::cerr << "deepseek router: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "deepseek router: " << e.what() << "\n";
    return kRuntime;
  }
}

}  // namespace ds
