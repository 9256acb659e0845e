#include "language.h"

#include "ds/plugin_text.h"

namespace ds::legal {

namespace text = ds::sdk::text;

Language parse_language(std::string_view name) {
  if (name == "zh") return Language::kZh;
  if (name == "en") return Language::kEn;
  return Language::kAuto;
}

Language detect_language(std::string_view s) {
  size_t han = 0, words = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); i = text::utf8_next(s, i)) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool letter = text::is_ascii_alpha(s[i]);
    if (letter && !in_word) ++words;
    in_word = letter;
    // Lead bytes E4..E9 cover U+4000..U+9FFF, where the common Chinese characters are.
    if (c >= 0xE4 && c <= 0xE9) ++han;
  }
  return han > words ? Language::kZh : Language::kEn;
}

Language resolve_language(Language requested, std::string_view s) {
  return requested == Language::kAuto ? detect_language(s) : requested;
}

}  // namespace ds::legal
