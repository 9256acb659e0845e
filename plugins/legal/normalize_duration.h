// Durations in contract text: 三年, 3年, 六个月, 一年半, 30日, 三十天, 十五个工作日, 两周,
// "thirty (30) days", "two years", "90 business days", "a 90-day period" -> {value, unit}.
//
// Units are kept as written (no conversion of months to days: their length depends on the start).
// Offsets are bytes. Pure functions, thread-safe; nothing throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds::legal {

enum class DurationUnit { kDay, kBusinessDay, kWeek, kMonth, kYear };

// "day", "business_day", "week", "month", "year".
std::string_view duration_unit_name(DurationUnit unit);

struct Duration {
  size_t begin = 0;  // bytes, covering the number (words and figures) and the unit
  size_t end = 0;
  double value = 0.0;  // 0.5 for 半年; the words' value when words and figures disagree
  DurationUnit unit = DurationUnit::kDay;
  std::vector<std::string> warnings;  // e.g. "words say 30 but figures say 20"
};

// The duration that starts exactly at `pos`, if any. Numbers that are part of a date (the 2024 of
// 2024年3月, the 5 of 3月5日 or 每月5日) and ordinals (第三年) are not durations.
std::optional<Duration> parse_duration_at(std::string_view text, size_t pos);

// All durations in `text`, left to right, non-overlapping.
std::vector<Duration> find_durations(std::string_view text);

// "5 years", "1 year", "0.5 month", "15 business days".
std::string describe_duration(double value, DurationUnit unit);

}  // namespace ds::legal
