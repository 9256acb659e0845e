// Bilingual keyword rules for emergency red flags in patient text (a deterministic baseline that
// runs before, and independent of, any model; rules may only raise urgency).
//
// A rule fires on one of its keywords, or, for combination rules, on a keyword of each of its two
// groups within one sentence. A keyword is negated (and ignored) when a negation cue ("no",
// "denies", "without", 没有, 无, 否认, 未, 不伴 ...) stands before it in the same clause, i.e. with
// no comma, semicolon, sentence end or "but"/但 in between (a NegEx-style scope).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::medical {

struct RedFlagRule {
  std::string id;                      // e.g. "stroke_signs"
  std::vector<std::string> keywords;   // any one fires the rule (single rules)
  std::vector<std::string> with;       // combination rules: also one of these in the same sentence
};

const std::vector<RedFlagRule>& red_flag_rules();

enum class Language { kAuto, kZh, kEn };
Language parse_language(std::string_view name);  // "auto" | "zh" | "en"

struct RedFlagHit {
  std::string rule;
  size_t begin = 0;  // bytes in the searched text; a combination spans both keywords
  size_t end = 0;
  std::string matched;  // the text that matched
};

// Every rule firing in `text`, sorted by position; one hit per rule and sentence.
std::vector<RedFlagHit> find_red_flags(std::string_view text, Language language, bool negation);

// True if a negation cue precedes `begin` within its clause.
bool negated_at(std::string_view text, size_t begin);

}  // namespace ds::medical
