// legal.completeness: one document-level annotation with the Civil Code Art. 470 checklist.
#include <algorithm>
#include <set>

#include "completeness.h"
#include "legal_stages.h"

namespace ds::legal {
namespace {

// Labels that count as clause labels: the keyword classifier's categories plus taxonomy ids that
// only a trained classifier emits.
const std::set<std::string, std::less<>>& clause_label_ids() {
  static const std::set<std::string, std::less<>> ids = [] {
    std::set<std::string, std::less<>> out = {"quantity", "sign_date", "doc_title"};
    for (const ClauseCategory& c : clause_categories()) out.insert(c.id);
    return out;
  }();
  return ids;
}

}  // namespace

ds::sdk::StageInfo CompletenessStage::spec() {
  return {"completeness",
          "check a contract against the Civil Code Art. 470 elements: present / absent / ambiguous hints",
          {ds::sdk::option_enum("language", "auto", {"auto", "zh", "en"},
                                "which keywords back up the clause labels (auto: both)"),
           ds::sdk::option_float("min_label_score", 0.5, "ignore clause labels scored below this", 0.0, 1.0)},
          DS_FIELD_NORMALIZED,
          DS_FIELD_ANNOTATIONS};
}

CompletenessStage::CompletenessStage(const ds::sdk::Config& config)
    : language_(parse_language(config.get_string("language"))), min_label_score_(config.get_float("min_label_score")) {}

void CompletenessStage::process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
  const std::string_view s = doc.normalized();
  std::vector<ClauseLabel> clauses;
  for (size_t i = 0, n = doc.annotation_count(); i < n; ++i) {
    const ds::sdk::AnnotationView a = doc.annotation(i);
    if (a.score >= min_label_score_ && clause_label_ids().count(a.label))
      clauses.push_back({std::string(a.label), a.begin, a.end});
  }
  const std::vector<ElementCheck> checks = check_completeness(s, clauses, language_);
  std::string lists[3];  // present, absent, ambiguous
  ds::sdk::Attributes attributes;
  int present = 0;
  for (const ElementCheck& c : checks) {
    std::string& list = lists[static_cast<int>(c.status)];
    list += (list.empty() ? "" : ",") + c.id;
    present += c.status == ElementStatus::kPresent;
    std::string detail(element_status_name(c.status));
    if (!c.basis.empty()) detail += " (" + c.basis + ")";
    if (!c.note.empty()) detail += ": " + c.note;
    attributes.push_back({c.id, detail});
  }
  attributes.push_back({"present", lists[static_cast<int>(ElementStatus::kPresent)]});
  attributes.push_back({"absent", lists[static_cast<int>(ElementStatus::kAbsent)]});
  attributes.push_back({"ambiguous", lists[static_cast<int>(ElementStatus::kAmbiguous)]});
  attributes.push_back({"law",
                        "Civil Code Art. 470 (民法典第四百七十条): an advisory list; a missing item is a "
                        "review hint, not a defect of the contract"});
  attributes.push_back({"method", "keyword"});
  out.add("completeness", 0, s.size(), static_cast<double>(present) / static_cast<double>(checks.size()), attributes);
}

}  // namespace ds::legal
