#include "model/random_model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "model/quantize.h"

namespace ds::model {

namespace {

using nlohmann::ordered_json;

ordered_json top_k_json(const TopKSpec& s) {
  if (s.kind == TopKSpec::Kind::kFixed) return {{"fixed", s.fixed}};
  return {{"fraction", s.fraction}, {"min", s.min}};
}

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  std::vector<float> normal(size_t n, double std, double mean = 0.0) {
    std::normal_distribution<float> d(static_cast<float>(mean), static_cast<float>(std));
    std::vector<float> v(n);
    for (float& x : v) x = d(rng_);
    return v;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

ModelConfig small_test_config() {
  ModelConfig c;
  c.vocab_size = 64;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_local_heads = 2;
  c.head_dim = 8;
  c.ffn_dim = 48;
  c.ffn_max_dim = 72;
  c.rms_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.max_len = 64;
  c.window_overlap = 8;
  c.window = 4;
  c.top_k.kind = TopKSpec::Kind::kFixed;
  c.top_k.fixed = 16;
  c.pad_id = 0;
  c.default_path = "standard";
  return c;
}

std::string config_json(const ModelConfig& c) {
  ordered_json j = {{"vocab_size", c.vocab_size}, {"d_model", c.d_model},       {"n_layers", c.n_layers},
                    {"n_heads", c.n_heads},       {"n_local_heads", c.n_local_heads}, {"head_dim", c.head_dim},
                    {"ffn_dim", c.ffn_dim},       {"ffn_max_dim", c.ffn_max_dim}, {"rms_eps", c.rms_eps},
                    {"rope_theta", c.rope_theta}, {"max_len", c.max_len},       {"window_overlap", c.window_overlap},
                    {"window", c.window},         {"top_k", top_k_json(c.top_k)}, {"pad_id", c.pad_id},
                    {"default_path", c.default_path}};
  return j.dump();
}

SafetensorsWriter make_random_model(const RandomModelSpec& spec) {
  const ModelConfig& c = spec.config;
  const int64_t D = c.d_model, V = c.vocab_size, Hd = int64_t(c.n_heads) * c.head_dim,
                Hld = int64_t(c.n_local_heads) * c.head_dim, Fm = c.ffn_max_dim;
  SafetensorsWriter w;
  Gen gen(spec.seed);
  ordered_json precision = ordered_json::object();
  bool any_int4 = false;
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols, double std) {
    auto it = spec.overrides.find(name);
    Precision p = it != spec.overrides.end() ? it->second : spec.precision;
    any_int4 |= p == Precision::kInt4;
    precision[name] = precision_name(p);
    add_weight_matrix(w, name, rows, cols, gen.normal(size_t(rows * cols), std), p, spec.int4_group_size);
  };
  auto vec = [&](const std::string& name, std::vector<int64_t> shape, double std, double mean) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    w.add_f32(name, std::move(shape), gen.normal(size_t(n), std, mean));
  };

  const double sd = 1.0 / std::sqrt(double(D));
  matrix("embed", V, D, 1.0);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    vec(p + "attn_norm.weight", {D}, 0.1, 1.0);
    vec(p + "importance.weight", {D}, 2.5 * sd, 0.0);
    vec(p + "importance.bias", {1}, 0.5, 0.5);
    for (const char* m : {"q", "k"}) matrix(p + "global." + m, Hd, D, 1.5 * sd);
    matrix(p + "global.v", Hd, D, sd);
    matrix(p + "global.o", D, Hd, 0.5 / std::sqrt(double(Hd)));
    for (const char* m : {"q", "k"}) matrix(p + "local." + m, Hld, D, 1.5 * sd);
    matrix(p + "local.v", Hld, D, sd);
    matrix(p + "local.o", D, Hld, 0.5 / std::sqrt(double(Hld)));
    vec(p + "gate.weight", {2, D}, sd, 0.0);
    vec(p + "gate.bias", {2}, 0.5, 0.0);
    vec(p + "ffn_norm.weight", {D}, 0.1, 1.0);
    matrix(p + "ffn.up", Fm, D, sd);
    matrix(p + "ffn.down", D, Fm, 1.0 / std::sqrt(double(Fm)));
  }
  vec("final_norm.weight", {D}, 0.1, 1.0);

  std::string heads = spec.heads_json;
  if (heads.empty())
    heads = R"([{"name":"tags","type":"token_tags","labels":["O","B-AMT","I-AMT","B-DATE","I-DATE"]},)"
            R"({"name":"clauses","type":"segment_labels","labels":["payment","delivery","penalty","other"]},)"
            R"({"name":"triage","type":"sequence_classes","labels":["low","medium","high","urgent"]},)"
            R"({"name":"embed","type":"embedding","dim":16}])";
  for (const auto& h : nlohmann::json::parse(heads)) {
    const std::string name = h.at("name"), type = h.at("type");
    if (type == "embedding") {
      vec("heads." + name + ".weight", {h.at("dim").get<int64_t>(), D}, sd, 0.0);
    } else if (type == "mlm") {
      vec("heads." + name + ".bias", {V}, 0.1, 0.0);
    } else {
      const int64_t C = static_cast<int64_t>(h.at("labels").size());
      vec("heads." + name + ".weight", {C, D}, sd, 0.0);
      vec("heads." + name + ".bias", {C}, 0.1, 0.0);
      if (auto lx = h.find("lexical"); lx != h.end()) {  // segment_labels lexical bag: table [B, E], proj [C, E]
        const int64_t B = lx->at("buckets").get<int64_t>(), E = lx->at("dim").get<int64_t>();
        matrix("heads." + name + ".lexical.embed", B, E, 1.0);
        vec("heads." + name + ".lexical.proj.weight", {C, E}, 1.0 / std::sqrt(double(E)), 0.0);
      }
    }
  }

  std::string paths = spec.paths_json;
  if (paths.empty()) {
    ordered_json light = {{"ffn_ratio", 0.5}, {"attn_heads", std::max(1, c.n_heads / 2)},
                          {"skip_ffn_layers", c.n_layers > 1 ? std::vector<int>{0} : std::vector<int>{}},
                          {"top_k", nullptr}};
    ordered_json standard = {{"ffn_ratio", 1.0}, {"attn_heads", c.n_heads}, {"skip_ffn_layers", ordered_json::array()},
                             {"top_k", nullptr}};
    ordered_json heavy = {{"ffn_ratio", 1.5}, {"attn_heads", c.n_heads}, {"skip_ffn_layers", ordered_json::array()},
                          {"top_k", {{"fraction", 1.0}, {"min", 1}}}};
    paths = ordered_json{{"light", light}, {"standard", standard}, {"heavy", heavy}}.dump();
  }

  w.set_metadata("format", "deepseek-encoder");
  w.set_metadata("spec_revision", "1");
  w.set_metadata("config", config_json(c));
  w.set_metadata("paths", paths);
  w.set_metadata("heads", heads);
  w.set_metadata("tokenizer", spec.tokenizer);
  w.set_metadata("precision", precision.dump());
  if (any_int4) w.set_metadata("quant", ordered_json{{"int4_group_size", spec.int4_group_size}}.dump());
  w.set_metadata("name", "random-test-model");
  return w;
}

}  // namespace ds::model
