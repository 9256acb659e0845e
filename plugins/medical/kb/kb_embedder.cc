#include "kb_embedder.h"

#include <algorithm>

#include "core/registry.h"
#include "ds/document.h"
#include "ds/stage.h"
#include "kb_paths.h"
#include "model/model_error.h"
#include "model/model_file.h"

namespace ds::medical::kb {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBatch = 32;

// The stage's declared options with their defaults, then `set` on top (as a pipeline file would).
Options options_for(const StageSpec& spec, const std::vector<std::pair<std::string, OptionValue>>& set) {
  Options o;
  for (const OptionSpec& s : spec.options) {
    auto it = std::find_if(set.begin(), set.end(), [&](const auto& kv) { return kv.first == s.name; });
    if (it != set.end())
      o.set(s.name, it->second);
    else if (s.default_value)
      o.set(s.name, *s.default_value);
  }
  return o;
}

}  // namespace

struct Embedder::Stages {
  Registry registry;
  std::vector<std::pair<std::string, std::unique_ptr<Stage>>> chain;
};

Embedder::Embedder(const fs::path& model, const fs::path& tokenizer, const std::string& head, int threads)
    : stages_(std::make_unique<Stages>()) {
  std::shared_ptr<const model::ModelFile> file;
  try {
    file = model::ModelFile::open(model.string());
  } catch (const std::exception& e) {
    throw KbError(std::string("[medical.kb] cannot load the model: ") + e.what());
  }
  std::string heads;
  for (const model::HeadDef& h : file->heads()) {
    heads += (heads.empty() ? "" : ", ") + h.name + " (" + model::head_type_name(h.type) + ")";
    if (h.name == head && h.type == model::HeadType::kEmbedding) model_.dim = h.dim;
  }
  if (model_.dim <= 0)
    throw KbError("[medical.kb] " + model.string() + ": no embedding head named '" + head + "' (heads: " + heads + ")");
  model_.sha256 = file_sha256(model);
  model_.file = fs::absolute(model).lexically_normal().string();
  model_.head = head;

  Registry& r = stages_->registry;
  register_builtins(r);
  const Options normalize = options_for(*r.find_stage("normalize"), {});
  const Options tokenize = options_for(*r.find_stage("tokenize"), {{"model", tokenizer.string()}});
  const Options encode = options_for(*r.find_stage("model.encode"),
                                     {{"model", model.string()}, {"threads", static_cast<int64_t>(threads)}});
  // model.encode's load-time check: the tokens must come from the model's own tokenizer.
  if (const StageCheck* check = r.stage_check("model.encode")) {
    std::vector<StageProblem> problems = (*check)(encode, {{"tokenize", &tokenize}});
    if (!problems.empty()) {
      std::string msg = "[medical.kb] " + model.string() + ":";
      for (const StageProblem& p : problems) msg += " " + p.message;
      throw KbError(msg);
    }
  }
  std::error_code ec;
  if (!fs::is_regular_file(tokenizer, ec))
    throw KbError("[medical.kb] " + tokenizer.string() + ": no tokenizer model there");
  for (const auto& [name, opts] : {std::pair<std::string, const Options*>{"normalize", &normalize},
                                   {"tokenize", &tokenize},
                                   {"model.encode", &encode}}) {
    try {
      stages_->chain.emplace_back(name, (*r.stage_factory(name))(*opts, StageContext{name, fs::current_path(), 0}));
    } catch (const std::exception& e) {
      throw KbError("[medical.kb] [" + name + "] " + e.what());
    }
  }
}

Embedder::~Embedder() = default;

std::vector<std::vector<float>> Embedder::embed(const std::vector<std::string>& texts,
                                                const std::function<void(size_t, size_t)>& progress) {
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (size_t start = 0; start < texts.size(); start += kBatch) {
    const size_t end = std::min(texts.size(), start + kBatch);
    std::vector<Document> docs(end - start);
    std::vector<Document*> ptrs;
    for (size_t i = start; i < end; ++i) {
      docs[i - start].text = texts[i];
      ptrs.push_back(&docs[i - start]);
    }
    for (auto& [name, stage] : stages_->chain) {
      std::vector<Document*> live;
      for (Document* d : ptrs)
        if (!d->failed()) live.push_back(d);
      stage->process_batch(live, name);
    }
    for (size_t i = start; i < end; ++i) {
      Document& d = docs[i - start];
      if (d.failed()) throw KbError("[medical.kb] cannot embed text #" + std::to_string(i + 1) + ": " + d.error);
      auto it = d.outputs.find(model_.head);
      if (it == d.outputs.end() || it->second.data.size() != static_cast<size_t>(model_.dim))
        throw KbError("[medical.kb] model.encode gave no '" + model_.head + "' vector of " +
                      std::to_string(model_.dim) + " values for text #" + std::to_string(i + 1));
      out.push_back(std::move(it->second.data));
    }
    if (progress) progress(end, texts.size());
  }
  return out;
}

QueryVector Embedder::embed_query(std::string_view text) {
  return QueryVector{model_.sha256, std::move(embed({std::string(text)}).front())};
}

}  // namespace ds::medical::kb
