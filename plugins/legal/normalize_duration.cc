#include "normalize_duration.h"

#include <cmath>

#include "ds/plugin_text.h"
#include "numerals.h"
#include "scan.h"
#include "value_format.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

constexpr double kMaxPlausible = 1000;  // a bigger "number of years" is a calendar year, not a term

bool ends_with(std::string_view s, size_t pos, std::string_view token) {
  return pos >= token.size() && s.substr(pos - token.size(), token.size()) == token;
}

// The Chinese unit after a number at `pos` (个 optional where Chinese allows it), with its end.
struct UnitMatch {
  DurationUnit unit;
  size_t end;
  bool day_char = false;  // the unit was a bare 日, which dates also use
};

std::optional<UnitMatch> chinese_unit_at(std::string_view s, size_t pos) {
  size_t p = pos;
  const bool ge = s.substr(p, 3) == "个";
  if (ge) p += 3;
  struct Entry {
    std::string_view token;
    DurationUnit unit;
    bool needs_ge;  // 月 alone after a number is a month of the year: 六个月 is a duration, 6月 is June
  };
  static constexpr Entry kUnits[] = {
      {"工作日", DurationUnit::kBusinessDay, false},
      {"自然日", DurationUnit::kDay, false},
      {"日历日", DurationUnit::kDay, false},
      {"天", DurationUnit::kDay, false},
      {"日", DurationUnit::kDay, false},
      {"星期", DurationUnit::kWeek, false},
      {"礼拜", DurationUnit::kWeek, false},
      {"周年", DurationUnit::kYear, false},
      {"周", DurationUnit::kWeek, false},
      {"月", DurationUnit::kMonth, true},
      {"年", DurationUnit::kYear, false},
  };
  for (const Entry& e : kUnits) {
    if (s.substr(p, e.token.size()) != e.token) continue;
    if (e.needs_ge && !ge) return std::nullopt;
    if (ge && (e.unit == DurationUnit::kYear || e.token == "日")) return std::nullopt;  // 三个年 is not Chinese
    return UnitMatch{e.unit, p + e.token.size(), e.token == "日"};
  }
  return std::nullopt;
}

std::optional<Duration> parse_chinese_at(std::string_view s, size_t pos) {
  double value = 0;
  size_t after = pos;
  bool date_like = false;
  if (s.substr(pos, 3) == "半") {
    value = 0.5;
    after = pos + 3;
  } else {
    auto n = parse_chinese_number(s, pos);
    if (!n || !std::isfinite(n->value)) return std::nullopt;
    value = n->value;
    after = n->end;
    date_like = n->positional || value >= kMaxPlausible;
  }
  if (date_like) return std::nullopt;
  // 三个半月: the half sits between 个 and 月.
  const bool half_month = value != 0.5 && s.substr(after, 9) == "个半月";
  auto u =
      half_month ? std::optional<UnitMatch>(UnitMatch{DurationUnit::kMonth, after + 9}) : chinese_unit_at(s, after);
  if (!u) return std::nullopt;
  // Ordinals (第三年) and days of the month (3月5日, 每月5日) are not durations.
  if (ends_with(s, pos, "第")) return std::nullopt;
  if (u->day_char && (ends_with(s, pos, "月") || ends_with(s, pos, "每月") || ends_with(s, pos, "号")))
    return std::nullopt;
  if (u->unit == DurationUnit::kYear && u->end < s.size()) {
    // 2024年3月: a year in a date. 年度/年级 are not spans of time either.
    if (s.substr(u->end, 3) == "度" || s.substr(u->end, 3) == "级") return std::nullopt;
    if (auto m = parse_chinese_number(s, u->end); m && s.substr(m->end, 3) == "月") return std::nullopt;
  }
  Duration d{pos, u->end, half_month ? value + 0.5 : value, u->unit, {}};
  // 一年半: a half after the unit.
  if (value != 0.5 && d.unit == DurationUnit::kYear && s.substr(d.end, 3) == "半") {
    d.value += 0.5;
    d.end += 3;
  }
  return d;
}

// An English unit word at `pos` (after an optional "calendar"/"business" qualifier).
std::optional<UnitMatch> english_unit_at(std::string_view s, size_t pos, bool singular_only) {
  size_t p = pos;
  bool business = false;
  for (std::string_view q : {"business", "working", "banking", "calendar", "consecutive"}) {
    if (scan::word_at(s, p, q)) {
      business = q != "calendar" && q != "consecutive";
      p = scan::skip_blanks(s, p + q.size(), 2);
      break;
    }
  }
  struct Entry {
    std::string_view word;
    DurationUnit unit;
  };
  static constexpr Entry kUnits[] = {{"days", DurationUnit::kDay},     {"day", DurationUnit::kDay},
                                     {"weeks", DurationUnit::kWeek},   {"week", DurationUnit::kWeek},
                                     {"months", DurationUnit::kMonth}, {"month", DurationUnit::kMonth},
                                     {"years", DurationUnit::kYear},   {"year", DurationUnit::kYear}};
  for (const Entry& e : kUnits) {
    if (!scan::word_at(s, p, e.word)) continue;
    if (singular_only && e.word.back() == 's') continue;
    DurationUnit unit = e.unit;
    if (business) {
      if (unit != DurationUnit::kDay) return std::nullopt;
      unit = DurationUnit::kBusinessDay;
    }
    return UnitMatch{unit, p + e.word.size()};
  }
  return std::nullopt;
}

// " (30)" after number words: the figures' value and the end of the closing parenthesis.
std::optional<std::pair<double, size_t>> parenthesized_figures(std::string_view s, size_t pos) {
  size_t p = scan::skip_blanks(s, pos, 2);
  const size_t open = scan::open_paren_at(s, p);
  if (!open) return std::nullopt;
  auto f = parse_figures(s, scan::skip_blanks(s, p + open, 1));
  if (!f) return std::nullopt;
  const size_t q = scan::skip_blanks(s, f->end, 1);
  const size_t close = scan::close_paren_at(s, q);
  if (!close) return std::nullopt;
  return std::make_pair(f->value, q + close);
}

std::optional<Duration> parse_english_at(std::string_view s, size_t pos) {
  double value = 0;
  size_t after = 0;
  bool words = false;
  if (auto f = parse_figures(s, pos)) {
    value = f->value;
    after = f->end;
  } else if (auto w = parse_english_number(s, pos)) {
    value = w->value;
    after = w->end;
    words = true;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(value)) return std::nullopt;
  std::vector<std::string> warnings;
  if (words) {
    if (auto fig = parenthesized_figures(s, after)) {
      if (std::fabs(fig->first - value) > 1e-9)
        warnings.push_back("words say " + format_decimal(value) + " but figures say " + format_decimal(fig->first));
      after = fig->second;
    }
  }
  // "a 90-day period", "a six-month term": a hyphen and a singular unit.
  if (after < s.size() && s[after] == '-') {
    if (auto u = english_unit_at(s, after + 1, true)) return Duration{pos, u->end, value, u->unit, warnings};
    return std::nullopt;
  }
  const size_t p = scan::skip_blanks(s, after, 2);
  if (p == after) return std::nullopt;  // "30days" is too unusual to trust
  auto u = english_unit_at(s, p, false);
  if (!u) return std::nullopt;
  return Duration{pos, u->end, value, u->unit, warnings};
}

}  // namespace

std::string_view duration_unit_name(DurationUnit unit) {
  switch (unit) {
    case DurationUnit::kDay: return "day";
    case DurationUnit::kBusinessDay: return "business_day";
    case DurationUnit::kWeek: return "week";
    case DurationUnit::kMonth: return "month";
    case DurationUnit::kYear: return "year";
  }
  return "day";
}

std::optional<Duration> parse_duration_at(std::string_view s, size_t pos) {
  if (pos >= s.size()) return std::nullopt;
  if (auto d = parse_chinese_at(s, pos)) return d;
  return parse_english_at(s, pos);
}

std::vector<Duration> find_durations(std::string_view s) {
  std::vector<Duration> out;
  size_t i = 0;
  while (i < s.size()) {
    if (!number_continues_before(s, i)) {
      if (auto d = parse_duration_at(s, i)) {
        i = d->end;
        out.push_back(std::move(*d));
        continue;
      }
    }
    i = text::utf8_next(s, i);
  }
  return out;
}

std::string describe_duration(double value, DurationUnit unit) {
  std::string name(duration_unit_name(unit));
  if (unit == DurationUnit::kBusinessDay) name = "business day";
  return format_decimal(value) + " " + name + (value == 1 ? "" : "s");
}

}  // namespace ds::legal
