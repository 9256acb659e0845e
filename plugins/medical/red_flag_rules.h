// Bilingual red-flag rules for patient text, loaded from a YAML rule file
// (data/medical/red_flags.yaml; its header comment is the schema and the matching semantics). A
// deterministic baseline that runs before, and independent of, any model; rules only raise the
// triage level, never lower it.
//
// RedFlagMatcher is the C++ twin of data/medical/check_rules.py (Matcher): for the same rule file,
// language and NFKC-normalized text both report the same set of fired rules. A test holds them
// together over data/medical/triage/questions.jsonl.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ds::medical {

enum class Language { kAuto, kZh, kEn };
Language parse_language(std::string_view name);  // "auto" | "zh" | "en"; anything else is auto

// Ordered: a greater level is more urgent.
enum class Level { kUrgent, kEmergency };
std::string_view level_name(Level level);  // "urgent" | "emergency"

// A list of terms keyed by language, as written in the YAML ({en: [..], zh: [..]}).
struct Terms {
  std::vector<std::string> en;
  std::vector<std::string> zh;
};

struct MatchItem {
  bool all_of = false;        // false: any_of, `groups` has one entry
  std::vector<Terms> groups;  // all_of: a live term of every group, hits not overlapping
};

struct RedFlagRule {
  std::string id;
  Level level = Level::kEmergency;
  std::string rationale_en;
  std::string rationale_zh;
  bool text_scope = false;  // all_of groups may hit anywhere in the text (default: one sentence)
  std::vector<MatchItem> match;
  Terms except;
  std::vector<std::string> subsumed_by;
};

struct MatchingConfig {
  std::vector<std::string> sentence_breaks;
  Terms clause_breaks;
  Terms negation_cues;
  Terms adjacent_cues;  // negate only directly before the term (不发烧)
  Terms not_cues;       // contain a cue but do not negate (无力, not sure)
  int max_gap_en_words = 0;
  int max_gap_zh_chars = 0;
  Terms history_cues;
  Terms info_cues;
  Terms hedges;  // never suppress; only mark a hit `hedged`
};

struct RuleSet {
  std::string source;  // the file it was loaded from (for messages)
  MatchingConfig matching;
  std::vector<RedFlagRule> rules;
};

// A missing, unreadable or malformed rule file. what() names the file, and where known the line,
// column and key path: "red_flags.yaml:12:5: rules[3].level: must be emergency or urgent".
class RuleFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and validates a rule file (schema version 1). Throws RuleFileError.
RuleSet load_rule_file(const std::string& path);
// The same for YAML text already in memory; `name` stands for the file in messages.
RuleSet parse_rule_text(const std::string& yaml, const std::string& name);

// The rule file shipped with the project: the source tree's data/medical/red_flags.yaml (path
// compiled in), else share/deepseek/medical/red_flags.yaml above the folder of the library that
// holds this code. Throws RuleFileError listing the places tried when none exists.
std::string default_rule_file();

struct RedFlagHit {
  std::string rule;
  Level level = Level::kEmergency;
  size_t begin = 0;  // bytes in the searched text; an all_of hit spans all its terms
  size_t end = 0;
  std::string matched;  // the matched terms, lowercased, joined by " + " for all_of
  bool hedged = false;  // a hedge (maybe, 可能 ...) stands in the same sentence
};

struct RedFlagResult {
  std::vector<RedFlagHit> hits;      // sorted by position; at most one per rule and sentence
  std::vector<std::string> fired;    // ids of the rules that fired, in rule-file order
  std::optional<Level> level;        // the highest level among them; nullopt if none fired
};

// Applies a RuleSet to texts. Immutable after construction, so one instance may be shared by
// threads.
class RedFlagMatcher {
 public:
  // negation=false ignores negation cues (history and info cues still apply).
  RedFlagMatcher(RuleSet rules, Language language, bool negation = true);

  // `text` should be NFKC-normalized (as the framework's `normalized` field is); the matcher
  // itself folds ASCII case and the typographic apostrophes ’ ‘ to '. Offsets refer to `text`.
  RedFlagResult find(std::string_view text) const;

  const RuleSet& rules() const { return rules_; }

 private:
  struct Group {
    std::vector<std::string> terms;
  };
  struct Item {
    bool all_of = false;
    std::vector<Group> groups;
  };
  struct Rule {
    std::vector<Item> items;
    std::vector<std::string> except;
  };
  struct Context;
  using Span = std::pair<size_t, size_t>;  // [begin, end) bytes in the folded text

  std::vector<Span> live_hits(const Context& ctx, const std::vector<std::string>& terms,
                              const std::vector<Span>& excepts) const;
  bool negated(const Context& ctx, size_t begin, size_t end) const;
  bool suppressed(const Context& ctx, size_t begin, size_t end) const;

  RuleSet rules_;
  Language language_;
  bool negation_;
  std::vector<std::string> clause_breaks_, cues_, adjacent_cues_, not_cues_, context_cues_, hedges_;
  std::vector<Rule> compiled_;
};

}  // namespace ds::medical
