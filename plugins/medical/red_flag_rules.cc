#include "red_flag_rules.h"

#include <dlfcn.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "ds/plugin_text.h"

namespace ds::medical {

Language parse_language(std::string_view name) {
  if (name == "zh") return Language::kZh;
  if (name == "en") return Language::kEn;
  return Language::kAuto;
}

std::string_view level_name(Level level) { return level == Level::kEmergency ? "emergency" : "urgent"; }

// ------------------------------------------------------------------------------ loading --------
namespace {

namespace fs = std::filesystem;
namespace text = ds::sdk::text;

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& message) const {
    std::string where = file_;
    if (node.IsDefined() && !node.Mark().is_null())
      where += ":" + std::to_string(node.Mark().line + 1) + ":" + std::to_string(node.Mark().column + 1);
    throw RuleFileError("rule file " + where + ": " + key + ": " + message);
  }

  // map[name], which must exist and be of `type` unless optional.
  YAML::Node child(const YAML::Node& map, const std::string& key, const char* name, YAML::NodeType::value type,
                   bool optional = false) const {
    YAML::Node node = map[name];
    const std::string path = key.empty() ? name : key + "." + name;
    if (!node.IsDefined() || node.IsNull()) {
      if (optional) return YAML::Node(YAML::NodeType::Undefined);
      fail(map, path, "missing");
    }
    if (node.Type() != type) fail(node, path, std::string("must be a ") + type_name(type));
    return node;
  }

  std::string scalar(const YAML::Node& map, const std::string& key, const char* name) const {
    YAML::Node node = child(map, key, name, YAML::NodeType::Scalar);
    return node.Scalar();
  }

  std::vector<std::string> strings(const YAML::Node& seq, const std::string& key) const {
    if (!seq.IsSequence()) fail(seq, key, "must be a list of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < seq.size(); ++i) {
      const YAML::Node item = seq[i];
      const std::string where = key + "[" + std::to_string(i) + "]";
      if (!item.IsScalar() || item.Scalar().empty()) fail(item, where, "must be a non-empty string");
      out.push_back(item.Scalar());
    }
    return out;
  }

  // {en: [..], zh: [..]}; need_terms: at least one term in all.
  Terms terms(const YAML::Node& node, const std::string& key, bool need_terms) const {
    if (!node.IsMap()) fail(node, key, "must be a mapping with en and/or zh lists");
    Terms out;
    for (const auto& kv : node) {
      const std::string lang = kv.first.Scalar();
      if (lang == "en") out.en = strings(kv.second, key + ".en");
      else if (lang == "zh") out.zh = strings(kv.second, key + ".zh");
      else fail(kv.first, key + "." + lang, "unknown language key (en or zh)");
    }
    if (need_terms && out.en.empty() && out.zh.empty()) fail(node, key, "has no terms");
    return out;
  }

  const std::string& file() const { return file_; }

 private:
  static const char* type_name(YAML::NodeType::value type) {
    switch (type) {
      case YAML::NodeType::Map: return "mapping";
      case YAML::NodeType::Sequence: return "list";
      default: return "scalar";
    }
  }

  std::string file_;
};

MatchingConfig read_matching(const Reader& r, const YAML::Node& root) {
  const YAML::Node m = r.child(root, "", "matching", YAML::NodeType::Map);
  MatchingConfig out;
  out.sentence_breaks = r.strings(r.child(m, "matching", "sentence_breaks", YAML::NodeType::Sequence),
                                  "matching.sentence_breaks");
  out.clause_breaks = r.terms(r.child(m, "matching", "clause_breaks", YAML::NodeType::Map), "matching.clause_breaks", true);
  const YAML::Node neg = r.child(m, "matching", "negation", YAML::NodeType::Map);
  out.negation_cues = r.terms(r.child(neg, "matching.negation", "cues", YAML::NodeType::Map), "matching.negation.cues", true);
  if (YAML::Node adj = r.child(neg, "matching.negation", "adjacent_cues", YAML::NodeType::Map, true); adj.IsDefined())
    out.adjacent_cues = r.terms(adj, "matching.negation.adjacent_cues", false);
  if (YAML::Node nc = r.child(neg, "matching.negation", "not_cues", YAML::NodeType::Map, true); nc.IsDefined())
    out.not_cues = r.terms(nc, "matching.negation.not_cues", false);
  const YAML::Node gap = r.child(neg, "matching.negation", "max_gap", YAML::NodeType::Map);
  for (auto [name, dest] : {std::pair{"en_words", &out.max_gap_en_words}, std::pair{"zh_chars", &out.max_gap_zh_chars}}) {
    const YAML::Node v = r.child(gap, "matching.negation.max_gap", name, YAML::NodeType::Scalar);
    int n = -1;
    if (!YAML::convert<int>::decode(v, n) || n < 0)
      r.fail(v, std::string("matching.negation.max_gap.") + name, "must be a non-negative integer");
    *dest = n;
  }
  for (auto [name, dest] : {std::pair{"history_cues", &out.history_cues}, std::pair{"info_cues", &out.info_cues},
                            std::pair{"hedges", &out.hedges}}) {
    if (YAML::Node g = r.child(m, "matching", name, YAML::NodeType::Map, true); g.IsDefined())
      *dest = r.terms(g, std::string("matching.") + name, false);
  }
  return out;
}

RedFlagRule read_rule(const Reader& r, const YAML::Node& node, const std::string& key) {
  static const std::set<std::string> kKeys = {"id", "level", "source", "rationale", "scope", "match", "except",
                                              "subsumed_by"};
  if (!node.IsMap()) r.fail(node, key, "must be a mapping");
  for (const auto& kv : node) {
    if (!kKeys.count(kv.first.Scalar()))
      r.fail(kv.first, key + "." + kv.first.Scalar(),
             "unknown key (id, level, source, rationale, scope, match, except, subsumed_by)");
  }
  RedFlagRule rule;
  rule.id = r.scalar(node, key, "id");
  static const std::regex kSnake("[a-z][a-z0-9_]*");
  if (!std::regex_match(rule.id, kSnake)) r.fail(node["id"], key + ".id", "must be snake_case");
  const std::string where = "rules." + rule.id;
  r.scalar(node, where, "source");
  const std::string level = r.scalar(node, where, "level");
  if (level == "emergency") rule.level = Level::kEmergency;
  else if (level == "urgent") rule.level = Level::kUrgent;
  else r.fail(node["level"], where + ".level", "must be emergency or urgent, not '" + level + "'");
  const YAML::Node rationale = r.child(node, where, "rationale", YAML::NodeType::Map);
  rule.rationale_en = r.scalar(rationale, where + ".rationale", "en");
  rule.rationale_zh = r.scalar(rationale, where + ".rationale", "zh");
  if (YAML::Node scope = r.child(node, where, "scope", YAML::NodeType::Scalar, true); scope.IsDefined()) {
    if (scope.Scalar() == "text") rule.text_scope = true;
    else if (scope.Scalar() != "sentence") r.fail(scope, where + ".scope", "must be sentence or text");
  }
  const YAML::Node match = r.child(node, where, "match", YAML::NodeType::Sequence);
  if (match.size() == 0) r.fail(match, where + ".match", "must be a non-empty list");
  for (size_t i = 0; i < match.size(); ++i) {
    const YAML::Node item = match[i];
    const std::string at = where + ".match[" + std::to_string(i) + "]";
    if (!item.IsMap() || item.size() != 1) r.fail(item, at, "must have one key, any_of or all_of");
    const std::string kind = item.begin()->first.Scalar();
    const YAML::Node body = item.begin()->second;
    MatchItem mi;
    if (kind == "any_of") {
      mi.groups.push_back(r.terms(body, at + ".any_of", true));
    } else if (kind == "all_of") {
      mi.all_of = true;
      if (!body.IsSequence() || body.size() < 2) r.fail(body, at + ".all_of", "must be a list of at least two groups");
      for (size_t j = 0; j < body.size(); ++j)
        mi.groups.push_back(r.terms(body[j], at + ".all_of[" + std::to_string(j) + "]", true));
    } else {
      r.fail(item, at, "must have one key, any_of or all_of (not '" + kind + "')");
    }
    rule.match.push_back(std::move(mi));
  }
  if (YAML::Node ex = r.child(node, where, "except", YAML::NodeType::Map, true); ex.IsDefined())
    rule.except = r.terms(ex, where + ".except", true);
  if (YAML::Node sub = r.child(node, where, "subsumed_by", YAML::NodeType::Sequence, true); sub.IsDefined())
    rule.subsumed_by = r.strings(sub, where + ".subsumed_by");
  return rule;
}

RuleSet read_rules(const Reader& r, const YAML::Node& root) {
  if (!root.IsMap()) r.fail(root, "(top)", "must be a mapping with version, matching and rules");
  const YAML::Node version = r.child(root, "", "version", YAML::NodeType::Scalar);
  if (version.Scalar() != "1") r.fail(version, "version", "must be 1 (this plug-in reads schema version 1)");
  RuleSet out;
  out.source = r.file();
  out.matching = read_matching(r, root);
  const YAML::Node rules = r.child(root, "", "rules", YAML::NodeType::Sequence);
  if (rules.size() == 0) r.fail(rules, "rules", "no rules");
  std::set<std::string> ids;
  for (size_t i = 0; i < rules.size(); ++i) {
    out.rules.push_back(read_rule(r, rules[i], "rules[" + std::to_string(i) + "]"));
    if (!ids.insert(out.rules.back().id).second) r.fail(rules[i], "rules." + out.rules.back().id, "duplicate rule id");
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    for (const std::string& other : out.rules[i].subsumed_by) {
      if (!ids.count(other))
        r.fail(rules[i]["subsumed_by"], "rules." + out.rules[i].id + ".subsumed_by", "unknown rule '" + other + "'");
    }
  }
  return out;
}

RuleSet parse(const Reader& r, const std::string& yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw RuleFileError("rule file " + r.file() + ":" + std::to_string(e.mark.line + 1) + ":" +
                        std::to_string(e.mark.column + 1) + ": YAML syntax: " + e.msg);
  }
  try {
    return read_rules(r, root);
  } catch (const YAML::Exception& e) {  // e.g. a scalar read as a mapping
    throw RuleFileError("rule file " + r.file() + ":" + std::to_string(e.mark.line + 1) + ":" +
                        std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

}  // namespace

RuleSet parse_rule_text(const std::string& yaml, const std::string& name) { return parse(Reader(name), yaml); }

RuleSet load_rule_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuleFileError("rule file " + path + ": cannot be read (missing or no permission)");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse(Reader(path), buf.str());
}

std::string default_rule_file() {
  std::vector<fs::path> tried;
#ifdef DS_MEDICAL_RULES_FILE
  tried.emplace_back(DS_MEDICAL_RULES_FILE);
#endif
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&default_rule_file), &info) && info.dli_fname) {
    const fs::path dir = fs::absolute(info.dli_fname).parent_path();
    for (const fs::path& up : {dir.parent_path(), dir.parent_path().parent_path()})
      tried.push_back(up / "share" / "deepseek" / "medical" / "red_flags.yaml");
  }
  std::string list;
  for (const fs::path& p : tried) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    list += (list.empty() ? "" : ", ") + p.string();
  }
  throw RuleFileError("no red-flag rule file found (tried " + list + "); set the stage option 'rules'");
}

// ------------------------------------------------------------------------------ matching -------
namespace {

using Span = std::pair<size_t, size_t>;  // [begin, end) bytes in the folded text

// ds::sdk::text::find_keywords without repeated spans, sorted by begin, longer first.
std::vector<Span> find_terms(std::string_view low, const std::vector<std::string>& terms) {
  std::vector<Span> out;
  if (terms.empty()) return out;
  for (const auto& h : text::find_keywords(low, terms)) {
    if (out.empty() || out.back() != Span{h.begin, h.end}) out.emplace_back(h.begin, h.end);
  }
  return out;
}

std::vector<std::string> terms_of(const Terms& t, Language language) {
  std::vector<std::string> out;
  if (language != Language::kZh) out.insert(out.end(), t.en.begin(), t.en.end());
  if (language != Language::kEn) out.insert(out.end(), t.zh.begin(), t.zh.end());
  return out;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& more) { to.insert(to.end(), more.begin(), more.end()); }

// Breaks of a text, sorted by (begin, end); "." before a digit (3.5) is not one.
std::vector<Span> breaks(std::string_view low, const std::vector<std::string>& terms) {
  std::vector<Span> out;
  for (const Span& s : find_terms(low, terms)) {
    if (low[s.first] == '.' && s.second < low.size() && text::is_ascii_digit(low[s.second])) continue;
    out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool overlaps(const Span& a, const Span& b) { return a.first < b.second && b.first < a.second; }

// The code point starting at byte i (i is a lead byte); advances i.
char32_t next_code_point(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

// Python's str.isspace (\s in a str pattern).
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The gap between an ASCII cue and a term in words: runs of [a-z0-9'] plus each non-ASCII character.
size_t gap_words(std::string_view gap) {
  size_t n = 0;
  bool in_word = false;
  for (size_t i = 0; i < gap.size();) {
    const char32_t c = next_code_point(gap, i);
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'';
    if (word && !in_word) ++n;
    if (c >= 0x80) ++n;
    in_word = word;
  }
  return n;
}

// The gap between a Chinese cue and a term in characters, whitespace not counted.
size_t gap_chars(std::string_view gap) {
  size_t n = 0;
  for (size_t i = 0; i < gap.size();) n += !is_space(next_code_point(gap, i));
  return n;
}

}  // namespace

struct RedFlagMatcher::Context {
  std::string low;                 // ASCII-lowercased, apostrophes folded
  std::vector<size_t> to_text;     // low offset -> text offset (size low.size() + 1)
  std::vector<size_t> sentence_ends;
  std::vector<Span> clause, not_cues, cues, adjacent, context, hedges;

  // The start of the sentence holding `pos`: the last sentence end at or before it.
  size_t sentence_start(size_t pos) const {
    size_t best = 0;
    for (size_t e : sentence_ends) {
      if (e > pos) break;
      best = e;
    }
    return best;
  }

  Span clause_of(size_t begin, size_t end) const {
    Span out{0, low.size()};
    for (const Span& c : clause) {
      if (c.second <= begin) {
        out.first = c.second;
      } else if (c.first >= end) {
        out.second = c.first;
        break;
      }
    }
    return out;
  }

  bool in_not_cue(const Span& cue) const {
    return std::any_of(not_cues.begin(), not_cues.end(), [&](const Span& n) { return overlaps(n, cue); });
  }
};

RedFlagMatcher::RedFlagMatcher(RuleSet rules, Language language, bool negation)
    : rules_(std::move(rules)), language_(language), negation_(negation) {
  const MatchingConfig& m = rules_.matching;
  clause_breaks_ = terms_of(m.clause_breaks, language_);
  cues_ = terms_of(m.negation_cues, language_);
  adjacent_cues_ = terms_of(m.adjacent_cues, language_);
  not_cues_ = terms_of(m.not_cues, language_);
  context_cues_ = terms_of(m.history_cues, language_);
  append(context_cues_, terms_of(m.info_cues, language_));
  hedges_ = terms_of(m.hedges, language_);
  for (const RedFlagRule& r : rules_.rules) {
    Rule c;
    c.except = terms_of(r.except, language_);
    for (const MatchItem& mi : r.match) {
      Item item;
      item.all_of = mi.all_of;
      for (const Terms& g : mi.groups) item.groups.push_back({terms_of(g, language_)});
      c.items.push_back(std::move(item));
    }
    compiled_.push_back(std::move(c));
  }
}

bool RedFlagMatcher::negated(const Context& ctx, size_t begin, size_t end) const {
  // A term that itself begins with a cue ("not breathing", 没反应) is never negated by another.
  for (const auto* list : {&ctx.cues, &ctx.adjacent}) {
    for (const Span& c : *list)
      if (c.first == begin && c.second <= end) return false;
  }
  const size_t start = ctx.clause_of(begin, end).first;
  const MatchingConfig& m = rules_.matching;
  for (const Span& c : ctx.cues) {
    if (c.first < start || c.second > begin || ctx.in_not_cue(c)) continue;
    const std::string_view gap = std::string_view(ctx.low).substr(c.second, begin - c.second);
    if (text::is_ascii(std::string_view(ctx.low).substr(c.first, c.second - c.first))) {
      if (gap_words(gap) <= static_cast<size_t>(m.max_gap_en_words)) return true;
    } else if (gap_chars(gap) <= static_cast<size_t>(m.max_gap_zh_chars)) {
      return true;
    }
  }
  for (const Span& c : ctx.adjacent) {
    if (c.second == begin && c.first >= start && !ctx.in_not_cue(c)) return true;
  }
  return false;
}

bool RedFlagMatcher::suppressed(const Context& ctx, size_t begin, size_t end) const {
  const Span clause = ctx.clause_of(begin, end);
  return std::any_of(ctx.context.begin(), ctx.context.end(), [&](const Span& c) {
    return c.first >= clause.first && c.second <= clause.second && (c.second <= begin || c.first >= end);
  });
}

std::vector<std::pair<size_t, size_t>> RedFlagMatcher::live_hits(const Context& ctx, const std::vector<std::string>& terms,
                                                            const std::vector<Span>& excepts) const {
  std::vector<Span> out;
  size_t covered = 0;
  for (const auto& [b, e] : find_terms(ctx.low, terms)) {
    if (b < covered) continue;  // inside a longer hit already taken
    covered = e;
    const Span hit{b, e};
    if (std::any_of(excepts.begin(), excepts.end(), [&](const Span& x) { return overlaps(x, hit); })) continue;
    if ((negation_ && negated(ctx, b, e)) || suppressed(ctx, b, e)) continue;
    out.push_back({b, e});
  }
  return out;
}

namespace {

// The first choice of one hit per group (in the order of itertools.product) whose hits do not
// overlap and, if `sentence` is set, all start in that sentence.
bool first_combo(const std::vector<std::vector<Span>>& groups, size_t g, std::vector<Span>& chosen,
                 const std::function<bool(const Span&)>& allowed) {
  if (g == groups.size()) return true;
  for (const Span& s : groups[g]) {
    if (!allowed(s)) continue;
    if (std::any_of(chosen.begin(), chosen.end(), [&](const Span& c) { return overlaps(c, s); })) continue;
    chosen.push_back(s);
    if (first_combo(groups, g + 1, chosen, allowed)) return true;
    chosen.pop_back();
  }
  return false;
}

}  // namespace

RedFlagResult RedFlagMatcher::find(std::string_view s) const {
  Context ctx;
  ctx.low.reserve(s.size());
  ctx.to_text.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    // ’ and ‘ (U+2019, U+2018) fold to the ASCII apostrophe, as the rule file asks.
    if (s.compare(i, 3, "\xE2\x80\x99") == 0 || s.compare(i, 3, "\xE2\x80\x98") == 0) {
      ctx.low.push_back('\'');
      ctx.to_text.push_back(i);
      i += 3;
      continue;
    }
    ctx.low.push_back(text::ascii_lower(s[i]));
    ctx.to_text.push_back(i++);
  }
  ctx.to_text.push_back(s.size());
  const std::string_view low = ctx.low;
  for (const Span& b : breaks(low, rules_.matching.sentence_breaks)) ctx.sentence_ends.push_back(b.second);
  ctx.clause = breaks(low, clause_breaks_);
  ctx.not_cues = find_terms(low, not_cues_);
  ctx.cues = find_terms(low, cues_);
  ctx.adjacent = find_terms(low, adjacent_cues_);
  ctx.context = find_terms(low, context_cues_);
  ctx.hedges = find_terms(low, hedges_);

  auto piece = [&](const Span& sp) {
    return std::string(s.substr(ctx.to_text[sp.first], ctx.to_text[sp.second] - ctx.to_text[sp.first]));
  };

  struct Finding {
    Span span;
    std::string matched;
  };
  std::vector<std::vector<Finding>> found(rules_.rules.size());
  for (size_t r = 0; r < rules_.rules.size(); ++r) {
    const RedFlagRule& rule = rules_.rules[r];
    const Rule& c = compiled_[r];
    const std::vector<Span> excepts = find_terms(low, c.except);
    std::vector<Finding>& out = found[r];
    for (const Item& item : c.items) {
      if (!item.all_of) {
        for (const Span& h : live_hits(ctx, item.groups[0].terms, excepts)) out.push_back({h, piece(h)});
        continue;
      }
      std::vector<std::vector<Span>> groups;
      for (const Group& g : item.groups) groups.push_back(live_hits(ctx, g.terms, excepts));
      if (std::any_of(groups.begin(), groups.end(), [](const auto& g) { return g.empty(); })) continue;
      auto add = [&](const std::vector<Span>& combo) {
        Finding f{combo[0], ""};
        for (const Span& sp : combo) {
          f.span = {std::min(f.span.first, sp.first), std::max(f.span.second, sp.second)};
          f.matched += (f.matched.empty() ? "" : " + ") + piece(sp);
        }
        out.push_back(std::move(f));
      };
      std::vector<Span> combo;
      if (rule.text_scope) {
        if (first_combo(groups, 0, combo, [](const Span&) { return true; })) add(combo);
        continue;
      }
      std::set<size_t> sentences;
      for (const Span& h : groups[0]) sentences.insert(ctx.sentence_start(h.first));
      for (size_t sentence : sentences) {
        combo.clear();
        auto same = [&](const Span& sp) { return ctx.sentence_start(sp.first) == sentence; };
        if (first_combo(groups, 0, combo, same)) add(combo);
      }
    }
  }

  // subsumed_by, in rule order against what is still reported (as check_rules.py does).
  std::set<std::string> fired;
  for (size_t r = 0; r < rules_.rules.size(); ++r)
    if (!found[r].empty()) fired.insert(rules_.rules[r].id);
  for (size_t r = 0; r < rules_.rules.size(); ++r) {
    const RedFlagRule& rule = rules_.rules[r];
    if (!fired.count(rule.id)) continue;
    if (std::any_of(rule.subsumed_by.begin(), rule.subsumed_by.end(), [&](const auto& o) { return fired.count(o) > 0; }))
      fired.erase(rule.id);
  }

  RedFlagResult result;
  for (size_t r = 0; r < rules_.rules.size(); ++r) {
    const RedFlagRule& rule = rules_.rules[r];
    if (!fired.count(rule.id)) continue;
    result.fired.push_back(rule.id);
    if (!result.level || rule.level > *result.level) result.level = rule.level;
    std::vector<Finding>& fs = found[r];
    std::stable_sort(fs.begin(), fs.end(), [](const Finding& a, const Finding& b) { return a.span < b.span; });
    std::set<size_t> sentences;  // one hit per rule and sentence
    for (const Finding& f : fs) {
      const size_t sentence = ctx.sentence_start(f.span.first);
      if (!sentences.insert(sentence).second) continue;
      size_t sentence_end = low.size();
      for (size_t e : ctx.sentence_ends) {
        if (e >= f.span.second) {
          sentence_end = e;
          break;
        }
      }
      const bool hedged = std::any_of(ctx.hedges.begin(), ctx.hedges.end(), [&](const Span& h) {
        return h.first >= sentence && h.second <= sentence_end;
      });
      result.hits.push_back({rule.id, rule.level, ctx.to_text[f.span.first], ctx.to_text[f.span.second], f.matched, hedged});
    }
  }
  std::sort(result.hits.begin(), result.hits.end(), [](const RedFlagHit& x, const RedFlagHit& y) {
    return std::tie(x.begin, x.end, x.rule) < std::tie(y.begin, y.end, y.rule);
  });
  return result;
}

}  // namespace ds::medical
