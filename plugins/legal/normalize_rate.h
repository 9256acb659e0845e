// Percentages and rates in contract text: 百分之二十, 千分之三, 日万分之五, 每日千分之三,
// 0.05% per day, 年利率6%, 20%, ２０％, 5‰, "1.5% per month", "ten percent (10%)", "6 per cent per
// annum" -> {value as a fraction, per: day | month | year | none}.
//
// The period comes from the words right before the number in the same clause (日, 每日, 按日, 年利率,
// 月息, daily, annual ...) or right after it (per day, /日, per annum, a month ...). Offsets are
// bytes. Pure functions, thread-safe; nothing throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ds::legal {

enum class RatePer { kNone, kDay, kMonth, kYear };

std::string_view rate_per_name(RatePer per);  // "", "day", "month", "year"

struct Rate {
  size_t begin = 0;    // bytes, covering the number, the percent sign or words, and a period written
  size_t end = 0;      // right next to them (日万分之五, 0.05%/日, 1.5% per month)
  double value = 0.0;  // a fraction: 20% -> 0.2; the words' value when words and figures disagree
  RatePer per = RatePer::kNone;
  std::string per_text;  // the words the period was read from, as written; "" when none
  std::vector<std::string> warnings;
};

// All rates in `text`, left to right, non-overlapping.
std::vector<Rate> find_rates(std::string_view text);

}  // namespace ds::legal
