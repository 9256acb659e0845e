#include "model/encode_stage.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/hash.h"
#include "core/registry.h"
#include "kernels/cpu/thread_pool.h"
#include "model/complexity_features.h"
#include "model/encoder.h"
#include "model/model_error.h"
#include "model/router.h"
#include "tokenize/tokenizer.h"

namespace ds {

namespace {

constexpr const char* kStage = "model.encode";

// Encoders are shared by the per-worker stage instances: the weights are read-only and large.
std::shared_ptr<const model::Encoder> shared_encoder(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const model::Encoder>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto e = cache[path].lock()) return e;
  auto e = std::make_shared<const model::Encoder>(model::ModelFile::open(path));
  cache[path] = e;
  return e;
}

// "" = the path's own list; "none" = no layer; else comma-separated layer indices.
std::optional<std::vector<int>> parse_layer_list(const std::string& text, std::string* error) {
  if (text.empty()) return std::nullopt;
  std::vector<int> out;
  if (text == "none") return out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0) {
      *error = "expected layer indices separated by commas (e.g. 0,2) or 'none', got '" + text + "'";
      return std::vector<int>{-1};
    }
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Unigram tables are shared like encoders: one per tokenizer file.
std::shared_ptr<const model::UnigramTable> shared_unigram_table(const std::string& tokenizer_path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const model::UnigramTable>> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto t = cache[tokenizer_path].lock()) return t;
  auto t = std::make_shared<const model::UnigramTable>(Tokenizer(tokenizer_path).unigram_log_probs());
  cache[tokenizer_path] = t;
  return t;
}

// Everything the stage takes from its options, resolved against the model. Throws
// std::invalid_argument with "<option>: <problem>" for the first option that does not fit.
struct EncodeSettings {
  model::EncodeRequest request;  // a forced path
  // path: auto: the router, its feature table, thresholds, and one request per routed path.
  std::shared_ptr<const model::Router> router;
  std::shared_ptr<const model::UnigramTable> unigram;
  model::RouterThresholds thresholds;
  std::array<model::EncodeRequest, 3> routed;
  int threads = 1;
  int64_t max_tokens_per_batch = 8192;
};

struct OptionProblem : std::invalid_argument {
  OptionProblem(std::string opt, const std::string& msg) : std::invalid_argument(msg), option(std::move(opt)) {}
  std::string option;
};

// sha256 of the file, or "" if it cannot be read (the tokenize stage reports that itself).
std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return sha256_tagged(ss.str());
}

// path: auto: loads the router and everything its features need into `s`.
void resolve_router(const Options& o, const model::ModelFile& file, EncodeSettings& s) {
  if (o.get_float("ffn_ratio") > 0 || o.get_int("attn_heads") > 0 || !o.get_string("skip_ffn_layers").empty())
    throw OptionProblem("path", "path: auto picks one of the model's paths per document; ffn_ratio, attn_heads and "
                                "skip_ffn_layers change one path and cannot be combined with it");
  std::string router_file = o.get_string("router");
  if (router_file.empty()) {
    router_file = default_router_file(file.path());
    if (!std::filesystem::exists(router_file))
      throw OptionProblem("path", "path: auto needs a router: set the option `router` to a router file, or train one "
                                  "for this model with `deepseek router train --model " + file.path() +
                                  " --data FILE` (it writes " + router_file + ", which is then used by default)");
  }
  if (std::filesystem::path(router_file).extension() == ".json")  // the trees file: take its sidecar
    router_file = std::filesystem::path(router_file).replace_extension(".yaml").string();
  try {
    s.router = model::Router::load(router_file);
    s.router->check_model(model_file_sha256(file.path()), file.path());
  } catch (const model::ModelError& e) {
    throw OptionProblem("router", std::string("cannot use the router: ") + e.what());
  } catch (const std::runtime_error& e) {
    throw OptionProblem("router", std::string("cannot use the router: ") + e.what());
  }
  const model::RouterInfo& info = s.router->info();
  for (size_t i = 0; i < 3; ++i) {
    auto it = file.paths().find(info.paths[i]);
    if (it == file.paths().end())
      throw OptionProblem("router", "router " + router_file + " routes to path '" + info.paths[i] + "', which model " +
                                        file.path() + " does not define");
    s.routed[i].path = it->second;
  }
  s.thresholds = info.thresholds;
  if (double v = o.get_float("low"); v >= 0) s.thresholds.low = v;
  if (double v = o.get_float("medium"); v >= 0) s.thresholds.medium = v;
  if (s.thresholds.low > s.thresholds.medium)
    throw OptionProblem(o.get_float("low") >= 0 ? "low" : "medium",
                        "the router's threshold low must not be greater than medium (low " + std::to_string(s.thresholds.low) +
                            ", medium " + std::to_string(s.thresholds.medium) + ")");

  std::string tok = o.get_string("tokenizer");
  if (tok.empty()) {
    tok = (std::filesystem::path(file.path()).parent_path() / "tokenizer.model").string();
    if (!std::filesystem::exists(tok))
      throw OptionProblem("tokenizer", "path: auto computes the router's features with the tokenizer's unigram model: "
                                       "set the option `tokenizer` (there is no tokenizer.model next to " + file.path() + ")");
  }
  const std::string hash = file_hash(tok);
  if (hash.empty()) throw OptionProblem("tokenizer", "cannot read " + tok);
  if (hash != file.tokenizer())
    throw OptionProblem("tokenizer", "model " + file.path() + " was trained with tokenizer " + file.tokenizer() + ", but " +
                                         tok + " is " + hash);
  try {
    s.unigram = shared_unigram_table(tok);
  } catch (const std::runtime_error& e) {
    throw OptionProblem("tokenizer", e.what());
  }
}

EncodeSettings resolve_settings(const Options& o, const model::ModelFile& file) {
  EncodeSettings s;
  std::string name = o.get_string("path");
  std::optional<model::TopKSpec> top_k;
  std::optional<int> window;
  std::string error;
  if (const std::string& t = o.get_string("top_k"); !t.empty()) {
    top_k = model::parse_top_k_text(t, &error);
    if (!top_k) throw OptionProblem("top_k", error);
  }
  if (int64_t w = o.get_int("window"); w >= 0) window = static_cast<int>(w);
  if (name == "auto") {
    resolve_router(o, file, s);
    for (model::EncodeRequest& r : s.routed) {
      r.top_k = top_k;
      r.window = window;
    }
  } else {
    if (name.empty()) name = file.config().default_path;
    if (!file.paths().count(name)) {
      std::string known;
      for (const auto& [n, _] : file.paths()) known += (known.empty() ? "" : ", ") + n;
      throw OptionProblem("path", "model " + file.path() + " has no path '" + name + "' (it has: " + known + ", or auto)");
    }
    model::PathSpec path = file.paths().at(name);
    if (double r = o.get_float("ffn_ratio"); r > 0) path.ffn_ratio = r;
    if (int64_t h = o.get_int("attn_heads"); h > 0) path.attn_heads = static_cast<int>(h);
    if (auto skip = parse_layer_list(o.get_string("skip_ffn_layers"), &error)) {
      if (!error.empty()) throw OptionProblem("skip_ffn_layers", error);
      path.skip_ffn_layers = *skip;
    }
    if (std::string why = model::check_path(path, file.config()); !why.empty())
      throw OptionProblem("path", "path '" + name + "' with the YAML overrides does not fit model " + file.path() + ": " + why);
    s.request.path = path;
    s.request.top_k = top_k;
    s.request.window = window;
  }
  s.request.hidden = o.get_bool("hidden");
  for (model::EncodeRequest& r : s.routed) r.hidden = s.request.hidden;
  s.threads = static_cast<int>(o.get_int("threads"));
  if (s.threads == 0) s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.max_tokens_per_batch = o.get_int("max_tokens_per_batch");
  for (const model::HeadDef& h : file.heads())
    if (h.name == "hidden")
      throw OptionProblem("model", "model " + file.path() + " has a head named 'hidden', which clashes with the hidden-state output");
  return s;
}

std::vector<StageProblem> check_options(const Options& o, const std::vector<EarlierStage>& earlier) {
  const std::string& model_path = o.get_string("model");
  // Validating the file is cheap (the header only); the weights are prepared when the stage starts.
  std::shared_ptr<const model::ModelFile> file;
  try {
    file = model::ModelFile::open(model_path);
  } catch (const model::ModelError& e) {
    return {{"model", std::string("cannot load the model: ") + e.what()}};
  }
  std::vector<StageProblem> problems;
  try {
    resolve_settings(o, *file);
  } catch (const OptionProblem& p) {
    problems.push_back({p.option, p.what()});
  }
  // The tokens must come from the tokenizer the model was trained with.
  for (const EarlierStage& e : earlier) {
    if (e.stage != "tokenize" || !e.options->has("model")) continue;
    const std::string& tok = e.options->get_string("model");
    std::string hash = file_hash(tok);
    if (!hash.empty() && hash != file->tokenizer())
      problems.push_back({"model", "model " + model_path + " was trained with tokenizer " + file->tokenizer() +
                                       ", but the pipeline tokenizes with " + tok + " (" + hash + ")"});
  }
  return problems;
}

class EncodeStage : public Stage {
 public:
  EncodeStage(std::shared_ptr<const model::Encoder> encoder, EncodeSettings settings)
      : encoder_(std::move(encoder)), settings_(std::move(settings)) {
    if (settings_.threads > 1) pool_ = std::make_unique<kernels::ThreadPool>(settings_.threads);
    for (const model::HeadDef& h : encoder_->file().heads())
      needs_segments_ |= h.type == model::HeadType::kSegmentLabels;
  }

  void process(Document& doc) override {
    Document* one = &doc;
    const int route = settings_.router ? choose_path(doc, kStage) : -1;
    run_batch({&one, 1}, kStage, true, request(route));
  }

  void process_batch(std::span<Document* const> docs, const std::string& stage_name) override {
    // With path: auto, documents are grouped by the path the router picks (one encoder call runs
    // one path); within a group, batches are cut by real token count (no padding is ever
    // computed, so that is the cost).
    std::array<std::vector<Document*>, 3> by_path;
    for (Document* d : docs) {
      if (std::string why = check(*d); !why.empty()) {
        d->fail(stage_name, "[" + stage_name + "] " + why);
        continue;
      }
      by_path[settings_.router ? static_cast<size_t>(choose_path(*d, stage_name)) : 0].push_back(d);
    }
    for (size_t p = 0; p < by_path.size(); ++p) {
      const model::EncodeRequest& req = request(settings_.router ? static_cast<int>(p) : -1);
      std::vector<Document*> group;
      int64_t tokens = 0;
      for (Document* d : by_path[p]) {
        const int64_t t = static_cast<int64_t>(d->tokens.size());
        if (!group.empty() && tokens + t > settings_.max_tokens_per_batch) {
          run_batch(group, stage_name, false, req);
          group.clear();
          tokens = 0;
        }
        group.push_back(d);
        tokens += t;
      }
      if (!group.empty()) run_batch(group, stage_name, false, req);
    }
  }

 private:
  std::string check(const Document& d) const {
    std::vector<int32_t> ids;
    ids.reserve(d.tokens.size());
    for (const Token& t : d.tokens) ids.push_back(t.id);
    return encoder_->check_input({ids, {}});
  }

  // route -1: the forced path; else the routed path's request.
  const model::EncodeRequest& request(int route) const {
    return route < 0 ? settings_.request : settings_.routed[static_cast<size_t>(route)];
  }

  // path: auto: the router's choice for `doc` (0 cheapest .. 2 heaviest), recorded on the document
  // as a `route` annotation (empty span at 0: it is about the whole document; SPEC.md section 7),
  // which every sink writes.
  int choose_path(Document& doc, const std::string& stage_name) const {
    std::vector<int32_t> ids;
    ids.reserve(doc.tokens.size());
    for (const Token& t : doc.tokens) ids.push_back(t.id);
    const model::ComplexityFeatures f = model::complexity_features(doc.normalized, ids, *settings_.unigram);
    const double score = settings_.router->score(f);
    const int route = model::Router::choose(score, settings_.thresholds);
    char score_text[32];
    std::snprintf(score_text, sizeof score_text, "%.4f", score);
    Annotation a;
    a.label = "route";
    a.span = {0, 0};  // a document-level fact: an empty span, so sinks do not copy the text
    a.score = score;
    a.attributes = {{"path", settings_.router->info().paths[static_cast<size_t>(route)]},
                    {"score", score_text},
                    {"router", std::filesystem::path(settings_.router->info().file).filename().string()}};
    a.stage = stage_name;
    doc.annotations.push_back(std::move(a));
    return route;
  }

  // Runs one group. With `rethrow` (single-document process()) errors propagate; otherwise they
  // fail the group's documents and the batch goes on.
  void run_batch(std::span<Document* const> docs, const std::string& stage_name, bool rethrow,
                 const model::EncodeRequest& req) {
    std::vector<std::vector<int32_t>> ids(docs.size());
    std::vector<std::vector<model::TokenRange>> spans(docs.size());
    std::vector<model::SequenceInput> inputs(docs.size());
    for (size_t i = 0; i < docs.size(); ++i) {
      for (const Token& t : docs[i]->tokens) ids[i].push_back(t.id);
      if (needs_segments_) spans[i] = segment_token_ranges(docs[i]->segments, docs[i]->tokens);
      inputs[i] = {ids[i], spans[i]};
    }
    std::vector<model::SequenceOutput> out;
    try {
      out = encoder_->encode(inputs, req, pool_.get());
    } catch (const std::exception& e) {
      if (rethrow) throw;
      for (Document* d : docs) d->fail(stage_name, "[" + stage_name + "] " + e.what());
      return;
    }
    for (size_t i = 0; i < docs.size(); ++i) {
      auto put = [&](const std::string& name, model::Output& o) {
        docs[i]->outputs[name] = Tensor{std::move(o.shape), std::move(o.data), head_labels(name)};
      };
      if (req.hidden) put("hidden", out[i].hidden);
      for (auto& [name, o] : out[i].heads) put(name, o);
    }
  }

  // A head's labels travel with its tensor, so plug-ins find outputs by label name, not position.
  std::vector<std::string> head_labels(const std::string& name) const {
    for (const model::HeadDef& h : encoder_->file().heads())
      if (h.name == name) return h.labels;
    return {};
  }

  std::shared_ptr<const model::Encoder> encoder_;
  EncodeSettings settings_;
  std::unique_ptr<kernels::ThreadPool> pool_;
  bool needs_segments_ = false;
};

}  // namespace

std::vector<model::TokenRange> segment_token_ranges(const std::vector<Segment>& segments,
                                                    const std::vector<Token>& tokens) {
  std::vector<model::TokenRange> out;
  out.reserve(segments.size());
  auto first_at_or_after = [&](size_t byte) {
    return static_cast<int32_t>(std::lower_bound(tokens.begin(), tokens.end(), byte,
                                                 [](const Token& t, size_t b) { return t.span.begin < b; }) -
                                tokens.begin());
  };
  for (const Segment& s : segments) {
    int32_t b = first_at_or_after(s.span.begin), e = first_at_or_after(s.span.end);
    out.push_back({b, std::max(b, e)});
  }
  return out;
}

std::string default_router_file(const std::string& model_path) {
  std::filesystem::path p(model_path);
  return (p.parent_path() / (p.stem().string() + ".router.yaml")).string();
}

std::string model_file_sha256(const std::string& model_path) {
  // Hashing a model file takes a while; the same file (path, size, modification time) is hashed once.
  std::error_code ec;
  const auto size = std::filesystem::file_size(model_path, ec);
  const auto mtime = std::filesystem::last_write_time(model_path, ec).time_since_epoch().count();
  const std::string key = model_path + "\n" + std::to_string(size) + "\n" + std::to_string(mtime);
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  std::string hash = sha256_file_tagged(model_path);
  std::lock_guard<std::mutex> lock(mu);
  cache[key] = hash;
  return hash;
}

void register_model_stage(Registry& registry) {
  StageSpec spec;
  spec.name = kStage;
  spec.doc = "Deepseek encoder over the tokens; adds outputs 'hidden' [T, D] (unless hidden: false) and one tensor per model head";
  spec.options = {
      opt_path("model", std::nullopt, "model file (.safetensors); see `deepseek model info`"),
      opt_string("path", "", "computation path: a path the model defines (light, standard, heavy, ...) or auto "
                             "(the router picks one per document); empty: the model's default"),
      opt_path("router", "", "path: auto: the router file (<model>.router.yaml, from `deepseek router train`); "
                             "empty: the one next to the model"),
      opt_path("tokenizer", "", "path: auto: the SentencePiece model whose unigram probabilities the router's "
                                "features read; empty: tokenizer.model next to the model"),
      opt_float("low", -1.0, "path: auto: router score below which the cheapest path runs (-1: the router's)", -1.0, 1e9),
      opt_float("medium", -1.0, "path: auto: router score from which the heaviest path runs (-1: the router's)", -1.0, 1e9),
      opt_float("ffn_ratio", 0.0, "override the path's FFN ratio (0: keep the path's)", 0.0, 100.0),
      opt_int("attn_heads", 0, "override the path's global attention heads (0: keep the path's)", 0, 65536),
      opt_string("skip_ffn_layers", "", "override the path's skipped FFN layers: e.g. '0,2', or 'none' (empty: keep)"),
      opt_string("top_k", "", "global-channel key budget: e.g. 64, dense, 0.25 or 0.25,min=32 (empty: the path's)"),
      opt_int("window", -1, "local-channel radius (-1: the model's)", -1, 1e9),
      opt_int("threads", 1, "compute threads per pipeline worker (0: all cores)", 0, 1024),
      opt_int("max_tokens_per_batch", 8192, "documents are batched up to this many tokens", 1, 1e9),
      opt_bool("hidden", true, "also output the hidden states 'hidden' [T, D] (4 bytes x D per token; "
                               "turn off when no later stage reads them)"),
  };
  spec.reads = {Field::kTokens};
  spec.adds = {Field::kOutputs, Field::kAnnotations};  // annotations: `route`, with path: auto
  auto factory = [](const Options& o, const StageContext&) -> std::unique_ptr<Stage> {
    auto enc = shared_encoder(o.get_string("model"));
    EncodeSettings settings;
    try {
      settings = resolve_settings(o, enc->file());
    } catch (const OptionProblem& p) {
      std::string what = p.what();
      if (what.rfind(p.option + ":", 0) != 0) what = p.option + ": " + what;
      throw std::runtime_error(std::string("[") + kStage + "] " + what);
    }
    return std::make_unique<EncodeStage>(std::move(enc), std::move(settings));
  };
  registry.add_stage(spec, factory, check_options);
}

}  // namespace ds
