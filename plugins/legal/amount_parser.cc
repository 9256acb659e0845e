#include "amount_parser.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "ds/plugin_text.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

struct Marker {
  std::string_view token;
  std::string_view currency;  // "" for the yen sign: decided by the option
};

// Longest first where one token is a prefix of another.
constexpr Marker kPrefixMarkers[] = {
    {"人民币", "CNY"}, {"RMB", "CNY"}, {"CNY", "CNY"}, {"¥", ""}, {"￥", ""},
    {"US$", "USD"},   {"USD", "USD"}, {"HK$", "HKD"}, {"HKD", "HKD"}, {"$", "USD"},
    {"EUR", "EUR"},   {"€", "EUR"},
};

constexpr Marker kSuffixMarkers[] = {
    {"美元", "USD"}, {"美金", "USD"}, {"欧元", "EUR"}, {"港元", "HKD"}, {"港币", "HKD"}, {"日元", "JPY"},
    {"元", "CNY"},   {"圆", "CNY"},   {"RMB", "CNY"},  {"CNY", "CNY"},  {"USD", "USD"},  {"US dollars", "USD"},
    {"dollars", "USD"}, {"EUR", "EUR"}, {"euros", "EUR"}, {"HKD", "HKD"},
};

struct Multiplier {
  std::string_view token;
  double factor;
};

constexpr Multiplier kMultipliers[] = {
    {"亿", 1e8}, {"万", 1e4}, {"千", 1e3}, {"billion", 1e9}, {"million", 1e6}, {"thousand", 1e3},
};

bool starts_with_ci(std::string_view s, size_t pos, std::string_view token) {
  if (pos + token.size() > s.size()) return false;
  for (size_t i = 0; i < token.size(); ++i)
    if (text::ascii_lower(s[pos + i]) != text::ascii_lower(token[i])) return false;
  return true;
}

// An ASCII word token must not be glued to letters ("USDA", "euroscope").
bool token_at(std::string_view s, size_t pos, std::string_view token) {
  if (!starts_with_ci(s, pos, token)) return false;
  if (!text::is_ascii_alpha(token.front())) return true;
  if (pos > 0 && text::is_ascii_alpha(s[pos - 1])) return false;
  size_t end = pos + token.size();
  return !(text::is_ascii_alpha(token.back()) && end < s.size() && text::is_ascii_alpha(s[end]));
}

size_t skip_spaces(std::string_view s, size_t pos, size_t max = 2) {
  while (max-- > 0 && pos < s.size() && s[pos] == ' ') ++pos;
  return pos;
}

struct Number {
  size_t end = 0;
  double value = 0.0;
};

// An Arabic number at `pos`: 500000, 500,000, 1,234.56, 0.5.
std::optional<Number> parse_number(std::string_view s, size_t pos) {
  if (pos >= s.size() || !text::is_ascii_digit(s[pos])) return std::nullopt;
  std::string digits;
  size_t i = pos;
  while (i < s.size()) {
    char c = s[i];
    if (text::is_ascii_digit(c)) {
      digits += c;
      ++i;
    } else if (c == ',' && i + 3 < s.size() && text::is_ascii_digit(s[i + 1]) && text::is_ascii_digit(s[i + 2]) &&
               text::is_ascii_digit(s[i + 3]) && (i + 4 >= s.size() || !text::is_ascii_digit(s[i + 4]))) {
      i += 1;  // a thousands separator: exactly three digits follow
    } else if (c == '.' && i + 1 < s.size() && text::is_ascii_digit(s[i + 1]) && digits.find('.') == std::string::npos) {
      digits += '.';
      ++i;
    } else {
      break;
    }
  }
  return Number{i, std::strtod(digits.c_str(), nullptr)};
}

// A multiplier (万, million) right after the number, possibly after one space.
size_t apply_multiplier(std::string_view s, size_t pos, double& value) {
  size_t p = skip_spaces(s, pos, 1);
  for (const Multiplier& m : kMultipliers) {
    if (token_at(s, p, m.token)) {
      value *= m.factor;
      return p + m.token.size();
    }
  }
  return pos;
}

std::optional<std::pair<size_t, std::string_view>> suffix_at(std::string_view s, size_t pos) {
  size_t p = skip_spaces(s, pos, 1);
  for (const Marker& m : kSuffixMarkers)
    if (token_at(s, p, m.token)) return std::make_pair(p + m.token.size(), m.currency);
  return std::nullopt;
}

}  // namespace

std::vector<MoneyAmount> find_money_amounts(std::string_view s, const std::string& yen_sign) {
  std::vector<MoneyAmount> out;
  size_t i = 0;
  while (i < s.size()) {
    bool found = false;
    for (const Marker& m : kPrefixMarkers) {
      if (!token_at(s, i, m.token)) continue;
      if (m.token == "$" && i > 0 && text::is_ascii_alpha(s[i - 1])) continue;  // "US$"/"HK$" handled above
      auto number = parse_number(s, skip_spaces(s, i + m.token.size()));
      if (!number) continue;
      double value = number->value;
      size_t end = apply_multiplier(s, number->end, value);
      // "人民币50万元": the trailing 元 belongs to the amount.
      if (auto suffix = suffix_at(s, end); suffix && (suffix->second == m.currency || m.currency.empty()))
        end = suffix->first;
      out.push_back({i, end, value, m.currency.empty() ? yen_sign : std::string(m.currency)});
      i = end;
      found = true;
      break;
    }
    if (found) continue;
    // A bare number counts only with a currency word after it, and not inside a longer number.
    if (text::is_ascii_digit(s[i]) && (i == 0 || !(text::is_ascii_digit(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == ','))) {
      auto number = parse_number(s, i);
      double value = number->value;
      size_t end = apply_multiplier(s, number->end, value);
      if (auto suffix = suffix_at(s, end)) {
        out.push_back({i, suffix->first, value, std::string(suffix->second)});
        i = suffix->first;
        continue;
      }
      i = number->end;
      continue;
    }
    i = text::utf8_next(s, i);
  }
  return out;
}

std::string format_money_value(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", std::round(value * 100.0) / 100.0);
  return buf;
}

}  // namespace ds::legal
