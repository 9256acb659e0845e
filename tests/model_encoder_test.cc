// Properties of the C++ encoder that need no reference implementation: a sequence computes the same
// alone or in a batch, with one thread or two; long sequences are windows merged by SPEC.md section 5;
// F32 weights give the same results used in place or copied; bad requests and inputs are errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "kernels/cpu/thread_pool.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "model/linear.h"
#include "model/model_error.h"
#include "model/random_model.h"
#include "test_util.h"

namespace ds::test {
namespace {

using model::Encoder;
using model::EncodeRequest;
using model::SequenceInput;

std::shared_ptr<const model::ModelFile> write_and_open(const TempDir& dir, const std::string& name,
                                                       const std::string& bytes) {
  write_file(dir / name, bytes);
  return model::ModelFile::open((dir / name).string());
}

std::vector<int32_t> ids_of(int n, int salt, int vocab = 64) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back((i * 37 + salt * 11 + (i * i) % 7) % vocab);
  return v;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

class ModelEncoder : public ::testing::Test {
 protected:
  void SetUp() override { encoder_ = std::make_unique<Encoder>(write_and_open(dir_, "m.safetensors", model::make_random_model({}).serialize())); }
  TempDir dir_;
  std::unique_ptr<Encoder> encoder_;
};

TEST_F(ModelEncoder, WindowStartsFollowTheSpec) {
  EXPECT_EQ(model::window_starts(10, 64, 8), std::vector<int>{0});
  EXPECT_EQ(model::window_starts(64, 64, 8), std::vector<int>{0});
  EXPECT_EQ(model::window_starts(65, 64, 8), (std::vector<int>{0, 1}));
  EXPECT_EQ(model::window_starts(150, 64, 8), (std::vector<int>{0, 56, 86}));
  EXPECT_EQ(model::window_starts(120, 64, 8), (std::vector<int>{0, 56}));  // exactly two strides + max_len
}

TEST_F(ModelEncoder, ASequenceComputesTheSameAloneInABatchAndOnTwoThreads) {
  std::vector<std::vector<int32_t>> seqs = {ids_of(5, 1), ids_of(40, 2), ids_of(150, 3), ids_of(1, 4), ids_of(0, 5)};
  std::vector<model::TokenRange> spans = {{0, 1}, {0, 0}}, empty_spans = {{0, 0}};
  std::vector<SequenceInput> batch;
  for (auto& s : seqs) batch.push_back({s, s.empty() ? empty_spans : spans});
  kernels::ThreadPool pool(2);
  auto together = encoder_->encode(batch, {}, &pool);
  ASSERT_EQ(together.size(), seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) {
    SCOPED_TRACE(i);
    auto alone = encoder_->encode({&batch[i], 1}, {}, nullptr);
    EXPECT_EQ(together[i].hidden.shape, (std::vector<int64_t>{int64_t(seqs[i].size()), 32}));
    EXPECT_LT(max_diff(together[i].hidden.data, alone[0].hidden.data), 1e-5);
    for (const auto& [name, o] : alone[0].heads) {
      EXPECT_EQ(together[i].heads.at(name).shape, o.shape) << name;
      EXPECT_LT(max_diff(together[i].heads.at(name).data, o.data), 1e-5) << name;
    }
  }
  // Shapes of the heads, and the empty span / empty sequence giving zeros.
  EXPECT_EQ(together[1].heads.at("tags").shape, (std::vector<int64_t>{40, 5}));
  EXPECT_EQ(together[1].heads.at("clauses").shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(together[1].heads.at("triage").shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(together[1].heads.at("embed").shape, (std::vector<int64_t>{16}));
  for (int c = 0; c < 4; ++c) EXPECT_EQ(together[1].heads.at("clauses").data[4 + c], 0.0f);
  EXPECT_EQ(together[4].hidden.shape, (std::vector<int64_t>{0, 32}));
  for (float x : together[4].heads.at("embed").data) EXPECT_EQ(x, 0.0f);
  double norm = 0;
  for (float x : together[1].heads.at("embed").data) norm += double(x) * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

TEST_F(ModelEncoder, LongSequencesTakeEachTokenFromItsMostCentralWindow) {
  std::vector<int32_t> ids = ids_of(150, 9);  // windows start at 0, 56, 86 (max_len 64)
  SequenceInput in{ids, {}};
  auto whole = encoder_->encode({&in, 1}, {}, nullptr)[0].hidden.data;
  std::vector<int> starts = {0, 56, 86};
  std::vector<std::vector<float>> window_z;
  for (int s : starts) {
    SequenceInput w{std::span<const int32_t>(ids).subspan(size_t(s), 64), {}};
    window_z.push_back(encoder_->encode({&w, 1}, {}, nullptr)[0].hidden.data);
  }
  for (int i = 0; i < 150; ++i) {
    int best = -1, owner = 0;
    for (int w = 0; w < 3; ++w) {
      if (i < starts[size_t(w)] || i >= starts[size_t(w)] + 64) continue;
      int d = std::min(i - starts[size_t(w)], starts[size_t(w)] + 63 - i);
      if (d > best) best = d, owner = w;
    }
    const float* want = window_z[size_t(owner)].data() + size_t(i - starts[size_t(owner)]) * 32;
    for (int d = 0; d < 32; ++d) ASSERT_NEAR(whole[size_t(i) * 32 + d], want[d], 1e-5) << "token " << i;
  }
}

TEST_F(ModelEncoder, DenseTopKEqualsAKeyBudgetAtLeastT) {
  std::vector<int32_t> ids = ids_of(30, 3);
  SequenceInput in{ids, {}};
  EncodeRequest dense, exact, sparse;
  dense.top_k = model::TopKSpec::dense();
  exact.top_k = model::TopKSpec{model::TopKSpec::Kind::kFixed, 30, 1.0, 0};
  sparse.top_k = model::TopKSpec{model::TopKSpec::Kind::kFixed, 5, 1.0, 0};
  auto a = encoder_->encode({&in, 1}, dense, nullptr)[0].hidden.data;
  auto b = encoder_->encode({&in, 1}, exact, nullptr)[0].hidden.data;
  auto c = encoder_->encode({&in, 1}, sparse, nullptr)[0].hidden.data;
  EXPECT_EQ(max_diff(a, b), 0.0);
  EXPECT_GT(max_diff(a, c), 1e-3);  // the random model makes top-k matter
}

TEST_F(ModelEncoder, PathsChangeTheResultAndBadRequestsAreErrors) {
  std::vector<int32_t> ids = ids_of(20, 1);
  SequenceInput in{ids, {}};
  EncodeRequest light;
  light.path = encoder_->path("light");
  auto a = encoder_->encode({&in, 1}, {}, nullptr)[0].hidden.data;
  auto b = encoder_->encode({&in, 1}, light, nullptr)[0].hidden.data;
  EXPECT_GT(max_diff(a, b), 1e-3);

  EXPECT_THROW(encoder_->path("turbo"), model::ModelError);
  try {
    encoder_->path("turbo");
  } catch (const model::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("it has: heavy, light, standard"), std::string::npos) << e.what();
  }
  EncodeRequest too_wide;
  too_wide.path = model::PathSpec{1.0, 5, {}, std::nullopt};
  EXPECT_THROW(encoder_->encode({&in, 1}, too_wide, nullptr), model::ModelError);
  EncodeRequest bad_window;
  bad_window.window = -1;
  EXPECT_THROW(encoder_->encode({&in, 1}, bad_window, nullptr), model::ModelError);

  std::vector<int32_t> bad = {1, 2, 64};
  SequenceInput bad_in{bad, {}};
  EXPECT_NE(encoder_->check_input(bad_in).find("token 2 has id 64, outside the vocabulary [0, 64)"), std::string::npos);
  EXPECT_THROW(encoder_->encode({&bad_in, 1}, {}, nullptr), model::ModelError);
  std::vector<model::TokenRange> bad_span = {{2, 25}};
  SequenceInput span_in{ids, bad_span};
  EXPECT_NE(encoder_->check_input(span_in).find("segment 0"), std::string::npos);
}

TEST_F(ModelEncoder, MisalignedF32TensorsAreCopiedAndGiveTheSameResult) {
  const std::string good = model::make_random_model({}).serialize();
  uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  nlohmann::ordered_json header = nlohmann::ordered_json::parse(good.substr(8, n));
  for (auto& [name, e] : header.items())
    if (name != "__metadata__") e["data_offsets"] = {e["data_offsets"][0].get<uint64_t>() + 1, e["data_offsets"][1].get<uint64_t>() + 1};
  // One extra byte in front of the data: every tensor now starts at an odd address.
  std::string shifted = model::assemble_safetensors(header.dump(), "\x7f" + good.substr(8 + n));
  Encoder copied(write_and_open(dir_, "shifted.safetensors", shifted));
  std::vector<int32_t> ids = ids_of(33, 2);
  SequenceInput in{ids, {}};
  auto a = encoder_->encode({&in, 1}, {}, nullptr);
  auto b = copied.encode({&in, 1}, {}, nullptr);
  EXPECT_EQ(max_diff(a[0].hidden.data, b[0].hidden.data), 0.0);
  EXPECT_EQ(max_diff(a[0].heads.at("tags").data, b[0].heads.at("tags").data), 0.0);
}

// The same model with every FP16/INT8/INT4 matrix decoded to FP32 (decode_matrix_rows): what the
// runtime computed before it kept quantized matrices in their stored precision.
std::string decoded_twin(const model::ModelFile& file) {
  model::SafetensorsWriter w;
  for (const auto& [key, value] : file.metadata()) w.set_metadata(key, value);
  std::map<std::string, const model::MatrixInfo*> weights;
  std::set<std::string> scales;
  for (const model::MatrixInfo& m : file.matrices()) {
    weights[m.name + ".weight"] = &m;
    if (m.scale) scales.insert(m.scale->name);
  }
  nlohmann::ordered_json precision = nlohmann::ordered_json::parse(file.metadata().at("precision"));
  for (auto& [name, p] : precision.items()) p = "fp32";
  w.set_metadata("precision", precision.dump());
  for (const model::TensorEntry& e : file.header().tensors) {
    if (scales.count(e.name)) continue;
    auto it = weights.find(e.name);
    if (it != weights.end() && it->second->precision != model::Precision::kFp32) {
      const model::MatrixInfo& m = *it->second;
      std::vector<float> v(static_cast<size_t>(m.rows * m.cols));
      model::decode_matrix_rows(file, m, 0, m.rows, v.data());
      w.add_f32(e.name, {m.rows, m.cols}, v);
    } else {
      w.add(e.name, e.dtype, e.shape, std::string_view(reinterpret_cast<const char*>(file.data(e)), e.bytes()));
    }
  }
  return w.serialize();
}

// Quantized matrices are multiplied in their stored precision (kernels::gemm_quant); the result must
// be what the decoded FP32 twin gives. The weights are the same floats, so the outputs differ only by
// FP32 summation order (the GEMV, and gemm_packed's own path for N <= 16 columns): 1e-5 absolute, on
// outputs of magnitude ~1, where using the wrong weights (or activation quantization) shows as ~1e-2.
TEST_F(ModelEncoder, QuantizedModelsComputeWhatTheirDecodedFp32TwinComputes) {
  struct Variant {
    const char* name;
    model::Precision precision;
    int group;
    std::map<std::string, model::Precision> overrides;
  };
  std::map<std::string, model::Precision> mixed;  // MODEL.md's DMPQ rules: Q, K FP16, FFN INT4, the rest INT8
  for (int l = 0; l < 2; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    for (const char* m : {"global.q", "global.k", "local.q", "local.k"}) mixed[p + m] = model::Precision::kFp16;
    mixed[p + "ffn.up"] = mixed[p + "ffn.down"] = model::Precision::kInt4;
  }
  const Variant variants[] = {{"int8", model::Precision::kInt8, 8, {}},
                              {"int4_g8", model::Precision::kInt4, 8, {}},
                              {"int4_g4", model::Precision::kInt4, 4, {}},
                              {"fp16", model::Precision::kFp16, 8, {}},
                              {"mixed", model::Precision::kInt8, 8, mixed}};
  std::vector<std::vector<int32_t>> seqs = {ids_of(1, 1), ids_of(7, 2), ids_of(40, 3), ids_of(150, 4)};
  std::vector<SequenceInput> batch;
  for (auto& s : seqs) batch.push_back({s, {}});
  kernels::ThreadPool pool(2);
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    model::RandomModelSpec spec;
    spec.precision = v.precision;
    spec.int4_group_size = v.group;
    spec.overrides = v.overrides;
    spec.seed = 5;
    auto quantized =
        write_and_open(dir_, std::string(v.name) + ".safetensors", model::make_random_model(spec).serialize());
    auto decoded = write_and_open(dir_, std::string(v.name) + "-fp32.safetensors", decoded_twin(*quantized));
    ASSERT_EQ(decoded->matrix("layers.0.ffn.up").precision, model::Precision::kFp32);
    Encoder q(quantized), d(decoded);
    for (const char* path : {"light", "standard", "heavy"}) {
      EncodeRequest req;
      req.path = q.path(path);
      auto a = q.encode(batch, req, &pool), b = d.encode(batch, req, &pool);
      for (size_t i = 0; i < seqs.size(); ++i) {
        const double tol = 1e-5;
        EXPECT_LE(max_diff(a[i].hidden.data, b[i].hidden.data), tol) << path << " sequence " << i;
        for (const auto& [name, o] : b[i].heads)
          EXPECT_LE(max_diff(a[i].heads.at(name).data, o.data), tol) << path << " sequence " << i << " head " << name;
      }
    }
  }
}

// The lexical bag's n-gram buckets (SPEC.md section 3) against lexical_buckets() of the PyTorch
// reference (model/training/deepseek_model.py): all unigrams, then bigrams, then trigrams, ...
TEST(ModelHeads, LexicalBucketsMatchTheReferenceGoldenValues) {
  const std::vector<int32_t> a = {5, 17, 300, 2};
  EXPECT_EQ(model::lexical_features(a, 0, 4, {65536, 8, 3}),
            (std::vector<uint64_t>{6702, 26808, 53991, 49484, 6609, 53965, 38428, 47690, 59771}));
  EXPECT_EQ(model::lexical_bucket(1, &a[0], 65536), 6702u);
  EXPECT_EQ(model::lexical_bucket(3, &a[1], 65536), 59771u);
  // Large ids (the int32 maximum), a prime bucket count, N = 4.
  const std::vector<int32_t> b = {0, 2147483647, 70000, 9};
  EXPECT_EQ(model::lexical_features(b, 0, 4, {1000003, 8, 4}),
            (std::vector<uint64_t>{216735, 602364, 993198, 566862, 495624, 765185, 72068, 95740, 406791, 980725}));
  // A span inside the sequence; n-grams longer than the span give no features.
  EXPECT_EQ(model::lexical_features(b, 1, 3, {97, 8, 4}), (std::vector<uint64_t>{42, 51, 21}));
  EXPECT_TRUE(model::lexical_features(b, 2, 2, {97, 8, 4}).empty());
  EXPECT_EQ(model::lexical_features(b, 0, 4, {1, 8, 2}), std::vector<uint64_t>(7, 0));
}

// A segment_labels row is W @ mean(z over the span) + bias + proj @ (mean of the table's rows over
// the span's n-gram buckets), computed here by hand from `hidden` and the file's tensors: an INT8
// table (decoded rows), spans across a window edge of a long sequence, single tokens, empty spans.
TEST_F(ModelEncoder, LexicalBagAddsTheProjectedMeanTableRowToEachSegment) {
  model::RandomModelSpec spec;
  spec.heads_json =
      R"([{"name":"clauses","type":"segment_labels","labels":["a","b","c"],"lexical":{"buckets":29,"dim":8,"max_n":3}},)"
      R"({"name":"tags","type":"token_tags","labels":["O","B","I"]}])";
  spec.overrides = {{"heads.clauses.lexical.embed", model::Precision::kInt8}};
  spec.seed = 3;
  auto file = write_and_open(dir_, "lex.safetensors", model::make_random_model(spec).serialize());
  Encoder enc(file);
  const int D = file->config().d_model, C = 3, E = 8;
  auto f32 = [&](const std::string& name) {
    const model::TensorEntry& t = file->tensor(name);
    std::vector<float> v(static_cast<size_t>(t.numel()));
    std::memcpy(v.data(), file->data(t), v.size() * sizeof(float));
    return v;
  };
  const std::vector<float> W = f32("heads.clauses.weight"), bias = f32("heads.clauses.bias"),
                           proj = f32("heads.clauses.lexical.proj.weight");
  const model::MatrixInfo& table = file->matrix("heads.clauses.lexical.embed");

  const std::vector<int32_t> ids = ids_of(150, 7);  // windows [0, 64), [56, 120), [86, 150)
  const std::vector<model::TokenRange> spans = {{0, 150}, {60, 70}, {5, 5}, {10, 11}, {20, 22}, {148, 150}};
  SequenceInput in{ids, spans};
  auto out = enc.encode({&in, 1}, {}, nullptr);
  const model::Output& got = out[0].heads.at("clauses");
  ASSERT_EQ(got.shape, (std::vector<int64_t>{6, C}));
  const std::vector<float>& z = out[0].hidden.data;
  double largest_bag = 0;  // the bag's part of a logit: must matter, or the check proves little
  for (size_t s = 0; s < spans.size(); ++s) {
    const auto [b, e] = spans[s];
    std::vector<double> want(C, 0.0);
    if (e > b) {
      std::vector<double> u(E, 0.0), row_mean(D, 0.0);
      for (int t = b; t < e; ++t)
        for (int d = 0; d < D; ++d) row_mean[d] += z[size_t(t) * D + d] / double(e - b);
      int features = 0;
      std::vector<float> row(E);
      for (int n = 1; n <= 3; ++n)
        for (int i = b; i + n <= e; ++i, ++features) {
          model::decode_matrix_rows(*file, table, int64_t(model::lexical_bucket(n, &ids[i], 29)), 1, row.data());
          for (int k = 0; k < E; ++k) u[k] += row[k];
        }
      EXPECT_EQ(features, (e - b) + std::max(0, e - b - 1) + std::max(0, e - b - 2));
      for (int c = 0; c < C; ++c) {
        want[c] = bias[c];
        for (int d = 0; d < D; ++d) want[c] += double(W[size_t(c) * D + d]) * row_mean[d];
        double bag = 0;
        for (int k = 0; k < E; ++k) bag += double(proj[size_t(c) * E + k]) * u[k] / features;
        want[c] += bag;
        largest_bag = std::max(largest_bag, std::fabs(bag));
      }
    }
    for (int c = 0; c < C; ++c)
      EXPECT_NEAR(got.data[s * C + c], want[c], 1e-5) << "span " << s << " label " << c;
  }
  EXPECT_GT(largest_bag, 0.1);
}

TEST_F(ModelEncoder, TopKTextFormRoundTrips) {
  std::string err;
  for (const char* t : {"64", "dense", "0.25", "0.25,min=32", "1.0"}) {
    auto s = model::parse_top_k_text(t, &err);
    ASSERT_TRUE(s) << t << ": " << err;
    EXPECT_EQ(model::parse_top_k_text(s->text(), &err), s) << t;
  }
  EXPECT_EQ(model::parse_top_k_text("0.25,min=32", &err)->resolve(100), 32);
  EXPECT_EQ(model::parse_top_k_text("0.25,min=32", &err)->resolve(1000), 250);
  EXPECT_EQ(model::parse_top_k_text("0.001", &err)->resolve(0), 1);
  for (const char* t : {"", "0", "-3", "abc", "0.5,max=3", "0.5,min=", "64,min=3", "1.5"}) {
    EXPECT_FALSE(model::parse_top_k_text(t, &err)) << t;
    EXPECT_NE(err.find("top-k spec"), std::string::npos);
  }
}

}  // namespace
}  // namespace ds::test
