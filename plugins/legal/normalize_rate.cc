#include "normalize_rate.h"

#include <cmath>
#include <optional>

#include "ds/plugin_text.h"
#include "numerals.h"
#include "scan.h"
#include "value_format.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

constexpr size_t kLookBehindBytes = 45;  // about 15 Chinese characters of the same clause

struct PerWord {
  std::string_view token;
  RatePer per;
};

// Written right before a rate: 日万分之五, 每日千分之三, 年利率6%. Longest first.
constexpr PerWord kAdjacentBefore[] = {
    {"日利率", RatePer::kDay}, {"每日", RatePer::kDay},   {"每天", RatePer::kDay},     {"按日", RatePer::kDay},
    {"日息", RatePer::kDay},   {"日", RatePer::kDay},     {"月利率", RatePer::kMonth}, {"每月", RatePer::kMonth},
    {"按月", RatePer::kMonth}, {"月息", RatePer::kMonth}, {"月", RatePer::kMonth},     {"年利率", RatePer::kYear},
    {"年化", RatePer::kYear},  {"每年", RatePer::kYear},  {"按年", RatePer::kYear},    {"年息", RatePer::kYear},
    {"年", RatePer::kYear},
};

// Anywhere earlier in the clause (a single 日/月/年 is too common there to mean a period).
constexpr PerWord kInClause[] = {
    {"日利率", RatePer::kDay},      {"每日", RatePer::kDay},     {"每天", RatePer::kDay},
    {"按日", RatePer::kDay},        {"日息", RatePer::kDay},     {"daily", RatePer::kDay},
    {"per day", RatePer::kDay},     {"月利率", RatePer::kMonth}, {"每月", RatePer::kMonth},
    {"按月", RatePer::kMonth},      {"月息", RatePer::kMonth},   {"monthly", RatePer::kMonth},
    {"年利率", RatePer::kYear},     {"年化", RatePer::kYear},    {"每年", RatePer::kYear},
    {"按年", RatePer::kYear},       {"年息", RatePer::kYear},    {"annual", RatePer::kYear},
    {"annualized", RatePer::kYear}, {"yearly", RatePer::kYear},
};

// Written right after the rate.
constexpr PerWord kAfter[] = {
    {"/日", RatePer::kDay},          {"/天", RatePer::kDay},         {"/day", RatePer::kDay},
    {"每日", RatePer::kDay},         {"每天", RatePer::kDay},        {"per day", RatePer::kDay},
    {"a day", RatePer::kDay},        {"each day", RatePer::kDay},    {"per diem", RatePer::kDay},
    {"daily", RatePer::kDay},        {"/月", RatePer::kMonth},       {"/month", RatePer::kMonth},
    {"每月", RatePer::kMonth},       {"per month", RatePer::kMonth}, {"a month", RatePer::kMonth},
    {"each month", RatePer::kMonth}, {"monthly", RatePer::kMonth},   {"/年", RatePer::kYear},
    {"/year", RatePer::kYear},       {"每年", RatePer::kYear},       {"per annum", RatePer::kYear},
    {"per year", RatePer::kYear},    {"a year", RatePer::kYear},     {"each year", RatePer::kYear},
    {"annually", RatePer::kYear},    {"p.a.", RatePer::kYear},
};

struct Core {
  size_t begin = 0;
  size_t end = 0;
  double value = 0.0;
  std::vector<std::string> warnings;
};

// 百分之二十, 千分之三, 万分之五 at `pos`.
std::optional<Core> parse_fraction_words(std::string_view s, size_t pos) {
  static constexpr std::pair<std::string_view, double> kDenominators[] = {
      {"百分之", 100}, {"千分之", 1000}, {"万分之", 10000}};
  for (const auto& [token, denominator] : kDenominators) {
    if (s.substr(pos, token.size()) != token) continue;
    auto n = parse_chinese_number(s, pos + token.size());
    if (!n || !std::isfinite(n->value)) return std::nullopt;
    return Core{pos, n->end, n->value / denominator, {}};
  }
  return std::nullopt;
}

// "10%", "２０％", "5‰", "二十%", "10 percent", "ten percent (10%)" at `pos`.
std::optional<Core> parse_percent(std::string_view s, size_t pos) {
  std::optional<NumberMatch> n = parse_chinese_number(s, pos);
  bool words = false;
  if (!n) {
    n = parse_english_number(s, pos);
    words = n.has_value();
  }
  if (!n || !std::isfinite(n->value)) return std::nullopt;
  size_t p = scan::skip_blanks(s, n->end, 1);
  double denominator = 0;
  bool spelled = false;
  static constexpr std::pair<std::string_view, double> kSigns[] = {
      {"%", 100}, {"％", 100}, {"‰", 1000}, {"‱", 10000}, {"per centum", 100}, {"per cent", 100}, {"percent", 100}};
  for (const auto& [sign, d] : kSigns) {
    if (scan::word_at(s, p, sign)) {
      denominator = d;
      spelled = text::is_ascii_alpha(sign.front());
      p += sign.size();
      break;
    }
  }
  // Number words go with "percent", not with a sign ("ten %" is too odd to trust).
  if (denominator == 0 || (words && !spelled)) return std::nullopt;
  Core c{pos, p, n->value / denominator, {}};
  // "ten percent (10%)": the figures check the words.
  const size_t q = scan::skip_blanks(s, p, 2);
  if (const size_t open = scan::open_paren_at(s, q); open && !n->figures) {
    if (auto inner = parse_percent(s, scan::skip_blanks(s, q + open, 1))) {
      const size_t r = scan::skip_blanks(s, inner->end, 1);
      if (const size_t close = scan::close_paren_at(s, r)) {
        if (std::fabs(inner->value - c.value) > 1e-12)
          c.warnings.push_back("words say " + format_decimal(c.value * denominator) + " percent but figures say " +
                               format_decimal(inner->value * 100) + "%");
        c.end = r + close;
      }
    }
  }
  return c;
}

std::optional<Core> parse_core(std::string_view s, size_t pos) {
  if (auto c = parse_fraction_words(s, pos)) return c;
  if (number_continues_before(s, pos)) return std::nullopt;
  return parse_percent(s, pos);
}

bool ends_with(std::string_view s, size_t pos, std::string_view token) {
  return pos >= token.size() && s.substr(pos - token.size(), token.size()) == token;
}

}  // namespace

std::string_view rate_per_name(RatePer per) {
  switch (per) {
    case RatePer::kDay: return "day";
    case RatePer::kMonth: return "month";
    case RatePer::kYear: return "year";
    case RatePer::kNone: return "";
  }
  return "";
}

std::vector<Rate> find_rates(std::string_view s) {
  std::vector<Rate> out;
  size_t i = 0;
  while (i < s.size()) {
    auto core = parse_core(s, i);
    if (!core) {
      i = text::utf8_next(s, i);
      continue;
    }
    Rate r;
    r.begin = core->begin;
    r.end = core->end;
    r.value = core->value;
    r.warnings = std::move(core->warnings);
    // The period: right after, right before, then anywhere earlier in the clause.
    const size_t after = scan::skip_blanks(s, r.end, 1);
    for (const PerWord& w : kAfter) {
      if (scan::word_at(s, after, w.token)) {
        r.per = w.per;
        r.per_text = std::string(w.token);
        r.end = after + w.token.size();
        break;
      }
    }
    if (r.per == RatePer::kNone) {
      for (const PerWord& w : kAdjacentBefore) {
        if (ends_with(s, r.begin, w.token)) {
          r.per = w.per;
          r.per_text = std::string(w.token);
          r.begin -= w.token.size();
          break;
        }
      }
    }
    if (r.per == RatePer::kNone) {
      const size_t from = scan::clause_start(s, r.begin, kLookBehindBytes, true);
      std::string_view window = s.substr(from, r.begin - from);
      const std::string lowered = text::ascii_lowercase(window);
      size_t best = std::string_view::npos;
      for (const PerWord& w : kInClause) {
        const size_t at = lowered.rfind(text::ascii_lowercase(w.token));
        if (at != std::string::npos && (best == std::string_view::npos || at > best)) {
          best = at;
          r.per = w.per;
          r.per_text = std::string(window.substr(at, w.token.size()));
        }
      }
    }
    i = core->end > r.end ? core->end : r.end;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ds::legal
