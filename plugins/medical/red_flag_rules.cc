#include "red_flag_rules.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <tuple>
#include <utility>

#include "ds/plugin_text.h"

namespace ds::medical {
namespace {

namespace text = ds::sdk::text;

const std::vector<std::string> kClauseBreaks = {",", ";", ":", ".", "!", "?", "\n", "。", "，", "；", "！", "？",
                                                "、", "但", "但是", "却", "but", "however", "although"};
const std::vector<std::string> kSentenceBreaks = {".", "!", "?", "\n", "。", "！", "？", ";", "；"};
const std::vector<std::string> kNegationCues = {"no",  "not", "denies", "denied", "deny", "without", "negative for",
                                                "free of", "never", "没有", "没", "无", "否认", "未", "不伴", "未见",
                                                "排除"};

std::vector<std::string> filter(const std::vector<std::string>& words, Language language) {
  std::vector<std::string> out;
  for (const std::string& w : words) {
    bool ascii = text::is_ascii(w);
    if (language == Language::kAuto || (language == Language::kEn) == ascii) out.push_back(w);
  }
  return out;
}

// Where clauses and sentences start in one text, so each hit looks its scope up in O(log n).
class Scopes {
 public:
  explicit Scopes(std::string_view s) : clause_(ends(s, kClauseBreaks)), sentence_(ends(s, kSentenceBreaks)) {}

  // The start of the clause or sentence containing `pos`: just after the last break before it.
  size_t clause_start(size_t pos) const { return last_before(clause_, pos); }
  size_t sentence_start(size_t pos) const { return last_before(sentence_, pos); }

 private:
  static std::vector<size_t> ends(std::string_view s, const std::vector<std::string>& breaks) {
    std::vector<size_t> out;
    for (const auto& hit : text::find_keywords(s, breaks)) {
      // "3.5" is a number, not a sentence end.
      if (s[hit.begin] == '.' && hit.begin + 1 < s.size() && text::is_ascii_digit(s[hit.begin + 1])) continue;
      out.push_back(hit.end);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static size_t last_before(const std::vector<size_t>& ends, size_t pos) {
    auto it = std::upper_bound(ends.begin(), ends.end(), pos);
    return it == ends.begin() ? 0 : *std::prev(it);
  }

  std::vector<size_t> clause_;
  std::vector<size_t> sentence_;
};

bool negated_in(std::string_view s, const Scopes& scopes, size_t begin) {
  size_t start = scopes.clause_start(begin);
  std::string_view scope = s.substr(start, begin - start);
  for (const auto& cue : text::find_keywords(scope, kNegationCues)) {
    // "无" and "没" inside a longer word are not cues: 无力 / 无法 (weak / unable) say the opposite.
    std::string_view rest = scope.substr(cue.end);
    if (rest.substr(0, 3) == "法" || rest.substr(0, 3) == "力") continue;
    return true;
  }
  return false;
}

struct Found {
  size_t begin, end;
};

std::vector<Found> live_hits(std::string_view s, const Scopes& scopes, const std::vector<std::string>& words,
                             bool negation) {
  std::vector<Found> out;
  size_t covered = 0;
  for (const auto& h : text::find_keywords(s, words)) {
    if (h.begin < covered) continue;  // inside a longer keyword already taken
    covered = h.end;
    if (negation && negated_in(s, scopes, h.begin)) continue;
    out.push_back({h.begin, h.end});
  }
  return out;
}

}  // namespace

const std::vector<RedFlagRule>& red_flag_rules() {
  static const std::vector<RedFlagRule> kRules = {
      {"chest_pain_breathless",
       {"chest pain", "chest tightness", "胸痛", "胸口痛", "胸口疼", "胸闷"},
       {"shortness of breath", "short of breath", "breathless*", "difficulty breathing", "trouble breathing",
        "呼吸困难", "气短", "气促", "喘不上气", "喘不过气"}},
      {"stroke_signs",
       {"face drooping", "facial droop", "slurred speech", "arm weakness", "one-sided weakness", "sudden numbness",
        "stroke", "口角歪斜", "嘴歪", "口齿不清", "言语不清", "说话不清", "一侧肢体无力", "半身不遂", "偏瘫", "中风",
        "卒中"},
       {}},
      {"severe_bleeding",
       {"severe bleeding", "heavy bleeding", "uncontrolled bleeding", "bleeding heavily", "won't stop bleeding",
        "vomiting blood", "coughing up blood", "大出血", "大量出血", "出血不止", "血流不止", "呕血", "咯血", "吐血"},
       {}},
      {"unconscious",
       {"unconscious", "unresponsive", "passed out", "fainted", "loss of consciousness", "昏迷", "意识丧失",
        "失去意识", "不省人事", "晕厥", "叫不醒"},
       {}},
      {"seizure", {"seizure*", "convulsion*", "抽搐", "癫痫发作", "惊厥"}, {}},
      {"suicidal",
       {"suicid*", "kill myself", "end my life", "want to die", "self-harm", "自杀", "轻生", "不想活", "结束生命",
        "自残"},
       {}},
      {"anaphylaxis",
       {"anaphyla*", "throat swelling", "throat is swelling", "swollen tongue", "lips swelling", "过敏性休克",
        "喉头水肿", "嘴唇肿", "舌头肿"},
       {}},
      {"not_breathing",
       {"not breathing", "can't breathe", "cannot breathe", "choking", "blue lips", "无法呼吸", "不能呼吸", "窒息",
        "嘴唇发紫", "嘴唇青紫"},
       {}},
  };
  return kRules;
}

Language parse_language(std::string_view name) {
  if (name == "zh") return Language::kZh;
  if (name == "en") return Language::kEn;
  return Language::kAuto;
}

bool negated_at(std::string_view s, size_t begin) { return negated_in(s, Scopes(s), begin); }

std::vector<RedFlagHit> find_red_flags(std::string_view s, Language language, bool negation) {
  std::vector<RedFlagHit> out;
  const Scopes scopes(s);
  for (const RedFlagRule& rule : red_flag_rules()) {
    std::set<size_t> sentences;  // one hit per rule and sentence
    auto first = live_hits(s, scopes, filter(rule.keywords, language), negation);
    if (rule.with.empty()) {
      for (const Found& f : first) {
        if (!sentences.insert(scopes.sentence_start(f.begin)).second) continue;
        out.push_back({rule.id, f.begin, f.end, std::string(s.substr(f.begin, f.end - f.begin))});
      }
      continue;
    }
    auto second = live_hits(s, scopes, filter(rule.with, language), negation);
    for (const Found& a : first) {
      size_t sentence = scopes.sentence_start(a.begin);
      for (const Found& b : second) {
        if (scopes.sentence_start(b.begin) != sentence || !sentences.insert(sentence).second) continue;
        size_t begin = std::min(a.begin, b.begin), end = std::max(a.end, b.end);
        out.push_back({rule.id, begin, end,
                       std::string(s.substr(a.begin, a.end - a.begin)) + " + " +
                           std::string(s.substr(b.begin, b.end - b.begin))});
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const RedFlagHit& x, const RedFlagHit& y) {
    return std::tie(x.begin, x.end, x.rule) < std::tie(y.begin, y.end, y.rule);
  });
  return out;
}

}  // namespace ds::medical
