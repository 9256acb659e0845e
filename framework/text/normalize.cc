#include "text/normalize.h"

#include <unicode/bytestream.h>
#include <unicode/edits.h>
#include <unicode/normalizer2.h>

#include <stdexcept>

namespace ds {

NormalizeResult normalize_nfkc(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);  // ICU-owned singleton
  if (U_FAILURE(status)) throw std::runtime_error(std::string("[normalize] NFKC unavailable: ") + u_errorName(status));
  if (text.size() > static_cast<size_t>(INT32_MAX)) throw std::runtime_error("[normalize] text over 2 GiB");

  NormalizeResult r;
  icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  // Most text is already NFKC; then the result is a copy with an identity map.
  if (nfkc->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) {
    r.normalized.assign(text);
    r.normalized_to_text = OffsetMap::identity(text.size());
    return r;
  }
  status = U_ZERO_ERROR;
  r.normalized.reserve(text.size());
  icu::StringByteSink<std::string> sink(&r.normalized);
  icu::Edits edits;
  nfkc->normalizeUTF8(0, piece, sink, &edits, status);
  if (U_FAILURE(status)) throw std::runtime_error(std::string("[normalize] NFKC failed: ") + u_errorName(status));

  // The fine iterator reports each rewritten character (or combining sequence) as its own change.
  OffsetMap::Builder map;
  icu::Edits::Iterator it = edits.getFineIterator();
  while (it.next(status)) {
    auto old_len = static_cast<size_t>(it.oldLength());
    auto new_len = static_cast<size_t>(it.newLength());
    map.append(new_len, old_len, !it.hasChange());
  }
  if (U_FAILURE(status)) throw std::runtime_error(std::string("[normalize] edit map failed: ") + u_errorName(status));
  r.normalized_to_text = map.finish();
  return r;
}

NormalizeResult normalize_none(std::string_view text) {
  NormalizeResult r;
  r.normalized.assign(text);
  r.normalized_to_text = OffsetMap::identity(text.size());
  return r;
}

}  // namespace ds
