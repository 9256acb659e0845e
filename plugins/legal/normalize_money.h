// Money amounts in contract text, normalized to {value, currency}:
//   figures with a currency marker before or after them: ¥500,000.00, RMB 120,000元, USD 1.5 million,
//     $2,000,000.00, 50万元, 1.2亿元, ８０，０００元;
//   Chinese numerals, capital or lower-case: 人民币伍拾万元整 -> 500000 CNY, 壹佰万零伍仟元 -> 1005000,
//     伍仟元伍角叁分 -> 5000.53, 三万元;
//   English number words: "one hundred thousand dollars", "five million euros";
//   the 大写/小写 cross-check: an amount in words written beside the same amount in figures —
//     人民币伍拾万元整(¥500,000.00), 伍拾万元(小写:500000元), "one hundred thousand dollars
//     (US$100,000)" — is one mention whose value is the amount in words (the form that prevails by
//     convention), with both values kept and a warning when they disagree.
// The currency comes from a symbol (¥ ￥ $ US$ HK$ € £), a code (RMB CNY USD HKD EUR GBP JPY SGD) or a
// word (人民币 元 美元 港币 欧元 英镑 日元 dollars euros yuan ...). "$" alone is USD; ¥/￥ is the
// `yen_sign` option's currency ("auto": CNY in Chinese documents, see resolve_yen_sign).
//
// Offsets are bytes. Pure functions, thread-safe; nothing throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "language.h"

namespace ds::legal {

struct MoneyOptions {
  Language language = Language::kZh;  // the document's language, resolved (kAuto counts as kZh)
  std::string yen_sign = "auto";      // the currency of ¥/￥: "CNY", "JPY" or "auto"
  // legal.amounts' original behaviour: figures only (no Chinese digits, no number words), no 角/分
  // or 整 after 元, no cross-check pairing, no warnings.
  bool figures_only = false;
};

struct Money {
  size_t begin = 0;  // bytes, covering markers, number, unit words and (for a pair) both amounts
  size_t end = 0;
  double value = 0.0;                   // in units of `currency`; not finite when the figures are absurdly long
  std::string currency;                 // ISO 4217
  std::string currency_basis;           // "symbol", "code", "word", "yen_sign option", "document language"
  std::string form;                     // "figures", "words" or "words+figures" (a cross-checked pair)
  std::optional<double> words_value;    // for "words+figures": the amount in words
  std::optional<double> figures_value;  // for "words+figures": the amount in figures
  std::vector<std::string> warnings;    // disagreeing pair, odd currency mix, implausible size
};

struct YenSign {
  std::string currency;  // "CNY" or "JPY"
  std::string basis;     // "yen_sign option" or "document language"
  std::string warning;   // set when the guess is weak
};

// What ¥ stands for in `text`. "CNY"/"JPY" options are taken as given. "auto": CNY in a Chinese
// document; in another, JPY if the text mentions yen (JPY, yen, 日元, Japan) and not yuan (RMB, CNY,
// 人民币, yuan, Renminbi, PRC, China), else CNY with a warning.
YenSign resolve_yen_sign(std::string_view text, Language language, std::string_view option);

// All amounts in `text`, left to right, non-overlapping.
std::vector<Money> find_money(std::string_view text, const MoneyOptions& options);

}  // namespace ds::legal
