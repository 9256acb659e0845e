#include "answer_stage.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "kb_paths.h"

namespace ds::medical {
namespace {

namespace fs = std::filesystem;

fs::path resolve(const ds::sdk::Config& config, const std::string& value) {
  fs::path p = value;
  // The host resolves a pipeline's relative paths; this covers a stage built without one.
  if (p.is_relative() && !config.base_dir().empty()) p = fs::path(config.base_dir()) / p;
  return p;
}

// sha256 of a model file, computed once per file version for all stage instances (one per
// worker) of the process: hashing a model takes a moment.
std::string model_sha256(const fs::path& path) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<std::string, std::string>> cache;  // path -> (size:mtime, sha)
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw kb::KbError("[medical.answer] model " + path.string() + ": cannot open");
  const std::string version =
      std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[path.string()];
  if (slot.first != version) slot = {version, kb::file_sha256(path)};
  return slot.second;
}

std::string format_score(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

ds::sdk::StageInfo AnswerStage::spec() {
  return {"answer",
          "look the question up in the medical knowledge base (embedding re-ranked by full text, or full text); "
          "one kb_answer annotation per hit",
          {ds::sdk::option_path(
               "kb", "", "KB file (SQLite, from `deepseek kb build`); empty: the bundled data/kb/medical-kb.sqlite"),
           ds::sdk::option_int("top_k", 3, "hits to add per document", 1, 50),
           ds::sdk::option_enum("lang", "auto", {"auto", "zh", "en"},
                                "auto: prefer entries in the question's language; zh / en: only that language"),
           ds::sdk::option_string("embedding", "embed",
                                  "model output (an embedding head) used as the query vector when the document has it"),
           ds::sdk::option_path("model", "",
                                "the model file of model.encode; its sha256 must be the one the KB's vectors come from "
                                "(empty: the embedding is not used, full-text only)")},
          DS_FIELD_NORMALIZED,
          DS_FIELD_ANNOTATIONS};
}

AnswerStage::AnswerStage(const ds::sdk::Config& config)
    : top_k_(static_cast<size_t>(config.get_int("top_k"))),
      lang_(*kb::parse_lang_mode(config.get_string("lang"))),
      embedding_(config.get_string("embedding")) {
  const std::string kb_option = config.get_string("kb");
  const fs::path kb_file = kb_option.empty() ? kb::default_kb_file() : resolve(config, kb_option);
  kb_ = std::make_unique<kb::KnowledgeBase>(kb_file);
  if (const std::string m = config.get_string("model"); !m.empty()) {
    const fs::path model = resolve(config, m);
    model_sha256_ = model_sha256(model);
    const auto& built_with = kb_->info().embedding;
    if (built_with && built_with->sha256 != model_sha256_)
      throw kb::KbError("[medical.answer] the KB " + kb_file.string() + " holds vectors of model " + built_with->file +
                        " (" + built_with->sha256 + "), but option model is " + model.string() + " (" + model_sha256_ +
                        "): rebuild the KB with `deepseek kb build --model " + model.string() +
                        "` or set model to that file");
  }
}

void AnswerStage::process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
  const std::string_view text = doc.normalized();
  kb::SearchOptions options;
  options.top_k = top_k_;
  options.lang = lang_;
  if (auto t = doc.tensor(embedding_)) {
    if (model_sha256_.empty()) {
      out.warn("[medical.answer] the document has a '" + embedding_ +
               "' vector, but the option 'model' is not set, so it cannot be checked against the KB's model: full-text "
               "only");
    } else {
      options.query_vector = kb::QueryVector{model_sha256_, std::vector<float>(t->data.begin(), t->data.end())};
    }
  }
  const kb::SearchResult result = kb_->search(text, options);
  for (const std::string& w : result.warnings) out.warn("[medical.answer] " + w);

  // A hit is about the whole question: its span is the text without surrounding whitespace.
  const std::string_view trimmed = ds::sdk::text::trim(text);
  const size_t begin = static_cast<size_t>(trimmed.data() - text.data());
  const size_t end = begin + trimmed.size();
  int rank = 0;
  for (const kb::Hit& h : result.hits) {
    const kb::Entry& e = h.entry;
    nlohmann::json doctor = nlohmann::json::array();
    for (const kb::SeeDoctor& s : e.see_doctor_when) doctor.push_back({{"level", s.level}, {"when", s.when}});
    ds::sdk::Attributes attrs = {{"entry", e.id},
                                 {"title", e.title},
                                 {"score", format_score(h.score)},
                                 {"method", h.method},
                                 {"rank", std::to_string(++rank)},
                                 {"lang", e.lang},
                                 {"department", e.department},
                                 {"usual_urgency", e.usual_urgency},
                                 {"self_care", kb::join(e.self_care, "\n")},
                                 {"see_doctor_when", doctor.dump()},
                                 {"source", e.source},
                                 {"reviewer", e.reviewer}};
    if (!e.translation_of.empty()) attrs.emplace_back("translation_of", e.translation_of);
    if (e.kind == "medquad") {
      attrs.emplace_back("answer", e.body);
      if (!e.url.empty()) attrs.emplace_back("url", e.url);
    }
    out.add("kb_answer", begin, end, h.score, attrs);
  }
}

}  // namespace ds::medical
