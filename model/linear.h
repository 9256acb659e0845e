// A weight matrix as the runtime uses it, one per projection, so that each matrix can have its own
// storage precision (DMPQ). FP32 matrices are packed once into the GEMM kernel's panel layout
// (kernels::pack_weights, which saves the per-call packing of gemm_nt). FP16, INT8 and INT4 matrices
// stay in their stored precision (kernels::QuantMatrix: the file's codes and scales rearranged into
// panels) and kernels::gemm_quant widens them block by block inside the kernel, so a quantized model
// takes about 1/2, 1/4 or 1/7 (INT4, G = 32) of the FP32 memory and computes exactly with the stored weights
// (kernels/cpu/README.md, "Quantized weights").
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "model/config.h"
#include "model/model_file.h"

namespace ds::model {

// Rows [first, first + count) of a weight matrix decoded to FP32 into out[count * cols], whatever
// its storage precision (SPEC.md section 6 layouts). Reads the file's bytes; no alignment needed.
void decode_matrix_rows(const ModelFile& file, const MatrixInfo& m, int64_t first, int64_t count, float* out);

class Linear {
 public:
  Linear() = default;
  // Keeps pointers into `file`'s mapping: the file must outlive this object.
  Linear(const ModelFile& file, const MatrixInfo& m);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  Precision stored_precision() const { return precision_; }

  // y[M, n] (+)= x[M, k] @ W[:n, :k]^T: the prefix slice a path uses (first n output channels,
  // first k input features). Requires n <= rows(), k <= cols().
  void apply(int M, const float* x, int ldx, float* y, int ldy, int n, int k, bool accumulate,
             kernels::ThreadPool* pool) const;

 private:
  kernels::PackedMatrix packed_;  // FP32 weights: [rows, cols] in panel layout (move-only, so Linear is too)
  kernels::QuantMatrix quant_;    // FP16 / INT8 / INT4 weights, as stored
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  Precision precision_ = Precision::kFp32;
};

// F32 vector or small matrix (norms, biases, scorer, gate, heads): in place when aligned, else copied.
class F32Tensor {
 public:
  F32Tensor() = default;
  F32Tensor(const ModelFile& file, const TensorEntry& entry);
  F32Tensor(F32Tensor&&) = default;  // move-only, as Linear
  F32Tensor& operator=(F32Tensor&&) = default;
  F32Tensor(const F32Tensor&) = delete;
  F32Tensor& operator=(const F32Tensor&) = delete;
  const float* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  const float* p_ = nullptr;
  size_t n_ = 0;
  std::vector<float> owned_;
};

}  // namespace ds::model
