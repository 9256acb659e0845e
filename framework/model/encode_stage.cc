#include "model/encode_stage.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/hash.h"
#include "core/registry.h"
#include "kernels/cpu/thread_pool.h"
#include "model/encoder.h"
#include "model/model_error.h"

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

// Everything the stage takes from its options, resolved against the model. Throws
// std::invalid_argument with "<option>: <problem>" for the first option that does not fit.
struct EncodeSettings {
  model::EncodeRequest request;
  int threads = 1;
  int64_t max_tokens_per_batch = 8192;
};

struct OptionProblem : std::invalid_argument {
  OptionProblem(std::string opt, const std::string& msg) : std::invalid_argument(msg), option(std::move(opt)) {}
  std::string option;
};

EncodeSettings resolve_settings(const Options& o, const model::ModelFile& file) {
  EncodeSettings s;
  std::string name = o.get_string("path");
  if (name == "auto")
    throw OptionProblem("path", "path: auto needs a router (not available for this model)");
  if (name.empty()) name = file.config().default_path;
  if (!file.paths().count(name)) {
    std::string known;
    for (const auto& [n, _] : file.paths()) known += (known.empty() ? "" : ", ") + n;
    throw OptionProblem("path", "model " + file.path() + " has no path '" + name + "' (it has: " + known + ", or auto)");
  }
  model::PathSpec path = file.paths().at(name);
  if (double r = o.get_float("ffn_ratio"); r > 0) path.ffn_ratio = r;
  if (int64_t h = o.get_int("attn_heads"); h > 0) path.attn_heads = static_cast<int>(h);
  std::string error;
  if (auto skip = parse_layer_list(o.get_string("skip_ffn_layers"), &error)) {
    if (!error.empty()) throw OptionProblem("skip_ffn_layers", error);
    path.skip_ffn_layers = *skip;
  }
  if (std::string why = model::check_path(path, file.config()); !why.empty())
    throw OptionProblem("path", "path '" + name + "' with the YAML overrides does not fit model " + file.path() + ": " + why);
  s.request.path = path;
  if (const std::string& t = o.get_string("top_k"); !t.empty()) {
    s.request.top_k = model::parse_top_k_text(t, &error);
    if (!s.request.top_k) throw OptionProblem("top_k", error);
  }
  if (int64_t w = o.get_int("window"); w >= 0) s.request.window = static_cast<int>(w);
  s.threads = static_cast<int>(o.get_int("threads"));
  if (s.threads == 0) s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.max_tokens_per_batch = o.get_int("max_tokens_per_batch");
  for (const model::HeadDef& h : file.heads())
    if (h.name == "hidden")
      throw OptionProblem("model", "model " + file.path() + " has a head named 'hidden', which clashes with the hidden-state output");
  return s;
}

// sha256 of the file, or "" if it cannot be read (the tokenize stage reports that itself).
std::string file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return sha256_tagged(ss.str());
}

std::vector<StageProblem> check_options(const Options& o, const std::vector<EarlierStage>& earlier) {
  const std::string& model_path = o.get_string("model");
  if (o.get_string("path") == "auto")  // known before the file is even opened
    return {{"path", "path: auto needs a router (not available for this model)"}};
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
    run_batch({&one, 1}, kStage, true);
  }

  void process_batch(std::span<Document* const> docs, const std::string& stage_name) override {
    // Cut the batch by real token count (no padding is ever computed, so that is the cost).
    std::vector<Document*> group;
    int64_t tokens = 0;
    for (Document* d : docs) {
      if (std::string why = check(*d); !why.empty()) {
        d->fail(stage_name, "[" + stage_name + "] " + why);
        continue;
      }
      const int64_t t = static_cast<int64_t>(d->tokens.size());
      if (!group.empty() && tokens + t > settings_.max_tokens_per_batch) {
        run_batch(group, stage_name, false);
        group.clear();
        tokens = 0;
      }
      group.push_back(d);
      tokens += t;
    }
    if (!group.empty()) run_batch(group, stage_name, false);
  }

 private:
  std::string check(const Document& d) const {
    std::vector<int32_t> ids;
    ids.reserve(d.tokens.size());
    for (const Token& t : d.tokens) ids.push_back(t.id);
    return encoder_->check_input({ids, {}});
  }

  // Runs one group. With `rethrow` (single-document process()) errors propagate; otherwise they
  // fail the group's documents and the batch goes on.
  void run_batch(std::span<Document* const> docs, const std::string& stage_name, bool rethrow) {
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
      out = encoder_->encode(inputs, settings_.request, pool_.get());
    } catch (const std::exception& e) {
      if (rethrow) throw;
      for (Document* d : docs) d->fail(stage_name, "[" + stage_name + "] " + e.what());
      return;
    }
    for (size_t i = 0; i < docs.size(); ++i) {
      auto put = [&](const std::string& name, model::Output& o) {
        docs[i]->outputs[name] = Tensor{std::move(o.shape), std::move(o.data), head_labels(name)};
      };
      put("hidden", out[i].hidden);
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

void register_model_stage(Registry& registry) {
  StageSpec spec;
  spec.name = kStage;
  spec.doc = "Deepseek encoder over the tokens; adds outputs 'hidden' [T, D] and one tensor per model head";
  spec.options = {
      opt_path("model", std::nullopt, "model file (.safetensors); see `deepseek model info`"),
      opt_string("path", "", "computation path: a path the model defines (light, standard, heavy, ...) or auto; "
                             "empty: the model's default"),
      opt_float("ffn_ratio", 0.0, "override the path's FFN ratio (0: keep the path's)", 0.0, 100.0),
      opt_int("attn_heads", 0, "override the path's global attention heads (0: keep the path's)", 0, 65536),
      opt_string("skip_ffn_layers", "", "override the path's skipped FFN layers: e.g. '0,2', or 'none' (empty: keep)"),
      opt_string("top_k", "", "global-channel key budget: e.g. 64, dense, 0.25 or 0.25,min=32 (empty: the path's)"),
      opt_int("window", -1, "local-channel radius (-1: the model's)", -1, 1e9),
      opt_int("threads", 1, "compute threads per pipeline worker (0: all cores)", 0, 1024),
      opt_int("max_tokens_per_batch", 8192, "documents are batched up to this many tokens", 1, 1e9),
  };
  spec.reads = {Field::kTokens};
  spec.adds = {Field::kOutputs};
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
