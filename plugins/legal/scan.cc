#include "scan.h"

#include <algorithm>

#include "ds/plugin_text.h"

namespace ds::legal::scan {

namespace text = ds::sdk::text;

bool starts_with_ci(std::string_view s, size_t pos, std::string_view token) {
  if (pos > s.size() || token.size() > s.size() - pos) return false;
  for (size_t i = 0; i < token.size(); ++i)
    if (text::ascii_lower(s[pos + i]) != text::ascii_lower(token[i])) return false;
  return true;
}

bool word_at(std::string_view s, size_t pos, std::string_view token) {
  if (token.empty() || !starts_with_ci(s, pos, token)) return false;
  if (text::is_ascii_alpha(token.front()) && pos > 0 && text::is_ascii_alpha(s[pos - 1])) return false;
  const size_t end = pos + token.size();
  return !(text::is_ascii_alpha(token.back()) && end < s.size() && text::is_ascii_alpha(s[end]));
}

size_t skip_blanks(std::string_view s, size_t pos, size_t max) {
  for (; max > 0 && pos < s.size(); --max) {
    if (s[pos] == ' ' || s[pos] == '\t') {
      ++pos;
    } else if (s.substr(pos, 3) == "\xE3\x80\x80") {
      pos += 3;
    } else {
      break;
    }
  }
  return pos;
}

size_t skip_space(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t next = skip_blanks(s, pos, 1);
    if (next == pos && (s[pos] == '\n' || s[pos] == '\r')) next = pos + 1;
    if (next == pos) break;
    pos = next;
  }
  return pos;
}

namespace {

size_t one_of_at(std::string_view s, size_t pos, std::initializer_list<std::string_view> tokens) {
  for (std::string_view t : tokens)
    if (s.substr(std::min(pos, s.size()), t.size()) == t) return t.size();
  return 0;
}

}  // namespace

size_t open_paren_at(std::string_view s, size_t pos) { return one_of_at(s, pos, {"(", "（"}); }
size_t close_paren_at(std::string_view s, size_t pos) { return one_of_at(s, pos, {")", "）"}); }
size_t colon_at(std::string_view s, size_t pos) { return one_of_at(s, pos, {":", "："}); }
size_t quote_at(std::string_view s, size_t pos) { return one_of_at(s, pos, {"\"", "“", "”"}); }

bool clause_break_at(std::string_view s, size_t pos, bool comma) {
  if (pos >= s.size()) return false;
  const char c = s[pos];
  if (c == ';' || c == '!' || c == '?' || c == '\n') return true;
  if (one_of_at(s, pos, {"。", "；", "！", "？"})) return true;
  return comma && (c == ',' || one_of_at(s, pos, {"，", "、"}));
}

size_t clause_start(std::string_view s, size_t pos, size_t max_bytes, bool comma) {
  pos = std::min(pos, s.size());
  const size_t floor = pos > max_bytes ? pos - max_bytes : 0;
  size_t i = pos;
  while (i > floor) {
    const size_t prev = text::utf8_prev(s, i);
    if (prev < floor) break;
    if (clause_break_at(s, prev, comma)) return i;
    i = prev;
  }
  // Stopped by the window: move forward onto a character boundary.
  while (i < pos && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}

size_t clause_end(std::string_view s, size_t pos, size_t max_bytes, bool comma) {
  const size_t limit = std::min(s.size(), pos + max_bytes);
  size_t i = std::min(pos, s.size());
  while (i < limit && !clause_break_at(s, i, comma)) i = text::utf8_next(s, i);
  // A window ending mid-character stops at the character's start.
  while (i > pos && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace ds::legal::scan
