// Unicode NFKC normalization of decoded text with an exact offset map back to it.
#pragma once

#include <string>
#include <string_view>

#include "ds/offset_map.h"

namespace ds {

struct NormalizeResult {
  std::string normalized;         // NFKC, UTF-8
  OffsetMap normalized_to_text;   // normalized offsets -> offsets into the input text
};

// NFKC-normalizes UTF-8 `text` (full-width ASCII and punctuation fold, ligatures expand, \r\n is
// kept). Unchanged runs map byte for byte; each character (or combining sequence) that NFKC rewrote
// is one replaced unit, so a span never maps to part of an original character.
// Ill-formed UTF-8 is passed through as ICU does (U+FFFD). Thread-safe; linear time.
// Throws std::runtime_error("[normalize] ...") if ICU fails.
NormalizeResult normalize_nfkc(std::string_view text);

// The "none" form: a copy and an identity map.
NormalizeResult normalize_none(std::string_view text);

}  // namespace ds
