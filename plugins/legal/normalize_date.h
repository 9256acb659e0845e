// Dates in contract text, normalized to ISO 8601:
//   absolute: 2024年3月1日, 二〇二四年三月一日, 2024年3月 (-> 2024-03), 3月1日 (-> --03-01, no year),
//     2024-03-01, 2024/3/1, 2024.3.1, March 1, 2024, Mar. 1st 2024, 1 March 2024, the 1st day of March,
//     2024, March 2024, 03/01/2024 (month first; day first when the first number is over 12);
//   relative: "five (5) years after the Effective Date", "within thirty (30) days of receipt",
//     "60 days prior to expiration", 自合同生效之日起三年, 收到发票后十五个工作日内, 届满前三十日 ->
//     an anchor (effective, sign, receipt, delivery ...) plus or minus a duration. When the anchor's
//     date is known the date is computed, and the derivation is always recorded as text:
//     "Effective Date 2024-03-01 + 5 years = 2029-03-01", or "receipt + 30 days (anchor date unknown)".
//
// Offsets are bytes. Pure functions, thread-safe; nothing throws.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "civil_date.h"
#include "language.h"
#include "normalize_duration.h"

namespace ds::legal {

// Named anchor dates of one document: "effective" (the Effective Date, 生效日), "sign" (signing,
// 签订日), and any other anchor name a caller knows ("receipt", "delivery", "acceptance", "invoice",
// "termination", "payment", "notice", "closing").
using AnchorDates = std::map<std::string, CivilDate, std::less<>>;

struct DateMention {
  size_t begin = 0;  // bytes; a relative date covers the anchor words, the duration and 内/within
  size_t end = 0;
  bool relative = false;
  // ISO 8601: "2024-03-01"; "2024-03" for a month; "--03-01" without a year; "" when a relative
  // date cannot be computed or the written date does not exist (2023年2月30日).
  std::string value;
  std::string precision;  // "day", "month", "day_no_year"
  // Relative dates only:
  std::string anchor;       // the anchor's name (see AnchorDates), "date" for an explicit date, "other"
  std::string anchor_text;  // the anchor as written: "the Effective Date", "合同生效"
  Duration offset;          // the duration, as found (its offsets are within the mention)
  int direction = 1;        // +1 after the anchor, -1 before it
  bool within = false;      // "within"/"内": the date is a deadline, not the day itself
  std::string derivation;   // how `value` was computed, or why it was not
  std::vector<std::string> warnings;
};

// All dates in `text`, left to right, non-overlapping, relative ones not yet resolved (their
// derivation says the anchor is unknown; an explicit anchor date is resolved). `language` decides
// the order of numeric dates like 03/01/2024 (kEn: month first; kZh also, with a warning).
std::vector<DateMention> find_dates(std::string_view text, Language language);

// The effective and signing dates stated in the document, read from the words around absolute
// dates in `dates` ('as of March 1, 2024 (the "Effective Date")', 本合同自2024年3月1日起生效,
// 签订日期:2024年3月1日, "dated March 1, 2024"). A contract effective on signing (自双方签字盖章之日起
// 生效, "effective upon execution") gets the signing date as its effective date.
AnchorDates find_anchor_dates(std::string_view text, const std::vector<DateMention>& dates);

// Computes every relative date in `dates` whose anchor is in `anchors`, and writes the derivation
// of each relative date.
void resolve_relative_dates(std::vector<DateMention>& dates, const AnchorDates& anchors);

// find_dates, then find_anchor_dates merged with `known` (a known anchor wins over a found one),
// then resolve_relative_dates.
std::vector<DateMention> normalize_dates(std::string_view text, Language language, const AnchorDates& known = {});

}  // namespace ds::legal
