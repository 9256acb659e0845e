#include "normalize_date.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "ds/plugin_text.h"
#include "numerals.h"
#include "scan.h"
#include "value_format.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

constexpr size_t kAnchorWindowBytes = 75;   // about 25 Chinese characters or 12 English words
constexpr size_t kContextWindowBytes = 60;  // around an absolute date, for find_anchor_dates
constexpr int kMinYear = 1000;
constexpr int kMaxYear = 9999;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<int> as_int(const NumberMatch& n) {
  if (!std::isfinite(n.value) || n.value != std::floor(n.value) || n.value < 0 || n.value > 1e6) return std::nullopt;
  return static_cast<int>(n.value);
}

DateMention absolute(size_t begin, size_t end, int y, int m, int d, const char* precision) {
  DateMention out;
  out.begin = begin;
  out.end = end;
  out.precision = precision;
  if (std::string_view(precision) == "month") {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
    out.value = buf;
  } else if (std::string_view(precision) == "day_no_year") {
    char buf[16];
    std::snprintf(buf, sizeof buf, "--%02d-%02d", m, d);
    // February 29 exists in some year: check against a leap year.
    if (d > days_in_month(2024, m)) {
      out.value.clear();
      out.warnings.push_back("no such calendar date");
    } else {
      out.value = buf;
      out.warnings.push_back("no year given");
    }
  } else if (CivilDate date{y, m, d}; is_valid(date)) {
    out.value = to_iso(date);
  } else {
    out.warnings.push_back("no such calendar date");
  }
  return out;
}

// A four-digit year: figures (2024) or Chinese (二〇二四, 两千零二十四).
std::optional<std::pair<int, size_t>> year_at(std::string_view s, size_t pos, bool chinese_ok) {
  auto n = chinese_ok ? parse_chinese_number(s, pos) : parse_figures(s, pos);
  if (!n) return std::nullopt;
  auto v = as_int(*n);
  if (!v || *v < kMinYear || *v > kMaxYear) return std::nullopt;
  if (n->figures && n->chinese) return std::nullopt;  // 2千零24 is not a way to write a year
  if (n->figures && n->end - pos != 4 && n->end - pos != 12) return std::nullopt;  // 4 ASCII or full-width digits
  return std::make_pair(*v, n->end);
}

// 2024年3月1日, 二〇二四年三月一日, 2024年3月; and 3月1日 without a year.
std::optional<DateMention> chinese_date_at(std::string_view s, size_t pos) {
  size_t p = pos;
  std::optional<int> year;
  if (auto y = year_at(s, pos, true)) {
    size_t q = scan::skip_blanks(s, y->second, 1);
    if (s.substr(q, 3) == "年") {
      year = y->first;
      p = scan::skip_blanks(s, q + 3, 1);
    }
  }
  if (!year) {
    // 3月1日 alone; not 每月5日 or 次月1日, which recur or are relative.
    for (std::string_view before : {"每", "次", "个", "第", "上", "下", "本"})
      if (pos >= before.size() && s.substr(pos - before.size(), before.size()) == before) return std::nullopt;
  }
  auto m = parse_chinese_number(s, p);
  if (!m || (m->figures && m->chinese)) return std::nullopt;
  auto month = as_int(*m);
  size_t q = scan::skip_blanks(s, m->end, 1);
  if (!month || *month < 1 || *month > 12 || s.substr(q, 3) != "月") return std::nullopt;
  q += 3;
  const size_t after_month = q;
  q = scan::skip_blanks(s, q, 1);
  if (auto d = parse_chinese_number(s, q); d && !(d->figures && d->chinese)) {
    auto day = as_int(*d);
    size_t r = scan::skip_blanks(s, d->end, 1);
    const bool day_word = s.substr(r, 3) == "日" || s.substr(r, 3) == "号";
    if (day && day_word && *day >= 1 && *day <= 31) {
      if (!year) return absolute(pos, r + 3, 0, *month, *day, "day_no_year");
      return absolute(pos, r + 3, *year, *month, *day, "day");
    }
  }
  if (!year) return std::nullopt;
  return absolute(pos, after_month, *year, *month, 1, "month");
}

struct Numeric {
  int value;
  size_t end;
  size_t digits;
};

std::optional<Numeric> small_number(std::string_view s, size_t pos) {
  int v = 0;
  size_t p = pos, digits = 0;
  while (auto d = digit_at(s, p)) {
    if (++digits > 4) return std::nullopt;
    v = v * 10 + d->first;
    p += d->second;
  }
  if (digits == 0) return std::nullopt;
  return Numeric{v, p, digits};
}

// 2024-03-01, 2024/3/1, 2024.3.1; 03/01/2024, 1.3.2024. The separators must match.
std::optional<DateMention> numeric_date_at(std::string_view s, size_t pos, Language language) {
  auto a = small_number(s, pos);
  if (!a || a->end >= s.size()) return std::nullopt;
  const char sep = s[a->end];
  if (sep != '-' && sep != '/' && sep != '.') return std::nullopt;
  auto b = small_number(s, a->end + 1);
  if (!b || b->end >= s.size() || s[b->end] != sep || b->digits > 2) return std::nullopt;
  auto c = small_number(s, b->end + 1);
  if (!c) return std::nullopt;
  const size_t end = c->end;
  // Not part of a longer run of numbers: 1.2.2024.5, 2024-03-01-7.
  if (end < s.size() && (s[end] == sep || s[end] == '-' || s[end] == '/') && digit_at(s, end + 1)) return std::nullopt;
  if (end + 1 < s.size() && s[end] == '.' && digit_at(s, end + 1)) return std::nullopt;
  if (a->digits == 4 && c->digits <= 2) {
    if (a->value < kMinYear || b->value < 1 || b->value > 12 || c->value < 1 || c->value > 31) return std::nullopt;
    return absolute(pos, end, a->value, b->value, c->value, "day");
  }
  if (c->digits != 4 || a->digits > 2 || c->value < kMinYear) return std::nullopt;
  int month = a->value, day = b->value;
  std::string note;
  if (month > 12 && day <= 12) {
    std::swap(month, day);
    note = "read as day/month/year (the first number is over 12)";
  } else if (language == Language::kZh && day <= 12 && month != day) {
    note = "numeric date order assumed month/day/year";
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  DateMention out = absolute(pos, end, c->value, month, day, "day");
  if (!note.empty()) out.warnings.push_back(note);
  return out;
}

struct MonthName {
  std::string_view name;
  int month;
};
constexpr MonthName kMonths[] = {
    {"january", 1}, {"february", 2}, {"march", 3},     {"april", 4},    {"may", 5},       {"june", 6},
    {"july", 7},    {"august", 8},   {"september", 9}, {"october", 10}, {"november", 11}, {"december", 12},
    {"sept", 9},    {"jan", 1},      {"feb", 2},       {"mar", 3},      {"apr", 4},       {"jun", 6},
    {"jul", 7},     {"aug", 8},      {"sep", 9},       {"oct", 10},     {"nov", 11},      {"dec", 12},
};

// A capitalized month name ("March", "MARCH", "Mar."), so the verbs "march" and "may" are not months.
std::optional<std::pair<int, size_t>> month_name_at(std::string_view s, size_t pos) {
  if (pos >= s.size() || !(s[pos] >= 'A' && s[pos] <= 'Z')) return std::nullopt;
  for (const MonthName& m : kMonths) {
    if (!scan::word_at(s, pos, m.name)) continue;
    size_t end = pos + m.name.size();
    if (m.name.size() == 3 || m.name == "sept") {
      if (end < s.size() && s[end] == '.') ++end;
    }
    return std::make_pair(m.month, end);
  }
  return std::nullopt;
}

// ", 2024" or " 2024" after a day or month name.
std::optional<std::pair<int, size_t>> english_year_after(std::string_view s, size_t pos) {
  size_t p = pos;
  if (p < s.size() && s[p] == ',') ++p;
  const size_t q = scan::skip_blanks(s, p, 2);
  if (q == p && p == pos) return std::nullopt;
  auto y = year_at(s, q, false);
  if (!y || digit_at(s, y->second)) return std::nullopt;
  return y;
}

// A day number: 1, 01, 1st, first.
std::optional<std::pair<int, size_t>> english_day_at(std::string_view s, size_t pos) {
  if (auto o = parse_ordinal(s, pos)) return o;
  if (auto n = small_number(s, pos); n && n->digits <= 2 && !(n->end < s.size() && text::is_ascii_alpha(s[n->end])))
    return std::make_pair(n->value, n->end);
  return std::nullopt;
}

// March 1, 2024; Mar. 1st 2024; March 2024.
std::optional<DateMention> english_month_first_at(std::string_view s, size_t pos) {
  auto m = month_name_at(s, pos);
  if (!m) return std::nullopt;
  const size_t p = scan::skip_blanks(s, m->second, 2);
  if (p > m->second) {
    if (auto d = english_day_at(s, p)) {
      if (auto y = english_year_after(s, d->second); y && d->first >= 1 && d->first <= 31)
        return absolute(pos, y->second, y->first, m->first, d->first, "day");
      return std::nullopt;  // "March 1" without a year is too often a recurring day
    }
  }
  if (auto y = english_year_after(s, m->second)) return absolute(pos, y->second, y->first, m->first, 1, "month");
  return std::nullopt;
}

// 1 March 2024; 1st March, 2024; 1st day of March, 2024; first day of March 2024.
std::optional<DateMention> english_day_first_at(std::string_view s, size_t pos) {
  auto d = english_day_at(s, pos);
  if (!d || d->first < 1 || d->first > 31) return std::nullopt;
  size_t p = scan::skip_blanks(s, d->second, 2);
  if (p == d->second) return std::nullopt;
  if (scan::word_at(s, p, "day")) {
    p = scan::skip_blanks(s, p + 3, 2);
    if (!scan::word_at(s, p, "of")) return std::nullopt;
    p = scan::skip_blanks(s, p + 2, 2);
  }
  auto m = month_name_at(s, p);
  if (!m) return std::nullopt;
  auto y = english_year_after(s, m->second);
  if (!y) return std::nullopt;
  return absolute(pos, y->second, y->first, m->first, d->first, "day");
}

std::optional<DateMention> absolute_date_at(std::string_view s, size_t pos, Language language) {
  const bool digit = digit_at(s, pos).has_value();
  if (digit || !text::is_ascii_alpha(s[pos])) {
    if (number_continues_before(s, pos)) return std::nullopt;
    if (auto d = chinese_date_at(s, pos)) return d;
    if (digit) {
      if (auto d = numeric_date_at(s, pos, language)) return d;
    }
  }
  if (pos > 0 && text::is_ascii_alnum(s[pos - 1])) return std::nullopt;
  if (auto d = english_month_first_at(s, pos)) return d;
  return english_day_first_at(s, pos);
}

// ---- relative dates ----

struct AnchorName {
  std::string_view keyword;
  std::string_view name;
};

// First match in the anchor words wins; more specific keywords first.
constexpr AnchorName kAnchorKeywords[] = {
    {"effective date", "effective"},
    {"effectiveness", "effective"},
    {"commencement date", "effective"},
    {"生效", "effective"},
    {"date hereof", "sign"},
    {"date of this agreement", "sign"},
    {"execution", "sign"},
    {"signing", "sign"},
    {"signature", "sign"},
    {"签订", "sign"},
    {"签署", "sign"},
    {"签字", "sign"},
    {"盖章", "sign"},
    {"签约", "sign"},
    {"订立", "sign"},
    {"invoice", "invoice"},
    {"发票", "invoice"},
    {"receipt", "receipt"},
    {"收到", "receipt"},
    {"收悉", "receipt"},
    {"接到", "receipt"},
    {"acceptance", "acceptance"},
    {"验收", "acceptance"},
    {"delivery", "delivery"},
    {"交付", "delivery"},
    {"交货", "delivery"},
    {"到货", "delivery"},
    {"termination", "termination"},
    {"expiration", "termination"},
    {"expiry", "termination"},
    {"届满", "termination"},
    {"期满", "termination"},
    {"到期", "termination"},
    {"终止", "termination"},
    {"解除", "termination"},
    {"closing", "closing"},
    {"payment", "payment"},
    {"付款", "payment"},
    {"支付", "payment"},
    {"notice", "notice"},
    {"通知", "notice"},
};

std::string anchor_name(std::string_view words) {
  const std::string lowered = text::ascii_lowercase(words);
  size_t best = std::string::npos;
  std::string name = "other";
  for (const AnchorName& a : kAnchorKeywords) {
    const size_t at = lowered.find(a.keyword);
    if (at != std::string::npos && at < best) {
      best = at;
      name = std::string(a.name);
    }
  }
  return name;
}

std::string anchor_label(const std::string& name, const std::string& written) {
  if (name == "effective") return "Effective Date";
  if (name == "sign") return "signing date";
  if (name == "date" || name == "other") return written;
  return name;
}

// An absolute date inside [begin, end), used as an explicit anchor ("自2024年3月1日起三年").
const DateMention* date_within(const std::vector<DateMention>& dates, size_t begin, size_t end) {
  for (const DateMention& d : dates)
    if (!d.relative && d.begin >= begin && d.end <= end && d.precision == "day" && !d.value.empty()) return &d;
  return nullptr;
}

std::string_view trim(std::string_view s) { return text::trim(s); }

// The length of the clause numbering at the start of `s`: "4.2 ", "(1)", "（一）", "一、", "3、".
size_t numbering_length(std::string_view s) {
  size_t p = 0;
  for (bool again = true; again && p < s.size();) {
    again = false;
    const size_t q = scan::skip_blanks(s, p, 4);
    if (q != p) {
      p = q;
      again = true;
    }
    if (const size_t open = scan::open_paren_at(s, p)) {
      size_t close = p + open;
      while (close < s.size() && close - p < 12 && !scan::close_paren_at(s, close)) close = text::utf8_next(s, close);
      auto inner = parse_chinese_number(s, p + open);
      if (const size_t c = scan::close_paren_at(s, close); c && inner && inner->end == close) {
        p = close + c;
        again = true;
        continue;
      }
    }
    if (auto n = parse_chinese_number(s, p)) {
      size_t q2 = n->end;
      while (q2 < s.size() && (s[q2] == '.' || digit_at(s, q2))) q2 += digit_at(s, q2) ? digit_at(s, q2)->second : 1;
      if (s.substr(q2, 3) == "、" || (q2 < s.size() && (s[q2] == ' ' || s[q2] == '.')) || q2 > n->end) {
        p = s.substr(q2, 3) == "、" ? q2 + 3 : q2;
        again = true;
      }
    }
  }
  return p;
}

// 自合同生效之日起三年, 收到发票后十五个工作日内, 期满前三十日. `dur` is the duration.
std::optional<DateMention> chinese_relative(std::string_view s, const Duration& dur) {
  const size_t from = scan::clause_start(s, dur.begin, kAnchorWindowBytes, true);
  std::string_view before = s.substr(from, dur.begin - from);
  while (!before.empty() && (before.back() == ' ' || ends_with(before, "的"))) {
    before.remove_suffix(before.back() == ' ' ? 1 : 3);
  }
  struct Link {
    std::string_view token;
    int direction;
    bool needs_start;  // 起/开始 pair with a 自/从 before the anchor
  };
  static constexpr Link kLinks[] = {
      {"之日起", 1, true},  {"之日开始", 1, true}, {"起算", 1, true},  {"起", 1, true},  {"开始", 1, true},
      {"之日后", 1, false}, {"之后", 1, false},    {"以后", 1, false}, {"后", 1, false}, {"之日前", -1, false},
      {"之前", -1, false},  {"以前", -1, false},   {"前", -1, false},
  };
  const Link* link = nullptr;
  for (const Link& l : kLinks)
    if (ends_with(before, l.token)) {
      link = &l;
      break;
    }
  if (!link) return std::nullopt;
  std::string_view anchor = before.substr(0, before.size() - link->token.size());
  if (link->direction < 0 && ends_with(anchor, "提")) return std::nullopt;  // 提前三十日: in advance, no anchor
  // Where the anchor words start: after the last opener. 自/从 belong to the phrase (自…之日起);
  // 于 and 在 are just "at" — but not the 在 of a word (在职, 存在, 现在, 所在, 实在, 正在).
  struct Opener {
    std::string_view token;
    bool keep;
  };
  static constexpr Opener kOpeners[] = {{"自", true}, {"从", true}, {"于", false}, {"在", false}};
  auto is_opener = [&](const Opener& o, size_t at) {
    if (o.token != "在") return true;
    if (anchor.substr(at + 3, 3) == "职") return false;
    for (std::string_view word : {"存", "现", "所", "实", "正"})
      if (at >= 3 && anchor.substr(at - 3, 3) == word) return false;
    return true;
  };
  size_t anchor_begin = from;
  size_t start = std::string_view::npos;
  const Opener* opener = nullptr;
  for (const Opener& o : kOpeners) {
    size_t at = anchor.rfind(o.token);
    while (at != std::string_view::npos && !is_opener(o, at))
      at = at == 0 ? std::string_view::npos : anchor.rfind(o.token, at - 1);
    if (at != std::string_view::npos && (start == std::string_view::npos || at > start)) {
      start = at;
      opener = &o;
    }
  }
  if (opener) {
    anchor_begin = from + start + (opener->keep ? 0 : opener->token.size());
    anchor = anchor.substr(start + opener->token.size());
  } else if (link->needs_start) {
    return std::nullopt;  // a bare 起 is not an anchor: 三年起 is a minimum
  } else {
    // From the start of the clause, past its numbering: "4.2 ", "(1)", "一、".
    const size_t skipped = numbering_length(anchor);
    anchor_begin += skipped;
    anchor = anchor.substr(skipped);
  }
  // 自生效之日起至终止后五年内: the period hangs off what follows 至.
  if (!link->needs_start) {
    if (const size_t to = anchor.rfind("至"); to != std::string_view::npos) {
      anchor_begin = static_cast<size_t>(anchor.data() - s.data()) + to + 3;
      anchor = anchor.substr(to + 3);
    }
  }
  if (ends_with(anchor, "之日")) anchor.remove_suffix(6);
  anchor = trim(anchor);
  if (anchor.empty()) return std::nullopt;
  DateMention out;
  out.relative = true;
  out.begin = anchor_begin;
  out.end = dur.end;
  for (std::string_view within : {"以内", "之内", "内"}) {
    if (s.substr(dur.end, within.size()) == within) {
      out.within = true;
      out.end = dur.end + within.size();
      break;
    }
  }
  out.anchor_text = std::string(anchor);
  out.anchor = anchor_name(anchor);
  out.offset = dur;
  out.direction = link->direction;
  return out;
}

// "five (5) years after the Effective Date", "within thirty (30) days of receipt of the invoice".
std::optional<DateMention> english_relative(std::string_view s, const Duration& dur) {
  size_t p = scan::skip_blanks(s, dur.end, 2);
  struct Link {
    std::string_view words;
    int direction;
    bool needs_within;  // "30 days of receipt" only reads as a date after "within"
  };
  static constexpr Link kLinks[] = {
      {"prior to", -1, false}, {"before", -1, false}, {"after", 1, false},
      {"following", 1, false}, {"from", 1, false},    {"of", 1, true},
  };
  // Before the duration: "within", "no later than", "not later than".
  bool within = false;
  size_t begin = dur.begin;
  {
    const size_t from = scan::clause_start(s, dur.begin, 40, true);
    std::string_view before = s.substr(from, dur.begin - from);
    while (!before.empty() && before.back() == ' ') before.remove_suffix(1);
    const std::string lowered = text::ascii_lowercase(before);
    for (std::string_view w : {"within", "no later than", "not later than", "no more than", "not more than"}) {
      if (ends_with(lowered, w) &&
          (lowered.size() == w.size() || !text::is_ascii_alpha(lowered[lowered.size() - w.size() - 1]))) {
        within = true;
        begin = from + before.size() - w.size();
        break;
      }
    }
  }
  const Link* link = nullptr;
  for (const Link& l : kLinks) {
    if (scan::word_at(s, p, l.words) && (!l.needs_within || within)) {
      link = &l;
      p = scan::skip_blanks(s, p + l.words.size(), 2);
      break;
    }
  }
  if (!link) return std::nullopt;
  // "after the date of", "from the date of": the words that matter follow.
  for (std::string_view filler : {"the date of", "the date on which", "the day of"}) {
    if (scan::word_at(s, p, filler) && !scan::word_at(s, p, "the date of this")) {
      p = scan::skip_blanks(s, p + filler.size(), 2);
      break;
    }
  }
  // The anchor: up to six words, ending at punctuation or a word that starts a new thought.
  static constexpr std::string_view kStops[] = {"and", "or", "unless", "provided", "whichever", "if",
                                                "to",  "by", "for",    "with",     "at",        "in",
                                                "on",  "as", "shall",  "which",    "that"};
  const size_t anchor_begin = p;
  size_t anchor_end = p;
  int words = 0;
  while (p < s.size() && words < 6) {
    if (auto d = absolute_date_at(s, p, Language::kEn)) {
      anchor_end = d->end;
      break;
    }
    if (!text::is_ascii_alnum(s[p]) && s[p] != '"' && s.substr(p, 3) != "“" && s.substr(p, 3) != "”") break;
    bool stop = false;
    for (std::string_view w : kStops)
      if (scan::word_at(s, p, w) && words > 0) stop = true;
    if (stop) break;
    size_t q = p;
    while (q < s.size() && (text::is_ascii_alnum(s[q]) || s[q] == '\'' || s[q] == '-' || scan::quote_at(s, q)))
      q += scan::quote_at(s, q) ? scan::quote_at(s, q) : 1;
    if (q == p) break;
    anchor_end = q;
    ++words;
    const size_t next = scan::skip_blanks(s, q, 1);
    if (next == q) break;
    p = next;
  }
  std::string_view anchor = trim(s.substr(anchor_begin, anchor_end - anchor_begin));
  if (anchor.empty()) return std::nullopt;
  DateMention out;
  out.relative = true;
  out.begin = begin;
  out.end = anchor_end;
  out.within = within;
  out.anchor_text = std::string(anchor);
  out.anchor = anchor_name(anchor);
  out.offset = dur;
  out.direction = link->direction;
  return out;
}

std::optional<CivilDate> apply_offset(const CivilDate& from, const Duration& d, int direction, std::string& why) {
  const double v = d.value * direction;
  auto whole = [&](double x) -> std::optional<long long> {
    if (!std::isfinite(x) || x != std::floor(x) || std::fabs(x) > 1e7) return std::nullopt;
    return static_cast<long long>(x);
  };
  std::optional<long long> n;
  switch (d.unit) {
    case DurationUnit::kYear:
      if ((n = whole(v * 12))) return add_months(from, *n);
      break;
    case DurationUnit::kMonth:
      if ((n = whole(v))) return add_months(from, *n);
      break;
    case DurationUnit::kWeek:
      if ((n = whole(v * 7))) return add_days(from, *n);
      break;
    case DurationUnit::kDay:
      if ((n = whole(v))) return add_days(from, *n);
      break;
    case DurationUnit::kBusinessDay:
      if ((n = whole(v))) return add_business_days(from, *n);
      break;
  }
  why = "the offset is not a whole number of " + std::string(duration_unit_name(d.unit)) + "s";
  return std::nullopt;
}

bool contains_any(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  const std::string lowered = text::ascii_lowercase(haystack);
  for (std::string_view n : needles)
    if (lowered.find(n) != std::string::npos) return true;
  return false;
}

}  // namespace

std::vector<DateMention> find_dates(std::string_view s, Language language) {
  language = language == Language::kAuto ? detect_language(s) : language;
  std::vector<DateMention> out;
  for (size_t i = 0; i < s.size();) {
    if (auto d = absolute_date_at(s, i, language)) {
      i = d->end;
      out.push_back(std::move(*d));
    } else {
      i = text::utf8_next(s, i);
    }
  }
  // Relative dates hang off durations; an absolute date already covers a duration-like piece.
  std::vector<DateMention> relative;
  for (const Duration& dur : find_durations(s)) {
    const bool inside_date = std::any_of(out.begin(), out.end(),
                                         [&](const DateMention& d) { return dur.begin < d.end && d.begin < dur.end; });
    if (inside_date) continue;
    std::optional<DateMention> r = chinese_relative(s, dur);
    if (!r) r = english_relative(s, dur);
    if (!r) continue;
    if (!relative.empty() && r->begin < relative.back().end) continue;
    if (const DateMention* explicit_anchor = date_within(out, r->begin, r->end)) {
      r->anchor = "date";
      r->anchor_text = explicit_anchor->value;
    }
    relative.push_back(std::move(*r));
  }
  // Merge: a relative date swallows the absolute date that is its anchor.
  std::vector<DateMention> merged;
  for (DateMention& a : out) {
    const bool covered = std::any_of(relative.begin(), relative.end(),
                                     [&](const DateMention& r) { return a.begin >= r.begin && a.end <= r.end; });
    if (!covered) merged.push_back(std::move(a));
  }
  for (DateMention& r : relative) merged.push_back(std::move(r));
  std::sort(merged.begin(), merged.end(), [](const DateMention& a, const DateMention& b) { return a.begin < b.begin; });
  resolve_relative_dates(merged, {});
  return merged;
}

AnchorDates find_anchor_dates(std::string_view s, const std::vector<DateMention>& dates) {
  AnchorDates found;
  for (const DateMention& d : dates) {
    if (d.relative || d.precision != "day" || d.value.empty()) continue;
    auto date = from_iso(d.value);
    if (!date) continue;
    const size_t from = scan::clause_start(s, d.begin, kContextWindowBytes, false);
    const size_t to = scan::clause_end(s, d.end, kContextWindowBytes, false);
    std::string_view before = s.substr(from, d.begin - from);
    std::string_view after = s.substr(d.end, to - d.end);
    std::string_view near_after = after.substr(0, std::min<size_t>(after.size(), 40));
    const bool effective = contains_any(near_after, {"起生效", "生效", "effective date", "commencement date"}) ||
                           contains_any(before, {"生效日期", "生效时间", "生效日", "effective date", "effective as of",
                                                 "effective on", "commencement date", "commencing on", "commence on"});
    const bool sign =
        contains_any(before, {"签订日期", "签订时间", "签署日期", "签约日期", "签订于", "签署于", "签字日期", "dated",
                              "entered into", "made on", "executed on", "signed on", "date of signing",
                              "date of execution", "signing date"}) ||
        contains_any(near_after.substr(0, std::min<size_t>(near_after.size(), 12)), {"签订", "签署", "签字", "订立"});
    if (effective && !found.count("effective")) found["effective"] = *date;
    if (sign && !found.count("sign")) found["sign"] = *date;
  }
  if (!found.count("effective") && found.count("sign") &&
      contains_any(s, {"签字盖章之日起生效", "签字盖章后生效", "签字或盖章之日起生效", "签字并盖章之日起生效",
                       "签订之日起生效", "签署之日起生效", "签字之日起生效", "effective upon execution",
                       "effective upon signing", "effective upon signature", "effective as of the date of execution",
                       "effective on the date of execution", "effective on the date of signing"}))
    found["effective"] = found["sign"];
  return found;
}

void resolve_relative_dates(std::vector<DateMention>& dates, const AnchorDates& anchors) {
  for (DateMention& d : dates) {
    if (!d.relative) continue;
    d.value.clear();
    d.warnings.clear();
    for (const std::string& w : d.offset.warnings) d.warnings.push_back(w);
    const std::string label = anchor_label(d.anchor, d.anchor_text);
    const std::string step =
        std::string(d.direction > 0 ? " + " : " - ") + describe_duration(d.offset.value, d.offset.unit);
    std::optional<CivilDate> anchor;
    if (d.anchor == "date") {
      anchor = from_iso(d.anchor_text);
    } else if (auto it = anchors.find(d.anchor); it != anchors.end() && d.anchor != "other") {
      anchor = it->second;
    }
    const std::string business =
        d.offset.unit == DurationUnit::kBusinessDay ? " (weekends skipped; public holidays not known)" : "";
    if (!anchor) {
      d.derivation = label + step + " (anchor date unknown)";
      continue;
    }
    std::string why;
    auto result = apply_offset(*anchor, d.offset, d.direction, why);
    if (!result) {
      d.derivation = label + " " + to_iso(*anchor) + step + " (" + (why.empty() ? "outside the calendar" : why) + ")";
      continue;
    }
    d.value = to_iso(*result);
    d.precision = "day";
    d.derivation = (d.anchor == "date" ? label : label + " " + to_iso(*anchor)) + step + " = " + d.value + business;
  }
}

std::vector<DateMention> normalize_dates(std::string_view s, Language language, const AnchorDates& known) {
  std::vector<DateMention> dates = find_dates(s, language);
  AnchorDates anchors = find_anchor_dates(s, dates);
  for (const auto& [name, date] : known) anchors[name] = date;
  resolve_relative_dates(dates, anchors);
  return dates;
}

}  // namespace ds::legal
