// The medical plug-in: red-flag rules over patient text (keyword baseline, zh/en), loaded from a
// YAML rule file (data/medical/red_flags.yaml by default); medical.triage (triage_stage.h) and
// medical.answer (answer_stage.h) are registered below.
#include <filesystem>
#include <memory>

#include "answer_stage.h"
#include "ds/plugin.h"
#include "red_flag_rules.h"
#include "triage_stage.h"

namespace ds::medical {

class RedFlagsStage {
 public:
  static ds::sdk::StageInfo spec() {
    return {"redflags",
            "flag red flags (chest pain with breathlessness, stroke signs, bleeding, ...) by zh/en keyword rules",
            {ds::sdk::option_enum("language", "auto", {"auto", "zh", "en"}, "which terms to use (by their en/zh key)"),
             ds::sdk::option_bool("negation", true, "ignore terms negated in their clause (\"no chest pain\", 否认胸痛)"),
             ds::sdk::option_path("rules", "",
                                  "red-flag rule file (YAML, schema in its header); empty: the project's "
                                  "data/medical/red_flags.yaml")},
            DS_FIELD_NORMALIZED,
            DS_FIELD_ANNOTATIONS};
  }

  explicit RedFlagsStage(const ds::sdk::Config& config)
      : language_(parse_language(config.get_string("language"))),
        matcher_(load_rule_file(rule_file(config)), language_, config.get_bool("negation")) {}

  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
    const RedFlagResult result = matcher_.find(doc.normalized());
    if (result.hits.empty()) return;
    std::string fired;
    for (const std::string& id : result.fired) fired += (fired.empty() ? "" : ",") + id;
    const std::string message_level(level_name(*result.level));
    for (const RedFlagHit& hit : result.hits) {
      ds::sdk::Attributes attributes = {{"rule", hit.rule},
                                        {"level", std::string(level_name(hit.level))},
                                        {"matched", hit.matched},
                                        {"method", "keyword"},
                                        {"rationale", rationale(hit)},
                                        {"message_level", message_level},
                                        {"fired", fired}};
      if (hit.hedged) attributes.push_back({"hedged", "true"});
      out.add("red_flag", hit.begin, hit.end, 1.0, attributes);
    }
  }

 private:
  static std::string rule_file(const ds::sdk::Config& config) {
    std::filesystem::path p = config.get_string("rules");
    if (p.empty()) return default_rule_file();
    // The host resolves a pipeline's relative paths; this covers a stage built without one.
    if (p.is_relative() && !config.base_dir().empty()) p = std::filesystem::path(config.base_dir()) / p;
    return p.string();
  }

  std::string rationale(const RedFlagHit& hit) const {
    for (const RedFlagRule& r : matcher_.rules().rules) {
      if (r.id != hit.rule) continue;
      bool zh = language_ == Language::kZh || (language_ == Language::kAuto && !ds::sdk::text::is_ascii(hit.matched));
      return zh ? r.rationale_zh : r.rationale_en;
    }
    return "";
  }

  Language language_;
  RedFlagMatcher matcher_;
};

}  // namespace ds::medical

DS_PLUGIN(ds::sdk::Plugin("medical", "0.2.0", "Apache-2.0", "red flags (keyword rules from YAML), triage level and department, knowledge-base answers for patient questions (zh/en)")
              .stage<ds::medical::RedFlagsStage>()
              .stage<ds::medical::AnswerStage>()
              .stage<ds::medical::TriageStage>())
