#include "model/complexity_features.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace ds::model {

namespace {

// Word lists of SPEC.md section 7, sorted (binary search) and lower case.
constexpr std::string_view kEnglishNegations[] = {
    "aint",  "arent",  "cannot", "cant",   "couldnt", "didnt",   "doesnt", "dont",     "hadnt",
    "hasnt", "havent", "isnt",   "neither", "never",  "no",      "nobody", "none",     "nor",
    "not",   "nothing", "nowhere", "shouldnt", "wasnt", "werent", "without", "wont",   "wouldnt"};
constexpr std::string_view kEnglishSubordinators[] = {
    "after", "although", "because", "before",  "if",       "once",    "since", "that",  "though", "unless",
    "until", "when",     "whenever", "where",  "whereas",  "wherever", "whether", "which", "while", "who",
    "whom",  "whose"};
// Chinese conjunctions and clause connectives, matched leftmost-longest without overlap.
constexpr std::string_view kChineseSubordinators[] = {
    "因为", "由于", "所以", "因此", "如果", "假如", "要是", "的话", "虽然", "尽管", "即使", "但是", "可是", "不过", "然而",
    "而且", "并且", "或者", "还是", "除非", "只要", "只有", "无论", "不管", "然后", "之后", "以后", "之前", "以前", "时候"};
constexpr char32_t kChineseNegations[] = {U'不', U'没', U'沒', U'无', U'無', U'未', U'别', U'別', U'勿', U'莫'};

// The first characters of kChineseSubordinators, so most Han characters are rejected at once.
bool starts_subordinator(char32_t c) {
  static constexpr char32_t kFirst[] = {U'因', U'由', U'所', U'如', U'假', U'要', U'的', U'虽', U'尽', U'即', U'但', U'可',
                                        U'不', U'然', U'而', U'并', U'或', U'还', U'除', U'只', U'无', U'之', U'以', U'时'};
  return std::find(std::begin(kFirst), std::end(kFirst), c) != std::end(kFirst);
}

bool sorted_contains(std::span<const std::string_view> list, std::string_view word) {
  return std::binary_search(list.begin(), list.end(), word);
}

// One code point of UTF-8 at `i`; sets `len`. An invalid or truncated sequence is one byte long and
// decodes as U+FFFD.
char32_t decode_at(std::string_view s, size_t i, size_t& len) {
  const auto b = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  auto byte = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  len = 1;
  if (b < 0x80) return b;
  if (b >= 0xC2 && b < 0xE0 && cont(1)) {
    len = 2;
    return (static_cast<char32_t>(b & 0x1F) << 6) | byte(1);
  }
  if (b >= 0xE0 && b < 0xF0 && cont(1) && cont(2)) {
    char32_t c = (static_cast<char32_t>(b & 0x0F) << 12) | (byte(1) << 6) | byte(2);
    if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
      len = 3;
      return c;
    }
    return 0xFFFD;
  }
  if (b >= 0xF0 && b < 0xF5 && cont(1) && cont(2) && cont(3)) {
    char32_t c = (static_cast<char32_t>(b & 0x07) << 18) | (byte(1) << 12) | (byte(2) << 6) | byte(3);
    if (c >= 0x10000 && c <= 0x10FFFF) {
      len = 4;
      return c;
    }
  }
  return 0xFFFD;
}

bool is_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_latin_letter(char32_t c) { return is_ascii_letter(c) || (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7); }
bool is_han(char32_t c) {
  return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x2FA1F);
}
bool is_amount(char32_t c) {
  return is_ascii_digit(c) || c == '%' || c == '$' || c == 0xA3 || c == 0xA5 || c == 0x20AC || c == 0x2030 || c == 0xFFE5;
}
bool is_apostrophe(char32_t c) { return c == '\'' || c == 0x2019; }
// '.', ',' and ':' between two ASCII digits are part of a number (38.5, 10,000, 10:30).
bool is_sentence_end(char32_t c) { return c == 0x3002 || c == '!' || c == '?' || c == 0xFF01 || c == 0xFF1F || c == 0x2026; }
bool is_clause_punct(char32_t c) { return c == 0xFF0C || c == 0x3001 || c == ';' || c == 0xFF1B || c == 0xFF1A; }
bool is_negation_char(char32_t c) {
  return std::find(std::begin(kChineseNegations), std::end(kChineseNegations), c) != std::end(kChineseNegations);
}

// The running counts of one pass over the text.
struct Counts {
  int sentences = 0;
  int64_t sentence_chars = 0;
  int max_sentence_chars = 0;
  int current_chars = 0;
  int64_t non_space = 0;
  int64_t amounts = 0;
  int64_t han = 0;
  int64_t latin = 0;
  int clause_markers = 0;
  int question_marks = 0;
  int negations = 0;

  void end_sentence() {
    if (current_chars == 0) return;
    ++sentences;
    sentence_chars += current_chars;
    max_sentence_chars = std::max(max_sentence_chars, current_chars);
    current_chars = 0;
  }
};

// An English word being read: ASCII letters lower-cased, apostrophes as '\''.
class Word {
 public:
  void add(char c) {
    if (size_ < kMax) buf_[size_] = c;
    ++size_;
  }
  bool empty() const { return size_ == 0; }
  // Scores the finished word into `n` and starts a new one.
  void finish(Counts& n) {
    if (size_ > 0 && size_ <= kMax) {
      std::string_view w(buf_, size_);
      while (!w.empty() && w.front() == '\'') w.remove_prefix(1);
      while (!w.empty() && w.back() == '\'') w.remove_suffix(1);
      if (sorted_contains(kEnglishNegations, w) || (w.size() > 3 && w.ends_with("n't"))) ++n.negations;
      if (sorted_contains(kEnglishSubordinators, w)) ++n.clause_markers;
    }
    size_ = 0;
  }

 private:
  static constexpr size_t kMax = 24;  // longer words match no list
  char buf_[kMax];
  size_t size_ = 0;
};

}  // namespace

const std::array<std::string_view, kComplexityFeatureCount>& complexity_feature_names() {
  static const std::array<std::string_view, kComplexityFeatureCount> names = {
      "tokens",      "sentences",       "mean_sentence_chars", "max_sentence_chars", "mean_log_prob", "min_log_prob",
      "rare_token_share", "digit_share", "han_share",          "clause_markers",     "question_marks", "negations"};
  return names;
}

UnigramTable::UnigramTable(std::vector<float> log_probs) : log_probs_(std::move(log_probs)) {
  std::vector<float> finite;
  finite.reserve(log_probs_.size());
  for (float v : log_probs_)
    if (std::isfinite(v)) finite.push_back(v);
  if (!finite.empty()) {
    floor_ = *std::min_element(finite.begin(), finite.end());
    // The 10th percentile: the value at rank floor(0.1 * (n - 1)) of the ascending order.
    const size_t rank = (finite.size() - 1) / 10;
    std::nth_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(rank), finite.end());
    rare_below_ = finite[rank];
  }
  for (float& v : log_probs_)
    if (!std::isfinite(v)) v = floor_;
}

float UnigramTable::log_prob(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= log_probs_.size()) return floor_;
  return log_probs_[static_cast<size_t>(id)];
}

ComplexityFeatures complexity_features(std::string_view text, std::span<const int32_t> ids, const UnigramTable& table) {
  Counts n;
  Word word;
  size_t subordinator_end = 0;  // Chinese matches do not overlap: no new match starts before this byte
  char32_t next_c = 0;
  size_t next_len = 0;
  char32_t prev = 0;
  size_t len = 0;
  char32_t c = text.empty() ? 0 : decode_at(text, 0, len);
  for (size_t i = 0; i < text.size(); prev = c, i += len, c = next_c, len = next_len) {
    // One code point of look-ahead: '.', ',' and ':' between two digits belong to a number.
    next_len = 0;
    next_c = i + len < text.size() ? decode_at(text, i + len, next_len) : 0;
    const bool in_number = is_ascii_digit(prev) && is_ascii_digit(next_c);

    if (is_ascii_letter(c) || (is_apostrophe(c) && !word.empty())) {
      word.add(is_apostrophe(c) ? '\'' : static_cast<char>(c | 0x20));
    } else {
      word.finish(n);
    }

    if (is_space(c)) {
      if (c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) n.end_sentence();
      continue;
    }
    ++n.non_space;
    if (is_sentence_end(c) || (c == '.' && !in_number)) {
      if (c == '?' || c == 0xFF1F) ++n.question_marks;
      n.end_sentence();
      continue;
    }
    ++n.current_chars;
    if (is_amount(c)) ++n.amounts;
    if (is_latin_letter(c)) ++n.latin;
    if (is_clause_punct(c) || ((c == ',' || c == ':') && !in_number)) ++n.clause_markers;
    if (is_han(c)) {
      ++n.han;
      if (is_negation_char(c)) ++n.negations;
      if (i >= subordinator_end && starts_subordinator(c)) {
        size_t best = 0;
        for (std::string_view s : kChineseSubordinators)
          if (s.size() > best && text.substr(i).starts_with(s)) best = s.size();
        if (best > 0) {
          ++n.clause_markers;
          subordinator_end = i + best;
        }
      }
    }
  }
  word.finish(n);
  n.end_sentence();

  ComplexityFeatures f{};
  auto set = [&](ComplexityFeature k, double v) { f[static_cast<size_t>(k)] = static_cast<float>(v); };
  set(ComplexityFeature::kTokens, static_cast<double>(ids.size()));
  set(ComplexityFeature::kSentences, n.sentences);
  set(ComplexityFeature::kMeanSentenceChars, n.sentences ? static_cast<double>(n.sentence_chars) / n.sentences : 0.0);
  set(ComplexityFeature::kMaxSentenceChars, n.max_sentence_chars);
  if (!ids.empty()) {
    double sum = 0;
    float min = std::numeric_limits<float>::infinity();
    int64_t rare = 0;
    for (int32_t id : ids) {
      const float lp = table.log_prob(id);
      sum += lp;
      min = std::min(min, lp);
      rare += lp < table.rare_below();
    }
    set(ComplexityFeature::kMeanLogProb, sum / static_cast<double>(ids.size()));
    set(ComplexityFeature::kMinLogProb, min);
    set(ComplexityFeature::kRareTokenShare, static_cast<double>(rare) / static_cast<double>(ids.size()));
  }
  set(ComplexityFeature::kDigitShare, n.non_space ? static_cast<double>(n.amounts) / static_cast<double>(n.non_space) : 0.0);
  set(ComplexityFeature::kHanShare, n.han + n.latin ? static_cast<double>(n.han) / static_cast<double>(n.han + n.latin) : 0.0);
  set(ComplexityFeature::kClauseMarkers, n.clause_markers);
  set(ComplexityFeature::kQuestionMarks, n.question_marks);
  set(ComplexityFeature::kNegations, n.negations);
  return f;
}

}  // namespace ds::model
