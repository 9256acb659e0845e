// legal.amounts' view of money: amounts written in figures with a currency marker before them
// (¥ ￥ RMB 人民币 CNY, $ US$ USD, € EUR, HK$ HKD, £ GBP ...) or a currency word after them (元,
// 美元, 欧元, 港元, USD, RMB, dollars ...), with 千/万/亿 or thousand/million/billion multipliers.
//
// The parsing itself is normalize_money's find_money in its figures-only mode; Chinese numerals
// (伍拾万元整), number words and the 大写/小写 cross-check are legal.values' (see normalize_money.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::legal {

struct MoneyAmount {
  size_t begin = 0;  // bytes in the searched text, covering the marker, number, unit and currency word
  size_t end = 0;
  double value = 0.0;    // in units of `currency`, multipliers applied
  std::string currency;  // ISO 4217: CNY, USD, EUR, HKD, JPY, GBP, SGD
};

// All amounts in `text`, left to right, non-overlapping. `yen_sign` is the currency the ¥ sign
// stands for ("CNY" in Chinese contracts, "JPY" for Japanese ones) unless a currency word after the
// number says otherwise (¥5日元 is JPY).
std::vector<MoneyAmount> find_money_amounts(std::string_view text, const std::string& yen_sign = "CNY");

// The value with two decimals, no thousands separators: 500000 -> "500000.00"; "" if not finite.
std::string format_money_value(double value);

}  // namespace ds::legal
