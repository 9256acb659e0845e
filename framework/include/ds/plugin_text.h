// Plug-in SDK (header-only, C++20): small UTF-8 and keyword helpers for rule-based stages.
//
// All offsets are bytes. ASCII letters compare case-insensitively; every other byte compares
// exactly, so Chinese keywords match as written (the framework's NFKC normalization has already
// folded full-width forms such as "：" and "１" to ASCII). Pure functions, thread-safe.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace ds::sdk::text {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Lowercases ASCII letters only, so byte offsets stay valid.
inline std::string ascii_lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

inline bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ascii_alnum(char c) { return is_ascii_alpha(c) || is_ascii_digit(c); }

// The start of the UTF-8 character after the one starting at `i` (clamped to s.size()).
inline size_t utf8_next(std::string_view s, size_t i) {
  if (i >= s.size()) return s.size();
  ++i;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}

// The start of the UTF-8 character before offset `i` (0 if none).
inline size_t utf8_prev(std::string_view s, size_t i) {
  if (i == 0) return 0;
  i = std::min(i, s.size()) - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

// The longest prefix of `s` of at most `max_bytes` bytes that does not split a UTF-8 character.
inline std::string_view utf8_truncate(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

// Trims ASCII whitespace and the ideographic space U+3000.
inline std::string_view trim(std::string_view s) {
  auto space_at_front = [&] {
    if (s.empty()) return size_t{0};
    if (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') return size_t{1};
    return s.substr(0, 3) == "\xE3\x80\x80" ? size_t{3} : size_t{0};
  };
  auto space_at_back = [&] {
    if (s.empty()) return size_t{0};
    char c = s.back();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return size_t{1};
    return s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80" ? size_t{3} : size_t{0};
  };
  for (size_t n; (n = space_at_front()) > 0;) s.remove_prefix(n);
  for (size_t n; (n = space_at_back()) > 0;) s.remove_suffix(n);
  return s;
}

struct KeywordHit {
  size_t begin = 0;
  size_t end = 0;
  size_t keyword = 0;  // index into the keyword list
};

// Every occurrence of each keyword in `text`. ASCII keywords match case-insensitively and only as
// whole words: the byte before must not be a letter or digit, and the word must end there (an
// optional plural "s" is allowed), unless the keyword ends in '*', which leaves the end open: the
// hit then runs to the end of the word ("terminat*" matches all of "termination"). Other keywords
// match anywhere, byte for byte.
// Hits come sorted by begin, longer first at the same begin; they may overlap.
inline std::vector<KeywordHit> find_keywords(std::string_view text, const std::vector<std::string>& keywords) {
  const std::string lowered = ascii_lowercase(text);
  std::vector<KeywordHit> hits;
  for (size_t k = 0; k < keywords.size(); ++k) {
    std::string_view kw = keywords[k];
    const bool open_end = !kw.empty() && kw.back() == '*';
    if (open_end) kw.remove_suffix(1);
    if (kw.empty()) continue;
    const std::string needle = ascii_lowercase(kw);
    const bool ascii = is_ascii(kw);
    for (size_t pos = lowered.find(needle); pos != std::string::npos; pos = lowered.find(needle, pos + 1)) {
      size_t end = pos + needle.size();
      if (ascii) {
        if (pos > 0 && is_ascii_alnum(lowered[pos - 1]) && is_ascii_alnum(needle.front())) continue;
        if (open_end) {
          while (end < lowered.size() && is_ascii_alnum(lowered[end])) ++end;
        } else if (is_ascii_alnum(needle.back())) {
          if (end < lowered.size() && lowered[end] == 's' && (end + 1 >= lowered.size() || !is_ascii_alnum(lowered[end + 1])))
            ++end;
          else if (end < lowered.size() && is_ascii_alnum(lowered[end]))
            continue;
        }
      }
      hits.push_back({pos, end, k});
    }
  }
  std::sort(hits.begin(), hits.end(), [](const KeywordHit& a, const KeywordHit& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end > b.end;
    return a.keyword < b.keyword;
  });
  return hits;
}

}  // namespace ds::sdk::text
