#include "question.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <set>
#include <vector>

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

bool looks_like_follow_up(std::string_view text) {
  size_t chars = 0;
  bool cjk = false;
  for (size_t i = 0; i < text.size();) {
    auto [cp, n] = next_code_point(text, i);
    i += n;
    ++chars;
    cjk = cjk || (cp >= 0x3400 && cp <= 0x9FFF);
  }
  if (chars == 0 || chars > kMaxFollowUpChars) return false;
  std::string lower(text);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  static const std::vector<std::string> kStarters = {
      "it ", "it's", "it\xE2\x80\x99s", "its ", "and ", "also ", "still ", "now ", "but ", "plus ", "since ",
      "它", "这", "还", "而且", "现在", "已经", "并且", "另外", "又"};
  for (const std::string& s : kStarters)
    if (lower.rfind(s, 0) == 0) return true;
  if (!cjk) {
    // Every word a time, duration or severity word (or a small function word); digits allowed.
    static const std::set<std::string> kWords = {
        "for", "since", "about", "around", "almost", "over", "under", "the", "last", "past", "a", "an", "few",
        "couple", "of", "several", "hour", "hours", "hr", "hrs", "h", "day", "days", "minute", "minutes", "min",
        "mins", "week", "weeks", "month", "months", "year", "years", "ago", "yesterday", "today", "tonight",
        "morning", "afternoon", "evening", "night", "this", "since", "started", "began", "getting", "got",
        "worse", "better", "more", "less", "severe", "mild", "moderate", "much", "very", "really", "now", "one",
        "two", "three", "four", "five", "six", "seven", "half", "and", "or", "is", "was", "gets", "worsening",
        "improving", "same", "constant", "on", "off", "ish", "or", "so"};
    size_t words = 0;
    std::string word;
    bool time_word = false;
    auto flush = [&] {
      if (word.empty()) return true;
      ++words;
      const bool ok = kWords.count(word) > 0;
      time_word = time_word || (ok && word != "a" && word != "an" && word != "the" && word != "for" &&
                                word != "and" && word != "or" && word != "of" && word != "is" && word != "was");
      word.clear();
      return ok;
    };
    for (char c : lower) {
      if (c >= 'a' && c <= 'z') {
        word.push_back(c);
      } else if (!flush()) {
        return false;
      }
    }
    if (!flush()) return false;
    return words > 0 && time_word;
  }
  // Chinese: nothing left once time, duration and severity terms, digits and particles are removed.
  static const std::vector<std::string> kTerms = {
      "小时", "分钟", "个月", "星期", "礼拜", "天", "周", "年", "月", "昨天", "今天", "前天", "早上", "上午", "下午",
      "晚上", "夜里", "半夜", "刚才", "以来", "之前", "以前", "开始", "持续", "一直", "越来越", "更严重", "严重",
      "加重", "厉害", "好转", "好点", "减轻", "一", "两", "二", "三", "四", "五", "六", "七", "八", "九", "十",
      "半", "几", "多", "个", "了", "的", "有", "从", "更", "很", "比较", "点", "得", "已经", "快", "左右", "大概",
      "差不多", "约", "还是", "没", "现在", "啊", "呢", "吧", "，", "。", "！", "？"};
  std::string rest = lower;
  bool any = false;
  for (const std::string& t : kTerms) {
    for (size_t at; (at = rest.find(t)) != std::string::npos;) {
      rest.erase(at, t.size());
      any = true;
    }
  }
  rest.erase(std::remove_if(rest.begin(), rest.end(),
                            [](char c) { return c == ' ' || c == ',' || c == '.' || c == '!' || c == '?' ||
                                                (c >= '0' && c <= '9'); }),
             rest.end());
  return any && rest.empty();
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
