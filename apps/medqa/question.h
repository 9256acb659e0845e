// What medqa accepts as a question, and reading input lines safely: checks that never throw, so a
// bad line (empty, only punctuation, far too long, not UTF-8) is refused with a message and the
// loop goes on.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

namespace ds::medqa {

// Longest question answered, in characters (code points): a few paragraphs of history. Longer
// text is refused, not cut: a red flag in the cut part would be lost.
constexpr size_t kMaxQuestionChars = 2000;
// Most bytes of one input line kept in memory; the rest of a longer line is read and dropped.
constexpr size_t kMaxLineBytes = 64 * 1024;

struct Refusal {
  std::string code;     // "empty" | "no_words" | "too_long" | "invalid_utf8"
  std::string message;  // one line for the user, in English and Chinese
};

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
// On failure `bad_offset`, when given, receives the offset of the first bad byte.
bool valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

// The question as it goes to the pipeline: ASCII control characters (tabs, stray CRs, NULs ...)
// become spaces and surrounding whitespace is trimmed. `s` must be valid UTF-8.
std::string clean_question(std::string_view s);

// Why `line` (already valid UTF-8 and cleaned, or not) cannot be answered; nullopt when it can.
// `truncated` says the line was longer than kMaxLineBytes when it was read.
std::optional<Refusal> check_question(std::string_view line, bool truncated = false,
                                      size_t max_chars = kMaxQuestionChars);

// Longest line (in characters) taken as a follow-up of the previous question.
constexpr size_t kMaxFollowUpChars = 60;

// Whether `text` (a cleaned question) reads as a follow-up that refines the previous question
// rather than a new one: short, and either starting with a word that refers back ("it", "and",
// "still", "它", "这", "还", ...) or made only of time, duration and severity words ("for 3 days",
// "2 hours ago", "getting worse", "两天了", "现在更严重了").
bool looks_like_follow_up(std::string_view text);

// Reads one line from `in` without its '\n' (and a '\r' before it), keeping at most `max_bytes`;
// `truncated` tells whether more was dropped. Returns false at the end of input when nothing was read.
bool read_line(std::istream& in, std::string& line, bool& truncated, size_t max_bytes = kMaxLineBytes);

}  // namespace ds::medqa
