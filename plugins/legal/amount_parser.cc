#include "amount_parser.h"

#include <cmath>
#include <cstdio>

#include "normalize_money.h"

namespace ds::legal {

std::vector<MoneyAmount> find_money_amounts(std::string_view text, const std::string& yen_sign) {
  MoneyOptions options;
  options.yen_sign = yen_sign;
  options.figures_only = true;
  std::vector<MoneyAmount> out;
  for (const Money& m : find_money(text, options)) out.push_back({m.begin, m.end, m.value, m.currency});
  return out;
}

std::string format_money_value(double value) {
  if (!std::isfinite(value)) return "";
  char buf[512];  // a finite double has at most 309 integer digits
  std::snprintf(buf, sizeof buf, "%.2f", std::round(value * 100.0) / 100.0);
  return buf;
}

}  // namespace ds::legal
