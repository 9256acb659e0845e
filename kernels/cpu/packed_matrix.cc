// PackedMatrix storage and pack_weights. Packing runs once per weight at load time, so it is
// plain portable code.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "kernels/cpu/kernels.h"

namespace ds::kernels {

PackedMatrix::PackedMatrix(PackedMatrix&& other) noexcept
    : n_(std::exchange(other.n_, 0)), k_(std::exchange(other.k_, 0)), data_(std::exchange(other.data_, nullptr)) {}

PackedMatrix& PackedMatrix::operator=(PackedMatrix&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    n_ = std::exchange(other.n_, 0);
    k_ = std::exchange(other.k_, 0);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

PackedMatrix::~PackedMatrix() { std::free(data_); }

PackedMatrix pack_weights(const float* W, int N, int K) {
  constexpr int P = PackedMatrix::kPanel;
  PackedMatrix out;
  if (N <= 0 || K <= 0) return out;
  const size_t panels = size_t(N + P - 1) / P;
  size_t bytes = panels * size_t(K) * P * sizeof(float);
  bytes = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
  out.data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!out.data_) throw std::bad_alloc();
  out.n_ = N;
  out.k_ = K;
  for (size_t p = 0; p < panels; ++p) {
    float* dst = out.data_ + p * size_t(K) * P;
    const int n0 = int(p) * P, nv = std::min(P, N - n0);
    for (int k = 0; k < K; ++k) {
      for (int j = 0; j < P; ++j) dst[size_t(k) * P + j] = j < nv ? W[size_t(n0 + j) * K + k] : 0.0f;
    }
  }
  return out;
}

}  // namespace ds::kernels
