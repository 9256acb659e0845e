#include "normalize_money.h"

#include <cmath>

#include "ds/plugin_text.h"
#include "numerals.h"
#include "scan.h"
#include "value_format.h"

namespace ds::legal {
namespace {

namespace text = ds::sdk::text;

constexpr double kImplausibleAmount = 1e15;  // beyond this a double no longer holds exact cents
constexpr double kPairTolerance = 0.005;     // half a cent

struct Marker {
  std::string_view token;
  std::string_view currency;  // "" for the yen sign: decided by the option or the document
  std::string_view basis;
};

// Longest first where one token starts another ("US$" before "$", "人民币" and "RMB" are distinct).
constexpr Marker kPrefixMarkers[] = {
    {"人民币", "CNY", "word"}, {"RMB", "CNY", "code"},   {"CNY", "CNY", "code"},  {"¥", "", "symbol"},
    {"￥", "", "symbol"},      {"US$", "USD", "symbol"}, {"USD", "USD", "code"},  {"HK$", "HKD", "symbol"},
    {"HKD", "HKD", "code"},    {"港币", "HKD", "word"},  {"S$", "SGD", "symbol"}, {"SGD", "SGD", "code"},
    {"$", "USD", "symbol"},    {"EUR", "EUR", "code"},   {"€", "EUR", "symbol"},  {"£", "GBP", "symbol"},
    {"GBP", "GBP", "code"},    {"JPY", "JPY", "code"},
};

constexpr Marker kSuffixMarkers[] = {
    {"美元", "USD", "word"},
    {"美金", "USD", "word"},
    {"欧元", "EUR", "word"},
    {"港元", "HKD", "word"},
    {"港币", "HKD", "word"},
    {"日元", "JPY", "word"},
    {"英镑", "GBP", "word"},
    {"元", "CNY", "word"},
    {"圆", "CNY", "word"},
    {"RMB", "CNY", "code"},
    {"CNY", "CNY", "code"},
    {"USD", "USD", "code"},
    {"United States dollars", "USD", "word"},
    {"U.S. dollars", "USD", "word"},
    {"US dollars", "USD", "word"},
    {"Hong Kong dollars", "HKD", "word"},
    {"Singapore dollars", "SGD", "word"},
    {"dollars", "USD", "word"},
    {"dollar", "USD", "word"},
    {"EUR", "EUR", "code"},
    {"euros", "EUR", "word"},
    {"euro", "EUR", "word"},
    {"HKD", "HKD", "code"},
    {"GBP", "GBP", "code"},
    {"pounds sterling", "GBP", "word"},
    {"JPY", "JPY", "code"},
    {"yen", "JPY", "word"},
    {"SGD", "SGD", "code"},
    {"yuan", "CNY", "word"},
    {"Renminbi", "CNY", "word"},
};

// Labels that introduce the other writing of the same amount.
constexpr std::string_view kPairLabels[] = {"大写金额", "小写金额", "金额大写",   "金额小写", "大写",
                                            "小写",     "in words", "in figures", "i.e.",     "即"};

struct Context {
  const MoneyOptions& options;
  YenSign yen;
};

bool is_yuan_unit(std::string_view token) { return token == "元" || token == "圆"; }

const Marker* suffix_at(std::string_view s, size_t pos, size_t* end) {
  const size_t p = scan::skip_blanks(s, pos, 1);
  for (const Marker& m : kSuffixMarkers) {
    if (scan::word_at(s, p, m.token)) {
      *end = p + m.token.size();
      return &m;
    }
  }
  return nullptr;
}

// The number of an amount: figures (with 万/亿 units), Chinese numerals, or English words; plain
// figures may take an English multiplier ("1.5 million").
std::optional<NumberMatch> amount_number(std::string_view s, size_t pos, const Context& ctx) {
  std::optional<NumberMatch> n = parse_chinese_number(s, pos, !ctx.options.figures_only);
  if (!n && !ctx.options.figures_only) n = parse_english_number(s, pos);
  if (!n) return std::nullopt;
  if (n->figures && !n->chinese) {
    const size_t p = scan::skip_blanks(s, n->end, 1);
    if (auto m = english_multiplier_at(s, p)) {
      n->value *= m->first;
      n->end = p + m->second;
    }
  }
  return n;
}

bool in_words(const NumberMatch& n) { return !n.figures; }

// 角 and 分 after 元 (伍仟元伍角叁分, 壹万元零伍分), then 整 or 正. Returns the new end.
size_t yuan_tail(std::string_view s, size_t pos, double& value) {
  size_t p = pos;
  for (const auto& [unit, scale] : {std::pair<std::string_view, double>{"角", 0.1}, {"分", 0.01}}) {
    size_t q = s.substr(p, 3) == "零" ? p + 3 : p;
    auto k = parse_chinese_number(s, q);
    if (k && k->value < 10 && s.substr(k->end, unit.size()) == unit) {
      value += k->value * scale;
      p = k->end + unit.size();
    }
  }
  if (s.substr(p, 3) == "整" || s.substr(p, 3) == "正") p += 3;
  return p;
}

void set_currency(Money& m, const Marker& marker, const Context& ctx) {
  if (marker.currency.empty()) {
    m.currency = ctx.yen.currency;
    m.currency_basis = ctx.yen.basis;
  } else {
    m.currency = std::string(marker.currency);
    m.currency_basis = std::string(marker.basis);
  }
}

bool from_yen_sign(const Money& m, const Context& ctx) {
  return m.currency_basis == ctx.yen.basis &&
         (m.currency_basis == "yen_sign option" || m.currency_basis == "document language");
}

std::optional<Money> companion(std::string_view s, size_t pos, const Context& ctx, bool want_words);
void merge_pair(Money& m, const Money& c, const Context& ctx);

// One amount starting at `pos` (a pair is assembled by the caller, except for words with the figures
// before the currency word). `nested`: called for a companion, which never has a companion itself
// (so "one (one (one ..." cannot recurse deeply).
std::optional<Money> parse_money_at(std::string_view s, size_t pos, const Context& ctx, bool nested = false) {
  const bool full = !ctx.options.figures_only;
  for (const Marker& marker : kPrefixMarkers) {
    if (!scan::word_at(s, pos, marker.token)) continue;
    if (marker.token == "$" && pos > 0 && text::is_ascii_alpha(s[pos - 1])) continue;  // A$, C$: unknown dollars
    auto n = amount_number(s, scan::skip_blanks(s, pos + marker.token.size(), 2), ctx);
    if (!n) continue;
    Money m;
    m.begin = pos;
    m.end = n->end;
    m.value = n->value;
    m.form = in_words(*n) ? "words" : "figures";
    set_currency(m, marker, ctx);
    size_t suffix_end = 0;
    if (const Marker* suffix = suffix_at(s, m.end, &suffix_end)) {
      const bool chinese_prefix = !text::is_ascii(marker.token) && marker.basis == "word";
      if (marker.currency.empty()) {
        // ¥5日元, ¥5元: the word says which currency the sign meant.
        set_currency(m, *suffix, ctx);
        m.end = suffix_end;
      } else if (suffix->currency == marker.currency || (chinese_prefix && is_yuan_unit(suffix->token))) {
        m.end = suffix_end;  // 人民币50万元, 港币100万元: 元 is the unit of either
      }
      if (full && is_yuan_unit(suffix->token) && m.end == suffix_end) m.end = yuan_tail(s, m.end, m.value);
    }
    return m;
  }

  if (number_continues_before(s, pos)) return std::nullopt;
  auto n = amount_number(s, pos, ctx);
  if (!n) return std::nullopt;
  Money m;
  m.begin = pos;
  m.end = n->end;
  m.value = n->value;
  m.form = in_words(*n) ? "words" : "figures";
  // Lower-case 一元, 二元 are mostly words (一元化, 二元结构), not money.
  if (n->chinese && !n->capital && !n->figures && n->value < 10) return std::nullopt;
  size_t suffix_end = 0;
  const Marker* suffix = suffix_at(s, n->end, &suffix_end);
  if (!suffix && full && !nested && in_words(*n)) {
    // "One Hundred Thousand ($100,000) Dollars": the figures sit between the words and the currency.
    auto inner = companion(s, n->end, ctx, false);
    if (!inner) return std::nullopt;
    suffix = suffix_at(s, inner->end, &suffix_end);
    if (suffix) {
      set_currency(m, *suffix, ctx);
    } else if (!inner->currency.empty()) {
      m.currency = inner->currency;
      m.currency_basis = inner->currency_basis;
    } else {
      return std::nullopt;
    }
    merge_pair(m, *inner, ctx);
    m.end = suffix ? suffix_end : inner->end;
    return m;
  }
  if (!suffix) return std::nullopt;
  set_currency(m, *suffix, ctx);
  m.end = suffix_end;
  if (full && is_yuan_unit(suffix->token)) m.end = yuan_tail(s, m.end, m.value);
  return m;
}

// The other writing of an amount right after one: "(¥500,000.00)", "(小写:500000元)",
// ", 大写:伍拾万元整", "(US$100,000)". `want_words`: the companion must be in words (else figures).
// Its `end` includes the closing parenthesis; its currency is "" when only a number is written.
std::optional<Money> companion(std::string_view s, size_t pos, const Context& ctx, bool want_words) {
  size_t p = scan::skip_blanks(s, pos, 2);
  const size_t open = scan::open_paren_at(s, p);
  size_t q = p + open;
  if (!open && p < s.size() && (s[p] == ',' || s[p] == ';')) q = p + 1;
  if (!open && (s.substr(p, 3) == "，" || s.substr(p, 3) == "；")) q = p + 3;
  q = scan::skip_blanks(s, q, 1);
  bool labeled = false;
  for (std::string_view label : kPairLabels) {
    if (scan::word_at(s, q, label)) {
      q = scan::skip_blanks(s, q + label.size(), 1);
      q = scan::skip_blanks(s, q + scan::colon_at(s, q), 1);
      labeled = true;
      break;
    }
  }
  if (!open && !labeled) return std::nullopt;
  Money c;
  if (auto m = parse_money_at(s, q, ctx, true)) {
    c = *m;
  } else if (auto n = amount_number(s, q, ctx)) {
    c.begin = q;
    c.end = n->end;
    c.value = n->value;
    c.form = in_words(*n) ? "words" : "figures";
    if (in_words(*n)) {
      if (s.substr(c.end, 3) == "元" || s.substr(c.end, 3) == "圆") c.end += 3;
      c.end = yuan_tail(s, c.end, c.value);
    }
  } else {
    return std::nullopt;
  }
  if ((c.form == "words") != want_words) return std::nullopt;
  if (open) {
    const size_t r = scan::skip_blanks(s, c.end, 1);
    const size_t close = scan::close_paren_at(s, r);
    if (!close) return std::nullopt;
    c.end = r + close;
  }
  return c;
}

void merge_pair(Money& m, const Money& c, const Context& ctx) {
  const bool main_words = m.form == "words";
  const double words = main_words ? m.value : c.value;
  const double figures = main_words ? c.value : m.value;
  m.words_value = words;
  m.figures_value = figures;
  m.value = words;
  m.form = "words+figures";
  m.end = c.end;
  if (!c.currency.empty() && c.currency != m.currency) {
    if (from_yen_sign(m, ctx)) {
      m.currency = c.currency;
      m.currency_basis = c.currency_basis;
    } else if (!from_yen_sign(c, ctx)) {
      m.warnings.push_back("the two writings name different currencies: " + m.currency + " and " + c.currency);
    }
  }
  if (std::isfinite(words) && std::isfinite(figures) && std::fabs(words - figures) > kPairTolerance)
    m.warnings.push_back("amount in words (" + format_decimal(words, 2) + ") and in figures (" +
                         format_decimal(figures, 2) + ") disagree");
}

bool contains_any(const std::string& lowered, std::initializer_list<std::string_view> needles) {
  for (std::string_view n : needles) {
    for (size_t at = lowered.find(n); at != std::string::npos; at = lowered.find(n, at + 1)) {
      const bool ascii_word = text::is_ascii_alpha(n.front());
      if (!ascii_word) return true;
      const bool left = at == 0 || !text::is_ascii_alpha(lowered[at - 1]);
      const bool right = at + n.size() >= lowered.size() || !text::is_ascii_alpha(lowered[at + n.size()]);
      if (left && right) return true;
    }
  }
  return false;
}

bool has_kana(std::string_view s) {
  // Hiragana and katakana are U+3040..U+30FF: E3 81 80 .. E3 83 BF.
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i + 1]);
    if (static_cast<unsigned char>(s[i]) == 0xE3 && b >= 0x81 && b <= 0x83) return true;
  }
  return false;
}

}  // namespace

YenSign resolve_yen_sign(std::string_view s, Language language, std::string_view option) {
  if (option == "CNY" || option == "JPY") return {std::string(option), "yen_sign option", ""};
  if (language != Language::kEn) return {"CNY", "document language", ""};
  const std::string lowered = text::ascii_lowercase(s);
  const bool yen = has_kana(s) || contains_any(lowered, {"jpy", "yen", "japan", "japanese", "日元"});
  const bool yuan = contains_any(lowered, {"rmb", "cny", "yuan", "renminbi", "prc", "china", "chinese", "人民币"});
  if (yen && !yuan) return {"JPY", "document language", ""};
  if (yuan && !yen) return {"CNY", "document language", ""};
  return {"CNY", "document language", "¥ can mean yuan or yen; taken as CNY (set the yen_sign option to decide)"};
}

std::vector<Money> find_money(std::string_view s, const MoneyOptions& options) {
  const Language language = options.language == Language::kAuto ? Language::kZh : options.language;
  Context ctx{options, resolve_yen_sign(s, language, options.yen_sign)};
  std::vector<Money> out;
  size_t i = 0;
  while (i < s.size()) {
    auto m = parse_money_at(s, i, ctx);
    if (!m) {
      i = text::utf8_next(s, i);
      continue;
    }
    if (!options.figures_only) {
      if (m->form != "words+figures")
        if (auto c = companion(s, m->end, ctx, m->form != "words")) merge_pair(*m, *c, ctx);
      if (!std::isfinite(m->value)) {
        m->warnings.push_back("the number is too long to read");
      } else if (m->value >= kImplausibleAmount) {
        m->warnings.push_back("implausibly large amount; check the text");
      }
      if (!ctx.yen.warning.empty() && from_yen_sign(*m, ctx)) m->warnings.push_back(ctx.yen.warning);
    }
    i = m->end > i ? m->end : text::utf8_next(s, i);
    out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace ds::legal
