// CPU compute kernels for the Deepseek encoder. Every op has a plain scalar reference twin
// (namespace ds::kernels::ref) and a fast version picked once at run time by CPU features
// (AVX2+FMA+F16C, with a portable fallback). tests/kernels_test.cc holds the two together.
//
// Conventions: row-major FP32; a weight matrix W is stored [N, K] (output channel n is row n), so a
// linear layer is C = A @ W^T. Leading dimensions (lda, ldb, ldc) are in elements. Kernels are
// single-threaded unless they take a ThreadPool; they never allocate per call beyond small stack
// buffers unless noted, and they know nothing about the model above them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ds::kernels {

class ThreadPool;  // kernels/cpu/thread_pool.h

// C[M,N] (+)= A[M,K] @ B[N,K]^T. `accumulate` adds into C instead of overwriting it.
// M == 1 is routed to a GEMV-class path. `pool` may be null (single thread).
// M <= 15 or N <= 16 reads B as it is; otherwise B panels are packed per call into a stack buffer
// (24 KiB), which for a constant weight pack_weights + gemm_packed below avoid. Safe to call from
// several threads at once (on disjoint C), with or without a shared pool. K == 0 sets C to 0 (or
// keeps it when accumulating).
void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate, ThreadPool* pool);

// y[i] = x[i] / sqrt(mean(x^2) + eps) * w[i], i < n. x and y may alias.
void rmsnorm(const float* x, const float* w, float* y, int n, float eps);

// In place: x = softmax(x) over n values, max subtracted first. n >= 1.
void softmax(float* x, int n);

// In place exact GELU: 0.5 x (1 + erf(x / sqrt 2)).
void gelu(float* x, size_t n);

// In place rotate-half RoPE on `rows` head vectors of size dh (even) stored with stride `ld`;
// row r has position positions[r]. inv_freq has dh/2 entries (see model/SPEC.md section 3).
void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq);

// IEEE binary16 -> FP32 for n values.
void fp16_to_fp32(const uint16_t* src, float* dst, size_t n);
// FP32 -> binary16, round to nearest even.
void fp32_to_fp16(const float* src, uint16_t* dst, size_t n);

// Indices of the k largest scores among n (ties: lower index first), written to out[0..k) in
// ascending index order. 1 <= k <= n. NaN ranks below every number. O(n + k log k) expected time;
// keeps a grow-only per-thread scratch of n indices.
void top_k(const float* scores, int n, int k, int32_t* out);

// One head of attention over an explicit key set.
// q: [T, dh] (stride ldq), k/v: [T, dh] (strides ldk, ldv), keys: nk key indices (ascending),
// key_bias: per-key additive logit bias indexed by key position, i.e. key j adds key_bias[keys[j]]
// (an array of at least max(keys) + 1 values; may be null),
// out: [T, dh] (stride ldo). Every query attends to all nk keys; scale = 1/sqrt(dh).
// Memory is O(nk) per query, never O(T^2): keys stream through an online softmax in blocks of 64,
// with stack scratch for dh <= 512 (heap above).
void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo);

// One head of windowed attention: query i attends to keys j in [max(0,i-w), min(T-1,i+w)].
void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo);

// The name of the implementation picked at run time: "avx2" or "portable". The environment variable
// DS_KERNELS=portable forces the portable one (read once, at the first kernel call).
const char* isa();

// Weights B[N, K] rearranged once into the panel layout the GEMM micro-kernel reads, so that
// gemm_packed skips the per-call packing of gemm_nt (which costs about as much as the arithmetic when
// M is small). The model holds weights constant, so packing at load time is free at run time.
// Layout (shared by every implementation): ceil(N / kPanel) panels; panel p holds rows
// [kPanel*p, kPanel*p + kPanel) as K rows of kPanel floats (k-major), rows past N zero-filled.
// Movable, not copyable; owns 64-byte aligned memory. Thread-safe to read from many threads.
class PackedMatrix {
 public:
  static constexpr int kPanel = 24;
  PackedMatrix() = default;
  PackedMatrix(PackedMatrix&& other) noexcept;
  PackedMatrix& operator=(PackedMatrix&& other) noexcept;
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;
  ~PackedMatrix();

  int rows() const { return n_; }  // N
  int cols() const { return k_; }  // K
  const float* data() const { return data_; }
  bool empty() const { return data_ == nullptr; }

 private:
  friend PackedMatrix pack_weights(const float* W, int N, int K);
  int n_ = 0;
  int k_ = 0;
  float* data_ = nullptr;
};

// Packs W[N, K] (row-major, contiguous) for gemm_packed. Allocates about N*K floats.
PackedMatrix pack_weights(const float* W, int N, int K);

// C[M,N] (+)= A[M,K] @ W[:N, :K]^T where W is the matrix packed in B. N <= B.rows() and K <= B.cols()
// select a prefix of the rows (output channels) and of the columns (inputs), which is how the
// model's narrower paths slice a weight (model/SPEC.md section 2). Same results as gemm_nt up to
// FP32 summation order. `pool` may be null.
void gemm_packed(int M, int N, int K, const float* A, int lda, const PackedMatrix& B, float* C, int ldc,
                 bool accumulate, ThreadPool* pool);

// Storage precision of a QuantMatrix (model/SPEC.md, "Precisions and quantized layouts").
enum class WeightFormat : uint8_t { kFp16, kInt8, kInt4 };

// A weight matrix W[N, K] kept in its compact storage precision (FP16, INT8 with one scale per row,
// INT4 with one scale per row and group of G columns), rearranged once into panels of kPanel rows
// for the kernels. gemm_quant turns it into FP32 a small block at a time (in registers, or a
// kc x kPanel block in L1); no FP32 copy of the whole matrix ever exists.
// Layout (shared by every implementation): ceil(N / kPanel) panels, rows past N zero (weight 0):
//  * fp16: panel p is K rows of kPanel halves, k-major: [k][j] = W[kPanel p + j, k].
//  * int8: panel p is K rows of kPanel int8 codes, k-major; channel_scales()[n] (FP32, padded with 0).
//  * int4: panel p is K/2 rows of kPanel bytes, [b][j] = byte b of row kPanel p + j exactly as the
//    file stores it (k = 2b in the low nibble, 2b + 1 in the high one, zero point 8); group_scales()
//    are the F16 scales as [p][g][j] = scale[kPanel p + j, g] (padding rows 0).
// Dequantized weights are exact in FP32 (an integer code of at most 8 bits times an F16 scale), so the only
// difference from an FP32 copy of the matrix is the order of the FP32 sums.
// Movable, not copyable; owns 64-byte aligned memory. Thread-safe to read from many threads.
class QuantMatrix {
 public:
  static constexpr int kPanel = 24;
  QuantMatrix() = default;
  QuantMatrix(QuantMatrix&& other) noexcept;
  QuantMatrix& operator=(QuantMatrix&& other) noexcept;
  QuantMatrix(const QuantMatrix&) = delete;
  QuantMatrix& operator=(const QuantMatrix&) = delete;
  ~QuantMatrix();

  WeightFormat format() const { return format_; }
  int rows() const { return n_; }        // N
  int cols() const { return k_; }        // K
  int group_size() const { return g_; }  // G for int4, 0 otherwise
  bool empty() const { return data_ == nullptr; }
  const uint8_t* data() const { return data_; }
  const float* channel_scales() const { return channel_scales_; }   // int8 only, else null
  const uint16_t* group_scales() const { return group_scales_; }    // int4 only, else null
  // Bytes held (codes or halves, scales, panel padding): what the matrix costs in memory.
  size_t bytes() const { return bytes_; }

 private:
  friend QuantMatrix pack_fp16_weights(const void* w, int N, int K);
  friend QuantMatrix pack_int8_weights(const void* q, const void* scale, int N, int K);
  friend QuantMatrix pack_int4_weights(const void* q, const void* scale, int N, int K, int G);
  WeightFormat format_ = WeightFormat::kFp16;
  int n_ = 0;
  int k_ = 0;
  int g_ = 0;
  size_t bytes_ = 0;
  uint8_t* data_ = nullptr;
  float* channel_scales_ = nullptr;
  uint16_t* group_scales_ = nullptr;
};

// Pack a matrix stored as SPEC.md lays it out. Sources may have any alignment (file bytes) and are
// copied; N, K >= 1. Throw std::invalid_argument for bad sizes (int4: G even and K a multiple of G).
//  fp16: w = F16 [N, K].
//  int8: q = I8 [N, K], scale = F16 [N]; W[n,k] = q[n,k] * scale[n].
//  int4: q = U8 [N, K/2], scale = F16 [N, K/G]; W[n,k] = (nibble - 8) * scale[n, k / G].
QuantMatrix pack_fp16_weights(const void* w, int N, int K);
QuantMatrix pack_int8_weights(const void* q, const void* scale, int N, int K);
QuantMatrix pack_int4_weights(const void* q, const void* scale, int N, int K, int G);

// C[M,N] (+)= A[M,K] @ W[:N, :K]^T where W is B dequantized; N <= B.rows() and K <= B.cols()
// select a prefix of rows and columns as for gemm_packed (K need not be a multiple of G, nor even).
// The weights are widened to FP32 inside the kernel: in registers for M = 1 (GEMV) and for FP16 /
// INT8 with M <= 15, otherwise one kc x kPanel block at a time into an L1 buffer that gemm_packed's
// micro-kernel reads for all M rows. No activation quantization: every dequantized weight is exact in
// FP32, so results differ from gemm_packed on the dequantized matrix only by FP32 summation order, and
// NaN / Inf propagate as there. `pool` may be null. Safe to call from several threads at once on
// disjoint C. Numbers and the design choice: kernels/cpu/README.md, "Quantized weights".
void gemm_quant(int M, int N, int K, const float* A, int lda, const QuantMatrix& B, float* C, int ldc,
                bool accumulate, ThreadPool* pool);

namespace ref {
void gemm_nt(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc,
             bool accumulate);
void rmsnorm(const float* x, const float* w, float* y, int n, float eps);
void softmax(float* x, int n);
void gelu(float* x, size_t n);
void rope(float* x, int rows, int dh, int ld, const int32_t* positions, const float* inv_freq);
void fp16_to_fp32(const uint16_t* src, float* dst, size_t n);
void fp32_to_fp16(const float* src, uint16_t* dst, size_t n);
void top_k(const float* scores, int n, int k, int32_t* out);
void attention_keys(int T, int dh, const float* q, int ldq, const float* k, int ldk, const float* v, int ldv,
                    const int32_t* keys, int nk, const float* key_bias, float* out, int ldo);
void attention_local(int T, int dh, int window, const float* q, int ldq, const float* k, int ldk, const float* v,
                     int ldv, float* out, int ldo);
// The quantized GEMMs straight from SPEC.md's stored layouts (no QuantMatrix): W[n, k] decoded in
// double, sums in double. ldw is the row stride of W in elements (int4: in bytes), lds the row
// stride of the int4 scales (K_full / G); N, K may be a prefix of the stored matrix.
void gemm_fp16(int M, int N, int K, const float* A, int lda, const uint16_t* W, int ldw, float* C, int ldc,
               bool accumulate);
void gemm_int8(int M, int N, int K, const float* A, int lda, const int8_t* W, int ldw, const uint16_t* scale,
               float* C, int ldc, bool accumulate);
void gemm_int4(int M, int N, int K, const float* A, int lda, const uint8_t* W, int ldw, const uint16_t* scale,
               int lds, int G, float* C, int ldc, bool accumulate);
}  // namespace ref

}  // namespace ds::kernels
