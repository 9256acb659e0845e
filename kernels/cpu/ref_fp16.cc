// Reference IEEE binary16 <-> binary32 conversion by bit manipulation: NaN (quieted, payload kept
// where it fits), infinities, subnormals both ways, round to nearest even.
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace ds::kernels::ref {
namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13) | (mant ? 0x00400000u : 0u);  // F16C quiets NaNs too
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: value = mant * 2^-24; normalize it.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400u));
    bits = sign | (uint32_t(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t exp = (x >> 23) & 0xffu;
  const uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) {
    if (mant == 0) return sign | 0x7c00u;
    return uint16_t(sign | 0x7e00u | (mant >> 13));  // quiet NaN, top payload bits kept
  }
  const int e = int(exp) - 127;  // unbiased
  if (e > 15) return sign | 0x7c00u;
  if (e >= -14) {
    // Normal half. Round the 23-bit mantissa to 10 bits, nearest even; a carry may bump the
    // exponent (and overflow to infinity), which the addition handles naturally.
    uint32_t h = (uint32_t(e + 15) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return uint16_t(sign | h);
  }
  if (e < -25) return sign;  // below half the smallest subnormal: rounds to zero
  // Subnormal half: value = m * 2^-24 with m = full_mant * 2^(e+1) ... shift the 24-bit significand.
  const uint32_t full = mant | 0x800000u;
  const int shift = -e - 1;  // 14..24 : full >> shift gives units of 2^-24
  uint32_t h = full >> shift;
  const uint32_t rest = full & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
  return uint16_t(sign | h);
}

}  // namespace

void fp16_to_fp32(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = half_to_float(src[i]);
}

void fp32_to_fp16(const float* src, uint16_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = float_to_half(src[i]);
}

}  // namespace ds::kernels::ref
