#include "question.h"

#include <unicode/uchar.h>

namespace ds::medqa {

namespace {

// The code point at s[i] (valid UTF-8 assumed) and its length.
std::pair<UChar32, size_t> next_code_point(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  n = std::min(n, s.size() - i);
  UChar32 cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return {cp, n};
}

}  // namespace

bool valid_utf8(std::string_view s, size_t* bad_offset) {
  size_t i = 0;
  auto fail = [&] {
    if (bad_offset) *bad_offset = i;
    return false;
  };
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
    else return fail();
    if (i + n > s.size()) return fail();
    uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return fail();
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail();
    i += n;
  }
  return true;
}

std::string clean_question(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  // Spaces and the ideographic space U+3000, mixed in any order, at either end.
  static constexpr std::string_view kWide = "\xE3\x80\x80";
  std::string_view v = out;
  for (bool trimmed = true; trimmed && !v.empty();) {
    trimmed = false;
    if (v.front() == ' ') v.remove_prefix(1), trimmed = true;
    else if (v.substr(0, 3) == kWide) v.remove_prefix(3), trimmed = true;
    if (!v.empty() && v.back() == ' ') v.remove_suffix(1), trimmed = true;
    else if (v.size() >= 3 && v.substr(v.size() - 3) == kWide) v.remove_suffix(3), trimmed = true;
  }
  return std::string(v);
}

std::optional<Refusal> check_question(std::string_view line, bool truncated, size_t max_chars) {
  if (truncated)
    return Refusal{"too_long", "the question is too long (more than " + std::to_string(kMaxLineBytes) +
                                   " bytes; at most " + std::to_string(max_chars) +
                                   " characters): shorten it to the main complaint (问题太长，请只写主要症状)"};
  if (!valid_utf8(line))
    return Refusal{"invalid_utf8",
                   "the question is not valid UTF-8 text; set the terminal to UTF-8 and type it again "
                   "(问题不是有效的UTF-8文本，请把终端设为UTF-8后重新输入)"};
  size_t chars = 0;
  bool letters = false;
  for (size_t i = 0; i < line.size();) {
    auto [cp, n] = next_code_point(line, i);
    i += n;
    ++chars;
    letters = letters || u_isalpha(cp);
  }
  if (chars > max_chars)
    return Refusal{"too_long", "the question is too long (" + std::to_string(chars) + " characters; at most " +
                                   std::to_string(max_chars) +
                                   "): shorten it to the main complaint (问题太长，请只写主要症状)"};
  if (clean_question(line).empty())
    return Refusal{"empty", "empty question: type a health question, or :help (请输入健康问题，或输入 :help)"};
  if (!letters)
    return Refusal{"no_words",
                   "the question has no words, only punctuation, digits or symbols (问题里没有文字，请用文字描述症状)"};
  return std::nullopt;
}

bool read_line(std::istream& in, std::string& line, bool& truncated, size_t max_bytes) {
  line.clear();
  truncated = false;
  bool any = false;
  for (int c; (c = in.get()) != std::char_traits<char>::eof();) {
    any = true;
    if (c == '\n') break;
    if (line.size() < max_bytes) line.push_back(static_cast<char>(c));
    else truncated = true;
  }
  if (!any) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

}  // namespace ds::medqa
