#include "triage_stage.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace ds::medical {

namespace {

constexpr const char* kStage = "[medical.triage] ";
constexpr const char* kEmergencyDepartment = "emergency";
constexpr const char* kFallbackDepartment = "general_practice";

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == s.npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

double rounded(double p) { return std::round(p * 1e4) / 1e4; }

// One sequence_classes head read from the document: its labels and softmax probabilities.
struct Head {
  std::string name;
  std::vector<std::string> labels;
  std::vector<double> probs;

  // The probability of `label`; throws naming the tensor when the head has no such label.
  double prob(std::string_view label) const {
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == label) return probs[i];
    std::string have;
    for (const std::string& l : labels) have += (have.empty() ? "" : ", ") + l;
    throw std::runtime_error(kStage + ("tensor '" + name + "' has no label '" + std::string(label) +
                                       "' (its labels: " + have + "); the medical model's '" + name +
                                       "' head must name it"));
  }
};

Head read_head(const ds::sdk::DocumentView& doc, const std::string& name) {
  std::optional<ds::sdk::TensorView> t = doc.tensor(name);
  if (!t)
    throw std::runtime_error(kStage + ("the document has no '" + name +
                                       "' model output (tensor '" + name +
                                       "' missing): run model.encode with the medical model "
                                       "(data/models/medical-small.safetensors, heads triage, department, embed) "
                                       "before medical.triage"));
  const size_t n = t->labels.size();
  if (t->shape.size() != 1 || n == 0 || static_cast<size_t>(t->shape[0]) != n || t->data.size() != n) {
    std::string shape;
    for (int64_t d : t->shape) {
      if (!shape.empty()) shape += ',';
      shape += std::to_string(d);
    }
    throw std::runtime_error(kStage + ("tensor '" + name + "' must be one row of class logits with named labels "
                                       "(a sequence_classes head), got shape [" + shape + "] and " +
                                       std::to_string(n) + " labels"));
  }
  Head h{name, {}, softmax(t->data)};
  for (std::string_view l : t->labels) h.labels.emplace_back(l);
  for (double p : h.probs)
    if (!std::isfinite(p)) throw std::runtime_error(kStage + ("tensor '" + name + "' holds a non-finite logit"));
  return h;
}

std::string_view attribute(const ds::sdk::AnnotationView& a, std::string_view key) {
  for (const auto& [k, v] : a.attributes)
    if (k == key) return v;
  return {};
}

// The computation path the model ran, when the document says: model.encode with path: auto adds a
// `route` annotation (path, score). A forced path leaves no trace on the document.
std::optional<std::pair<std::string, std::string>> read_route(const ds::sdk::DocumentView& doc) {
  for (size_t i = 0, n = doc.annotation_count(); i < n; ++i) {
    ds::sdk::AnnotationView a = doc.annotation(i);
    if (a.label == "route" && !attribute(a, "path").empty())
      return std::make_pair(std::string(attribute(a, "path")), std::string(attribute(a, "score")));
  }
  return std::nullopt;
}

struct RedFlags {
  std::vector<FiredRule> rules;    // one per rule id, at the highest level it was reported with
  std::vector<std::string> fired;  // the rule ids, in rule-file order where the annotations say it
};

RedFlags read_red_flags(const ds::sdk::DocumentView& doc) {
  RedFlags out;
  std::string fired_attribute;
  for (size_t i = 0, n = doc.annotation_count(); i < n; ++i) {
    ds::sdk::AnnotationView a = doc.annotation(i);
    if (a.label != "red_flag") continue;
    const std::string rule(attribute(a, "rule"));
    const std::string level_text(attribute(a, "level"));
    if (rule.empty()) throw std::runtime_error(kStage + std::string("a red_flag annotation has no 'rule' attribute"));
    std::optional<TriageLevel> level = parse_triage_level(level_text);
    // An unknown level must not be skipped quietly: a rule that cannot raise the level is a safety bug.
    if (!level)
      throw std::runtime_error(kStage + ("red_flag '" + rule + "' has level '" + level_text +
                                         "'; expected emergency, urgent, routine or self_care"));
    auto same = std::find_if(out.rules.begin(), out.rules.end(), [&](const FiredRule& r) { return r.id == rule; });
    if (same == out.rules.end()) out.rules.push_back({rule, *level});
    else same->level = std::max(same->level, *level);
    if (std::string_view f = attribute(a, "fired"); !f.empty()) fired_attribute = f;
  }
  out.fired = split_commas(fired_attribute);
  for (const FiredRule& r : out.rules)
    if (std::find(out.fired.begin(), out.fired.end(), r.id) == out.fired.end()) out.fired.push_back(r.id);
  return out;
}

}  // namespace

ds::sdk::StageInfo TriageStage::spec() {
  using namespace ds::sdk;
  return {"triage",
          "triage level (emergency/urgent/routine/self_care), department and advice from the medical model's "
          "triage and department heads; red flags only raise the level",
          {option_float("emergency_threshold", 0.35,
                        "P(emergency) at or above this makes the model's level emergency even when it is not the "
                        "most probable (bias against under-triage)",
                        0.0, 1.0),
           option_float("urgent_threshold", 0.5,
                        "P(emergency) + P(urgent) at or above this makes the model's level at least urgent", 0.0, 1.0),
           option_enum("language", "auto", {"auto", "zh", "en"},
                       "language of the advice, department name and emergency number (auto: by the text's script)"),
           option_string("emergency_number_zh", std::string("120"), "emergency number given with Chinese answers"),
           option_string("emergency_number_en", std::string("911"), "emergency number given with English answers"),
           option_strings("crisis_rules", {"suicidal"}, "red-flag rules that also give the crisis line"),
           option_string("crisis_line_zh", std::string("12356"), "crisis line given with Chinese answers"),
           option_string("crisis_line_en", std::string("988"), "crisis line given with English answers"),
           option_int("top_departments", 3, "how many of the model's departments departments_top lists", 1, 100),
           option_string("triage_head", std::string("triage"), "the model output holding the level logits"),
           option_string("department_head", std::string("department"), "the model output holding the department logits")},
          DS_FIELD_NORMALIZED | DS_FIELD_OUTPUTS | DS_FIELD_ANNOTATIONS,
          DS_FIELD_ANNOTATIONS};
}

TriageStage::TriageStage(const ds::sdk::Config& config)
    : thresholds_{config.get_float("emergency_threshold"), config.get_float("urgent_threshold")},
      language_(config.get_string("language")),
      number_zh_(config.get_string("emergency_number_zh")),
      number_en_(config.get_string("emergency_number_en")),
      crisis_zh_(config.get_string("crisis_line_zh")),
      crisis_en_(config.get_string("crisis_line_en")),
      crisis_rules_(config.get_strings("crisis_rules")),
      triage_head_(config.get_string("triage_head")),
      department_head_(config.get_string("department_head")),
      top_departments_(static_cast<size_t>(config.get_int("top_departments"))),
      departments_(Departments::builtin()) {
  if (number_zh_.empty() || number_en_.empty())
    throw std::invalid_argument(std::string(kStage) + "emergency_number_zh and emergency_number_en must not be empty");
}

void TriageStage::process(ds::sdk::DocumentView& doc, ds::sdk::Output& out) {
  const std::string_view text = doc.normalized();
  const std::string language = language_ == "auto" ? detect_language(text) : language_;

  const Head triage = read_head(doc, triage_head_);
  LevelProbs probs{};
  for (TriageLevel l : levels_most_urgent_first()) probs[static_cast<size_t>(l)] = triage.prob(triage_level_name(l));

  const Head department = read_head(doc, department_head_);
  std::vector<size_t> order(department.labels.size());
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
    if (!departments_.find(department.labels[i]))
      throw std::runtime_error(kStage + ("tensor '" + department.name + "' has label '" + department.labels[i] +
                                         "', which is not a department id of data/medical/departments.tsv"));
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return department.probs[a] > department.probs[b]; });

  const RedFlags flags = read_red_flags(doc);
  const TriageOutcome outcome = combine(model_level(probs, thresholds_), flags.rules);
  const bool emergency = outcome.level == TriageLevel::kEmergency;

  // Below emergency the emergency department is no destination: take the model's best other one.
  std::string chosen = emergency ? kEmergencyDepartment : kFallbackDepartment;
  if (!emergency) {
    for (size_t i : order)
      if (department.labels[i] != kEmergencyDepartment) {
        chosen = department.labels[i];
        break;
      }
  }
  const Department* dept = departments_.find(chosen);
  if (!dept) throw std::runtime_error(kStage + ("department '" + chosen + "' is missing from departments.tsv"));
  const std::string& dept_name = dept->name(language);

  nlohmann::ordered_json model_probs = nlohmann::ordered_json::object();
  for (TriageLevel l : levels_most_urgent_first())
    model_probs[std::string(triage_level_name(l))] = rounded(probs[static_cast<size_t>(l)]);
  nlohmann::ordered_json top = nlohmann::ordered_json::array();
  for (size_t k = 0; k < order.size() && k < top_departments_; ++k) {
    const Department* d = departments_.find(department.labels[order[k]]);
    top.push_back({{"id", d->id}, {"name", d->name(language)}, {"p", rounded(department.probs[order[k]])}});
  }

  const std::string number = language == "zh" ? number_zh_ : number_en_;
  ds::sdk::Attributes attributes = {
      {"level", std::string(triage_level_name(outcome.level))},
      {"model_level", std::string(triage_level_name(outcome.model_level))},
      {"model_probs", model_probs.dump()},
      {"raised_by", join(outcome.raised_by)},
      {"rules_fired", join(flags.fired)},
      {"department", dept->id},
      {"department_name", dept_name},
      {"department_name_en", dept->name_en},
      {"department_name_zh", dept->name_zh},
      {"departments_top", top.dump()},
      {"advice", advice(outcome.level, language, number, dept_name)},
      {"language", language}};
  if (emergency) attributes.emplace_back("emergency_number", number);
  const bool crisis = std::any_of(flags.fired.begin(), flags.fired.end(), [&](const std::string& id) {
    return std::find(crisis_rules_.begin(), crisis_rules_.end(), id) != crisis_rules_.end();
  });
  const std::string& crisis_line = language == "zh" ? crisis_zh_ : crisis_en_;
  if (crisis && !crisis_line.empty()) attributes.emplace_back("crisis_line", crisis_line);
  if (auto route = read_route(doc)) {
    attributes.emplace_back("path", route->first);
    if (!route->second.empty()) attributes.emplace_back("router_score", route->second);
  }

  const double score = outcome.raised_by.empty() ? probs[static_cast<size_t>(outcome.model_level)] : 1.0;
  out.add("triage", 0, text.size(), score, attributes);
}

}  // namespace ds::medical
