// Finds money amounts in contract text: a currency marker (¥ ￥ RMB 人民币 CNY, $ US$ USD, € EUR,
// HK$ HKD) before an Arabic number, or a number followed by a currency word (元, 美元, 欧元, 港元,
// USD, RMB ...), with 千/万/亿 or thousand/million/billion multipliers.
//
// Keyword/pattern baseline: Chinese capital numerals (大写, 伍拾万元整) and ranges are not parsed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::legal {

struct MoneyAmount {
  size_t begin = 0;  // bytes in the searched text, covering the marker, number, unit and currency word
  size_t end = 0;
  double value = 0.0;    // in units of `currency`, multipliers applied
  std::string currency;  // ISO 4217: CNY, USD, EUR, HKD, JPY
};

// All amounts in `text`, left to right, non-overlapping. `yen_sign` is the currency the ¥ sign
// stands for ("CNY" in Chinese contracts, "JPY" for Japanese ones).
std::vector<MoneyAmount> find_money_amounts(std::string_view text, const std::string& yen_sign = "CNY");

// The value with two decimals, no thousands separators: 500000 -> "500000.00".
std::string format_money_value(double value);

}  // namespace ds::legal
