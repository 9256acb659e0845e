#include "text/segment.h"

#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace ds {
namespace {

// Headings are short: a numbered title line ("第一条 定义", "ARTICLE 5 PAYMENT") or an unnumbered
// one ("采购合同", "SERVICES AGREEMENT"), counted in code points.
constexpr size_t kMaxNumberedHeadingChars = 60;
constexpr size_t kMaxPlainHeadingChars = 30;

UChar32 cp_at(std::string_view s, size_t i, size_t* next = nullptr) {
  int32_t pos = static_cast<int32_t>(i);
  UChar32 c;
  U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), pos, static_cast<int32_t>(s.size()), c);
  if (next) *next = static_cast<size_t>(pos);
  return c;
}

UChar32 cp_before(std::string_view s, size_t i, size_t* start = nullptr) {
  int32_t pos = static_cast<int32_t>(i);
  UChar32 c;
  U8_PREV(reinterpret_cast<const uint8_t*>(s.data()), 0, pos, c);
  if (start) *start = static_cast<size_t>(pos);
  return c;
}

bool is_space(UChar32 c) { return c == 0xFEFF || (c >= 0 && u_isUWhiteSpace(c)); }
bool is_digit(UChar32 c) { return c >= '0' && c <= '9'; }
bool is_cjk(UChar32 c) { return c >= 0x2E80; }

bool is_cn_numeral(UChar32 c) {
  static const std::u32string_view kNumerals = U"零〇一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾佰";
  return kNumerals.find(static_cast<char32_t>(c)) != std::u32string_view::npos;
}

bool is_final_punct(UChar32 c) {
  static const std::u32string_view kFinal = U"。．.!?！？;；:：,，、…";
  return kFinal.find(static_cast<char32_t>(c)) != std::u32string_view::npos;
}

bool is_clause_separator(UChar32 c) {
  static const std::u32string_view kSeparators = U",，;；:：、";
  return kSeparators.find(static_cast<char32_t>(c)) != std::u32string_view::npos;
}

bool has_clause_separator(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t next;
    if (is_clause_separator(cp_at(s, i, &next))) return true;
    i = next;
  }
  return false;
}

bool is_roman(std::string_view s) {
  if (s.empty()) return false;
  static const char* kRomans[] = {"i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x",
                                  "xi", "xii", "xiii", "xiv", "xv", "xvi", "xvii", "xviii", "xix", "xx"};
  std::string lower;
  for (char ch : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return std::find(std::begin(kRomans), std::end(kRomans), lower) != std::end(kRomans);
}

bool all_of_class(std::string_view s, int (*pred)(int)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char ch) { return pred(static_cast<unsigned char>(ch)); });
}

// After a marker: end of line, whitespace or a non-ASCII character (Chinese needs no space).
bool marker_ends(std::string_view line, size_t pos) {
  if (pos >= line.size()) return true;
  UChar32 c = cp_at(line, pos);
  return is_space(c) || c >= 0x80;
}

Numbering match_chinese_ordinal(std::string_view line) {
  // 第 + numerals + unit
  static const std::string_view kDi = "第";
  if (line.substr(0, kDi.size()) != kDi) return {};
  size_t pos = kDi.size();
  size_t digits_begin = pos;
  while (pos < line.size()) {
    size_t next;
    UChar32 c = cp_at(line, pos, &next);
    if (!is_cn_numeral(c) && !is_digit(c)) break;
    pos = next;
  }
  if (pos == digits_begin) return {};
  struct Unit { std::string_view text; int level; bool heading; };
  // Simplified and traditional forms (Taiwan and Hong Kong contracts write 條/項/節/編).
  static const Unit kUnits[] = {{"条", 1, false}, {"條", 1, false}, {"款", 2, false}, {"项", 3, false},
                                {"項", 3, false}, {"章", 1, true},  {"节", 1, true},  {"節", 1, true},
                                {"编", 1, true},  {"編", 1, true},  {"篇", 1, true},  {"部分", 1, true}};
  for (const Unit& u : kUnits) {
    if (line.substr(pos, u.text.size()) == u.text) {
      size_t end = pos + u.text.size();
      return {end, std::string(line.substr(0, end)), u.level, u.heading};
    }
  }
  return {};
}

Numbering match_chinese_list(std::string_view line) {
  // 一、
  size_t pos = 0;
  while (pos < line.size()) {
    size_t next;
    UChar32 c = cp_at(line, pos, &next);
    if (!is_cn_numeral(c)) break;
    pos = next;
  }
  static const std::string_view kDun = "、";
  if (pos == 0 || line.substr(pos, kDun.size()) != kDun) return {};
  return {pos + kDun.size(), std::string(line.substr(0, pos)), 1, false};
}

Numbering match_parenthesized(std::string_view line, char previous_letter) {
  // (一) （一） (1) (a) (iv) 1) a)
  size_t pos = 0;
  bool open = false;
  if (line.substr(0, 1) == "(") {
    pos = 1;
    open = true;
  } else if (line.substr(0, 3) == "（") {
    pos = 3;
    open = true;
  }
  size_t inner_begin = pos;
  while (pos < line.size() && pos - inner_begin < 12) {
    size_t next;
    UChar32 c = cp_at(line, pos, &next);
    if (c == ')' || c == 0xFF09) break;
    pos = next;
  }
  std::string_view inner = line.substr(inner_begin, pos - inner_begin);
  size_t close_len = line.substr(pos, 1) == ")" ? 1 : line.substr(pos, 3) == "）" ? 3 : 0;
  if (inner.empty() || close_len == 0) return {};
  size_t end = pos + close_len;
  if (!marker_ends(line, end)) return {};
  int level = 0;
  bool cn = true;
  for (size_t i = 0; i < inner.size();) {
    size_t next;
    if (!is_cn_numeral(cp_at(inner, i, &next))) cn = false;
    i = next;
  }
  if (cn) {
    level = 2;
  } else if (all_of_class(inner, isdigit) && inner.size() <= 3) {
    level = 2;
  } else if (is_roman(inner) && !(inner.size() == 1 && previous_letter + 1 == std::tolower(inner[0]))) {
    level = 4;
  } else if (inner.size() == 1 && std::isalpha(static_cast<unsigned char>(inner[0]))) {
    level = 3;
  } else {
    return {};
  }
  // "1)" and "a)" without an opening parenthesis are common too, but Chinese numerals need one.
  if (!open && cn) return {};
  return {end, std::string(line.substr(0, end)), level, false};
}

Numbering match_decimal(std::string_view line) {
  // 1. 1、 1.1 1.1.1
  size_t pos = 0;
  int parts = 0;
  while (true) {
    size_t start = pos;
    while (pos < line.size() && is_digit(static_cast<unsigned char>(line[pos])) && pos - start < 3) ++pos;
    if (pos == start || (pos < line.size() && is_digit(static_cast<unsigned char>(line[pos])))) return {};
    ++parts;
    if (pos + 1 < line.size() && line[pos] == '.' && is_digit(static_cast<unsigned char>(line[pos + 1]))) {
      ++pos;
      continue;
    }
    break;
  }
  size_t number_end = pos;
  static const std::string_view kDun = "、";
  if (line.substr(pos, 1) == ".") {
    ++pos;
  } else if (line.substr(pos, kDun.size()) == kDun) {
    pos += kDun.size();
  } else if (parts == 1) {
    return {};  // a bare number ("2024年") is no marker
  }
  if (!marker_ends(line, pos)) return {};
  return {pos, std::string(line.substr(0, number_end)), parts, false};
}

Numbering match_english(std::string_view line) {
  struct Keyword { std::string_view word; bool heading; };
  static const Keyword kKeywords[] = {{"article", false}, {"section", false},  {"clause", false},
                                      {"chapter", true},  {"part", true},      {"schedule", true},
                                      {"annex", true},    {"appendix", true},  {"exhibit", true}};
  if (line.empty() || !std::isupper(static_cast<unsigned char>(line[0]))) return {};
  size_t word_end = 0;
  while (word_end < line.size() && std::isalpha(static_cast<unsigned char>(line[word_end]))) ++word_end;
  std::string word;
  for (size_t i = 0; i < word_end; ++i) word += static_cast<char>(std::tolower(static_cast<unsigned char>(line[i])));
  const Keyword* kw = nullptr;
  for (const Keyword& k : kKeywords)
    if (k.word == word) kw = &k;
  if (!kw || word_end >= line.size() || line[word_end] != ' ') return {};
  size_t id_begin = word_end + 1;
  size_t pos = id_begin;
  while (pos < line.size() && (std::isalnum(static_cast<unsigned char>(line[pos])) || line[pos] == '.')) ++pos;
  while (pos > id_begin && line[pos - 1] == '.') --pos;  // "Article 5." -> id "5"
  std::string_view id = line.substr(id_begin, pos - id_begin);
  int level = 1;
  if (!id.empty() && std::isdigit(static_cast<unsigned char>(id[0]))) {
    for (char ch : id) {
      if (ch == '.') ++level;
      else if (!std::isdigit(static_cast<unsigned char>(ch))) return {};
    }
  } else if (!(all_of_class(id, isupper) && (is_roman(id) || id.size() == 1))) {
    return {};
  }
  size_t end = pos;
  if (end < line.size() && (line[end] == '.' || line[end] == ':')) ++end;
  if (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '-' && line[end] != '\r') return {};
  return {end, std::string(line.substr(0, pos)), level, kw->heading};
}

struct Line {
  size_t begin = 0;  // trimmed
  size_t end = 0;
  bool blank = true;
  Numbering numbering;
  size_t marker_end = 0;  // after the marker and the whitespace that follows it
};

size_t count_code_points(std::string_view s) {
  size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

void trim(std::string_view text, size_t& begin, size_t& end) {
  while (begin < end) {
    size_t next;
    if (!is_space(cp_at(text, begin, &next))) break;
    begin = next;
  }
  while (end > begin) {
    size_t start;
    if (!is_space(cp_before(text, end, &start))) break;
    end = start;
  }
}

}  // namespace

struct Segmenter::Iterator {
  std::unique_ptr<icu::BreakIterator> it;
};

Numbering match_numbering(std::string_view line, char previous_letter) {
  for (auto matcher : {match_chinese_ordinal, match_chinese_list, match_decimal, match_english}) {
    Numbering n = matcher(line);
    if (n.length) return n;
  }
  return match_parenthesized(line, previous_letter);
}

Segmenter::Segmenter(SegmentOptions options) : options_(std::move(options)) {
  const std::string& lang = options_.language;
  if (lang != "auto" && lang != "zh" && lang != "en") {
    throw std::runtime_error("[segment] unknown language '" + lang + "' (expected auto, zh or en)");
  }
  if (options_.max_segment_bytes < 16) throw std::runtime_error("[segment] max_segment_bytes must be at least 16");
  // "ss=standard" keeps ICU from breaking after English abbreviations such as "Mr." or "e.g.".
  icu::Locale locale(lang == "zh" ? "zh" : "en@ss=standard");
  UErrorCode status = U_ZERO_ERROR;
  sentences_ = std::make_unique<Iterator>();
  sentences_->it.reset(icu::BreakIterator::createSentenceInstance(locale, status));
  if (U_FAILURE(status) || !sentences_->it) {
    status = U_ZERO_ERROR;
    sentences_->it.reset(icu::BreakIterator::createSentenceInstance(icu::Locale::getRoot(), status));
  }
  if (U_FAILURE(status) || !sentences_->it) {
    throw std::runtime_error(std::string("[segment] cannot create the ICU sentence iterator: ") + u_errorName(status));
  }
}

Segmenter::~Segmenter() = default;

std::vector<Segment> Segmenter::segment(std::string_view text) {
  std::vector<Segment> out;
  if (text.empty()) return out;
  if (text.size() > static_cast<size_t>(INT32_MAX)) throw std::runtime_error("[segment] text over 2 GiB");

  std::vector<size_t> cuts;
  {
    UErrorCode status = U_ZERO_ERROR;
    UText* ut = utext_openUTF8(nullptr, text.data(), static_cast<int64_t>(text.size()), &status);
    if (U_FAILURE(status)) throw std::runtime_error(std::string("[segment] utext_openUTF8: ") + u_errorName(status));
    icu::BreakIterator& it = *sentences_->it;
    it.setText(ut, status);
    if (U_SUCCESS(status)) {
      for (int32_t b = it.first(); b != icu::BreakIterator::DONE; b = it.next()) {
        cuts.push_back(static_cast<size_t>(b));
      }
    }
    // Detach the iterator from our buffer before the UText goes away.
    it.setText(icu::UnicodeString());
    utext_close(ut);
    if (U_FAILURE(status)) throw std::runtime_error(std::string("[segment] sentence breaks: ") + u_errorName(status));
  }

  // Lines, their numbering, and the extra cuts of clause mode.
  std::vector<Line> lines;
  char previous_letter = 0;
  for (size_t ls = 0; ls < text.size();) {
    size_t le = text.find('\n', ls);
    if (le == std::string_view::npos) le = text.size();
    Line line;
    line.begin = ls;
    line.end = le;
    trim(text, line.begin, line.end);
    line.blank = line.begin == line.end;
    if (!line.blank) {
      cuts.push_back(line.begin);
      if (options_.clauses) {
        line.numbering = match_numbering(text.substr(line.begin, line.end - line.begin), previous_letter);
        if (line.numbering.length) {
          const std::string& num = line.numbering.number;
          if (line.numbering.level == 3 && num.size() >= 2 && std::islower(static_cast<unsigned char>(num[num.size() - 2])))
            previous_letter = num[num.size() - 2];
          size_t m = line.begin + line.numbering.length;
          size_t m_end = line.end;
          trim(text, m, m_end);
          line.marker_end = m;
        }
      }
    }
    lines.push_back(line);
    ls = le + 1;
  }
  if (options_.clauses && options_.language != "en") {
    for (size_t i = 0; i < text.size();) {
      size_t next;
      UChar32 c = cp_at(text, i, &next);
      if (c == 0xFF1B) {
        cuts.push_back(next);
      } else if (c == ';' && i > 0) {
        size_t prev_start;
        if (options_.language == "zh" || is_cjk(cp_before(text, i, &prev_start))) cuts.push_back(next);
      }
      i = next;
    }
  }
  cuts.push_back(0);
  cuts.push_back(text.size());
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  // ICU breaks after "1. " before a capital; a marker never ends a segment on its own.
  for (const Line& line : lines) {
    if (!line.numbering.length) continue;
    auto lo = std::upper_bound(cuts.begin(), cuts.end(), line.begin);
    auto hi = std::upper_bound(cuts.begin(), cuts.end(), line.marker_end);
    cuts.erase(lo, hi);
  }

  auto line_of = [&](size_t pos) -> const Line& {
    auto it = std::upper_bound(lines.begin(), lines.end(), pos, [](size_t p, const Line& l) { return p < l.begin; });
    return *std::prev(it);
  };
  auto line_index = [&](const Line& l) { return static_cast<size_t>(&l - lines.data()); };

  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    size_t begin = cuts[i];
    size_t end = cuts[i + 1];
    trim(text, begin, end);
    if (begin >= end) continue;
    Segment seg;
    seg.span = {begin, end};
    seg.kind = "sentence";
    const Line& line = line_of(begin);
    bool whole_line = begin == line.begin && end == line.end;
    size_t chars = whole_line ? count_code_points(text.substr(begin, end - begin)) : 0;
    bool no_final_punct = !is_final_punct(cp_before(text, end));
    if (line.numbering.length && begin == line.begin) {
      seg.number = line.numbering.number;
      seg.level = line.numbering.level;
      // A title has no inner clause separators and does not read on in lower case: "(a) the first
      // instalment; and" is a clause even without final punctuation.
      std::string_view body = text.substr(line.marker_end, end - std::min(end, line.marker_end));
      bool title_like = !body.empty() && !(body[0] >= 'a' && body[0] <= 'z') && !has_clause_separator(body);
      bool short_title = whole_line && chars <= kMaxNumberedHeadingChars && no_final_punct && title_like;
      seg.kind = line.numbering.always_heading || short_title ? "heading" : "clause";
    } else if (options_.clauses && whole_line && chars <= kMaxPlainHeadingChars && no_final_punct &&
               !has_clause_separator(text.substr(begin, end - begin))) {
      size_t idx = line_index(line);
      bool alone_before = idx == 0 || lines[idx - 1].blank;
      bool alone_after = idx + 1 >= lines.size() || lines[idx + 1].blank;
      bool has_lower = std::any_of(text.begin() + begin, text.begin() + end,
                                   [](char ch) { return ch >= 'a' && ch <= 'z'; });
      if (alone_before || alone_after || !has_lower) seg.kind = "heading";
    }
    if (seg.span.size() <= options_.max_segment_bytes) {
      out.push_back(std::move(seg));
      continue;
    }
    // Too long: cut at the last clause separator, else whitespace, else a character boundary.
    bool first = true;
    size_t pos = begin;
    while (pos < end) {
      size_t limit = pos + options_.max_segment_bytes;
      size_t cut = end;
      if (end > limit) {
        cut = 0;
        size_t space_cut = 0;
        for (size_t j = limit; j > pos + options_.max_segment_bytes / 2;) {
          size_t start;
          UChar32 c = cp_before(text, j, &start);
          if (is_clause_separator(c)) {
            cut = j;
            break;
          }
          if (!space_cut && is_space(c)) space_cut = start;
          j = start;
        }
        if (!cut) cut = space_cut;
        if (!cut) {
          cut = limit;
          while (cut > pos + 1 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        }
      }
      size_t b = pos, e = cut;
      trim(text, b, e);
      if (b < e) {
        Segment piece = seg;
        piece.span = {b, e};
        if (!first) {
          piece.number.clear();
          piece.level = 0;
          piece.kind = seg.kind == "clause" ? "clause" : "sentence";
        }
        out.push_back(std::move(piece));
        first = false;
      }
      pos = cut;
    }
  }
  return out;
}

std::vector<Segment> segment_text(std::string_view normalized, const SegmentOptions& options) {
  Segmenter segmenter(options);
  return segmenter.segment(normalized);
}

}  // namespace ds
