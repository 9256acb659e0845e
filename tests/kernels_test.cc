// Every fast kernel against its plain reference (kernels/cpu/ref_*.cc), for every implementation
// this CPU can run (portable always, avx2 when supported), over random shapes including awkward
// ones (1, 7, 33, 65: not multiples of the vector width), strides wider than the rows, accumulate
// on and off, and 1 or 2 threads. Tolerances are stated per op, scaled to FP32 rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace ds::kernels {

// Test names and failure messages show the implementation ("avx2"), not the table's address.
void PrintTo(const KernelTable* table, std::ostream* os) { *os << table->name; }

namespace {

std::vector<const KernelTable*> all_tables() {
  std::vector<const KernelTable*> t{&portable_kernels()};
  if (const KernelTable* fast = avx2_kernels()) t.push_back(fast);
  return t;
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

class KernelTest : public ::testing::TestWithParam<const KernelTable*> {
 protected:
  const KernelTable& K() const { return *GetParam(); }
  std::mt19937 rng_{1234};
};

// ---------------------------------------------------------------------------------------------
// GEMM

struct GemmCase {
  int M, N, K, lda_pad, ldb_pad, ldc_pad;
  bool accumulate;
};

std::vector<GemmCase> gemm_cases() {
  std::vector<GemmCase> cases;
  const int dims[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 23, 24, 25, 33, 65};
  std::mt19937 rng(7);
  // Every awkward M and N with a few K, then random mixes.
  for (int m : dims)
    for (int n : {1, 7, 24, 33, 65}) cases.push_back({m, n, (m * 7 + n) % 33 + 1, 0, 0, 0, (m + n) % 2 == 0});
  std::uniform_int_distribution<int> pick(0, int(std::size(dims)) - 1), pad(0, 5);
  for (int i = 0; i < 40; ++i)
    cases.push_back({dims[pick(rng)], dims[pick(rng)], dims[pick(rng)] * (i % 3 + 1), pad(rng), pad(rng), pad(rng),
                     i % 2 == 0});
  // K beyond one cache block (256) and not a multiple of 8; a size like the encoder's.
  cases.push_back({13, 50, 300, 3, 1, 2, false});
  cases.push_back({6, 48, 513, 0, 0, 0, true});
  cases.push_back({2, 40, 777, 1, 0, 0, false});
  cases.push_back({64, 96, 384, 0, 0, 0, false});
  cases.push_back({1, 1000, 129, 0, 0, 0, true});
  cases.push_back({5, 3, 1, 0, 0, 0, false});
  // Big enough (>= 4e5 flops) that a 2-thread pool really splits: by rows when there is a single
  // panel of columns, by columns on the dot path (small M), the GEMV, and the packed path.
  cases.push_back({200, 20, 100, 1, 2, 3, true});
  cases.push_back({3, 500, 300, 0, 0, 0, false});
  cases.push_back({9, 50, 700, 2, 0, 1, true});
  cases.push_back({1, 700, 400, 0, 3, 0, true});
  cases.push_back({37, 130, 260, 0, 0, 0, false});
  // Many rows, few columns (the importance scorer is N = 1, the gate N = 2): split by rows.
  cases.push_back({300, 1, 384, 0, 0, 0, false});
  cases.push_back({301, 2, 300, 1, 5, 1, true});
  cases.push_back({64, 16, 200, 0, 0, 0, false});
  cases.push_back({70, 17, 130, 0, 0, 3, true});
  return cases;
}

// C after the fast kernel vs the reference, |err| <= 1e-6 sqrt(K) (sum_k |a||b| + |C_old|): FP32
// rounding grows about like sqrt(K) eps times the magnitude that was summed.
void expect_gemm_close(const GemmCase& c, const std::vector<float>& A, int lda, const std::vector<float>& B, int ldb,
                       const std::vector<float>& C0, const std::vector<float>& got, const std::vector<float>& want,
                       int ldc, const std::string& what) {
  int bad = 0;
  for (int m = 0; m < c.M; ++m) {
    for (int n = 0; n < c.N; ++n) {
      double mag = c.accumulate ? std::fabs(C0[size_t(m) * ldc + n]) : 0.0;
      for (int k = 0; k < c.K; ++k) mag += std::fabs(double(A[size_t(m) * lda + k]) * B[size_t(n) * ldb + k]);
      const double err = std::fabs(double(got[size_t(m) * ldc + n]) - want[size_t(m) * ldc + n]);
      if (err > 1e-6 * std::sqrt(double(c.K)) * mag + 1e-30 && ++bad <= 3)
        ADD_FAILURE() << what << " M=" << c.M << " N=" << c.N << " K=" << c.K << " acc=" << c.accumulate << " at ("
                      << m << "," << n << "): got " << got[size_t(m) * ldc + n] << " want "
                      << want[size_t(m) * ldc + n];
    }
  }
  // Padding between rows of C must be untouched.
  for (int m = 0; m < c.M; ++m)
    for (int n = c.N; n < ldc; ++n)
      if (got[size_t(m) * ldc + n] != C0[size_t(m) * ldc + n] && ++bad <= 3)
        ADD_FAILURE() << what << " wrote past N at (" << m << "," << n << ")";
}

TEST_P(KernelTest, GemmMatchesReference) {
  ThreadPool pool(2);
  for (const GemmCase& c : gemm_cases()) {
    const int lda = c.K + c.lda_pad, ldb = c.K + c.ldb_pad, ldc = c.N + c.ldc_pad;
    const auto A = random_floats(rng_, size_t(c.M) * lda), B = random_floats(rng_, size_t(c.N) * ldb);
    const auto C0 = random_floats(rng_, size_t(c.M) * ldc);
    auto want = C0;
    ref::gemm_nt(c.M, c.N, c.K, A.data(), lda, B.data(), ldb, want.data(), ldc, c.accumulate);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      auto got = C0;
      K().gemm_nt(c.M, c.N, c.K, A.data(), lda, B.data(), ldb, got.data(), ldc, c.accumulate, p);
      expect_gemm_close(c, A, lda, B, ldb, C0, got, want, ldc, p ? "gemm_nt/2T" : "gemm_nt/1T");
    }
  }
}

TEST_P(KernelTest, GemmPackedMatchesReferenceIncludingPrefixSlices) {
  ThreadPool pool(2);
  for (const GemmCase& c : gemm_cases()) {
    // Pack a wider, longer matrix and use a prefix of its rows and columns, as narrow paths do.
    const int Nf = c.N + (c.M % 3) * 5, Kf = c.K + (c.N % 4) * 3;
    const int lda = c.K + c.lda_pad, ldc = c.N + c.ldc_pad;
    const auto A = random_floats(rng_, size_t(c.M) * lda), W = random_floats(rng_, size_t(Nf) * Kf);
    const auto C0 = random_floats(rng_, size_t(c.M) * ldc);
    const PackedMatrix P = pack_weights(W.data(), Nf, Kf);
    ASSERT_EQ(P.rows(), Nf);
    ASSERT_EQ(P.cols(), Kf);
    auto want = C0;
    ref::gemm_nt(c.M, c.N, c.K, A.data(), lda, W.data(), Kf, want.data(), ldc, c.accumulate);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      auto got = C0;
      K().gemm_packed(c.M, c.N, c.K, A.data(), lda, P, got.data(), ldc, c.accumulate, p);
      expect_gemm_close(c, A, lda, W, Kf, C0, got, want, ldc, p ? "gemm_packed/2T" : "gemm_packed/1T");
    }
  }
}

TEST_P(KernelTest, GemmWithZeroKClearsOrKeeps) {
  std::vector<float> C(6, 3.0f);
  K().gemm_nt(2, 3, 0, nullptr, 1, nullptr, 1, C.data(), 3, true, nullptr);
  EXPECT_EQ(C, std::vector<float>(6, 3.0f));
  K().gemm_nt(2, 3, 0, nullptr, 1, nullptr, 1, C.data(), 3, false, nullptr);
  EXPECT_EQ(C, std::vector<float>(6, 0.0f));
}

TEST(KernelPackedMatrix, MovesOwnershipAndStartsEmpty) {
  PackedMatrix empty;
  EXPECT_TRUE(empty.empty());
  const std::vector<float> W(5 * 3, 1.0f);
  PackedMatrix a = pack_weights(W.data(), 5, 3);
  EXPECT_FALSE(a.empty());
  PackedMatrix b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  EXPECT_EQ(b.rows(), 5);
  EXPECT_EQ(b.cols(), 3);
  // Panel layout: row n, column k at panel n / 24, offset (k * 24 + n % 24); padding rows are zero.
  EXPECT_EQ(b.data()[0 * 24 + 4], 1.0f);
  EXPECT_EQ(b.data()[2 * 24 + 5], 0.0f);
}

// ---------------------------------------------------------------------------------------------
// Row-wise ops

const int kAwkward[] = {1, 2, 7, 8, 9, 15, 16, 17, 33, 65, 384, 1000};

TEST_P(KernelTest, RmsnormMatchesReferenceAndMayAlias) {
  for (int n : kAwkward) {
    const auto x = random_floats(rng_, size_t(n), -3.0f, 3.0f), w = random_floats(rng_, size_t(n), 0.5f, 1.5f);
    std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
    ref::rmsnorm(x.data(), w.data(), want.data(), n, 1e-6f);
    K().rmsnorm(x.data(), w.data(), got.data(), n, 1e-6f);
    auto inplace = x;
    K().rmsnorm(inplace.data(), w.data(), inplace.data(), n, 1e-6f);
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(got[size_t(i)], want[size_t(i)], 2e-6 * std::fabs(want[size_t(i)]) + 1e-30) << "n=" << n << " i=" << i;
      EXPECT_EQ(inplace[size_t(i)], got[size_t(i)]) << "n=" << n;
    }
  }
  // All zeros: eps keeps it finite.
  std::vector<float> z(9, 0.0f), w(9, 1.0f), y(9, 1.0f);
  K().rmsnorm(z.data(), w.data(), y.data(), 9, 1e-5f);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

TEST_P(KernelTest, SoftmaxMatchesReference) {
  for (int n : kAwkward) {
    for (float spread : {1.0f, 30.0f, 200.0f}) {
      const auto x = random_floats(rng_, size_t(n), -spread, spread);
      auto want = x, got = x;
      ref::softmax(want.data(), n);
      K().softmax(got.data(), n);
      double sum = 0.0;
      const float mx = *std::max_element(x.begin(), x.end());
      for (int i = 0; i < n; ++i) {
        // FP32 cannot hold x - max exactly: its rounding (half an ulp of |x - max|) adds to exp's.
        const double arg_err = std::fabs(double(x[size_t(i)]) - mx) * 6e-8;
        EXPECT_NEAR(got[size_t(i)], want[size_t(i)], (2e-6 + arg_err) * want[size_t(i)] + 1e-37)
            << "n=" << n << " i=" << i;
        sum += got[size_t(i)];
      }
      EXPECT_NEAR(sum, 1.0, 1e-5) << "n=" << n;
    }
  }
  // -inf entries (masked logits) get exactly zero weight.
  std::vector<float> m{-INFINITY, 0.0f, -INFINITY, 0.0f, -INFINITY, -INFINITY, -INFINITY, -INFINITY, 0.0f};
  K().softmax(m.data(), int(m.size()));
  EXPECT_EQ(m[0], 0.0f);
  EXPECT_NEAR(m[1], 1.0f / 3, 1e-7);
}

TEST_P(KernelTest, GeluMatchesErfReference) {
  // A dense sweep over the range that matters, the far tails, and special values.
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.00137f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, -1e-8f, 1.4142135f, -1.4142135f, 1.4142137f, -1.4142137f, 20.0f,
                  -20.0f, 50.0f, 3e38f, INFINITY})
    x.push_back(v);
  const size_t n = x.size();
  auto want = x, got = x;
  ref::gelu(want.data(), n);
  K().gelu(got.data(), n);
  int bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    // erf in double is the truth (the reference uses erfc to keep the tail); 5e-7 relative is a few float ulps. Below 1e-30 in
    // magnitude (the far negative tail) only the absolute error matters.
    if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "gelu(" << x[i] << ")";
      continue;
    }
    const double err = std::fabs(double(got[i]) - want[i]);
    if (std::fabs(want[i]) > 1e-30) worst = std::max(worst, err / std::fabs(want[i]));
    if (!(err <= 5e-7 * std::fabs(want[i]) + 1e-30) && ++bad <= 5)
      ADD_FAILURE() << "gelu(" << x[i] << ") = " << got[i] << ", want " << want[i];
  }
  char worst_text[32];
  std::snprintf(worst_text, sizeof worst_text, "%.3g", worst);
  RecordProperty("worst_relative_error", worst_text);
  std::vector<float> nan{std::numeric_limits<float>::quiet_NaN()};
  K().gelu(nan.data(), 1);
  EXPECT_TRUE(std::isnan(nan[0]));
}

TEST_P(KernelTest, RopeMatchesReference) {
  for (int dh : {2, 6, 8, 14, 16, 18, 32, 64, 66, 130}) {
    for (int rows : {1, 3, 17}) {
      const int ld = dh + (rows % 2) * 5;
      std::vector<float> inv_freq(static_cast<size_t>(dh / 2));
      for (int i = 0; i < dh / 2; ++i) inv_freq[size_t(i)] = 1.0f / std::pow(10000.0f, float(2 * i) / float(dh));
      std::vector<int32_t> pos(static_cast<size_t>(rows));
      std::uniform_int_distribution<int> pd(0, 4095);
      for (auto& p : pos) p = pd(rng_);
      pos[0] = 0;
      const auto x = random_floats(rng_, size_t(rows) * ld, -2.0f, 2.0f);
      auto want = x, got = x;
      ref::rope(want.data(), rows, dh, ld, pos.data(), inv_freq.data());
      K().rope(got.data(), rows, dh, ld, pos.data(), inv_freq.data());
      for (int r = 0; r < rows; ++r) {
        for (int i = 0; i < ld; ++i) {
          const size_t at = size_t(r) * ld + i;
          if (i >= dh) {
            EXPECT_EQ(got[at], x[at]) << "rope wrote past dh";
            continue;
          }
          // A rotation: error relative to the pair's magnitude.
          const int j = i < dh / 2 ? i + dh / 2 : i - dh / 2;
          const double mag = std::hypot(double(x[at]), double(x[size_t(r) * ld + j]));
          EXPECT_NEAR(got[at], want[at], 1e-6 * mag + 1e-30) << "dh=" << dh << " pos=" << pos[size_t(r)] << " i=" << i;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// FP16

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

bool half_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

TEST(KernelReference, Fp16KnownValues) {
  const float in[] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 65520.0f, 1e-8f, 5.960464477539063e-8f,
                      2.9802322387695312e-8f, 6.103515625e-05f, 1.0009765625f, 1.00048828125f, 1.00146484375f, INFINITY};
  const uint16_t want[] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0000, 0x0001,
                           0x0000, 0x0400, 0x3c01, 0x3c00, 0x3c02, 0x7c00};
  uint16_t got[std::size(in)];
  ref::fp32_to_fp16(in, got, std::size(in));
  for (size_t i = 0; i < std::size(in); ++i) EXPECT_EQ(got[i], want[i]) << "value " << in[i];
  const uint16_t h[] = {0x0001, 0x03ff, 0x0400, 0x7bff, 0xfc00, 0x3555};
  const float hf[] = {5.960464477539063e-8f, 6.097555160522461e-05f, 6.103515625e-05f, 65504.0f, -INFINITY,
                      0.333251953125f};
  float back[std::size(h)];
  ref::fp16_to_fp32(h, back, std::size(h));
  for (size_t i = 0; i < std::size(h); ++i) EXPECT_EQ(back[i], hf[i]);
}

TEST_P(KernelTest, Fp16ToFp32MatchesReferenceForEveryHalf) {
  std::vector<uint16_t> h(65536 + 5);
  for (size_t i = 0; i < h.size(); ++i) h[i] = uint16_t(i);  // the +5 makes the tail odd
  std::vector<float> want(h.size()), got(h.size());
  ref::fp16_to_fp32(h.data(), want.data(), h.size());
  K().fp16_to_fp32(h.data(), got.data(), h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << std::hex << h[i];
    } else {
      EXPECT_EQ(bits(got[i]), bits(want[i])) << std::hex << h[i];
    }
  }
}

TEST_P(KernelTest, Fp32ToFp16MatchesReference) {
  std::vector<float> x;
  // Around every half boundary: exact halves, midpoints (ties to even), and one float either side.
  for (uint32_t hb = 0; hb < 0x7c00; hb += 7) {
    uint16_t h = uint16_t(hb), h2 = uint16_t(hb + 1);
    float a, b;
    ref::fp16_to_fp32(&h, &a, 1);
    ref::fp16_to_fp32(&h2, &b, 1);
    const float mid = float((double(a) + double(b)) / 2);
    for (float v : {a, mid, from_bits(bits(mid) + 1), from_bits(bits(mid) - 1)}) {
      x.push_back(v);
      x.push_back(-v);
    }
  }
  std::mt19937 rng(99);
  for (int i = 0; i < 200000; ++i) x.push_back(from_bits(rng()));  // every exponent, NaN included
  for (float v : {INFINITY, -INFINITY, 65519.996f, 65520.0f, 1e-45f, -1e-45f, 2.98023259e-8f, 2.98023224e-8f})
    x.push_back(v);
  x.push_back(0.5f);  // odd length tail
  std::vector<uint16_t> want(x.size()), got(x.size());
  ref::fp32_to_fp16(x.data(), want.data(), x.size());
  K().fp32_to_fp16(x.data(), got.data(), x.size());
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const bool ok = half_is_nan(want[i]) ? half_is_nan(got[i]) : got[i] == want[i];
    if (!ok && ++bad <= 5)
      ADD_FAILURE() << "fp32_to_fp16(" << x[i] << " = 0x" << std::hex << bits(x[i]) << ") = 0x" << got[i] << " want 0x"
                    << want[i];
  }
}

// ---------------------------------------------------------------------------------------------
// Top-k

TEST_P(KernelTest, TopKMatchesReferenceWithTiesAndNaN) {
  for (int n : {1, 2, 7, 33, 65, 1000}) {
    for (int levels : {3, 1000000}) {  // 3 levels: most scores tie
      std::uniform_int_distribution<int> d(0, levels - 1);
      std::vector<float> s(static_cast<size_t>(n));
      for (auto& v : s) v = float(d(rng_)) * 0.25f;
      if (n > 10) s[5] = s[9] = std::numeric_limits<float>::quiet_NaN();
      for (int k : {1, 2, std::max(1, n / 3), std::max(1, n - 1), n}) {
        if (k > n) continue;
        std::vector<int32_t> want(static_cast<size_t>(k)), got(static_cast<size_t>(k), -1);
        ref::top_k(s.data(), n, k, want.data());
        K().top_k(s.data(), n, k, got.data());
        EXPECT_EQ(got, want) << "n=" << n << " k=" << k << " levels=" << levels;
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
      }
    }
  }
}

TEST(KernelReference, TopKTiesGoToTheLowerIndex) {
  const float s[] = {1.0f, 3.0f, 2.0f, 3.0f, 3.0f, NAN, 0.0f};
  int32_t out[3];
  ref::top_k(s, 7, 3, out);
  EXPECT_EQ(std::vector<int32_t>(out, out + 3), (std::vector<int32_t>{1, 3, 4}));
  int32_t out4[4];
  ref::top_k(s, 7, 4, out4);
  EXPECT_EQ(std::vector<int32_t>(out4, out4 + 4), (std::vector<int32_t>{1, 2, 3, 4}));
  int32_t all[7];
  ref::top_k(s, 7, 7, all);
  EXPECT_EQ(std::vector<int32_t>(all, all + 7), (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6}));
}

// ---------------------------------------------------------------------------------------------
// Attention

struct Qkv {
  int T, dh, ld;
  std::vector<float> q, k, v;
};

Qkv make_qkv(std::mt19937& rng, int T, int dh, int pad, float scale) {
  Qkv x{T, dh, dh + pad, {}, {}, {}};
  x.q = random_floats(rng, size_t(T) * x.ld, -scale, scale);
  x.k = random_floats(rng, size_t(T) * x.ld, -scale, scale);
  x.v = random_floats(rng, size_t(T) * x.ld, -1.0f, 1.0f);
  return x;
}

// Outputs are convex combinations of V rows in [-1, 1]: absolute error against the reference.
void expect_attention_close(const std::vector<float>& got, const std::vector<float>& want, int T, int dh, int ldo,
                            const std::string& what) {
  int bad = 0;
  for (int i = 0; i < T; ++i) {
    for (int d = 0; d < ldo; ++d) {
      const size_t at = size_t(i) * ldo + d;
      const double tol = d < dh ? 2e-6 : 0.0;  // beyond dh: untouched
      if (!(std::fabs(double(got[at]) - want[at]) <= tol) && ++bad <= 3)
        ADD_FAILURE() << what << " T=" << T << " dh=" << dh << " at (" << i << "," << d << "): got " << got[at]
                      << " want " << want[at];
    }
  }
}

TEST_P(KernelTest, AttentionKeysMatchesReference) {
  for (int T : {1, 2, 7, 33, 130}) {
    for (int dh : {1, 7, 8, 16, 33, 64}) {
      const Qkv x = make_qkv(rng_, T, dh, T % 3, 3.0f);
      // Key sets: dense, token 0 plus a random subset (ascending), a single key.
      std::vector<std::vector<int32_t>> sets;
      sets.emplace_back(size_t(T));
      std::iota(sets.back().begin(), sets.back().end(), 0);
      std::vector<int32_t> sub{0};
      std::bernoulli_distribution coin(0.4);
      for (int j = 1; j < T; ++j)
        if (coin(rng_)) sub.push_back(j);
      sets.push_back(sub);
      sets.push_back({T - 1});
      const auto bias = random_floats(rng_, size_t(T), -4.0f, 0.0f);
      for (const auto& keys : sets) {
        for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
          const int ldo = dh + 2;
          std::vector<float> want(static_cast<size_t>(T) * ldo, 7.0f), got = want;
          ref::attention_keys(T, dh, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, keys.data(),
                              int(keys.size()), b, want.data(), ldo);
          K().attention_keys(T, dh, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, keys.data(),
                             int(keys.size()), b, got.data(), ldo);
          expect_attention_close(got, want, T, dh, ldo, "attention_keys nk=" + std::to_string(keys.size()));
        }
      }
    }
  }
}

TEST_P(KernelTest, AttentionLocalMatchesReference) {
  for (int T : {1, 2, 7, 33, 65, 200}) {
    for (int dh : {1, 7, 8, 33, 64}) {
      for (int window : {0, 1, 3, 40, 1000}) {
        const Qkv x = make_qkv(rng_, T, dh, (T + window) % 4, 3.0f);
        const int ldo = dh + 1;
        std::vector<float> want(static_cast<size_t>(T) * ldo, 7.0f), got = want;
        ref::attention_local(T, dh, window, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, want.data(), ldo);
        K().attention_local(T, dh, window, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, got.data(), ldo);
        expect_attention_close(got, want, T, dh, ldo, "attention_local w=" + std::to_string(window));
      }
    }
  }
}

TEST_P(KernelTest, AttentionWithLargeLogitsStaysFinite) {
  // Logits of several hundred: the online max must rescale, not overflow exp.
  const int T = 70, dh = 16;
  const Qkv x = make_qkv(rng_, T, dh, 0, 40.0f);
  std::vector<int32_t> keys(static_cast<size_t>(T));
  std::iota(keys.begin(), keys.end(), 0);
  std::vector<float> want(static_cast<size_t>(T) * dh), got(static_cast<size_t>(T) * dh);
  ref::attention_keys(T, dh, x.q.data(), dh, x.k.data(), dh, x.v.data(), dh, keys.data(), T, nullptr, want.data(), dh);
  K().attention_keys(T, dh, x.q.data(), dh, x.k.data(), dh, x.v.data(), dh, keys.data(), T, nullptr, got.data(), dh);
  // Near-one-hot weights amplify the logit rounding (scores of ~600 carry ~4e-5 absolute error).
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-3) << i;
}

TEST_P(KernelTest, AttentionWithWideHeadsMatchesReference) {
  // dh above the 512 floats of stack scratch takes the heap path.
  const int T = 5, dh = 520;
  const Qkv x = make_qkv(rng_, T, dh, 3, 0.2f);
  const std::vector<int32_t> keys{0, 2, 3};
  const auto bias = random_floats(rng_, size_t(T), -1.0f, 0.0f);
  std::vector<float> want(static_cast<size_t>(T) * dh), got(want.size());
  ref::attention_keys(T, dh, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, keys.data(), 3, bias.data(),
                      want.data(), dh);
  K().attention_keys(T, dh, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, keys.data(), 3, bias.data(),
                     got.data(), dh);
  expect_attention_close(got, want, T, dh, dh, "attention_keys wide");
  ref::attention_local(T, dh, 1, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, want.data(), dh);
  K().attention_local(T, dh, 1, x.q.data(), x.ld, x.k.data(), x.ld, x.v.data(), x.ld, got.data(), dh);
  expect_attention_close(got, want, T, dh, dh, "attention_local wide");
}

TEST(KernelReference, AttentionLocalWithWholeWindowEqualsDenseKeys) {
  std::mt19937 rng(5);
  const int T = 9, dh = 4;
  const Qkv x = make_qkv(rng, T, dh, 0, 1.0f);
  std::vector<int32_t> keys(static_cast<size_t>(T));
  std::iota(keys.begin(), keys.end(), 0);
  std::vector<float> a(static_cast<size_t>(T) * dh), b(static_cast<size_t>(T) * dh);
  ref::attention_local(T, dh, T, x.q.data(), dh, x.k.data(), dh, x.v.data(), dh, a.data(), dh);
  ref::attention_keys(T, dh, x.q.data(), dh, x.k.data(), dh, x.v.data(), dh, keys.data(), T, nullptr, b.data(), dh);
  EXPECT_EQ(a, b);
}

// ---------------------------------------------------------------------------------------------
// Quantized weights: gemm_quant on a QuantMatrix against the reference on SPEC.md's stored layout

// A random matrix as a model file stores it (model/SPEC.md, "Precisions and quantized layouts").
struct StoredMatrix {
  WeightFormat format;
  int N, K, G;                  // G: int4 only
  std::vector<uint16_t> f16;    // fp16 weights [N, K]
  std::vector<int8_t> i8;       // int8 codes [N, K]
  std::vector<uint8_t> i4;      // int4 bytes [N, K/2]
  std::vector<uint16_t> scale;  // int8 [N], int4 [N, K/G]

  QuantMatrix pack() const {
    switch (format) {
      case WeightFormat::kFp16: return pack_fp16_weights(f16.data(), N, K);
      case WeightFormat::kInt8: return pack_int8_weights(i8.data(), scale.data(), N, K);
      case WeightFormat::kInt4: return pack_int4_weights(i4.data(), scale.data(), N, K, G);
    }
    return {};
  }
  // C[M, n] (+)= A @ W[:n, :k]^T by the reference.
  void ref_gemm(int M, int n, int k, const float* A, int lda, float* C, int ldc, bool acc) const {
    switch (format) {
      case WeightFormat::kFp16: return ref::gemm_fp16(M, n, k, A, lda, f16.data(), K, C, ldc, acc);
      case WeightFormat::kInt8: return ref::gemm_int8(M, n, k, A, lda, i8.data(), K, scale.data(), C, ldc, acc);
      case WeightFormat::kInt4:
        return ref::gemm_int4(M, n, k, A, lda, i4.data(), K / 2, scale.data(), K / G, G, C, ldc, acc);
    }
  }
  // The whole matrix dequantized (exact in FP32), row-major [N, K].
  std::vector<float> dequantized() const {
    std::vector<float> w(size_t(N) * K);
    std::vector<float> sc(scale.size());
    ref::fp16_to_fp32(scale.data(), sc.data(), sc.size());
    for (int n = 0; n < N; ++n) {
      for (int k = 0; k < K; ++k) {
        float& v = w[size_t(n) * K + k];
        if (format == WeightFormat::kFp16) {
          ref::fp16_to_fp32(&f16[size_t(n) * K + k], &v, 1);
        } else if (format == WeightFormat::kInt8) {
          v = float(i8[size_t(n) * K + k]) * sc[size_t(n)];
        } else {
          const uint8_t b = i4[size_t(n) * K / 2 + k / 2];
          v = float((k % 2 ? b >> 4 : b & 15) - 8) * sc[size_t(n) * (K / G) + k / G];
        }
      }
    }
    return w;
  }
};

const char* format_name(WeightFormat f) {
  return f == WeightFormat::kFp16 ? "fp16" : f == WeightFormat::kInt8 ? "int8" : "int4";
}

// Codes over their whole range (zero included, so Inf * 0 cases exist), scales around what a
// quantizer writes for weights of magnitude ~1; the last row of int8/int4 gets scale 0.
StoredMatrix random_stored(std::mt19937& rng, WeightFormat format, int N, int K, int G = 0) {
  StoredMatrix s{format, N, K, G, {}, {}, {}, {}};
  std::uniform_real_distribution<float> scale(0.5f, 1.5f);
  auto halves = [](const std::vector<float>& v) {
    std::vector<uint16_t> h(v.size());
    ref::fp32_to_fp16(v.data(), h.data(), v.size());
    return h;
  };
  if (format == WeightFormat::kFp16) {
    s.f16 = halves(random_floats(rng, size_t(N) * K));
  } else if (format == WeightFormat::kInt8) {
    std::uniform_int_distribution<int> code(-127, 127);
    s.i8.resize(size_t(N) * K);
    for (auto& q : s.i8) q = int8_t(code(rng));
    std::vector<float> sc(static_cast<size_t>(N));
    for (auto& v : sc) v = scale(rng) / 127.0f;
    if (N > 1) sc.back() = 0.0f;
    s.scale = halves(sc);
  } else {
    std::uniform_int_distribution<int> byte(0, 255);
    s.i4.resize(size_t(N) * K / 2);
    for (auto& q : s.i4) q = uint8_t(byte(rng));
    std::vector<float> sc(size_t(N) * (K / G));
    for (auto& v : sc) v = scale(rng) / 7.0f;
    if (N > 1)
      for (int g = 0; g < K / G; ++g) sc[size_t(N - 1) * (K / G) + g] = 0.0f;
    s.scale = halves(sc);
  }
  return s;
}

struct QuantCase {
  WeightFormat format;
  int G;         // int4 group size
  int M, N, K;   // the product computed
  int Nf, Kf;    // the stored matrix (a prefix N x K of it is used)
  int lda_pad, ldc_pad;
  bool accumulate;
};

std::string describe(const QuantCase& c) {
  return std::string(format_name(c.format)) + (c.format == WeightFormat::kInt4 ? " G=" + std::to_string(c.G) : "") +
         " M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + "/" + std::to_string(c.Nf) +
         " K=" + std::to_string(c.K) + "/" + std::to_string(c.Kf) + " acc=" + std::to_string(c.accumulate);
}

// The awkward shapes: every M x N with K cycling through the list, for fp16, int8 and int4
// at G = 32, 64, 128 and two group sizes that are not multiples of 32 (48, and 6: not even a
// multiple of the 4-column step of the GEMV loop). Some cases use the whole stored matrix, others
// a prefix of rows and columns (K then need not be a multiple of G, and may be odd).
std::vector<QuantCase> quant_cases() {
  std::vector<QuantCase> cases;
  const int Ms[] = {1, 2, 3, 7, 17, 64}, Ns[] = {1, 5, 31, 33, 257}, Ks[] = {32, 64, 96, 768, 1152};
  const std::pair<WeightFormat, int> formats[] = {{WeightFormat::kFp16, 0},  {WeightFormat::kInt8, 0},
                                                  {WeightFormat::kInt4, 32}, {WeightFormat::kInt4, 64},
                                                  {WeightFormat::kInt4, 128}, {WeightFormat::kInt4, 48},
                                                  {WeightFormat::kInt4, 6}};
  int i = 0, f = 0;
  for (auto [format, G] : formats) {
    for (int M : Ms) {
      for (int N : Ns) {
        const int K = Ks[(i + i / 5 + f) % 5];  // over the formats, every (M, N, K) of the lists occurs
        const bool prefix = i % 3 == 1;
        const int step = G > 0 ? G : 1;
        int Kf = (K + step - 1) / step * step;  // the smallest valid stored width >= K
        if (prefix) Kf += step;
        cases.push_back({format, G, M, N, K, prefix ? N + 7 : N, Kf, i % 4, (i / 2) % 3, i % 2 == 0});
        ++i;
      }
    }
    ++f;
  }
  // Prefixes that end inside a group and at odd columns, through the GEMV and the widening path.
  for (int M : {1, 2, 5}) {
    cases.push_back({WeightFormat::kInt4, 32, M, 40, 33, 48, 64, 0, 0, false});
    cases.push_back({WeightFormat::kInt4, 6, M, 25, 95, 25, 96, 1, 0, true});
    cases.push_back({WeightFormat::kInt4, 128, M, 30, 301, 30, 384, 0, 1, false});
    cases.push_back({WeightFormat::kInt8, 0, M, 50, 13, 72, 20, 0, 0, true});
    cases.push_back({WeightFormat::kFp16, 0, M, 50, 257, 51, 300, 0, 0, false});
  }
  // Many rows: row blocks of 256, and a two-thread split of rows when there are few panels.
  cases.push_back({WeightFormat::kInt8, 0, 300, 20, 100, 20, 100, 0, 0, true});
  cases.push_back({WeightFormat::kInt4, 32, 600, 48, 128, 48, 128, 0, 0, false});
  return cases;
}

// Same bound as the FP32 GEMM test, 1e-6 sqrt(K) (sum_k |a w| + |C_old|): the dequantized weights are
// exact floats, so only the order of the FP32 sums differs from the reference.
std::vector<double> quant_bounds(const QuantCase& c, const std::vector<float>& A, int lda, const std::vector<float>& W,
                                 const std::vector<float>& C0, int ldc) {
  std::vector<double> bound(size_t(c.M) * c.N);
  for (int m = 0; m < c.M; ++m) {
    for (int n = 0; n < c.N; ++n) {
      double mag = c.accumulate ? std::fabs(C0[size_t(m) * ldc + n]) : 0.0;
      for (int k = 0; k < c.K; ++k) mag += std::fabs(double(A[size_t(m) * lda + k]) * W[size_t(n) * c.Kf + k]);
      bound[size_t(m) * c.N + n] = 1e-6 * std::sqrt(double(c.K)) * mag + 1e-30;
    }
  }
  return bound;
}

void expect_quant_close(const QuantCase& c, const std::vector<double>& bound, const std::vector<float>& C0,
                        const std::vector<float>& got, const std::vector<float>& want, int ldc,
                        const std::string& what) {
  int bad = 0;
  for (int m = 0; m < c.M; ++m) {
    for (int n = 0; n < c.N; ++n) {
      const double err = std::fabs(double(got[size_t(m) * ldc + n]) - want[size_t(m) * ldc + n]);
      if (!(err <= bound[size_t(m) * c.N + n]) && ++bad <= 3)
        ADD_FAILURE() << what << " " << describe(c) << " at (" << m << "," << n << "): got "
                      << got[size_t(m) * ldc + n] << " want " << want[size_t(m) * ldc + n];
    }
    for (int n = c.N; n < ldc; ++n)
      if (got[size_t(m) * ldc + n] != C0[size_t(m) * ldc + n] && ++bad <= 3)
        ADD_FAILURE() << what << " " << describe(c) << " wrote past N at (" << m << "," << n << ")";
  }
}

TEST_P(KernelTest, QuantGemmMatchesReferenceOverAwkwardShapesAndPrefixes) {
  ThreadPool pool(2);
  for (const QuantCase& c : quant_cases()) {
    const StoredMatrix s = random_stored(rng_, c.format, c.Nf, c.Kf, c.G);
    const QuantMatrix B = s.pack();
    ASSERT_EQ(B.rows(), c.Nf);
    ASSERT_EQ(B.cols(), c.Kf);
    const std::vector<float> W = s.dequantized();
    const int lda = c.K + c.lda_pad, ldc = c.N + c.ldc_pad;
    const auto A = random_floats(rng_, size_t(c.M) * lda), C0 = random_floats(rng_, size_t(c.M) * ldc);
    auto want = C0;
    s.ref_gemm(c.M, c.N, c.K, A.data(), lda, want.data(), ldc, c.accumulate);
    const std::vector<double> bound = quant_bounds(c, A, lda, W, C0, ldc);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      auto got = C0;
      K().gemm_quant(c.M, c.N, c.K, A.data(), lda, B, got.data(), ldc, c.accumulate, p);
      expect_quant_close(c, bound, C0, got, want, ldc, p ? "gemm_quant/2T" : "gemm_quant/1T");
    }
  }
}

// Where gemm_quant widens a kc x 24 block into L1 (M >= 16; INT4 from M = 2), the block goes through
// gemm_packed's micro-kernel with gemm_packed's k blocks, so the result is gemm_packed's on the
// dequantized matrix, bit for bit (for N > 16: gemm_packed has another path for fewer columns).
TEST_P(KernelTest, QuantGemmEqualsGemmPackedOnTheDequantizedMatrixForManyRows) {
  for (auto [format, G] : {std::pair{WeightFormat::kFp16, 0}, std::pair{WeightFormat::kInt8, 0},
                           std::pair{WeightFormat::kInt4, 32}, std::pair{WeightFormat::kInt4, 6}}) {
    for (int M : {2, 9, 16, 33, 64}) {
      if (M < 16 && format != WeightFormat::kInt4 && GetParam() != &portable_kernels()) continue;
      const int N = 50, Kf = 576, cols = M % 2 ? 575 : 576;
      const StoredMatrix s = random_stored(rng_, format, N, Kf, G);
      const std::vector<float> W = s.dequantized();
      const PackedMatrix P = pack_weights(W.data(), N, Kf);
      const QuantMatrix B = s.pack();
      const auto A = random_floats(rng_, size_t(M) * cols);
      std::vector<float> a(size_t(M) * N), b(size_t(M) * N);
      K().gemm_packed(M, N, cols, A.data(), cols, P, a.data(), N, false, nullptr);
      K().gemm_quant(M, N, cols, A.data(), cols, B, b.data(), N, false, nullptr);
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_EQ(bits(a[i]), bits(b[i])) << format_name(format) << " M=" << M << " at " << i;
    }
  }
}

// A NaN or Inf in A gives what the reference gives: NaN where it has NaN (Inf times a zero weight
// included), the same signed Inf where it has Inf. GEMV (M = 1, row by row) and the widening path.
TEST_P(KernelTest, QuantGemmPropagatesNanAndInfLikeTheReference) {
  for (auto [format, G] : {std::pair{WeightFormat::kFp16, 0}, std::pair{WeightFormat::kInt8, 0},
                           std::pair{WeightFormat::kInt4, 32}, std::pair{WeightFormat::kInt4, 6}}) {
    const int M = 4, N = 40, cols = 96;
    StoredMatrix s = random_stored(rng_, format, N, cols, G);
    // Weight 0 at column 5 of rows 0..9, so that Inf there meets a zero weight.
    for (int n = 0; n < 10; ++n) {
      if (format == WeightFormat::kFp16) s.f16[size_t(n) * cols + 5] = 0;
      if (format == WeightFormat::kInt8) s.i8[size_t(n) * cols + 5] = 0;
      if (format == WeightFormat::kInt4) {
        uint8_t& byte = s.i4[size_t(n) * cols / 2 + 2];  // k = 4 low nibble, k = 5 high nibble
        byte = uint8_t((byte & 0x0f) | 0x80);
      }
    }
    const QuantMatrix B = s.pack();
    auto A = random_floats(rng_, size_t(M) * cols);
    A[3] = std::numeric_limits<float>::quiet_NaN();
    A[size_t(cols) + 5] = INFINITY;
    A[size_t(2 * cols) + 5] = -INFINITY;
    std::vector<float> want(size_t(M) * N), gemm(size_t(M) * N), gemv(size_t(M) * N);
    s.ref_gemm(M, N, cols, A.data(), cols, want.data(), N, false);
    K().gemm_quant(M, N, cols, A.data(), cols, B, gemm.data(), N, false, nullptr);
    for (int m = 0; m < M; ++m)
      K().gemm_quant(1, N, cols, A.data() + size_t(m) * cols, cols, B, gemv.data() + size_t(m) * N, N, false, nullptr);
    int nan_count = 0, inf_count = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      for (const auto* got : {&gemm, &gemv}) {
        const float g = (*got)[i];
        if (std::isnan(want[i]))
          EXPECT_TRUE(std::isnan(g)) << format_name(format) << " at " << i << ": " << g;
        else if (std::isinf(want[i]))
          EXPECT_EQ(g, want[i]) << format_name(format) << " at " << i;
        else
          EXPECT_TRUE(std::isfinite(g)) << format_name(format) << " at " << i;
      }
      nan_count += std::isnan(want[i]);
      inf_count += std::isinf(want[i]);
    }
    EXPECT_GT(inf_count, 20) << "the case must exercise Inf";  // rows 1, 2 away from the zero weights
    EXPECT_GT(nan_count, N + 10) << "the case must exercise NaN";  // row 0, and Inf * 0
  }
}

TEST_P(KernelTest, QuantGemmWithZeroKClearsOrKeeps) {
  const std::vector<int8_t> q(6, 1);
  const std::vector<uint16_t> sc(3, 0x3c00);
  const QuantMatrix B = pack_int8_weights(q.data(), sc.data(), 3, 2);
  std::vector<float> C(6, 3.0f);
  K().gemm_quant(2, 3, 0, nullptr, 1, B, C.data(), 3, true, nullptr);
  EXPECT_EQ(C, std::vector<float>(6, 3.0f));
  K().gemm_quant(2, 3, 0, nullptr, 1, B, C.data(), 3, false, nullptr);
  EXPECT_EQ(C, std::vector<float>(6, 0.0f));
}

TEST(KernelQuantMatrix, PacksTheStoredBytesAndChecksSizes) {
  std::mt19937 rng(11);
  const StoredMatrix s = random_stored(rng, WeightFormat::kInt4, 30, 64, 32);
  QuantMatrix a = s.pack();
  EXPECT_EQ(a.format(), WeightFormat::kInt4);
  EXPECT_EQ(a.group_size(), 32);
  // Two panels of 24 rows: 32 bytes of codes and 2 F16 scales per row.
  EXPECT_EQ(a.bytes(), size_t(48) * (32 + 2 * 2));
  // Panel layout: byte b of row n at panel n / 24, offset b * 24 + n % 24; padding rows hold zero point 8.
  EXPECT_EQ(a.data()[5 * 24 + 7], s.i4[7 * 32 + 5]);
  EXPECT_EQ(a.data()[32 * 24 + 3 * 24 + 4], s.i4[28 * 32 + 3]);
  EXPECT_EQ(a.data()[32 * 24 + 3 * 24 + 6], 0x88);
  EXPECT_EQ(a.group_scales()[24 + 7], s.scale[7 * 2 + 1]);
  QuantMatrix b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
  EXPECT_EQ(b.rows(), 30);

  const std::vector<int8_t> q(10 * 7, 3);
  const std::vector<uint16_t> sc(10, 0x3800);  // 0.5
  const QuantMatrix c = pack_int8_weights(q.data(), sc.data(), 10, 7);
  EXPECT_EQ(c.bytes(), size_t(24) * 7 + 24 * sizeof(float));
  EXPECT_EQ(c.channel_scales()[9], 0.5f);
  EXPECT_EQ(c.channel_scales()[10], 0.0f);
  EXPECT_EQ(pack_fp16_weights(sc.data(), 2, 5).bytes(), size_t(24) * 5 * 2);

  const std::vector<uint8_t> u(64);
  EXPECT_THROW(pack_int4_weights(u.data(), sc.data(), 2, 12, 5), std::invalid_argument);   // odd G
  EXPECT_THROW(pack_int4_weights(u.data(), sc.data(), 2, 12, 8), std::invalid_argument);   // K % G != 0
  EXPECT_THROW(pack_int8_weights(u.data(), sc.data(), 0, 12), std::invalid_argument);
}

TEST(KernelReference, QuantGemmDecodesTheSpecLayout) {
  // Row 0: int8 codes 1, -2 with scale 0.5. Row 1 of an int4 matrix: bytes 0x9F (k0 = 15 - 8 = 7,
  // k1 = 9 - 8 = 1), 0x08 (k2 = 0, k3 = -8), one group of 4 with scale 2.
  const int8_t q8[] = {1, -2};
  const uint16_t s8[] = {0x3800};
  const float a[] = {10.0f, 1.0f, 100.0f, 1000.0f};
  float c = 0.0f;
  ref::gemm_int8(1, 1, 2, a, 4, q8, 2, s8, &c, 1, false);
  EXPECT_EQ(c, 0.5f * (10.0f - 2.0f));
  const uint8_t q4[] = {0x88, 0x88, 0x9F, 0x08};
  const uint16_t s4[] = {0x3c00, 0x4000};
  float c2[2] = {0.0f, 1.0f};
  ref::gemm_int4(1, 2, 4, a, 4, q4, 2, s4, 1, 4, c2, 1, false);
  EXPECT_EQ(c2[1], 2.0f * (7 * 10.0f + 1 * 1.0f + 0 * 100.0f - 8 * 1000.0f));
  EXPECT_EQ(c2[0], 0.0f);
}

std::string table_name(const ::testing::TestParamInfo<const KernelTable*>& info) { return info.param->name; }

INSTANTIATE_TEST_SUITE_P(Isa, KernelTest, ::testing::ValuesIn(all_tables()), table_name);

// ---------------------------------------------------------------------------------------------
// Dispatch

TEST(KernelDispatch, SelectsFastUnlessForcedPortable) {
  static const KernelTable fake = [] {
    KernelTable t = portable_kernels();
    t.name = "fake";
    return t;
  }();
  EXPECT_STREQ(select_kernels(nullptr, &fake).name, "fake");
  EXPECT_STREQ(select_kernels("", &fake).name, "fake");
  EXPECT_STREQ(select_kernels("avx2", &fake).name, "fake");
  EXPECT_STREQ(select_kernels("portable", &fake).name, "portable");
  EXPECT_STREQ(select_kernels("bogus", &fake).name, "fake");
  EXPECT_STREQ(select_kernels(nullptr, nullptr).name, "portable");
  EXPECT_STREQ(select_kernels("avx2", nullptr).name, "portable");
}

TEST(KernelDispatch, PublicFunctionsUseTheActiveTable) {
  const char* env = std::getenv("DS_KERNELS");
  const bool forced = env && std::strcmp(env, "portable") == 0;
  EXPECT_STREQ(isa(), forced || !avx2_kernels() ? "portable" : "avx2");
  EXPECT_EQ(&active_kernels(), forced || !avx2_kernels() ? &portable_kernels() : avx2_kernels());
  // One call through each public entry point, against the reference.
  std::mt19937 rng(3);
  const auto A = random_floats(rng, 3 * 20), B = random_floats(rng, 5 * 20);
  std::vector<float> c(15), r(15);
  gemm_nt(3, 5, 20, A.data(), 20, B.data(), 20, c.data(), 5, false, nullptr);
  ref::gemm_nt(3, 5, 20, A.data(), 20, B.data(), 20, r.data(), 5, false);
  for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], r[i], 1e-5);
  const PackedMatrix P = pack_weights(B.data(), 5, 20);
  gemm_packed(3, 5, 20, A.data(), 20, P, c.data(), 5, false, nullptr);
  for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], r[i], 1e-5);
  std::vector<uint16_t> Bh(B.size());
  ref::fp32_to_fp16(B.data(), Bh.data(), B.size());
  ref::gemm_fp16(3, 5, 20, A.data(), 20, Bh.data(), 20, r.data(), 5, false);
  gemm_quant(3, 5, 20, A.data(), 20, pack_fp16_weights(Bh.data(), 5, 20), c.data(), 5, false, nullptr);
  for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], r[i], 1e-5);
  std::vector<float> x{1.0f, 2.0f, 3.0f}, y(3), w(3, 1.0f);
  rmsnorm(x.data(), w.data(), y.data(), 3, 0.0f);
  EXPECT_NEAR(y[2], 3.0f / std::sqrt(14.0f / 3.0f), 1e-6);
  softmax(x.data(), 3);
  EXPECT_NEAR(x[0] + x[1] + x[2], 1.0f, 1e-6);
  std::vector<float> g{1.0f};
  gelu(g.data(), 1);
  EXPECT_NEAR(g[0], 0.8413447f, 1e-6);
  std::vector<float> rp{1.0f, 0.0f};
  const int32_t pos = 1;
  const float f = 1.0f;
  rope(rp.data(), 1, 2, 2, &pos, &f);
  EXPECT_NEAR(rp[0], std::cos(1.0f), 1e-6);
  EXPECT_NEAR(rp[1], std::sin(1.0f), 1e-6);
  uint16_t h;
  const float one = 1.0f;
  fp32_to_fp16(&one, &h, 1);
  EXPECT_EQ(h, 0x3c00);
  float back;
  fp16_to_fp32(&h, &back, 1);
  EXPECT_EQ(back, 1.0f);
  const float s[] = {0.0f, 5.0f, 1.0f, 5.0f};
  int32_t top[2];
  top_k(s, 4, 2, top);
  EXPECT_EQ(top[0], 1);
  EXPECT_EQ(top[1], 3);
  const float q[] = {1.0f}, k[] = {1.0f, 1.0f}, v[] = {2.0f, 4.0f};
  const int32_t ks[] = {0, 1};
  float o[1];
  attention_keys(1, 1, q, 1, k, 1, v, 1, ks, 2, nullptr, o, 1);
  EXPECT_NEAR(o[0], 3.0f, 1e-6);
  attention_local(1, 1, 3, q, 1, k, 1, v, 1, o, 1);
  EXPECT_NEAR(o[0], 2.0f, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// ThreadPool

TEST(KernelThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(3), size_t(7), size_t(1000)}) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<int> running{0}, most{0};
      pool.parallel_for(n, [&](size_t b, size_t e) {
        ASSERT_LT(b, e);
        const int now = ++running;
        for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
        }
        for (size_t i = b; i < e; ++i) ++hits[i];
        --running;
      });
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
      EXPECT_LE(most.load(), threads);
    }
  }
}

TEST(KernelThreadPool, NonPositiveSizeMeansHardwareConcurrency) {
  ThreadPool pool(0);
  EXPECT_GE(pool.size(), 1);
}

TEST(KernelThreadPool, UsesSeveralThreads) {
  ThreadPool pool(2);
  std::atomic<int> arrived{0};
  std::vector<std::thread::id> ids(2);
  // Both chunks must be running at the same time for this to finish.
  pool.parallel_for(2, [&](size_t b, size_t) {
    ids[b] = std::this_thread::get_id();
    ++arrived;
    while (arrived.load() < 2) std::this_thread::yield();
  });
  EXPECT_NE(ids[0], ids[1]);
}

TEST(KernelThreadPool, TheCallerTakesOverASlowWorkersShare) {
  // A worker stalls 30 ms in its first piece (as if the OS had descheduled it). The caller must
  // finish its own share and then take the rest of the worker's, instead of waiting for it.
  ThreadPool pool(2);
  const size_t n = 64;  // shares of 32, taken in pieces of 4
  const auto caller = std::this_thread::get_id();
  std::vector<std::atomic<int>> hits(n);
  std::atomic<size_t> by_caller{0};
  std::atomic<bool> stalled{false};
  pool.parallel_for(n, [&](size_t b, size_t e) {
    if (std::this_thread::get_id() != caller && !stalled.exchange(true))
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    if (std::this_thread::get_id() == caller) by_caller += e - b;
    for (size_t i = b; i < e; ++i) ++hits[i];
  });
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1);
  EXPECT_GE(by_caller.load(), n - 8);  // all but the stalled piece (and one more in flight)
}

TEST(KernelThreadPool, RethrowsTheBodysException) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(10,
                                 [&](size_t b, size_t) {
                                   if (b > 0) throw std::runtime_error("worker failed");
                                 }),
               std::runtime_error);
  // Still usable afterwards.
  std::atomic<int> sum{0};
  pool.parallel_for(4, [&](size_t b, size_t e) { sum += int(e - b); });
  EXPECT_EQ(sum.load(), 4);
}

TEST(KernelThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.parallel_for(2, [&](size_t, size_t) { pool.parallel_for(3, [&](size_t b, size_t e) { inner += int(e - b); }); });
  EXPECT_EQ(inner.load(), 6);
}

TEST(KernelThreadPool, SeveralCallersShareOnePool) {
  ThreadPool pool(2);
  std::atomic<long> total{0};
  auto caller = [&] {
    for (int r = 0; r < 200; ++r) pool.parallel_for(8, [&](size_t b, size_t e) { total += long(e - b); });
  };
  std::thread t1(caller), t2(caller);
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 2L * 200 * 8);
}

TEST(KernelThreadPool, GemmOnSharedPoolFromTwoThreads) {
  // The model may run two sequences at once on one pool; results must not mix.
  ThreadPool pool(2);
  std::mt19937 rng(11);
  const int M = 9, N = 70, Kd = 40;
  const auto A = random_floats(rng, size_t(M) * Kd), B = random_floats(rng, size_t(N) * Kd);
  std::vector<float> want(static_cast<size_t>(M) * N);
  ref::gemm_nt(M, N, Kd, A.data(), Kd, B.data(), Kd, want.data(), N, false);
  auto run = [&](std::vector<float>& c) {
    for (int r = 0; r < 50; ++r) gemm_nt(M, N, Kd, A.data(), Kd, B.data(), Kd, c.data(), N, false, &pool);
  };
  std::vector<float> c1(want.size()), c2(want.size());
  std::thread t1([&] { run(c1); }), t2([&] { run(c2); });
  t1.join();
  t2.join();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(c1[i], want[i], 1e-4);
    EXPECT_NEAR(c2[i], want[i], 1e-4);
  }
}

}  // namespace
}  // namespace ds::kernels
