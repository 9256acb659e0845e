#include "numerals.h"

#include <cstdlib>
#include <string>

#include "ds/plugin_text.h"
#include "scan.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

struct Numeral {
  std::string_view token;
  double value;
  bool capital;
};

constexpr Numeral kChineseDigits[] = {
    {"零", 0, false}, {"〇", 0, false}, {"○", 0, false},  {"一", 1, false}, {"壹", 1, true},  {"二", 2, false},
    {"贰", 2, true},  {"貳", 2, true},  {"两", 2, false}, {"兩", 2, false}, {"三", 3, false}, {"叁", 3, true},
    {"參", 3, true},  {"叄", 3, true},  {"四", 4, false}, {"肆", 4, true},  {"五", 5, false}, {"伍", 5, true},
    {"六", 6, false}, {"陆", 6, true},  {"陸", 6, true},  {"七", 7, false}, {"柒", 7, true},  {"八", 8, false},
    {"捌", 8, true},  {"九", 9, false}, {"玖", 9, true},
};
constexpr Numeral kSmallUnits[] = {{"十", 10, false}, {"拾", 10, true},    {"百", 100, false},
                                   {"佰", 100, true}, {"千", 1000, false}, {"仟", 1000, true}};
constexpr Numeral kBigUnits[] = {{"万", 1e4, false}, {"萬", 1e4, false}, {"亿", 1e8, false}, {"億", 1e8, false}};

template <size_t N>
const Numeral* numeral_at(std::string_view s, size_t pos, const Numeral (&table)[N]) {
  if (pos >= s.size()) return nullptr;
  for (const Numeral& n : table)
    if (s.substr(pos, n.token.size()) == n.token) return &n;
  return nullptr;
}

// Full-width forms of ',' and '.': EF BC 8C and EF BC 8E.
size_t separator_at(std::string_view s, size_t pos) {
  if (pos < s.size() && s[pos] == ',') return 1;
  return s.substr(pos, 3) == "，" ? 3 : 0;
}
size_t point_at(std::string_view s, size_t pos) {
  if (pos < s.size() && s[pos] == '.') return 1;
  return s.substr(pos, 3) == "．" ? 3 : 0;
}

struct Word {
  std::string_view word;
  int value;
};

constexpr Word kSmallWords[] = {
    {"zero", 0},     {"one", 1},      {"two", 2},        {"three", 3},     {"four", 4},
    {"five", 5},     {"six", 6},      {"seven", 7},      {"eight", 8},     {"nine", 9},
    {"ten", 10},     {"eleven", 11},  {"twelve", 12},    {"thirteen", 13}, {"fourteen", 14},
    {"fifteen", 15}, {"sixteen", 16}, {"seventeen", 17}, {"eighteen", 18}, {"nineteen", 19},
};
constexpr Word kTensWords[] = {{"twenty", 20}, {"thirty", 30},  {"forty", 40},  {"fourty", 40}, {"fifty", 50},
                               {"sixty", 60},  {"seventy", 70}, {"eighty", 80}, {"ninety", 90}};
constexpr Word kOrdinalWords[] = {
    {"first", 1},      {"second", 2},       {"third", 3},       {"fourth", 4},      {"fifth", 5},
    {"sixth", 6},      {"seventh", 7},      {"eighth", 8},      {"ninth", 9},       {"tenth", 10},
    {"eleventh", 11},  {"twelfth", 12},     {"thirteenth", 13}, {"fourteenth", 14}, {"fifteenth", 15},
    {"sixteenth", 16}, {"seventeenth", 17}, {"eighteenth", 18}, {"nineteenth", 19}, {"twentieth", 20},
    {"thirtieth", 30},
};

// The ASCII word (letters only) starting at `pos`, lower-cased, or "" if `pos` is not a word start.
std::string ascii_word_at(std::string_view s, size_t pos) {
  if (pos >= s.size() || !text::is_ascii_alpha(s[pos]) || (pos > 0 && text::is_ascii_alnum(s[pos - 1]))) return "";
  size_t end = pos;
  while (end < s.size() && text::is_ascii_alpha(s[end])) ++end;
  if (end < s.size() && text::is_ascii_digit(s[end])) return "";
  return text::ascii_lowercase(s.substr(pos, end - pos));
}

template <size_t N>
std::optional<int> lookup(const std::string& w, const Word (&table)[N]) {
  for (const Word& e : table)
    if (w == e.word) return e.value;
  return std::nullopt;
}

// Past the joiner between two number words: spaces, one hyphen, or " and ". `pos` is unchanged
// when there is none.
size_t skip_joiner(std::string_view s, size_t pos) {
  size_t p = pos;
  if (p < s.size() && s[p] == '-') return p + 1;
  p = scan::skip_blanks(s, p, 2);
  if (p == pos) return pos;
  if (scan::word_at(s, p, "and")) {
    size_t q = scan::skip_blanks(s, p + 3, 2);
    return q > p + 3 ? q : pos;
  }
  return p;
}

}  // namespace

std::optional<std::pair<int, size_t>> digit_at(std::string_view s, size_t pos) {
  if (pos >= s.size()) return std::nullopt;
  if (text::is_ascii_digit(s[pos])) return std::make_pair(s[pos] - '0', size_t{1});
  // Full-width ０-９ are U+FF10..U+FF19: EF BC 90..99.
  if (pos + 2 < s.size() && static_cast<unsigned char>(s[pos]) == 0xEF &&
      static_cast<unsigned char>(s[pos + 1]) == 0xBC) {
    const auto c = static_cast<unsigned char>(s[pos + 2]);
    if (c >= 0x90 && c <= 0x99) return std::make_pair(c - 0x90, size_t{3});
  }
  return std::nullopt;
}

bool number_continues_before(std::string_view s, size_t pos) {
  if (pos == 0 || pos > s.size()) return false;
  const size_t prev = text::utf8_prev(s, pos);
  if (digit_at(s, prev)) return true;
  if (numeral_at(s, prev, kChineseDigits) || numeral_at(s, prev, kSmallUnits) || numeral_at(s, prev, kBigUnits))
    return true;
  // ".5" is a fraction; "1,5" and "1，5" continue a number but ", 5" and "，5" after a word do not.
  if (s[prev] == '.' || point_at(s, prev)) return true;
  if (separator_at(s, prev) && prev > 0) return digit_at(s, text::utf8_prev(s, prev)).has_value();
  return false;
}

std::optional<NumberMatch> parse_figures(std::string_view s, size_t pos) {
  auto first = digit_at(s, pos);
  if (!first) return std::nullopt;
  std::string digits;
  bool decimal = false;
  size_t p = pos;
  while (p < s.size()) {
    if (auto d = digit_at(s, p)) {
      digits += static_cast<char>('0' + d->first);
      p += d->second;
      continue;
    }
    if (size_t sep = separator_at(s, p); sep && !decimal) {
      // A thousands separator: exactly three digits follow, and then no fourth.
      size_t q = p + sep;
      std::string group;
      for (int k = 0; k < 3; ++k) {
        auto d = digit_at(s, q);
        if (!d) break;
        group += static_cast<char>('0' + d->first);
        q += d->second;
      }
      if (group.size() == 3 && !digit_at(s, q)) {
        digits += group;
        p = q;
        continue;
      }
      break;
    }
    if (size_t pt = point_at(s, p); pt && !decimal && digit_at(s, p + pt)) {
      digits += '.';
      decimal = true;
      p += pt;
      continue;
    }
    break;
  }
  NumberMatch m;
  m.begin = pos;
  m.end = p;
  m.value = std::strtod(digits.c_str(), nullptr);
  m.figures = true;
  return m;
}

std::optional<NumberMatch> parse_chinese_number(std::string_view s, size_t pos, bool allow_chinese_digits) {
  NumberMatch m;
  m.begin = pos;
  // Two or more Chinese digits with no unit after them are read one by one: 二〇二四.
  if (allow_chinese_digits) {
    size_t p = pos;
    int count = 0;
    double value = 0;
    bool capital = false;
    while (const Numeral* d = numeral_at(s, p, kChineseDigits)) {
      value = value * 10 + d->value;
      capital = capital || d->capital;
      p += d->token.size();
      ++count;
    }
    if (count >= 2 && !numeral_at(s, p, kSmallUnits) && !numeral_at(s, p, kBigUnits) && s.substr(p, 3) != "点") {
      m.end = p;
      m.value = value;
      m.chinese = m.positional = true;
      m.capital = capital;
      return m;
    }
  }

  double yi = 0, wan = 0, section = 0, digit = 0;
  bool have_digit = false;  // `digit` holds a digit or figures not yet multiplied by a unit
  bool prev_digit = false;  // the last token was a non-zero digit or figures
  bool prev_zero = false;   // the last token was 零
  bool any = false;
  bool zero_gap = false;         // a 零 since the last unit
  double unit_before_digit = 0;  // the unit right before the pending Chinese digit, 0 if none
  bool digit_is_chinese = false;
  double last_unit = 0;
  size_t p = pos, end = pos;
  while (p < s.size()) {
    if (!have_digit && !prev_digit) {
      if (auto f = parse_figures(s, p)) {
        digit = f->value;
        have_digit = prev_digit = true;
        prev_zero = false;
        digit_is_chinese = false;
        unit_before_digit = 0;
        m.figures = any = true;
        p = end = f->end;
        continue;
      }
    }
    if (allow_chinese_digits) {
      if (const Numeral* d = numeral_at(s, p, kChineseDigits)) {
        if (prev_digit) break;  // 一千二三: stop before the second digit in a row
        m.capital = m.capital || d->capital;
        p += d->token.size();
        if (d->value == 0) {
          prev_zero = zero_gap = true;
          if (!any) end = p;  // a lone 零 is the number zero
          any = true;
          continue;
        }
        unit_before_digit = prev_zero ? 0 : last_unit;
        digit = d->value;
        have_digit = prev_digit = any = true;
        prev_zero = false;
        digit_is_chinese = true;
        end = p;
        continue;
      }
      if (s.substr(p, 3) == "点" && (have_digit || prev_zero) && numeral_at(s, p + 3, kChineseDigits)) {
        size_t q = p + 3;
        double scale = 0.1, frac = 0;
        while (const Numeral* d = numeral_at(s, q, kChineseDigits)) {
          frac += d->value * scale;
          scale /= 10;
          q += d->token.size();
        }
        digit += frac;
        have_digit = prev_digit = any = true;
        prev_zero = false;
        digit_is_chinese = false;  // 三点五 is not the colloquial 三千五
        p = end = q;
        continue;
      }
    }
    if (const Numeral* u = numeral_at(s, p, kSmallUnits)) {
      if (!have_digit) {
        // 十五 = 15 and 一百零十 = 110 start a ten with an unwritten 一; a bare 百 is not a number.
        if (u->value == 10 && allow_chinese_digits && (!any || zero_gap))
          digit = 1;
        else
          break;
      }
      m.capital = m.capital || u->capital;
      section += digit * u->value;
      digit = 0;
      have_digit = prev_digit = prev_zero = zero_gap = false;
      last_unit = u->value;
      any = true;
      p += u->token.size();
      end = p;
      continue;
    }
    if (const Numeral* u = numeral_at(s, p, kBigUnits)) {
      const double block = section + digit;
      if (!any || (block == 0 && !(u->value == 1e8 && wan > 0))) break;
      if (u->value == 1e4) {
        wan += block * 1e4;
      } else {
        yi = (yi + wan + block) * 1e8;
        wan = 0;
      }
      section = digit = 0;
      have_digit = prev_digit = prev_zero = zero_gap = false;
      last_unit = u->value;
      p += u->token.size();
      end = p;
      continue;
    }
    break;
  }
  if (!any) return std::nullopt;
  // Colloquial: a lone digit right after 百, 千, 万 or 亿 is one order below it: 一万二 = 12000.
  if (have_digit && digit_is_chinese && unit_before_digit >= 100) digit *= unit_before_digit / 10;
  m.end = end;
  m.value = yi + wan + section + digit;
  // A match longer than the plain figures at `pos` used a Chinese numeral character.
  const auto plain = parse_figures(s, pos);
  m.chinese = !(plain && plain->end == end);
  return m;
}

std::optional<NumberMatch> parse_english_number(std::string_view s, size_t pos) {
  double total = 0, current = 0;
  bool any = false;
  enum class Last { kNone, kSmall, kTens, kHundred, kBig } last = Last::kNone;
  size_t p = pos, end = pos;
  while (true) {
    const std::string w = ascii_word_at(s, p);
    if (w.empty()) break;
    if (auto v = lookup(w, kSmallWords)) {
      if (last == Last::kSmall || (last == Last::kTens && *v >= 10)) break;
      current += *v;
      last = Last::kSmall;
    } else if (auto t = lookup(w, kTensWords)) {
      if (last == Last::kSmall || last == Last::kTens) break;
      current += *t;
      last = Last::kTens;
    } else if (w == "hundred") {
      if (current == 0 || last == Last::kHundred) break;
      current *= 100;
      last = Last::kHundred;
    } else if (auto m = english_multiplier_at(s, p); m && w != "mn" && w != "bn") {
      if (current == 0) break;
      total += current * m->first;
      current = 0;
      last = Last::kBig;
    } else {
      break;
    }
    any = true;
    end = p + w.size();
    const size_t next = skip_joiner(s, end);
    if (next == end) break;
    p = next;
  }
  if (!any) return std::nullopt;
  NumberMatch m;
  m.begin = pos;
  m.end = end;
  m.value = total + current;
  return m;
}

std::optional<std::pair<double, size_t>> english_multiplier_at(std::string_view s, size_t pos) {
  static constexpr std::pair<std::string_view, double> kMultipliers[] = {
      {"thousand", 1e3}, {"million", 1e6}, {"billion", 1e9}, {"mn", 1e6}, {"bn", 1e9}};
  for (const auto& [w, f] : kMultipliers)
    if (scan::word_at(s, pos, w)) return std::make_pair(f, w.size());
  return std::nullopt;
}

std::optional<std::pair<int, size_t>> parse_ordinal(std::string_view s, size_t pos) {
  if (pos < s.size() && text::is_ascii_digit(s[pos]) && !(pos > 0 && text::is_ascii_alnum(s[pos - 1]))) {
    size_t p = pos;
    int v = 0;
    while (p < s.size() && text::is_ascii_digit(s[p]) && p - pos < 3) v = v * 10 + (s[p++] - '0');
    for (std::string_view suffix : {"st", "nd", "rd", "th"})
      if (scan::starts_with_ci(s, p, suffix) && !(p + 2 < s.size() && text::is_ascii_alpha(s[p + 2])))
        return std::make_pair(v, p + 2);
    return std::nullopt;
  }
  const std::string w = ascii_word_at(s, pos);
  if (w.empty()) return std::nullopt;
  if (auto v = lookup(w, kOrdinalWords)) return std::make_pair(*v, pos + w.size());
  if (auto t = lookup(w, kTensWords); t && *t <= 30) {
    const size_t p = pos + w.size();
    const size_t q = p < s.size() && (s[p] == '-' || s[p] == ' ') ? p + 1 : p;
    const std::string unit = ascii_word_at(s, q);
    if (auto u = lookup(unit, kOrdinalWords); u && *u < 10 && q > p) return std::make_pair(*t + *u, q + unit.size());
  }
  return std::nullopt;
}

std::optional<NumberMatch> parse_any_number(std::string_view s, size_t pos) {
  auto zh = parse_chinese_number(s, pos);
  auto en = parse_english_number(s, pos);
  if (zh && en) return zh->end >= en->end ? zh : en;
  return zh ? zh : en;
}

}  // namespace ds::legal
