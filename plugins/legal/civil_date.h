// Calendar dates and the arithmetic the date normalizer needs: validity, ISO 8601 text, adding
// years, months, weeks, days and business days. Proleptic Gregorian calendar, years 1..9999.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ds::legal {

struct CivilDate {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31

  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

int days_in_month(int year, int month);  // 0 for a month outside 1..12

// A real calendar day with year in 1..9999.
bool is_valid(const CivilDate& d);

// "2024-03-01". Only meaningful for a valid date.
std::string to_iso(const CivilDate& d);

// Parses exactly "YYYY-MM-DD" (what to_iso writes); nullopt for anything else or an invalid date.
std::optional<CivilDate> from_iso(std::string_view iso);

// Days since 1970-01-01 (negative before), and back.
long long to_days(const CivilDate& d);
CivilDate from_days(long long days);

int weekday(const CivilDate& d);  // 0 = Monday ... 6 = Sunday

// `d` plus `n` months (n may be negative). A day past the end of the target month is clamped to
// its last day: 2024-01-31 + 1 month = 2024-02-29. nullopt when the year leaves 1..9999.
std::optional<CivilDate> add_months(const CivilDate& d, long long n);

// `d` plus `n` days (negative allowed). nullopt when the year leaves 1..9999.
std::optional<CivilDate> add_days(const CivilDate& d, long long n);

// The `n`-th Monday-to-Friday day after (n > 0) or before (n < 0) `d`; public holidays are not
// known. n = 0 is `d` itself. nullopt when the year leaves 1..9999.
std::optional<CivilDate> add_business_days(const CivilDate& d, long long n);

}  // namespace ds::legal
