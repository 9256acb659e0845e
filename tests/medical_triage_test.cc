// The `medical.triage` stage of the medical plug-in on hand-built documents (model outputs and red
// flags written by the test, so every case is exact): rules only raise the level, the emergency
// threshold, labels found by name, department and emergency number, errors naming the tensor.
// Also its plain code: the department table, the language guess, softmax and the level rules.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/registry.h"
#include "departments.h"
#include "plugin/plugin_host.h"
#include "test_util.h"
#include "triage.h"

namespace ds::medical {
namespace {

const std::vector<std::string> kLevels = {"emergency", "urgent", "routine", "self_care"};

// A sequence_classes output whose softmax gives `probs` (label -> probability; others ~0).
Tensor head(const std::vector<std::string>& labels, const std::map<std::string, double>& probs) {
  Tensor t;
  t.shape = {static_cast<int64_t>(labels.size())};
  t.labels = labels;
  for (const std::string& l : labels) {
    auto it = probs.find(l);
    t.data.push_back(static_cast<float>(std::log(it == probs.end() ? 1e-6 : it->second)));
  }
  return t;
}

std::vector<std::string> department_ids() {
  std::vector<std::string> ids;
  for (const Department& d : Departments::builtin().all()) ids.push_back(d.id);
  return ids;
}

Annotation red_flag(const std::string& rule, const std::string& level, const std::string& fired) {
  return {"red_flag", {0, 0}, 1.0,
          {{"rule", rule}, {"level", level}, {"message_level", level}, {"fired", fired}, {"rationale", "why"},
           {"matched", "x"}, {"method", "keyword"}},
          "medical.redflags"};
}

class MedicalTriage : public ::testing::Test {
 protected:
  void SetUp() override { host_.load("medical", {}, registry_); }

  // A document as model.encode and medical.redflags leave it.
  static Document doc(const std::string& text, const std::map<std::string, double>& levels,
                      const std::map<std::string, double>& departments, std::vector<Annotation> flags = {}) {
    Document d;
    d.text = text;
    d.normalized = text;
    d.outputs["triage"] = head(kLevels, levels);
    d.outputs["department"] = head(department_ids(), departments);
    d.annotations = std::move(flags);
    return d;
  }

  // Runs medical.triage on `d`; returns the triage annotation's attributes (empty if it failed).
  std::map<std::string, std::string> triage(Document& d, const Options& options = {}) {
    const StageFactory* factory = registry_.stage_factory("medical.triage");
    EXPECT_NE(factory, nullptr);
    if (!factory) return {};
    auto stage = (*factory)(options, StageContext{"medical.triage", {}, 0});
    Document* one = &d;
    stage->process_batch({&one, 1}, "medical.triage");
    if (d.failed()) return {};
    std::map<std::string, std::string> out;
    int n = 0;
    for (const Annotation& a : d.annotations)
      if (a.label == "triage") {
        out = a.attributes;
        ++n;
        EXPECT_EQ(a.span.begin, 0u);
        EXPECT_EQ(a.span.end, d.normalized.size());
        EXPECT_EQ(a.stage, "medical.triage");
      }
    EXPECT_EQ(n, 1) << "one triage annotation per document";
    return out;
  }

  PluginHost host_;
  Registry registry_;
};

TEST_F(MedicalTriage, AnEmergencyRedFlagRaisesASelfCareModelToEmergencyWithTheNumber) {
  // The model is sure it is nothing (self_care 0.97, dermatology); the rule decides.
  Document zh = doc("胸口剧痛，喘不上气", {{"self_care", 0.97}, {"routine", 0.01}, {"urgent", 0.01}, {"emergency", 0.01}},
                    {{"dermatology", 0.9}}, {red_flag("chest_pain_breathless", "emergency", "chest_pain_breathless")});
  auto a = triage(zh);
  ASSERT_FALSE(zh.failed()) << zh.error;
  EXPECT_EQ(a["level"], "emergency");
  EXPECT_EQ(a["model_level"], "self_care");
  EXPECT_EQ(a["raised_by"], "chest_pain_breathless");
  EXPECT_EQ(a["rules_fired"], "chest_pain_breathless");
  EXPECT_EQ(a["department"], "emergency");
  EXPECT_EQ(a["department_name"], "急诊科");
  EXPECT_EQ(a["emergency_number"], "120");
  EXPECT_EQ(a["language"], "zh");
  EXPECT_NE(a["advice"].find("立即拨打120"), std::string::npos) << a["advice"];

  Document en = doc("Crushing chest pain and I can't breathe",
                    {{"self_care", 0.97}, {"routine", 0.01}, {"urgent", 0.01}, {"emergency", 0.01}}, {{"dermatology", 0.9}},
                    {red_flag("chest_pain", "urgent", "chest_pain,not_breathing"),
                     red_flag("not_breathing", "emergency", "chest_pain,not_breathing")});
  auto b = triage(en);
  EXPECT_EQ(b["level"], "emergency");
  EXPECT_EQ(b["raised_by"], "not_breathing");  // the rule at the final level
  EXPECT_EQ(b["rules_fired"], "chest_pain,not_breathing");
  EXPECT_EQ(b["emergency_number"], "911");
  EXPECT_EQ(b["department_name"], "Emergency Department");
  EXPECT_EQ(b["advice"].rfind("Call 911 now", 0), 0u) << b["advice"];
  // The model's own view stays on record, departments included.
  auto probs = nlohmann::json::parse(b["model_probs"]);
  EXPECT_NEAR(probs["self_care"].get<double>(), 0.97, 1e-3);
  auto top = nlohmann::json::parse(b["departments_top"]);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0]["id"], "dermatology");
  EXPECT_EQ(top[0]["name"], "Dermatology");
}

TEST_F(MedicalTriage, RulesNeverLowerTheModelsLevel) {
  Document d = doc("sudden worst headache of my life", {{"emergency", 0.9}, {"urgent", 0.1}}, {{"neurology", 0.8}},
                   {red_flag("high_fever", "urgent", "high_fever")});
  auto a = triage(d);
  EXPECT_EQ(a["level"], "emergency");
  EXPECT_EQ(a["model_level"], "emergency");
  EXPECT_EQ(a["raised_by"], "");
  EXPECT_EQ(a["rules_fired"], "high_fever");

  // An urgent rule over a routine model: urgent, and an urgent level has no emergency number.
  Document e = doc("fever for days", {{"routine", 0.8}, {"self_care", 0.2}}, {{"infectious_disease", 0.7}},
                   {red_flag("high_fever", "urgent", "high_fever")});
  auto b = triage(e);
  EXPECT_EQ(b["level"], "urgent");
  EXPECT_EQ(b["raised_by"], "high_fever");
  EXPECT_EQ(b["department"], "infectious_disease");
  EXPECT_EQ(b.count("emergency_number"), 0u);
}

TEST_F(MedicalTriage, NoRedFlagLeavesTheModelsLevelAndNoRulesAreReported) {
  Document d = doc("a mild cough, no chest pain", {{"self_care", 0.7}, {"routine", 0.2}, {"urgent", 0.1}},
                   {{"respiratory", 0.6}, {"ent", 0.3}});
  auto a = triage(d);
  EXPECT_EQ(a["level"], "self_care");
  EXPECT_EQ(a["raised_by"], "");
  EXPECT_EQ(a["rules_fired"], "");
  EXPECT_EQ(a["department"], "respiratory");
  EXPECT_EQ(a.count("emergency_number"), 0u);
  EXPECT_EQ(a["advice"].rfind("Self-care", 0), 0u) << a["advice"];
}

TEST_F(MedicalTriage, EmergencyThresholdMakesEmergencyWithoutTheArgmax) {
  const std::map<std::string, double> probs = {{"routine", 0.45}, {"emergency", 0.40}, {"self_care", 0.15}};
  Document d = doc("chest tightness", probs, {{"cardiology", 0.6}});
  auto a = triage(d);
  EXPECT_EQ(a["model_level"], "emergency");  // 0.40 >= 0.35 (the default)
  EXPECT_EQ(a["level"], "emergency");
  EXPECT_EQ(a["department"], "emergency");
  EXPECT_EQ(a["emergency_number"], "911");

  Options strict;
  strict.set("emergency_threshold", 0.5);
  strict.set("urgent_threshold", 1.0);
  Document e = doc("chest tightness", probs, {{"cardiology", 0.6}});
  auto b = triage(e, strict);
  EXPECT_EQ(b["model_level"], "routine");
  EXPECT_EQ(b["department"], "cardiology");
}

TEST_F(MedicalTriage, UrgentThresholdLeansUpToUrgent) {
  const std::map<std::string, double> probs = {{"routine", 0.42}, {"urgent", 0.30}, {"emergency", 0.25}, {"self_care", 0.03}};
  Document d = doc("fever and rash", probs, {{"dermatology", 0.6}});
  EXPECT_EQ(triage(d)["model_level"], "urgent");  // 0.30 + 0.25 >= 0.5
  Options off;
  off.set("urgent_threshold", 1.0);
  Document e = doc("fever and rash", probs, {{"dermatology", 0.6}});
  EXPECT_EQ(triage(e, off)["model_level"], "routine");
}

TEST_F(MedicalTriage, LabelsAreFoundByNameWhateverTheirOrder) {
  Document d = doc("x", {}, {{"ent", 0.9}});
  d.outputs["triage"] = head({"self_care", "routine", "urgent", "emergency"}, {{"urgent", 0.9}, {"routine", 0.1}});
  std::vector<std::string> reversed = department_ids();
  std::reverse(reversed.begin(), reversed.end());
  d.outputs["department"] = head(reversed, {{"ophthalmology", 0.8}, {"ent", 0.2}});
  auto a = triage(d);
  EXPECT_EQ(a["model_level"], "urgent");
  EXPECT_EQ(a["department"], "ophthalmology");
  auto probs = nlohmann::ordered_json::parse(a["model_probs"]);
  EXPECT_NEAR(probs["urgent"].get<double>(), 0.9, 1e-3);
  // Shown most urgent first, whatever the model's order.
  std::vector<std::string> keys;
  for (auto& [k, v] : probs.items()) keys.push_back(k);
  EXPECT_EQ(keys, kLevels);
}

TEST_F(MedicalTriage, AMissingTensorIsAnErrorNamingIt) {
  Document d = doc("头痛", {{"routine", 1.0}}, {{"neurology", 1.0}});
  d.outputs.erase("department");
  triage(d);
  ASSERT_TRUE(d.failed());
  EXPECT_EQ(d.failed_stage, "medical.triage");
  EXPECT_NE(d.error.find("[medical.triage]"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("'department'"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("model.encode"), std::string::npos) << d.error;

  Document e = doc("头痛", {{"routine", 1.0}}, {{"neurology", 1.0}});
  e.outputs.erase("triage");
  triage(e);
  ASSERT_TRUE(e.failed());
  EXPECT_NE(e.error.find("'triage'"), std::string::npos) << e.error;
}

TEST_F(MedicalTriage, AMissingOrUnknownLabelIsAnErrorNamingTheTensor) {
  Document d = doc("x", {}, {{"ent", 1.0}});
  d.outputs["triage"] = head({"emergency", "routine", "self_care", "semi_urgent"}, {{"routine", 1.0}});
  triage(d);
  ASSERT_TRUE(d.failed());
  EXPECT_NE(d.error.find("tensor 'triage' has no label 'urgent'"), std::string::npos) << d.error;

  Document e = doc("x", {{"routine", 1.0}}, {});
  std::vector<std::string> ids = department_ids();
  ids[3] = "cardiothoracic";
  e.outputs["department"] = head(ids, {{"ent", 1.0}});
  triage(e);
  ASSERT_TRUE(e.failed());
  EXPECT_NE(e.error.find("tensor 'department' has label 'cardiothoracic'"), std::string::npos) << e.error;

  Document f = doc("x", {{"routine", 1.0}}, {{"ent", 1.0}});
  f.outputs["triage"].labels.clear();  // a tensor without labels (not a head's output)
  triage(f);
  ASSERT_TRUE(f.failed());
  EXPECT_NE(f.error.find("tensor 'triage' must be"), std::string::npos) << f.error;

  Document g = doc("x", {{"routine", 1.0}}, {{"ent", 1.0}}, {red_flag("chest_pain", "critical", "chest_pain")});
  triage(g);
  ASSERT_TRUE(g.failed());
  EXPECT_NE(g.error.find("level 'critical'"), std::string::npos) << g.error;
}

TEST_F(MedicalTriage, BelowEmergencyTheEmergencyDepartmentIsNotTheDestination) {
  Document d = doc("x", {{"urgent", 0.8}, {"routine", 0.2}}, {{"emergency", 0.6}, {"orthopedics", 0.3}, {"general_surgery", 0.1}});
  auto a = triage(d);
  EXPECT_EQ(a["level"], "urgent");
  EXPECT_EQ(a["department"], "orthopedics");
  auto top = nlohmann::json::parse(a["departments_top"]);
  EXPECT_EQ(top[0]["id"], "emergency");  // the model's raw ranking stays on record
  EXPECT_NE(a["advice"].find("Orthopedics"), std::string::npos) << a["advice"];
}

TEST_F(MedicalTriage, LanguageAndNumbersFollowTheOptions) {
  Options o;
  o.set("language", std::string("en"));
  o.set("emergency_number_en", std::string("999"));
  Document d = doc("胸痛", {{"emergency", 1.0}}, {{"cardiology", 1.0}});
  auto a = triage(d, o);
  EXPECT_EQ(a["language"], "en");
  EXPECT_EQ(a["emergency_number"], "999");
  EXPECT_EQ(a["department_name"], "Emergency Department");
  // Mixed script with Chinese words answers in Chinese.
  Document e = doc("宝宝2个月 fever 38.3", {{"emergency", 1.0}}, {{"pediatrics", 1.0}});
  EXPECT_EQ(triage(e)["emergency_number"], "120");
}

TEST_F(MedicalTriage, ACrisisRuleAddsTheCrisisLine) {
  Document d = doc("我不想活了", {{"routine", 1.0}}, {{"psychiatry", 1.0}}, {red_flag("suicidal", "emergency", "suicidal")});
  auto a = triage(d);
  EXPECT_EQ(a["level"], "emergency");
  EXPECT_EQ(a["emergency_number"], "120");
  EXPECT_EQ(a["crisis_line"], "12356");
  Document e = doc("I want to kill myself", {{"routine", 1.0}}, {{"psychiatry", 1.0}},
                   {red_flag("suicidal", "emergency", "suicidal")});
  EXPECT_EQ(triage(e)["crisis_line"], "988");
  Document f = doc("chest pain", {{"routine", 1.0}}, {{"cardiology", 1.0}}, {red_flag("chest_pain", "urgent", "chest_pain")});
  EXPECT_EQ(triage(f).count("crisis_line"), 0u);
}

// ---- plain code ----

TEST(MedicalTriageCode, DepartmentsAreTheTsvsEighteenInFileOrder) {
  const Departments& d = Departments::builtin();
  ASSERT_EQ(d.all().size(), 18u);
  EXPECT_EQ(d.all().front().id, "emergency");
  EXPECT_EQ(d.all().back().id, "general_practice");
  ASSERT_NE(d.find("neurology"), nullptr);
  EXPECT_EQ(d.find("neurology")->name("zh"), "神经内科");
  EXPECT_EQ(d.find("neurology")->name("en"), "Neurology");
  EXPECT_EQ(d.find("nope"), nullptr);
  try {
    Departments::parse("id\tname_en\tname_zh\nent\tENT\t耳鼻喉科\nent\tENT\t耳鼻喉科\n", "d.tsv");
    FAIL() << "a repeated id must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("d.tsv:3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Departments::parse("id\tname\n", "d.tsv"), std::invalid_argument);
}

TEST(MedicalTriageCode, LanguageFromTheScript) {
  EXPECT_EQ(detect_language("头痛怎么办"), "zh");
  EXPECT_EQ(detect_language("宝宝2个月 fever 38.3"), "zh");
  EXPECT_EQ(detect_language("my 2-year-old has had a fever of 39.5 for two days"), "en");
  EXPECT_EQ(detect_language("I took 20 tablets of 对乙酰氨基酚 an hour ago and feel sick now"), "en");
  EXPECT_EQ(detect_language(""), "en");
  EXPECT_EQ(detect_language("\xff\xfe"), "en");
}

TEST(MedicalTriageCode, SoftmaxIsStableAndLevelsLeanUp) {
  std::vector<float> big = {1000.f, 1000.f};
  auto p = softmax(big);
  EXPECT_DOUBLE_EQ(p[0], 0.5);
  EXPECT_TRUE(softmax(std::vector<float>{}).empty());
  EXPECT_TRUE(std::isnan(softmax(std::vector<float>{NAN, 1.f})[1]));

  TriageThresholds t{0.35, 0.5};
  // A tie goes to the more urgent level.
  EXPECT_EQ(model_level({0.0, 0.0, 0.5, 0.5}, t), TriageLevel::kEmergency);
  EXPECT_EQ(model_level({0.1, 0.5, 0.0, 0.4}, t), TriageLevel::kEmergency);  // index order: self_care .. emergency
  EXPECT_EQ(model_level({0.1, 0.5, 0.2, 0.2}, t), TriageLevel::kRoutine);
  EXPECT_EQ(model_level({0.1, 0.4, 0.3, 0.2}, t), TriageLevel::kUrgent);
  EXPECT_EQ(model_level({0.9, 0.1, 0.0, 0.0}, t), TriageLevel::kSelfCare);

  TriageOutcome o = combine(TriageLevel::kRoutine, {{"a", TriageLevel::kUrgent}, {"b", TriageLevel::kEmergency},
                                                    {"c", TriageLevel::kEmergency}});
  EXPECT_EQ(o.level, TriageLevel::kEmergency);
  EXPECT_EQ(o.raised_by, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(combine(TriageLevel::kEmergency, {{"a", TriageLevel::kUrgent}}).raised_by.size(), 0u);
}

}  // namespace
}  // namespace ds::medical
