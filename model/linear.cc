#include "model/linear.h"

#include <cstring>

#include "kernels/cpu/kernels.h"

namespace ds::model {

namespace {

bool aligned4(const void* p) { return reinterpret_cast<uintptr_t>(p) % alignof(float) == 0; }

// n binary16 values from possibly unaligned bytes.
void f16_to_f32(const uint8_t* src, size_t n, float* dst) {
  std::vector<uint16_t> tmp(n);
  std::memcpy(tmp.data(), src, n * sizeof(uint16_t));
  kernels::fp16_to_fp32(tmp.data(), dst, n);
}

}  // namespace

void decode_matrix_rows(const ModelFile& file, const MatrixInfo& m, int64_t first, int64_t count, float* out) {
  const int64_t K = m.cols;
  const uint8_t* w = file.data(*m.weight);
  switch (m.precision) {
    case Precision::kFp32:
      std::memcpy(out, w + first * K * 4, static_cast<size_t>(count * K) * 4);
      return;
    case Precision::kFp16:
      f16_to_f32(w + first * K * 2, static_cast<size_t>(count * K), out);
      return;
    case Precision::kInt8: {
      std::vector<float> scale(static_cast<size_t>(count));
      f16_to_f32(file.data(*m.scale) + first * 2, static_cast<size_t>(count), scale.data());
      for (int64_t r = 0; r < count; ++r) {
        const int8_t* q = reinterpret_cast<const int8_t*>(w) + (first + r) * K;
        for (int64_t k = 0; k < K; ++k) out[r * K + k] = static_cast<float>(q[k]) * scale[size_t(r)];
      }
      return;
    }
    case Precision::kInt4: {
      const int64_t G = file.int4_group_size(), groups = K / G;
      std::vector<float> scale(static_cast<size_t>(count * groups));
      f16_to_f32(file.data(*m.scale) + first * groups * 2, scale.size(), scale.data());
      for (int64_t r = 0; r < count; ++r) {
        const uint8_t* q = w + (first + r) * (K / 2);
        const float* s = scale.data() + r * groups;
        float* o = out + r * K;
        for (int64_t b = 0; b < K / 2; ++b) {
          o[2 * b] = static_cast<float>(int(q[b] & 15) - 8) * s[(2 * b) / G];
          o[2 * b + 1] = static_cast<float>(int(q[b] >> 4) - 8) * s[(2 * b + 1) / G];
        }
      }
      return;
    }
  }
}

Linear::Linear(const ModelFile& file, const MatrixInfo& m) : rows_(m.rows), cols_(m.cols), precision_(m.precision) {
  const uint8_t* p = file.data(*m.weight);
  const int n = static_cast<int>(rows_), k = static_cast<int>(cols_);
  switch (m.precision) {
    case Precision::kFp32:
      if (aligned4(p)) {
        packed_ = kernels::pack_weights(reinterpret_cast<const float*>(p), n, k);
      } else {
        std::vector<float> copy(static_cast<size_t>(rows_ * cols_));
        std::memcpy(copy.data(), p, copy.size() * sizeof(float));
        packed_ = kernels::pack_weights(copy.data(), n, k);
      }
      return;
    case Precision::kFp16: quant_ = kernels::pack_fp16_weights(p, n, k); return;
    case Precision::kInt8: quant_ = kernels::pack_int8_weights(p, file.data(*m.scale), n, k); return;
    case Precision::kInt4:
      quant_ = kernels::pack_int4_weights(p, file.data(*m.scale), n, k, file.int4_group_size());
      return;
  }
}

void Linear::apply(int M, const float* x, int ldx, float* y, int ldy, int n, int k, bool accumulate,
                   kernels::ThreadPool* pool) const {
  if (M == 0 || n == 0) return;
  if (!quant_.empty())
    kernels::gemm_quant(M, n, k, x, ldx, quant_, y, ldy, accumulate, pool);
  else
    kernels::gemm_packed(M, n, k, x, ldx, packed_, y, ldy, accumulate, pool);
}

F32Tensor::F32Tensor(const ModelFile& file, const TensorEntry& entry) : n_(static_cast<size_t>(entry.numel())) {
  const uint8_t* p = file.data(entry);
  if (aligned4(p)) {
    p_ = reinterpret_cast<const float*>(p);
    return;
  }
  owned_.resize(n_);
  std::memcpy(owned_.data(), p, n_ * sizeof(float));
  p_ = owned_.data();
}

}  // namespace ds::model
