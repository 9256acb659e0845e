// The one ordering both top_k versions use, so they cannot disagree on ties or NaN.
#pragma once

#include <cmath>
#include <cstdint>

namespace ds::kernels {

// True when (sa, ia) ranks strictly before (sb, ib): larger score first, lower index on ties.
// NaN ranks below every number (so a NaN score is picked only when k exceeds the numbers).
inline bool top_k_before(float sa, int32_t ia, float sb, int32_t ib) {
  const bool na = std::isnan(sa), nb = std::isnan(sb);
  if (na || nb) return na == nb ? ia < ib : nb;
  if (sa != sb) return sa > sb;
  return ia < ib;
}

}  // namespace ds::kernels
