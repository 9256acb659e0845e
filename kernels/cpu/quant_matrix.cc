// QuantMatrix storage and the pack_*_weights functions. Packing runs once per weight at load time,
// so it is plain portable code; it only moves bytes (and widens the int8 scales), the codes stay as
// the file stores them.
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/cpu/kernels.h"

namespace ds::kernels {

namespace {

constexpr int P = QuantMatrix::kPanel;

void* aligned_bytes(size_t bytes) {
  bytes = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
  void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

void check_dims(const char* op, int N, int K) {
  if (N <= 0 || K <= 0)
    throw std::invalid_argument(std::string("[kernels.") + op +
                                "] N and K must be positive, got N=" + std::to_string(N) + " K=" + std::to_string(K));
}

size_t panels_of(int N) { return size_t(N + P - 1) / P; }

// out[b * P + j] = src[(n0 + j) * row_bytes + b * elem .. + elem) for the rows of one panel, k-major in
// units of `elem` bytes; rows past N take the bytes of `pad`.
void transpose_panel(const uint8_t* src, size_t row_bytes, size_t elem, int n0, int N, uint8_t* out,
                     const uint8_t* pad) {
  const size_t units = row_bytes / elem;
  for (size_t b = 0; b < units; ++b) {
    for (int j = 0; j < P; ++j) {
      uint8_t* dst = out + (b * P + size_t(j)) * elem;
      if (n0 + j < N)
        std::memcpy(dst, src + size_t(n0 + j) * row_bytes + b * elem, elem);
      else
        std::memcpy(dst, pad, elem);
    }
  }
}

}  // namespace

QuantMatrix::QuantMatrix(QuantMatrix&& other) noexcept
    : format_(other.format_),
      n_(std::exchange(other.n_, 0)),
      k_(std::exchange(other.k_, 0)),
      g_(std::exchange(other.g_, 0)),
      bytes_(std::exchange(other.bytes_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      channel_scales_(std::exchange(other.channel_scales_, nullptr)),
      group_scales_(std::exchange(other.group_scales_, nullptr)) {}

QuantMatrix& QuantMatrix::operator=(QuantMatrix&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    std::free(channel_scales_);
    std::free(group_scales_);
    format_ = other.format_;
    n_ = std::exchange(other.n_, 0);
    k_ = std::exchange(other.k_, 0);
    g_ = std::exchange(other.g_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
    data_ = std::exchange(other.data_, nullptr);
    channel_scales_ = std::exchange(other.channel_scales_, nullptr);
    group_scales_ = std::exchange(other.group_scales_, nullptr);
  }
  return *this;
}

QuantMatrix::~QuantMatrix() {
  std::free(data_);
  std::free(channel_scales_);
  std::free(group_scales_);
}

QuantMatrix pack_fp16_weights(const void* w, int N, int K) {
  check_dims("pack_fp16_weights", N, K);
  QuantMatrix out;
  const size_t panel_bytes = size_t(K) * P * 2;
  out.bytes_ = panels_of(N) * panel_bytes;
  out.data_ = static_cast<uint8_t*>(aligned_bytes(out.bytes_));
  out.format_ = WeightFormat::kFp16;
  out.n_ = N;
  out.k_ = K;
  const uint8_t zero[2] = {0, 0};
  for (size_t p = 0; p < panels_of(N); ++p)
    transpose_panel(static_cast<const uint8_t*>(w), size_t(K) * 2, 2, int(p) * P, N, out.data_ + p * panel_bytes, zero);
  return out;
}

QuantMatrix pack_int8_weights(const void* q, const void* scale, int N, int K) {
  check_dims("pack_int8_weights", N, K);
  QuantMatrix out;
  const size_t panels = panels_of(N), panel_bytes = size_t(K) * P;
  const size_t scale_count = panels * P;
  out.bytes_ = panels * panel_bytes + scale_count * sizeof(float);
  out.data_ = static_cast<uint8_t*>(aligned_bytes(panels * panel_bytes));
  out.channel_scales_ = static_cast<float*>(aligned_bytes(scale_count * sizeof(float)));
  out.format_ = WeightFormat::kInt8;
  out.n_ = N;
  out.k_ = K;
  const uint8_t zero = 0;
  for (size_t p = 0; p < panels; ++p)
    transpose_panel(static_cast<const uint8_t*>(q), size_t(K), 1, int(p) * P, N, out.data_ + p * panel_bytes, &zero);
  for (size_t n = 0; n < scale_count; ++n) {
    uint16_t h = 0;
    if (n < size_t(N)) std::memcpy(&h, static_cast<const uint8_t*>(scale) + 2 * n, 2);
    ref::fp16_to_fp32(&h, out.channel_scales_ + n, 1);
  }
  return out;
}

QuantMatrix pack_int4_weights(const void* q, const void* scale, int N, int K, int G) {
  check_dims("pack_int4_weights", N, K);
  if (G <= 0 || G % 2 != 0 || K % G != 0)
    throw std::invalid_argument("[kernels.pack_int4_weights] the group size must be even and divide K, got G=" +
                                std::to_string(G) + " K=" + std::to_string(K));
  QuantMatrix out;
  const size_t panels = panels_of(N), panel_bytes = size_t(K / 2) * P;
  const int groups = K / G;
  const size_t panel_scales = size_t(groups) * P;
  out.bytes_ = panels * panel_bytes + panels * panel_scales * 2;
  out.data_ = static_cast<uint8_t*>(aligned_bytes(panels * panel_bytes));
  out.group_scales_ = static_cast<uint16_t*>(aligned_bytes(panels * panel_scales * 2));
  out.format_ = WeightFormat::kInt4;
  out.n_ = N;
  out.k_ = K;
  out.g_ = G;
  const uint8_t zero_point = 0x88;  // both nibbles 8: weight 0 (its scale is 0 as well)
  const uint8_t zero[2] = {0, 0};
  for (size_t p = 0; p < panels; ++p) {
    transpose_panel(static_cast<const uint8_t*>(q), size_t(K / 2), 1, int(p) * P, N, out.data_ + p * panel_bytes,
                    &zero_point);
    transpose_panel(static_cast<const uint8_t*>(scale), size_t(groups) * 2, 2, int(p) * P, N,
                    reinterpret_cast<uint8_t*>(out.group_scales_ + p * panel_scales), zero);
  }
  return out;
}

}  // namespace ds::kernels
