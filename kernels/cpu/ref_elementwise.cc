// Reference row-wise ops: rmsnorm, softmax, gelu, rope. Written straight from model/SPEC.md §3;
// sums in double so the fast versions are compared against a near-exact value.
#include <cmath>

#include "kernels/cpu/kernels.h"

namespace ds::kernels::ref {

void rmsnorm(const float* x, const float* w, float* y, int n, float eps) {
  double ss = 0.0;
  for (int i = 0; i < n; ++i) ss += double(x[i]) * double(x[i]);
  const double inv = 1.0 / std::sqrt(ss / n + double(eps));
  for (int i = 0; i < n; ++i) y[i] = float(double(x[i]) * inv * double(w[i]));
}

void softmax(float* x, int n) {
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = std::fmax(mx, x[i]);
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    const double e = std::exp(double(x[i]) - double(mx));
    x[i] = float(e);
    sum += e;
  }
  for (int i = 0; i < n; ++i) x[i] = float(double(x[i]) / sum);
}

void gelu(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    // 1 + erf(z) == erfc(-z); the erfc form keeps the negative tail exact instead of cancelling to 0.
    x[i] = float(0.5 * v * std::erfc(-v * M_SQRT1_2));
  }
}

void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq) {
  const int half = dh / 2;
  for (int r = 0; r < rows; ++r) {
    float* row = x + size_t(r) * ld;
    for (int i = 0; i < half; ++i) {
      // The spec fixes the angle as an FP32 product; only cos/sin are taken in double.
      const float angle = float(positions[r]) * inv_freq[i];
      const double c = std::cos(double(angle)), s = std::sin(double(angle));
      const double a = row[i], b = row[i + half];
      row[i] = float(a * c - b * s);
      row[i + half] = float(b * c + a * s);
    }
  }
}

}  // namespace ds::kernels::ref
