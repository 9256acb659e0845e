#include "model/quantize.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

#include "kernels/cpu/kernels.h"
#include "model/linear.h"

namespace ds::model {

namespace {

// fp16(x) as bits and its value back in FP32: quantization divides by the value the file stores.
uint16_t to_half(float x, float* back) {
  uint16_t h;
  kernels::fp32_to_fp16(&x, &h, 1);
  kernels::fp16_to_fp32(&h, back, 1);
  return h;
}

// A max-abs scale for `levels` positive codes; 1 for an all-zero block (every code is then 0).
uint16_t block_scale(const float* w, int64_t n, float levels, float* back) {
  float mx = 0;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, std::fabs(w[i]));
  uint16_t h = to_half(mx > 0 ? mx / levels : 1.0f, back);
  // A tiny max can round to an F16 zero (subnormal underflow); the smallest normal keeps codes finite.
  if (*back == 0) h = to_half(6.103515625e-05f, back);
  return h;
}

std::string_view as_bytes(const void* p, size_t n) { return {static_cast<const char*>(p), n}; }

double softmax_kl(const float* p_logits, const float* q_logits, size_t n) {
  if (n == 0) return 0;
  const float pm = *std::max_element(p_logits, p_logits + n), qm = *std::max_element(q_logits, q_logits + n);
  double ps = 0, qs = 0;
  for (size_t i = 0; i < n; ++i) {
    ps += std::exp(double(p_logits[i]) - pm);
    qs += std::exp(double(q_logits[i]) - qm);
  }
  const double plz = pm + std::log(ps), qlz = qm + std::log(qs);
  double kl = 0;
  for (size_t i = 0; i < n; ++i) {
    const double lp = p_logits[i] - plz, lq = q_logits[i] - qlz;
    kl += std::exp(lp) * (lp - lq);
  }
  return std::max(0.0, kl);
}

// log sigmoid(x), stable for large |x|.
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

double bernoulli_kl(double p_logit, double q_logit) {
  const double lp1 = log_sigmoid(p_logit), lp0 = log_sigmoid(-p_logit);
  const double lq1 = log_sigmoid(q_logit), lq0 = log_sigmoid(-q_logit);
  return std::max(0.0, std::exp(lp1) * (lp1 - lq1) + std::exp(lp0) * (lp0 - lq0));
}

constexpr double kEmbeddingTau = 0.05;

}  // namespace

Int8Matrix quantize_int8(const float* w, int64_t rows, int64_t cols) {
  Int8Matrix out;
  out.q.resize(static_cast<size_t>(rows * cols));
  out.scale.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    float s;
    out.scale[size_t(r)] = block_scale(row, cols, 127.0f, &s);
    for (int64_t k = 0; k < cols; ++k)
      out.q[size_t(r * cols + k)] = static_cast<int8_t>(std::clamp(std::lround(row[k] / s), -127l, 127l));
  }
  return out;
}

Int4Matrix quantize_int4(const float* w, int64_t rows, int64_t cols, int group) {
  if (group < 2 || group % 2 != 0 || cols % group != 0)
    throw std::invalid_argument("int4 needs an even group size that divides the input size (group " + std::to_string(group) +
                                ", input size " + std::to_string(cols) + ")");
  const int64_t groups = cols / group;
  Int4Matrix out;
  out.packed.assign(static_cast<size_t>(rows * cols / 2), 0);
  out.scale.resize(static_cast<size_t>(rows * groups));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const float* blk = w + r * cols + g * group;
      float s;
      out.scale[size_t(r * groups + g)] = block_scale(blk, group, 7.0f, &s);
      for (int64_t i = 0; i < group; ++i) {
        const int64_t k = g * group + i;
        const auto u = static_cast<uint8_t>(std::clamp(std::lround(blk[i] / s) + 8, 0l, 15l));
        uint8_t& byte = out.packed[size_t(r * cols / 2 + k / 2)];
        byte = static_cast<uint8_t>(k % 2 ? (byte | (u << 4)) : (byte | u));
      }
    }
  return out;
}

void add_weight_matrix(SafetensorsWriter& w, const std::string& name, int64_t rows, int64_t cols,
                       const std::vector<float>& v, Precision p, int group) {
  const std::string wn = name + ".weight";
  switch (p) {
    case Precision::kFp32: w.add_f32(wn, {rows, cols}, v); return;
    case Precision::kFp16: {
      std::vector<uint16_t> h(v.size());
      kernels::fp32_to_fp16(v.data(), h.data(), v.size());
      w.add_f16(wn, {rows, cols}, h);
      return;
    }
    case Precision::kInt8: {
      Int8Matrix q = quantize_int8(v.data(), rows, cols);
      w.add(wn, Dtype::kI8, {rows, cols}, as_bytes(q.q.data(), q.q.size()));
      w.add_f16(wn + ".scale", {rows}, q.scale);
      return;
    }
    case Precision::kInt4: {
      Int4Matrix q = quantize_int4(v.data(), rows, cols, group);
      w.add(wn, Dtype::kU8, {rows, cols / 2}, as_bytes(q.packed.data(), q.packed.size()));
      w.add_f16(wn + ".scale", {rows, cols / group}, q.scale);
      return;
    }
  }
}

int64_t matrix_bytes(Precision p, int64_t rows, int64_t cols, int group) {
  switch (p) {
    case Precision::kFp32: return rows * cols * 4;
    case Precision::kFp16: return rows * cols * 2;
    case Precision::kInt8: return rows * cols + rows * 2;
    case Precision::kInt4: return rows * cols / 2 + rows * (cols / std::max(group, 1)) * 2;
  }
  return 0;
}

bool lexical_table_matrix(const std::string& name) {
  return name.starts_with("heads.") && name.ends_with(".lexical.embed");
}

bool quantizable_matrix(const std::string& name) {
  if (name == "embed" || lexical_table_matrix(name)) return false;
  for (const char* suffix : {".global.q", ".global.k", ".local.q", ".local.k"}) {
    const size_t n = std::strlen(suffix);
    if (name.size() >= n && name.compare(name.size() - n, n, suffix) == 0) return false;
  }
  return true;
}

SafetensorsWriter requantize(const ModelFile& src, const std::map<std::string, Precision>& precision, int group,
                             const std::map<std::string, std::string>& extra_metadata) {
  std::map<std::string, const MatrixInfo*> by_weight;  // "X.weight" -> matrix
  for (const MatrixInfo& m : src.matrices()) by_weight[m.name + ".weight"] = &m;
  for (const auto& [name, p] : precision) {
    const MatrixInfo& m = src.matrix(name);  // throws for an unknown name
    if (p == Precision::kInt4 && (group < 2 || group % 2 != 0 || m.cols % group != 0))
      throw std::invalid_argument(src.path() + ": matrix '" + name + "': int4 with group size " + std::to_string(group) +
                                  " needs an input size that is a multiple of it (it is " + std::to_string(m.cols) + ")");
  }
  std::set<std::string> scales;
  for (const MatrixInfo& m : src.matrices())
    if (m.scale) scales.insert(m.scale->name);

  // Data order of the source file, so an unchanged file keeps its layout.
  std::vector<const TensorEntry*> order;
  for (const TensorEntry& t : src.header().tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });

  SafetensorsWriter w;
  nlohmann::ordered_json prec_json = nlohmann::ordered_json::object();
  if (auto it = src.metadata().find("precision"); it != src.metadata().end())
    prec_json = nlohmann::ordered_json::parse(it->second);
  bool any_int4 = false;
  for (const TensorEntry* t : order) {
    if (scales.count(t->name)) continue;  // written with its matrix
    auto m = by_weight.find(t->name);
    if (m == by_weight.end()) {
      w.add(t->name, t->dtype, t->shape, as_bytes(src.data(*t), t->bytes()));
      continue;
    }
    const MatrixInfo& mi = *m->second;
    auto want = precision.find(mi.name);
    const Precision p = want == precision.end() ? mi.precision : want->second;
    any_int4 |= p == Precision::kInt4;
    prec_json[mi.name] = precision_name(p);
    if (p == mi.precision && !(p == Precision::kInt4 && group != src.int4_group_size())) {
      w.add(t->name, t->dtype, t->shape, as_bytes(src.data(*t), t->bytes()));
      if (mi.scale) w.add(mi.scale->name, mi.scale->dtype, mi.scale->shape, as_bytes(src.data(*mi.scale), mi.scale->bytes()));
      continue;
    }
    std::vector<float> v(static_cast<size_t>(mi.rows * mi.cols));
    decode_matrix_rows(src, mi, 0, mi.rows, v.data());
    add_weight_matrix(w, mi.name, mi.rows, mi.cols, v, p, group);
  }
  for (const auto& [key, value] : src.metadata())
    if (key != "precision" && key != "quant") w.set_metadata(key, value);
  w.set_metadata("precision", prec_json.dump());
  if (any_int4) w.set_metadata("quant", nlohmann::ordered_json{{"int4_group_size", group}}.dump());
  for (const auto& [key, value] : extra_metadata) w.set_metadata(key, value);
  return w;
}

HeadKl head_kl(std::span<const SequenceOutput> ref, std::span<const SequenceOutput> test, const std::vector<HeadDef>& defs,
               const std::vector<std::string>& heads) {
  if (ref.size() != test.size()) throw std::invalid_argument("head_kl: the runs have different numbers of sequences");
  HeadKl out;
  for (const HeadDef& d : defs) {
    if (d.type == HeadType::kMlm) continue;
    if (!heads.empty() && std::find(heads.begin(), heads.end(), d.name) == heads.end()) continue;
    double sum = 0;
    int64_t count = 0;
    if (d.type == HeadType::kEmbedding) {
      const size_t n = ref.size();
      std::vector<const float*> er(n), et(n);
      size_t dim = 0;
      for (size_t i = 0; i < n; ++i) {
        const Output& r = ref[i].heads.at(d.name);
        er[i] = r.data.data();
        et[i] = test[i].heads.at(d.name).data.data();
        dim = r.data.size();
      }
      std::vector<float> lr(n), lt(n);
      for (size_t i = 0; i < n; ++i) {
        for (size_t j = 0; j < n; ++j) {
          double a = 0, b = 0;
          for (size_t k = 0; k < dim; ++k) {
            a += double(er[i][k]) * er[j][k];
            b += double(et[i][k]) * et[j][k];
          }
          lr[j] = static_cast<float>(a / kEmbeddingTau);
          lt[j] = static_cast<float>(b / kEmbeddingTau);
        }
        sum += softmax_kl(lr.data(), lt.data(), n);
        ++count;
      }
    } else {
      for (size_t i = 0; i < ref.size(); ++i) {
        const Output& r = ref[i].heads.at(d.name);
        const Output& t = test[i].heads.at(d.name);
        const size_t C = d.labels.size();
        if (C == 0 || r.data.size() != t.data.size()) continue;
        const size_t rows = r.data.size() / C;
        for (size_t row = 0; row < rows; ++row) {
          const float* p = r.data.data() + row * C;
          const float* q = t.data.data() + row * C;
          if (d.type == HeadType::kSegmentLabels) {
            double s = 0;
            for (size_t c = 0; c < C; ++c) s += bernoulli_kl(p[c], q[c]);
            sum += s;
          } else {
            sum += softmax_kl(p, q, C);
          }
          ++count;
        }
      }
    }
    const double mean = count > 0 ? sum / double(count) : 0.0;
    out.per_head[d.name] = mean;
    out.total += mean;
  }
  return out;
}

}  // namespace ds::model
