// Which language a contract (or a piece of one) is written in, for the keyword tables and for the
// value normalizers' conventions (¥ and "$" defaults, month/day order of 03/01/2024).
#pragma once

#include <string_view>

namespace ds::legal {

enum class Language { kAuto, kZh, kEn };

Language parse_language(std::string_view name);  // "auto" | "zh" | "en"; anything else is kAuto

// kZh when Chinese characters outnumber English words in `text`, else kEn (also for empty text).
// Never returns kAuto. A bilingual contract counts as Chinese unless its English part is longer.
Language detect_language(std::string_view text);

// `requested` unless it is kAuto, in which case the language detected in `text`.
Language resolve_language(Language requested, std::string_view text);

}  // namespace ds::legal
