// The medical plug-in's red-flag matcher (plugins/medical/red_flag_rules.cc) as plain code: the
// rule file loader and its errors, the matching semantics of data/medical/red_flags.yaml, and the
// C++ matcher held together with the Python reference (data/medical/check_rules.py --json) over
// every labelled triage question and the hand-written cases below.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "red_flag_rules.h"
#include "text/normalize.h"

namespace ds::medical {
namespace {

namespace fs = std::filesystem;

const std::string kRuleFile = std::string(DS_SOURCE_DIR) + "/data/medical/red_flags.yaml";
const std::string kChecker = std::string(DS_SOURCE_DIR) + "/data/medical/check_rules.py";
const std::string kQuestions = std::string(DS_SOURCE_DIR) + "/data/medical/triage/questions.jsonl";

const RuleSet& shipped_rules() {
  static const RuleSet rules = load_rule_file(kRuleFile);
  return rules;
}

std::vector<std::string> fired(const RedFlagMatcher& m, const std::string& text) {
  std::vector<std::string> out = m.find(normalize_nfkc(text).normalized).fired;
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> fired(const std::string& text, Language language = Language::kAuto) {
  return fired(RedFlagMatcher(shipped_rules(), language), text);
}

// Runs the Python reference in --json mode over a JSONL file: id -> fired rule ids (sorted).
std::map<std::string, std::vector<std::string>> python_fired(const std::string& jsonl, const std::string& language) {
  const std::string cmd = "/usr/bin/python3 " + kChecker + " --language " + language + " --json " + jsonl;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe.get())) > 0;) out.append(buf, n);
  const int status = pclose(pipe.release());
  if (status != 0) throw std::runtime_error(cmd + " failed (status " + std::to_string(status) + "): " + out);
  std::map<std::string, std::vector<std::string>> result;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    const nlohmann::json j = nlohmann::json::parse(out.substr(start, nl - start));
    result[j.at("id").get<std::string>()] = j.at("fired").get<std::vector<std::string>>();
  }
  return result;
}

struct Question {
  std::string id, text;
  std::vector<std::string> labelled;
};

std::vector<Question> read_questions(const std::string& path) {
  std::ifstream in(path);
  std::vector<Question> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    Question q{j.at("id"), j.at("text"), {}};
    if (j.contains("red_flags")) q.labelled = j.at("red_flags").get<std::vector<std::string>>();
    out.push_back(std::move(q));
  }
  return out;
}

// ---- the C++ matcher and the Python reference agree ----

TEST(MedicalRules, MatchesThePythonReferenceOnEveryTriageQuestion) {
  const std::vector<Question> questions = read_questions(kQuestions);
  ASSERT_GT(questions.size(), 600u);
  for (const char* language : {"auto", "zh", "en"}) {
    SCOPED_TRACE(language);
    const auto reference = python_fired(kQuestions, language);
    ASSERT_EQ(reference.size(), questions.size());
    const RedFlagMatcher matcher(shipped_rules(), parse_language(language));
    size_t agree = 0;
    for (const Question& q : questions) {
      const auto want = reference.at(q.id);
      const auto got = fired(matcher, q.text);
      EXPECT_EQ(got, want) << q.id << ": " << q.text;
      agree += got == want;
    }
    EXPECT_EQ(agree, questions.size());
  }
}

// Hand-written cases: what they must fire (sorted ids), checked against C++ and Python.
const std::vector<std::pair<std::string, std::vector<std::string>>> kCases = {
    // negation, both languages
    {"no chest pain", {}},
    {"没有胸痛", {}},
    {"没有呼吸困难", {}},  // an except: 没有呼吸 is not "not breathing" here
    {"denies chest pain or shortness of breath", {}},
    {"Patient denies chest pain or shortness of breath.", {}},
    {"没有抽搐。", {}},
    {"无发热、胸痛", {}},  // '、' joins list items: both negated
    {"不发烧，宝宝2个月", {}},  // bare 不 directly before the term
    {"不舒服，胸痛", {"chest_pain"}},  // ... and only there
    {"no fever, but chest pain and shortness of breath", {"chest_pain_breathless"}},
    {"no fever and now chest pain with sweating", {"chest_pain_cardiac"}},
    // fires
    {"crushing chest pain and sweating", {"chest_pain_cardiac"}},
    {"chest pain and shortness of breath", {"chest_pain_breathless"}},
    {"患者胸痛伴呼吸困难。", {"chest_pain_breathless"}},
    {"I have chest pain", {"chest_pain"}},
    {"chest pain. I am short of breath.", {"chest_pain"}},  // all_of: one sentence
    {"He had a seizure.", {"seizure"}},
    // not_cues: contain a cue but do not negate
    {"我浑身无力，胸痛伴呼吸困难", {"chest_pain_breathless"}},
    {"宝宝未满月，发烧了", {"febrile_infant"}},
    {"是不是中风了，嘴歪了", {"stroke_signs"}},
    {"not sure if it's a stroke but his face is drooping", {"stroke_signs"}},
    // hedges never suppress
    {"I think he is having a seizure, maybe", {"seizure"}},
    // history and info cues, except phrases
    {"I had a stroke last year", {}},
    {"去年中风过，现在又说话不清", {"stroke_signs"}},
    {"What are the warning signs of a stroke?", {}},
    {"heat stroke", {}},
    // scope text, mixed script, apostrophes
    {"my baby is 6 weeks old. She has a fever.", {"febrile_infant"}},
    {"宝宝2个月，发烧38.5", {"febrile_infant"}},
    {"I can\u2019t breathe", {"not_breathing"}},
};

TEST(MedicalRules, HandWrittenCases) {
  for (const auto& [text, want] : kCases) EXPECT_EQ(fired(text), want) << text;
}

TEST(MedicalRules, HandWrittenCasesAgreeWithThePythonReference) {
  const fs::path file = fs::temp_directory_path() / ("ds_medical_cases_" + std::to_string(getpid()) + ".jsonl");
  {
    std::ofstream out(file);
    for (size_t i = 0; i < kCases.size(); ++i)
      out << nlohmann::json{{"id", std::to_string(i)}, {"text", kCases[i].first}}.dump() << "\n";
  }
  const auto reference = python_fired(file.string(), "auto");
  fs::remove(file);
  for (size_t i = 0; i < kCases.size(); ++i) EXPECT_EQ(reference.at(std::to_string(i)), kCases[i].second) << kCases[i].first;
}

// ---- semantics visible in the result ----

TEST(MedicalRules, LanguageOfATermIsItsKey) {
  EXPECT_EQ(fired("chest pain and 呼吸困难", Language::kAuto), (std::vector<std::string>{"chest_pain_breathless"}));
  EXPECT_EQ(fired("chest pain and 呼吸困难", Language::kZh), (std::vector<std::string>{"severe_breathlessness"}));
  EXPECT_EQ(fired("chest pain and 呼吸困难", Language::kEn), (std::vector<std::string>{"chest_pain"}));
}

TEST(MedicalRules, ReportsEachRuleItsLevelAndTheHighest) {
  const RedFlagMatcher m(shipped_rules(), Language::kAuto);
  const RedFlagResult urgent = m.find("I have chest pain");
  ASSERT_EQ(urgent.hits.size(), 1u);
  EXPECT_EQ(urgent.hits[0].rule, "chest_pain");
  EXPECT_EQ(urgent.hits[0].level, Level::kUrgent);
  EXPECT_EQ(urgent.level, Level::kUrgent);

  const std::string text = "I have chest pain. He had a seizure.";
  const RedFlagResult both = m.find(text);
  EXPECT_EQ(both.fired, (std::vector<std::string>{"chest_pain", "seizure"}));  // rule-file order
  EXPECT_EQ(both.level, Level::kEmergency);  // rules only raise
  ASSERT_EQ(both.hits.size(), 2u);
  EXPECT_EQ(text.substr(both.hits[1].begin, both.hits[1].end - both.hits[1].begin), "seizure");
  EXPECT_EQ(both.hits[1].level, Level::kEmergency);

  EXPECT_TRUE(m.find("no chest pain").hits.empty());
  EXPECT_FALSE(m.find("no chest pain").level.has_value());
}

TEST(MedicalRules, SubsumedRulesAreNotReported) {
  EXPECT_EQ(fired("chest pain and shortness of breath, sweating"),
            (std::vector<std::string>{"chest_pain_breathless", "chest_pain_cardiac"}));  // chest_pain subsumed
}

TEST(MedicalRules, HitSpansPointIntoTheTextDespiteApostropheFolding) {
  const RedFlagMatcher m(shipped_rules(), Language::kAuto);
  const std::string text = "Help\u2019 he can\u2019t breathe";
  const RedFlagResult r = m.find(text);
  ASSERT_EQ(r.hits.size(), 1u);
  EXPECT_EQ(text.substr(r.hits[0].begin, r.hits[0].end - r.hits[0].begin), "can\u2019t breathe");
  EXPECT_EQ(r.hits[0].matched, "can\u2019t breathe");
}

TEST(MedicalRules, AllOfHitsSpanTheirTermsOnePerSentence) {
  const RedFlagMatcher m(shipped_rules(), Language::kAuto);
  const std::string text = "患者胸痛伴呼吸困难。胸闷气短。";
  const RedFlagResult r = m.find(text);
  ASSERT_EQ(r.hits.size(), 2u);
  EXPECT_EQ(text.substr(r.hits[0].begin, r.hits[0].end - r.hits[0].begin), "胸痛伴呼吸困难");
  EXPECT_EQ(r.hits[0].matched, "胸痛 + 呼吸困难");
  EXPECT_EQ(text.substr(r.hits[1].begin, r.hits[1].end - r.hits[1].begin), "胸闷气短");
}

TEST(MedicalRules, HedgesMarkButNeverSuppress) {
  const RedFlagMatcher m(shipped_rules(), Language::kAuto);
  const RedFlagResult r = m.find("his face looks droopy and he's slurring, probably just tired?");
  ASSERT_EQ(r.fired, (std::vector<std::string>{"stroke_signs"}));
  EXPECT_TRUE(r.hits[0].hedged);
  EXPECT_FALSE(m.find("He had a seizure.").hits[0].hedged);
}

TEST(MedicalRules, NegationOffKeepsNegatedTerms) {
  EXPECT_EQ(fired(RedFlagMatcher(shipped_rules(), Language::kAuto, false), "没有抽搐"), (std::vector<std::string>{"seizure"}));
}

// ---- the rule file ----

TEST(MedicalRuleFile, TheShippedFileLoads) {
  const RuleSet& rules = shipped_rules();
  EXPECT_GE(rules.rules.size(), 30u);
  EXPECT_EQ(rules.matching.max_gap_en_words, 5);
  EXPECT_EQ(rules.matching.max_gap_zh_chars, 6);
  EXPECT_EQ(rules.matching.adjacent_cues.zh, (std::vector<std::string>{"不"}));
  const auto it = std::find_if(rules.rules.begin(), rules.rules.end(), [](const auto& r) { return r.id == "chest_pain"; });
  ASSERT_NE(it, rules.rules.end());
  EXPECT_EQ(it->level, Level::kUrgent);
  EXPECT_EQ(it->subsumed_by, (std::vector<std::string>{"chest_pain_breathless", "chest_pain_cardiac", "anaphylaxis"}));
  // YAML anchors: chest_pain's any_of is chest_pain_breathless's first all_of group.
  EXPECT_EQ(it->match[0].groups[0].en, rules.rules[0].match[0].groups[0].en);
  EXPECT_TRUE(fs::exists(default_rule_file())) << default_rule_file();
}

std::string load_error(const std::string& yaml) {
  try {
    parse_rule_text(yaml, "bad.yaml");
  } catch (const RuleFileError& e) {
    return e.what();
  }
  return "";
}

const std::string kMatching = R"(version: 1
matching:
  sentence_breaks: ["."]
  clause_breaks: {en: [","]}
  negation:
    cues: {en: ["no"]}
    max_gap: {en_words: 5, zh_chars: 6}
)";

TEST(MedicalRuleFile, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(load_error(kMatching + "rules:\n  - id: x\n    level: emergency\n    rationale: {en: a, zh: b}\n"
                                   "    match:\n      - any_of: {en: [fit]}\n"),
            "rule file bad.yaml:9:5: rules.x.source: missing");
  EXPECT_EQ(load_error(kMatching + "rules:\n  - id: x\n    level: emergency\n    source: s\n    rationale: {en: a, zh: b}\n"
                                   "    match:\n      - any_of: {en: [fit]}\n"),
            "");
  EXPECT_EQ(load_error(kMatching + "rules:\n  - id: x\n    source: s\n    level: critical\n    rationale: {en: a, zh: b}\n"
                                   "    match:\n      - any_of: {en: [fit]}\n"),
            "rule file bad.yaml:11:12: rules.x.level: must be emergency or urgent, not 'critical'");
  EXPECT_EQ(load_error(kMatching + "rules:\n  - id: x\n    source: s\n    level: urgent\n    rationale: {en: a, zh: b}\n"
                                   "    match:\n      - some_of: {en: [fit]}\n"),
            "rule file bad.yaml:14:9: rules.x.match[0]: must have one key, any_of or all_of (not 'some_of')");
  EXPECT_EQ(load_error(kMatching + "rules:\n  - id: x\n    source: s\n    level: urgent\n    rationale: {en: a, zh: b}\n"
                                   "    match:\n      - any_of: {en: [fit]}\n    subsumed_by: [y]\n"),
            "rule file bad.yaml:15:18: rules.x.subsumed_by: unknown rule 'y'");
  EXPECT_EQ(load_error("version: 1\nrules: [\n"), "rule file bad.yaml:3:1: YAML syntax: end of sequence flow not found");
  EXPECT_EQ(load_error("version: 2\n"), "rule file bad.yaml:1:10: version: must be 1 (this plug-in reads schema version 1)");
  const std::string missing = "/nonexistent/red_flags.yaml";
  try {
    load_rule_file(missing);
    FAIL() << "loaded a missing file";
  } catch (const RuleFileError& e) {
    EXPECT_EQ(std::string(e.what()), "rule file " + missing + ": cannot be read (missing or no permission)");
  }
}


// ---- every rule on its own terms: a plain mention fires it, a negated mention does not ----
//
// Built from the rule file itself, so a new rule is covered without writing cases by hand: for each
// rule, language and match item, the positive text mentions the first usable term of every group
// ("I have A and B." / "我A，B。"), the negative text denies each of them in its own clause ("I do
// not have A and I do not have B." / "我没有A，没有B。"). A term is usable for the negation when it
// does not itself begin with a negation cue (those are never negated, by design: "not breathing"), and
// a denial that happens to contain one of the rule's cue-initial terms (没有胎动) is not checked.

namespace rule_cases {

bool starts_with_cue(const std::string& term, const std::vector<std::string>& cues) {
  for (const std::string& c : cues)
    if (term.size() >= c.size() && term.compare(0, c.size(), c) == 0) return true;
  return false;
}

std::string plain(std::string term) {  // "seizure*" -> "seizure"
  if (!term.empty() && term.back() == '*') term.pop_back();
  return term;
}

// First term of `terms` that is not an excepted phrase, not cue-initial (for the negation), and
// free of wildcard-only stems shorter than 3 characters.
std::optional<std::string> usable(const std::vector<std::string>& terms, const std::vector<std::string>& cues,
                                  bool for_negation) {
  for (const std::string& t : terms) {
    const std::string p = plain(t);
    if (p.size() < 3) continue;
    if (for_negation && starts_with_cue(p, cues)) continue;
    return p;
  }
  return std::nullopt;
}

}  // namespace rule_cases

TEST(MedicalRules, EveryRuleFiresOnItsTermsAndNotOnTheirNegation) {
  using namespace rule_cases;
  const RuleSet& rules = shipped_rules();
  const MatchingConfig& m = rules.matching;
  size_t positives = 0, negatives = 0;
  std::set<std::string> covered;
  for (const RedFlagRule& rule : rules.rules) {
    for (const bool zh : {false, true}) {
      std::vector<std::string> cues = zh ? m.negation_cues.zh : m.negation_cues.en;
      const auto& adjacent = zh ? m.adjacent_cues.zh : m.adjacent_cues.en;
      cues.insert(cues.end(), adjacent.begin(), adjacent.end());
      // The rule's own cue-initial terms (没有胎动, "not breathing") fire whatever precedes them.
      std::vector<std::string> cue_terms;
      for (const MatchItem& it : rule.match)
        for (const Terms& g : it.groups)
          for (const std::string& t : zh ? g.zh : g.en)
            if (starts_with_cue(plain(t), cues)) cue_terms.push_back(plain(t));
      for (const MatchItem& item : rule.match) {
        std::vector<std::string> pos, neg;
        bool pos_ok = true, neg_ok = true;
        for (const Terms& g : item.groups) {
          const auto& terms = zh ? g.zh : g.en;
          auto p = usable(terms, cues, false);
          auto n = usable(terms, cues, true);
          if (!p) pos_ok = false; else pos.push_back(*p);
          if (!n) neg_ok = false; else neg.push_back(*n);
        }
        if (!pos_ok || pos.empty()) continue;
        std::string text = zh ? "我" : "I have ";
        for (size_t i = 0; i < pos.size(); ++i) text += (i ? (zh ? "，" : " and ") : "") + pos[i];
        text += zh ? "。" : ".";
        const auto got = fired(text);
        // A subsuming rule may be reported instead (chest_pain inside chest_pain_breathless).
        const bool fires_it = std::find(got.begin(), got.end(), rule.id) != got.end();
        const bool subsumed = std::any_of(rule.subsumed_by.begin(), rule.subsumed_by.end(), [&](const std::string& s) {
          return std::find(got.begin(), got.end(), s) != got.end();
        });
        EXPECT_TRUE(fires_it || subsumed) << rule.id << " should fire on: " << text;
        ++positives;
        covered.insert(rule.id);
        if (!neg_ok || neg.empty()) continue;
        std::string denied = zh ? "我" : "";
        for (size_t i = 0; i < neg.size(); ++i)
          denied += zh ? (i ? "，没有" : "没有") + neg[i] : (i ? " and I do not have " : "I do not have ") + neg[i];
        denied += zh ? "。" : ".";
        // "没有胎动少" contains the rule's own term 没有胎动: the safe reading fires, so no check.
        if (std::any_of(cue_terms.begin(), cue_terms.end(),
                        [&](const std::string& t) { return denied.find(t) != std::string::npos; }))
          continue;
        const auto none = fired(denied);
        EXPECT_EQ(std::find(none.begin(), none.end(), rule.id), none.end()) << rule.id << " fired on: " << denied;
        ++negatives;
      }
    }
  }
  // Every rule has at least one positive case built from its own terms.
  EXPECT_EQ(covered.size(), rules.rules.size());
  std::cout << "[rule cases] " << rules.rules.size() << " rules, " << positives << " positive and " << negatives
            << " negated texts\n";
}

}  // namespace
}  // namespace ds::medical
