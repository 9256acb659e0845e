#include "model/heads.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "kernels/cpu/kernels.h"

namespace ds::model {

namespace {

// Mean of rows [begin, end) of z, accumulated in double so long spans lose nothing.
std::vector<float> mean_rows(const float* z, int begin, int end, int D) {
  std::vector<double> acc(size_t(D), 0.0);
  for (int t = begin; t < end; ++t)
    for (int d = 0; d < D; ++d) acc[size_t(d)] += z[size_t(t) * D + d];
  std::vector<float> out(size_t(D), 0.0f);
  if (end > begin)
    for (int d = 0; d < D; ++d) out[size_t(d)] = static_cast<float>(acc[size_t(d)] / (end - begin));
  return out;
}

// logits[c] = W[c] . x + b[c] for C classes.
void linear_row(const float* x, const HeadWeights& h, int C, int D, float* out) {
  kernels::gemm_nt(1, C, D, x, D, h.weight.data(), D, out, C, false, nullptr);
  if (h.bias.data())
    for (int c = 0; c < C; ++c) out[c] += h.bias.data()[c];
}

// out[c] += proj[c] . u, u the sum of the lexical table's rows over the span's F features divided
// by F + shrink (SPEC.md section 3; shrink 0: the mean). Accumulated in double, like mean_rows.
void add_lexical_row(const HeadWeights& h, std::span<const int32_t> ids, int begin, int end, int C, float* out) {
  const LexicalSpec& spec = *h.def.lexical;
  const std::vector<uint64_t> features = lexical_features(ids, begin, end, spec);
  if (features.empty()) return;
  const int E = spec.dim;
  std::vector<double> acc(size_t(E), 0.0);
  std::vector<float> row(static_cast<size_t>(E));
  for (uint64_t f : features) {
    h.lexical_embed->gather(static_cast<int32_t>(f), row.data());
    for (int k = 0; k < E; ++k) acc[size_t(k)] += row[size_t(k)];
  }
  std::vector<float> u(static_cast<size_t>(E));
  for (int k = 0; k < E; ++k) u[size_t(k)] = static_cast<float>(acc[size_t(k)] / double(features.size() + size_t(spec.shrink)));
  kernels::gemm_nt(1, C, E, u.data(), E, h.lexical_proj.data(), E, out, C, /*accumulate=*/true, nullptr);
  // The span's length and position biases: bins of floor(log2(tokens)) and floor(log2(begin + 1)).
  auto add_bias_row = [&](const F32Tensor& table, int bins, uint64_t value) {
    if (bins <= 0) return;
    const int bin = std::min(bins - 1, static_cast<int>(std::bit_width(value)) - 1);
    const float* row = table.data() + size_t(bin) * C;
    for (int c = 0; c < C; ++c) out[c] += row[c];
  };
  add_bias_row(h.lexical_length_bias, spec.length_bins, static_cast<uint64_t>(end - begin));
  add_bias_row(h.lexical_position_bias, spec.position_bins, static_cast<uint64_t>(begin) + 1);
}

}  // namespace

uint64_t lexical_bucket(int n, const int32_t* gram, uint64_t buckets) {
  uint64_t h = static_cast<uint64_t>(n);
  for (int j = 0; j < n; ++j) h = (h ^ static_cast<uint64_t>(gram[j])) * 0x100000001B3ull;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h % buckets;
}

std::vector<uint64_t> lexical_features(std::span<const int32_t> ids, int begin, int end, const LexicalSpec& spec) {
  std::vector<uint64_t> out;
  for (int n = 1; n <= spec.max_n; ++n)
    for (int i = begin; i + n <= end; ++i)
      out.push_back(lexical_bucket(n, ids.data() + i, static_cast<uint64_t>(spec.buckets)));
  return out;
}

void run_heads(const std::vector<HeadWeights>& heads, const float* z, int T, int D, std::span<const int32_t> ids,
               std::span<const TokenRange> segments, std::map<std::string, Output>& out, kernels::ThreadPool* pool) {
  for (const HeadWeights& h : heads) {
    Output& o = out[h.def.name];
    const int C = h.def.type == HeadType::kEmbedding ? h.def.dim : static_cast<int>(h.def.labels.size());
    switch (h.def.type) {
      case HeadType::kTokenTags:
        o.shape = {T, C};
        o.data.assign(size_t(T) * C, 0.0f);
        if (T > 0) {
          kernels::gemm_nt(T, C, D, z, D, h.weight.data(), D, o.data.data(), C, false, pool);
          for (int t = 0; t < T; ++t)
            for (int c = 0; c < C; ++c) o.data[size_t(t) * C + c] += h.bias.data()[c];
        }
        break;
      case HeadType::kSegmentLabels:
        o.shape = {static_cast<int64_t>(segments.size()), C};
        o.data.assign(segments.size() * C, 0.0f);
        for (size_t s = 0; s < segments.size(); ++s) {
          if (segments[s].end <= segments[s].begin) continue;  // an empty span gives zeros
          std::vector<float> m = mean_rows(z, segments[s].begin, segments[s].end, D);
          linear_row(m.data(), h, C, D, o.data.data() + s * C);
          if (h.def.lexical) add_lexical_row(h, ids, segments[s].begin, segments[s].end, C, o.data.data() + s * C);
        }
        break;
      case HeadType::kSequenceClasses:
        o.shape = {C};
        o.data.assign(size_t(C), 0.0f);
        if (T == 0) break;
        linear_row(mean_rows(z, 0, T, D).data(), h, C, D, o.data.data());
        if (h.def.lexical) add_lexical_row(h, ids, 0, T, C, o.data.data());  // the bag of the whole sequence
        break;
      case HeadType::kEmbedding: {
        o.shape = {C};
        o.data.assign(size_t(C), 0.0f);
        if (T == 0) break;
        linear_row(mean_rows(z, 0, T, D).data(), h, C, D, o.data.data());
        double norm = 0;
        for (float x : o.data) norm += double(x) * x;
        norm = std::sqrt(norm);
        if (norm > 0)
          for (float& x : o.data) x = static_cast<float>(x / norm);
        break;
      }
      case HeadType::kMlm:
        out.erase(h.def.name);  // never loaded; pretraining only
        break;
    }
  }
}

}  // namespace ds::model
