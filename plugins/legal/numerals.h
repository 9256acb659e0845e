// Reading numbers for the value normalizers: Arabic figures (ASCII or full-width, with thousands
// separators and a decimal point), Chinese numerals (lower-case 一二三, capital 壹贰叁, 〇 零 两,
// units 十百千万亿 and 拾佰仟, 点 decimals, figures mixed with units as in 50万 or 1亿2000万) and
// English number words (thirty, twenty-five, one hundred thousand). Offsets are bytes. Pure
// functions, thread-safe; nothing throws.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace ds::legal {

struct NumberMatch {
  size_t begin = 0;
  size_t end = 0;
  double value = 0.0;       // not finite for absurdly long figures: callers check std::isfinite
  bool chinese = false;     // contains a Chinese numeral character (digit or unit)
  bool capital = false;     // contains a capital numeral (壹 贰 ... 拾 佰 仟)
  bool figures = false;     // contains Arabic figures
  bool positional = false;  // Chinese digits read one by one, as in years: 二〇二四 -> 2024
};

// The value (0-9) and byte length of an ASCII or full-width digit at `pos`.
std::optional<std::pair<int, size_t>> digit_at(std::string_view s, size_t pos);

// True if the character just before `pos` is part of a number: a digit, a Chinese numeral, a
// decimal point, or a thousands separator right after a digit. Used so a scan does not start in
// the middle of a number (the 5 of ".5" or of "1,5").
bool number_continues_before(std::string_view s, size_t pos);

// Arabic figures at `pos`: 500000, 500,000, 1,234.56, ８０，０００, ０.５. A separator counts only
// with exactly three digits after it; a decimal point only with a digit after it.
std::optional<NumberMatch> parse_figures(std::string_view s, size_t pos);

// A number written with Chinese numerals and/or figures at `pos`: 伍拾万, 壹佰万零伍仟, 十五,
// 二〇二四, 三点五, 50万, 1.2亿, 3千万, 1亿2000万, 一万二 (12000). Plain figures are accepted too.
// `allow_chinese_digits` false restricts it to figures with 十百千万亿 units after them (50万).
std::optional<NumberMatch> parse_chinese_number(std::string_view s, size_t pos, bool allow_chinese_digits = true);

// English number words at `pos`, case-insensitive and whole words, joined by spaces, hyphens or
// "and": "thirty", "Twenty-Five", "one hundred and five", "two million five hundred thousand".
std::optional<NumberMatch> parse_english_number(std::string_view s, size_t pos);

// The English multiplier word (thousand, million, billion; "mn"/"bn" abbreviations) at `pos`,
// as {factor, length}.
std::optional<std::pair<double, size_t>> english_multiplier_at(std::string_view s, size_t pos);

// An English ordinal at `pos`: "1st", "22nd", "first", "twenty-first", "thirty-first" (1-31 for
// words). Value and end.
std::optional<std::pair<int, size_t>> parse_ordinal(std::string_view s, size_t pos);

// A number in any of the three scripts at `pos`, the longest reading.
std::optional<NumberMatch> parse_any_number(std::string_view s, size_t pos);

}  // namespace ds::legal
