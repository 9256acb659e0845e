// Byte-level scanning helpers shared by the value normalizers. Offsets are bytes into UTF-8 text;
// nothing here allocates except `lower_ascii`. Pure functions, thread-safe.
#pragma once

#include <string_view>

namespace ds::legal::scan {

// `token` at `pos`, ASCII letters compared case-insensitively, other bytes exactly.
bool starts_with_ci(std::string_view s, size_t pos, std::string_view token);

// As starts_with_ci, and a token that begins (ends) with an ASCII letter must not be glued to a
// letter before (after) it: "USD" does not match inside "USDA" but does in "USD500".
bool word_at(std::string_view s, size_t pos, std::string_view token);

// The first token of `tokens` (in order) that word_at finds at `pos`; its length, or 0.
template <class Range>
size_t first_word_at(std::string_view s, size_t pos, const Range& tokens) {
  for (std::string_view t : tokens)
    if (word_at(s, pos, t)) return t.size();
  return 0;
}

// Past at most `max` blanks (space, tab, the ideographic space U+3000) from `pos`.
size_t skip_blanks(std::string_view s, size_t pos, size_t max = 3);

// Past a run of blanks and line breaks from `pos`.
size_t skip_space(std::string_view s, size_t pos);

// An opening or closing parenthesis, ASCII or full-width, at `pos`: its length, or 0.
size_t open_paren_at(std::string_view s, size_t pos);
size_t close_paren_at(std::string_view s, size_t pos);

// A colon, ASCII or full-width, at `pos`: its length, or 0.
size_t colon_at(std::string_view s, size_t pos);

// A double quote (ASCII, “ or ”) at `pos`: its length, or 0.
size_t quote_at(std::string_view s, size_t pos);

// Punctuation that ends a clause for the normalizers' look-behind windows: 。；;!?！？ newline, and
// (when `comma`) the ASCII, full-width and ideographic commas.
bool clause_break_at(std::string_view s, size_t pos, bool comma);

// The start of the clause around `pos`: just after the last clause_break_at before it, but at most
// `max_bytes` back (moved forward to a character boundary).
size_t clause_start(std::string_view s, size_t pos, size_t max_bytes, bool comma);

// The end of the clause that contains `pos`: the next clause_break_at, at most `max_bytes` ahead.
size_t clause_end(std::string_view s, size_t pos, size_t max_bytes, bool comma);

}  // namespace ds::legal::scan
