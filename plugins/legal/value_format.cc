#include "value_format.h"

#include <cmath>
#include <cstdio>

namespace ds::legal {

std::string format_decimal(double value, int max_decimals) {
  if (!std::isfinite(value)) return "";
  if (max_decimals < 0) max_decimals = 0;
  if (max_decimals > 15) max_decimals = 15;
  char buf[512];  // a finite double has at most 309 integer digits
  std::snprintf(buf, sizeof buf, "%.*f", max_decimals, value);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace ds::legal
