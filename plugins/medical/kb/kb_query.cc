#include "kb_query.h"

#include <algorithm>
#include <set>

namespace ds::medical::kb {
namespace {

// Decodes the code point at s[i] and advances i; invalid bytes decode as U+FFFD, one byte each.
char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_cjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x2FFFF);
}

// Letters and digits of alphabetic scripts (Latin with accents, Greek, Cyrillic): word characters.
bool is_word(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x370 && c <= 0x52F);
}

const std::set<std::string>& stop_words() {
  static const std::set<std::string> words = {
      "a",     "about", "after",  "all", "also", "am",     "an",    "and", "any",   "are",   "as",   "at",
      "be",    "been",  "but",    "by",  "can",  "could",  "did",   "do",  "does",  "doing", "for",  "from",
      "get",   "got",   "had",    "has", "have", "having", "he",    "her", "his",   "how",   "i",    "if",
      "in",    "into",  "is",     "it",  "its",  "me",     "my",    "no",  "not",   "of",    "on",   "or",
      "our",   "she",   "should", "so",  "some", "than",   "that",  "the", "their", "them",  "then", "there",
      "these", "they",  "this",   "to",  "too",  "very",   "was",   "we",  "were",  "what",  "when", "where",
      "which", "while", "who",    "why", "will", "with",   "would", "you", "your",  "im",    "ive",  "dont"};
  return words;
}

// Chinese function characters (pronouns, particles, copulas, question words) and filler words:
// a 2- or 3-character window holding one says nothing about the topic, and matched against an
// alias such as 口渴得厉害 it would outweigh the content word (我头痛得厉害 is about 头痛).
bool is_cjk_stop_char(char32_t c) {
  static const std::u32string chars =
      U"我你他她它们的了得着过很吗呢吧啊呀么怎是在有和与或也都就还又把被给让从到对向这那哪些个请";
  return chars.find(c) != std::u32string::npos;
}

bool is_cjk_filler(char32_t a, char32_t b) {
  static const std::set<std::u32string> words = {
      U"厉害", U"什么", U"如何", U"为何", U"有点", U"一点", U"一直", U"总是", U"感觉", U"觉得", U"好像",
      U"可能", U"应该", U"需要", U"非常", U"特别", U"比较", U"最近", U"今天", U"昨天", U"几天", U"现在",
      U"时候", U"已经", U"然后", U"因为", U"所以", U"但是", U"如果", U"严重", U"办法", U"医生", U"问题"};
  return words.count(std::u32string{a, b}) > 0;
}

// A window of a Chinese run worth searching for: no function character, no filler word.
bool content_window(const std::vector<char32_t>& run, size_t begin, size_t n) {
  for (size_t k = begin; k < begin + n; ++k) {
    if (is_cjk_stop_char(run[k])) return false;
    if (k + 1 < begin + n && is_cjk_filler(run[k], run[k + 1])) return false;
  }
  return true;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (v.size() < kMaxTerms && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

QueryTerms analyze_query(std::string_view query) {
  QueryTerms t;
  std::vector<char32_t> run;
  bool run_is_cjk = false;
  auto flush = [&] {
    if (run.empty()) return;
    std::string text;
    for (char32_t c : run) append_utf8(text, c);
    const size_t n = run.size();
    if (!run_is_cjk) {
      if (!stop_words().count(text) && n >= 2) {
        add_unique(t.words, text);
        if (n >= 3)
          add_unique(t.fts, text);
        else
          add_unique(t.substring, text);
      }
    } else {
      t.has_cjk = true;
      if (n <= 12 && (n > 2 || content_window(run, 0, n))) add_unique(t.substring, text);
      // Function characters split the run into content pieces: 我的牙很疼 -> 牙, 疼.
      for (size_t b = 0; b < n;) {
        if (is_cjk_stop_char(run[b])) {
          ++b;
          continue;
        }
        size_t e = b;
        while (e < n && !is_cjk_stop_char(run[e])) ++e;
        const size_t m = e - b;
        auto piece = [&](size_t from, size_t len) {
          std::string out;
          for (size_t k = from; k < from + len; ++k) append_utf8(out, run[k]);
          return out;
        };
        if (m <= 2) {
          if (content_window(run, b, m)) add_unique(t.substring, piece(b, m));
        } else {
          if (m < n && m <= 12) add_unique(t.substring, piece(b, m));
          for (size_t i = b; i + 3 <= e; ++i)
            if (content_window(run, i, 3)) add_unique(t.fts, piece(i, 3));
          for (size_t i = b; i + 2 <= e; ++i)
            if (content_window(run, i, 2)) add_unique(t.substring, piece(i, 2));
        }
        b = e;
      }
    }
    run.clear();
  };
  for (size_t i = 0; i < query.size();) {
    char32_t c = next_code_point(query, i);
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII forms
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    const bool cjk = is_cjk(c);
    if (!cjk && !is_word(c)) {
      flush();
      continue;
    }
    if (!run.empty() && cjk != run_is_cjk) flush();
    run_is_cjk = cjk;
    run.push_back(c);
  }
  flush();
  return t;
}

std::string fts_match_expression(const std::vector<std::string>& terms) {
  std::string out;
  for (const std::string& term : terms) {
    if (!out.empty()) out += " OR ";
    out += '"';
    for (char c : term) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}

}  // namespace ds::medical::kb
