#include "civil_date.h"

#include <cstdio>
#include <cstdlib>

namespace ds::legal {
namespace {

constexpr long long kMaxOffsetDays = 4'000'000;  // more than 9999 years: the result cannot be valid

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

bool is_valid(const CivilDate& d) {
  return d.year >= 1 && d.year <= 9999 && d.day >= 1 && d.day <= days_in_month(d.year, d.month);
}

std::string to_iso(const CivilDate& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year % 10000, d.month % 100, d.day % 100);
  return buf;
}

std::optional<CivilDate> from_iso(std::string_view iso) {
  if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-') return std::nullopt;
  auto field = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (iso[i] < '0' || iso[i] > '9') return -1;
      v = v * 10 + (iso[i] - '0');
    }
    return v;
  };
  CivilDate d{field(0, 4), field(5, 2), field(8, 2)};
  if (!is_valid(d)) return std::nullopt;
  return d;
}

// Howard Hinnant's days_from_civil / civil_from_days.
long long to_days(const CivilDate& d) {
  const long long y = d.year - (d.month <= 2 ? 1 : 0);
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const long long yoe = y - era * 400;
  const long long mp = (d.month + 9) % 12;
  const long long doy = (153 * mp + 2) / 5 + d.day - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate from_days(long long z) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const long long doe = z - era * 146097;
  const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long long mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {static_cast<int>(year), month, day};
}

int weekday(const CivilDate& d) {
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  const long long w = (to_days(d) + 3) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

std::optional<CivilDate> add_months(const CivilDate& d, long long n) {
  if (std::llabs(n) > 12 * 10000) return std::nullopt;
  const long long index = static_cast<long long>(d.year) * 12 + (d.month - 1) + n;
  const long long year = index / 12;
  const int month = static_cast<int>(index % 12) + 1;
  if (index < 0 || year < 1 || year > 9999) return std::nullopt;
  CivilDate out{static_cast<int>(year), month, d.day};
  if (out.day > days_in_month(out.year, out.month)) out.day = days_in_month(out.year, out.month);
  return out;
}

std::optional<CivilDate> add_days(const CivilDate& d, long long n) {
  if (std::llabs(n) > kMaxOffsetDays) return std::nullopt;
  CivilDate out = from_days(to_days(d) + n);
  if (!is_valid(out)) return std::nullopt;
  return out;
}

std::optional<CivilDate> add_business_days(const CivilDate& d, long long n) {
  if (std::llabs(n) > kMaxOffsetDays) return std::nullopt;
  const long long step = n >= 0 ? 1 : -1;
  long long days = to_days(d);
  long long left = std::llabs(n);
  // From a weekend, counting forward is as from the Friday before and counting back as from the
  // Monday after; from a weekday, every five business days are exactly seven days, so a large n
  // does not walk day by day.
  if (left > 0) {
    const int w = weekday(d);
    if (w >= 5) days += step > 0 ? -(w - 4) : 7 - w;
  }
  days += step * 7 * (left / 5);
  left %= 5;
  while (left > 0) {
    days += step;
    if (weekday(from_days(days)) < 5) --left;
  }
  CivilDate out = from_days(days);
  if (!is_valid(out)) return std::nullopt;
  return out;
}

}  // namespace ds::legal
