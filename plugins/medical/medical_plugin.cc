// The medical plug-in: emergency red-flag rules over patient text (keyword baseline, zh/en).
#include "ds/plugin.h"
#include "red_flag_rules.h"

namespace ds::medical {

class RedFlagsStage {
 public:
  static ds::sdk::StageInfo spec() {
    return {"redflags",
            "flag emergency red flags (chest pain with breathlessness, stroke signs, bleeding, ...) by zh/en keywords",
            {ds::sdk::option_enum("language", "auto", {"auto", "zh", "en"}, "which keyword set to use"),
             ds::sdk::option_bool("negation", true, "ignore keywords negated in their clause (\"no chest pain\", 否认胸痛)")},
            DS_FIELD_NORMALIZED,
            DS_FIELD_ANNOTATIONS};
  }

  explicit RedFlagsStage(const ds::sdk::Config& config)
      : language_(parse_language(config.get_string("language"))), negation_(config.get_bool("negation")) {}

  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
    for (const RedFlagHit& hit : find_red_flags(doc.normalized(), language_, negation_)) {
      out.add("red_flag", hit.begin, hit.end, 1.0,
              {{"rule", hit.rule}, {"level", "emergency"}, {"matched", hit.matched}, {"method", "keyword"}});
    }
  }

 private:
  Language language_;
  bool negation_;
};

}  // namespace ds::medical

DS_PLUGIN(ds::sdk::Plugin("medical", "0.1.0", "Apache-2.0", "emergency red flags in patient text (keyword baseline, zh/en)")
              .stage<ds::medical::RedFlagsStage>())
