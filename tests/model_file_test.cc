// Model file loading and validation: a valid random model loads with every field as written; broken
// files (truncated, corrupt header bytes, missing/unknown/misshapen tensors, bad metadata) give a
// ModelError naming the file and the tensor or key, never a crash.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <functional>

#include "kernels/cpu/kernels.h"
#include "model/encoder.h"
#include "model/linear.h"
#include "model/model_error.h"
#include "model/model_file.h"
#include "model/random_model.h"
#include "model/safetensors.h"
#include "test_util.h"

namespace ds::test {
namespace {

using model::ModelError;
using model::ModelFile;
using nlohmann::ordered_json;

std::string small_model_bytes(model::RandomModelSpec spec = {}) { return model::make_random_model(spec).serialize(); }

// A file split into its header JSON and its data section, to be edited and joined again.
struct Parts {
  ordered_json header;
  std::string data;

  explicit Parts(const std::string& file) {
    uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    header = ordered_json::parse(file.substr(8, n));
    data = file.substr(8 + n);
  }
  std::string join() const { return model::assemble_safetensors(header.dump(), data); }
  ordered_json& meta() { return header["__metadata__"]; }
  // Edits the JSON held as a string in metadata key `key`.
  void edit_meta_json(const std::string& key, const std::function<void(ordered_json&)>& edit) {
    ordered_json v = ordered_json::parse(meta()[key].get<std::string>());
    edit(v);
    meta()[key] = v.dump();
  }
};

// Writes `bytes` as model.safetensors in `dir` and returns the message open() throws ("" if none).
std::string open_error(const TempDir& dir, const std::string& bytes) {
  const std::string path = (dir / "model.safetensors").string();
  write_file(path, bytes);
  try {
    ModelFile::open(path);
  } catch (const ModelError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(ModelFile, ValidRandomModelLoadsWithEveryField) {
  TempDir dir;
  const std::string path = (dir / "m.safetensors").string();
  model::make_random_model({}).write(path);
  auto f = ModelFile::open(path);
  const model::ModelConfig& c = f->config();
  EXPECT_EQ(c.vocab_size, 64);
  EXPECT_EQ(c.d_model, 32);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_local_heads, 2);
  EXPECT_EQ(c.ffn_max_dim, 72);
  EXPECT_EQ(c.top_k.fixed, 16);
  EXPECT_EQ(c.default_path, "standard");
  ASSERT_EQ(f->paths().size(), 3u);
  EXPECT_EQ(f->paths().at("light").attn_heads, 2);
  EXPECT_EQ(f->paths().at("light").skip_ffn_layers, std::vector<int>{0});
  EXPECT_FALSE(f->paths().at("standard").top_k.has_value());
  ASSERT_TRUE(f->paths().at("heavy").top_k.has_value());
  EXPECT_EQ(f->paths().at("heavy").top_k->kind, model::TopKSpec::Kind::kFraction);
  ASSERT_EQ(f->heads().size(), 4u);
  EXPECT_EQ(f->heads()[0].name, "tags");
  EXPECT_EQ(f->heads()[0].labels.size(), 5u);
  EXPECT_EQ(f->heads()[3].type, model::HeadType::kEmbedding);
  EXPECT_EQ(f->heads()[3].dim, 16);
  EXPECT_EQ(f->tokenizer(), "sha256:" + std::string(64, '0'));
  EXPECT_EQ(f->matrices().size(), 1u + 2u * 10u);
  // 64*32 embed + per layer (4 norms/biases: 32+32+1+2+32 + gate 64) + projections + ffn, + final + heads
  const int64_t per_layer = 32 + 32 + 1 + 3 * 32 * 32 + 32 * 32 + 3 * 16 * 32 + 32 * 16 + 64 + 2 + 32 + 72 * 32 * 2;
  const int64_t heads = (5 * 32 + 5) + (4 * 32 + 4) + (4 * 32 + 4) + 16 * 32;
  EXPECT_EQ(f->parameter_count(), 64 * 32 + 2 * per_layer + 32 + heads);
  EXPECT_EQ(f->file_size(), std::filesystem::file_size(path));
}

TEST(ModelFile, WriterRoundTripsTensorsAndAlignsThem) {
  model::SafetensorsWriter w;
  w.set_metadata("k", "v");
  w.add("a", model::Dtype::kU8, {3}, std::string("\x01\x02\x03", 3));
  w.add_f32("b", {2, 2}, {1.f, 2.f, 3.f, -4.f});
  std::string bytes = w.serialize();
  auto h = model::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  EXPECT_EQ(h.data_offset % 8, 0u);
  EXPECT_EQ(h.metadata.at("k"), "v");
  const model::TensorEntry* b = h.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->begin % 4, 0u);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{2, 2}));
  float v[4];
  std::memcpy(v, bytes.data() + h.data_offset + b->begin, 16);
  EXPECT_EQ(v[3], -4.f);
  EXPECT_THROW(w.add("b", model::Dtype::kU8, {1}, "x"), std::invalid_argument);
  EXPECT_THROW(w.add("c", model::Dtype::kF32, {2}, "x"), std::invalid_argument);
}

TEST(ModelFile, TruncatedFilesNameTheProblem) {
  TempDir dir;
  const std::string good = small_model_bytes();
  uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  EXPECT_CONTAINS(open_error(dir, ""), "too short");
  EXPECT_CONTAINS(open_error(dir, good.substr(0, 5)), "too short");
  EXPECT_CONTAINS(open_error(dir, good.substr(0, 8)), "runs past the end of the file");
  EXPECT_CONTAINS(open_error(dir, good.substr(0, 8 + n / 2)), "truncated");
  // Cut inside the data section: the message names a tensor whose bytes are gone.
  for (size_t cut : {size_t(8 + n), size_t(8 + n + 100), good.size() / 2, good.size() - 1}) {
    std::string msg = open_error(dir, good.substr(0, cut));
    EXPECT_CONTAINS(msg, "tensor '");
    EXPECT_CONTAINS(msg, "past the end of the data section");
  }
  EXPECT_EQ(open_error(dir, good), "");
}

TEST(ModelFile, HeaderLengthOverLimitIsRefused) {
  TempDir dir;
  std::string bytes = small_model_bytes();
  uint64_t huge = 200ull * 1000 * 1000;
  std::memcpy(bytes.data(), &huge, 8);
  EXPECT_CONTAINS(open_error(dir, bytes), "100 MB");
}

TEST(ModelFile, HeaderThatIsNotJsonOrNotAnObject) {
  TempDir dir;
  EXPECT_CONTAINS(open_error(dir, model::assemble_safetensors("{\"a\": [1,", "")), "header: not valid JSON");
  EXPECT_CONTAINS(open_error(dir, model::assemble_safetensors("[1, 2]", "")), "header: is not a JSON object");
  EXPECT_CONTAINS(open_error(dir, model::assemble_safetensors("{\"x\": \"\xff\xfe\"}", "")), "not valid JSON");
}

struct BrokenCase {
  std::string what;
  std::function<void(Parts&)> edit;
  std::vector<std::string> expect;  // substrings of the message
};

TEST(ModelFile, EachBrokenFileGivesAMessageNamingTheTensorOrKey) {
  const std::string good = small_model_bytes();
  std::vector<BrokenCase> cases = {
      {"missing tensor", [](Parts& p) { p.header.erase("layers.1.ffn.up.weight"); },
       {"tensor 'layers.1.ffn.up.weight'", "missing", "[72,32]"}},
      {"wrong shape",
       [](Parts& p) {
         // Same byte count, other shape: only the model check can see it.
         p.header["layers.1.global.q.weight"]["shape"] = {16, 64};
       },
       {"tensor 'layers.1.global.q.weight': shape [16,64] but the config implies [32,32]"}},
      {"unknown dtype", [](Parts& p) { p.header["final_norm.weight"]["dtype"] = "BF16"; },
       {"tensor 'final_norm.weight'", "unknown dtype 'BF16'"}},
      {"dtype against precision", [](Parts& p) {
         auto& e = p.header["layers.0.attn_norm.weight"];
         e["dtype"] = "F16";
         e["shape"] = {64};
       },
       {"tensor 'layers.0.attn_norm.weight'", "shape [64]"}},
      {"unknown tensor",
       [](Parts& p) {
         p.header["layers.0.extra.weight"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
       },
       {"tensor 'layers.0.extra.weight'", "unknown tensor"}},
      {"overlapping offsets",
       [](Parts& p) {
         auto& a = p.header["final_norm.weight"];
         auto& b = p.header["layers.0.attn_norm.weight"];
         b["data_offsets"] = a["data_offsets"];
       },
       {"overlap", "final_norm.weight", "layers.0.attn_norm.weight"}},
      {"offset past end",
       [](Parts& p) {
         auto& e = p.header["final_norm.weight"];
         uint64_t size = p.data.size();
         e["data_offsets"] = {size, size + 128};
       },
       {"tensor 'final_norm.weight'", "past the end of the data section"}},
      {"byte count differs from shape", [](Parts& p) { p.header["final_norm.weight"]["shape"] = {31}; },
       {"tensor 'final_norm.weight'", "hold 128 bytes", "needs 124"}},
      {"end before begin", [](Parts& p) { p.header["final_norm.weight"]["data_offsets"] = {8, 4}; },
       {"tensor 'final_norm.weight'", "end < begin"}},
      {"negative dimension", [](Parts& p) { p.header["final_norm.weight"]["shape"] = {-32}; },
       {"tensor 'final_norm.weight'", "not a non-negative integer"}},
      {"missing metadata key", [](Parts& p) { p.meta().erase("heads"); }, {"metadata key 'heads'", "missing"}},
      {"missing precision metadata", [](Parts& p) { p.meta().erase("precision"); }, {"metadata key 'precision'"}},
      {"metadata not a string", [](Parts& p) { p.meta()["name"] = 5; }, {"metadata key 'name'", "not a string"}},
      {"wrong format", [](Parts& p) { p.meta()["format"] = "gguf"; }, {"metadata key 'format'", "gguf"}},
      {"unsupported spec revision", [](Parts& p) { p.meta()["spec_revision"] = "2"; },
       {"metadata key 'spec_revision'", "revision '2' is not supported", "reads: 1"}},
      {"config not JSON", [](Parts& p) { p.meta()["config"] = "{oops"; }, {"metadata key 'config'", "not valid JSON"}},
      {"config key missing", [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c.erase("rope_theta"); }); },
       {"config key 'rope_theta'", "missing"}},
      {"config key unknown", [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["d_ff"] = 3; }); },
       {"config key 'd_ff'", "unknown"}},
      {"n_local_heads inconsistent",
       [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["n_local_heads"] = 3; }); },
       {"config key 'n_local_heads'", "is 3 but must equal max(1, n_heads / 2) = 2"}},
      {"head_dim odd", [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["head_dim"] = 7; }); },
       {"config key 'head_dim'", "even"}},
      {"ffn_max_dim wrong", [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["ffn_max_dim"] = 70; }); },
       {"config key 'ffn_max_dim'", "floor(1.5 * ffn_dim) = 72"}},
      {"window_overlap too big",
       [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["window_overlap"] = 32; }); },
       {"config key 'window_overlap'", "max_len / 2"}},
      {"d_model not an integer", [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["d_model"] = 32.5; }); },
       {"config key 'd_model'", "expected an integer"}},
      {"config implies other shapes",
       [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["vocab_size"] = 65; }); },
       {"tensor 'embed.weight': shape [64,32] but the config implies [65,32]"}},
      {"more layers than tensors", [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["n_layers"] = 3; }); },
       {"tensor 'layers.2.", "missing"}},
      {"fewer layers than tensors",
       [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["n_layers"] = 1; }); },
       {"precision key 'layers.1.", "names no weight matrix"}},
      {"top_k spec bad",
       [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["top_k"] = {{"fixed", 4}, {"min", 1}}; }); },
       {"config.top_k key 'min'", "unknown"}},
      {"default path undefined",
       [](Parts& p) { p.edit_meta_json("config", [](ordered_json& c) { c["default_path"] = "turbo"; }); },
       {"config key 'default_path'", "turbo"}},
      {"path attn_heads too many",
       [](Parts& p) { p.edit_meta_json("paths", [](ordered_json& v) { v["heavy"]["attn_heads"] = 5; }); },
       {"paths.heavy key 'attn_heads'", "[1, 4]"}},
      {"path ffn_ratio too big", [](Parts& p) { p.edit_meta_json("paths", [](ordered_json& v) { v["heavy"]["ffn_ratio"] = 2.0; }); },
       {"paths.heavy", "ffn_ratio", "96 FFN units"}},
      {"path skips a missing layer",
       [](Parts& p) { p.edit_meta_json("paths", [](ordered_json& v) { v["light"]["skip_ffn_layers"] = {0, 2}; }); },
       {"paths.light key 'skip_ffn_layers'", "holds 2"}},
      {"head with a bad name", [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[0]["name"] = "Tags"; }); },
       {"heads[0] key 'name'", "[a-z][a-z0-9_]*"}},
      {"head of unknown type", [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[1]["type"] = "spans"; }); },
       {"heads.clauses key 'type'", "'spans'"}},
      {"head labels disagree with tensors",
       [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[0]["labels"].push_back("B-PARTY"); }); },
       {"tensor 'heads.tags.weight': shape [5,32] but head 'tags' (token_tags, 6 labels) implies [6,32]"}},
      {"head tensors missing for a defined head",
       [](Parts& p) {
         p.edit_meta_json("heads", [](ordered_json& v) {
           v.push_back({{"name", "extra"}, {"type", "embedding"}, {"dim", 8}});
         });
       },
       {"tensor 'heads.extra.weight'", "missing"}},
      {"head tensors without a definition",
       [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v.erase(v.begin() + 2); }); },
       {"tensor 'heads.triage.", "unknown tensor"}},
      {"tokenizer hash malformed", [](Parts& p) { p.meta()["tokenizer"] = "md5:abc"; }, {"metadata key 'tokenizer'", "md5:abc"}},
      {"precision missing a matrix",
       [](Parts& p) { p.edit_meta_json("precision", [](ordered_json& v) { v.erase("layers.0.local.o"); }); },
       {"precision key 'layers.0.local.o'", "missing"}},
      {"precision value unknown",
       [](Parts& p) { p.edit_meta_json("precision", [](ordered_json& v) { v["embed"] = "int2"; }); },
       {"precision key 'embed'", "int2"}},
      {"precision disagrees with dtype",
       [](Parts& p) { p.edit_meta_json("precision", [](ordered_json& v) { v["layers.0.ffn.down"] = "fp16"; }); },
       {"tensor 'layers.0.ffn.down.weight'", "dtype F32 but precision 'fp16' needs F16"}},
      {"int8 without its scale",
       [](Parts& p) {
         p.edit_meta_json("precision", [](ordered_json& v) { v["layers.0.ffn.down"] = "int8"; });
         p.header["layers.0.ffn.down.weight"]["dtype"] = "I8";
         p.header["layers.0.ffn.down.weight"]["shape"] = {32, 288};
       },
       {"tensor 'layers.0.ffn.down.weight': shape [32,288] but the config implies [32,72]"}},
      {"head matrix quantized",
       [](Parts& p) { p.edit_meta_json("precision", [](ordered_json& v) { v["heads.tags"] = "int8"; }); },
       {"precision key 'heads.tags'", "always fp32"}},
      {"unknown header field", [](Parts& p) { p.header["final_norm.weight"]["offset"] = 3; },
       {"tensor 'final_norm.weight'", "unknown header field 'offset'"}},
  };
  TempDir dir;
  for (const BrokenCase& c : cases) {
    SCOPED_TRACE(c.what);
    Parts p(good);
    c.edit(p);
    std::string msg = open_error(dir, p.join());
    ASSERT_FALSE(msg.empty()) << c.what << ": the broken file loaded";
    for (const std::string& s : c.expect) EXPECT_CONTAINS(msg, s);
  }
}

// The default random heads with a lexical bag on the segment_labels head (SPEC.md section 3).
const char* kLexicalHeads =
    R"([{"name":"tags","type":"token_tags","labels":["O","B-AMT","I-AMT","B-DATE","I-DATE"]},)"
    R"({"name":"clauses","type":"segment_labels","labels":["payment","delivery","penalty","other"],)"
    R"("lexical":{"buckets":40,"dim":8,"max_n":3}},)"
    R"({"name":"triage","type":"sequence_classes","labels":["low","medium","high","urgent"]},)"
    R"({"name":"embed","type":"embedding","dim":16}])";

TEST(ModelFile, LexicalBagLoadsWithItsTensorsAndPrecision) {
  TempDir dir;
  model::RandomModelSpec spec;
  spec.heads_json = kLexicalHeads;
  spec.overrides = {{"heads.clauses.lexical.embed", model::Precision::kInt8}};
  const std::string path = (dir / "lex.safetensors").string();
  model::make_random_model(spec).write(path);
  auto f = ModelFile::open(path);
  ASSERT_EQ(f->heads().size(), 4u);
  ASSERT_TRUE(f->heads()[1].lexical.has_value());
  EXPECT_EQ(*f->heads()[1].lexical, (model::LexicalSpec{40, 8, 3}));
  EXPECT_FALSE(f->heads()[0].lexical.has_value());
  EXPECT_EQ(f->matrices().size(), 1u + 2u * 10u + 1u);
  const model::MatrixInfo& table = f->matrix("heads.clauses.lexical.embed");
  EXPECT_EQ(table.rows, 40);
  EXPECT_EQ(table.cols, 8);
  EXPECT_EQ(table.precision, model::Precision::kInt8);
  EXPECT_EQ(f->tensor("heads.clauses.lexical.proj.weight").shape, (std::vector<int64_t>{4, 8}));
  // The plain model plus the table and the projection.
  model::make_random_model({}).write((dir / "plain.safetensors").string());
  EXPECT_EQ(f->parameter_count(), ModelFile::open((dir / "plain.safetensors").string())->parameter_count() + 40 * 8 + 4 * 8);
  // The projection may be listed in the precision map, as fp32 (export.py lists it).
  Parts p(model::make_random_model(spec).serialize());
  p.edit_meta_json("precision", [](ordered_json& v) { v["heads.clauses.lexical.proj"] = "fp32"; });
  EXPECT_EQ(open_error(dir, p.join()), "");
}

TEST(ModelFile, BadLexicalBagsGiveAMessageNamingTheKeyOrTensor) {
  model::RandomModelSpec spec;
  spec.heads_json = kLexicalHeads;
  const std::string good = small_model_bytes(spec);
  auto set_lexical = [](const std::string& key, ordered_json value) {
    return [key, value](Parts& p) { p.edit_meta_json("heads", [&](ordered_json& v) { v[1]["lexical"][key] = value; }); };
  };
  std::vector<BrokenCase> cases = {
      {"buckets 0", set_lexical("buckets", 0), {"heads.clauses.lexical key 'buckets'", "is 0, expected an integer in [1, 16777216]"}},
      {"buckets over 2^24", set_lexical("buckets", 16777217), {"heads.clauses.lexical key 'buckets'", "is 16777217"}},
      {"dim over 4096", set_lexical("dim", 4097), {"heads.clauses.lexical key 'dim'", "[1, 4096]"}},
      {"max_n 5", set_lexical("max_n", 5), {"heads.clauses.lexical key 'max_n'", "is 5, expected an integer in [1, 4]"}},
      {"max_n 0", set_lexical("max_n", 0), {"heads.clauses.lexical key 'max_n'", "[1, 4]"}},
      {"shrink -1", set_lexical("shrink", -1), {"heads.clauses.lexical key 'shrink'", "[0, 4096]"}},
      {"shrink over 4096", set_lexical("shrink", 4097), {"heads.clauses.lexical key 'shrink'", "[0, 4096]"}},
      {"length_bins over 64", set_lexical("length_bins", 65), {"heads.clauses.lexical key 'length_bins'", "[0, 64]"}},
      {"position_bins -1", set_lexical("position_bins", -1), {"heads.clauses.lexical key 'position_bins'", "[0, 64]"}},
      {"max_n not an integer", set_lexical("max_n", 2.5), {"heads.clauses.lexical key 'max_n'", "expected an integer"}},
      {"unknown key", set_lexical("min_n", 1), {"heads.clauses.lexical key 'min_n'", "unknown key"}},
      {"missing key",
       [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[1]["lexical"].erase("dim"); }); },
       {"heads.clauses.lexical key 'dim'", "missing"}},
      {"not an object", [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[1]["lexical"] = 97; }); },
       {"heads.clauses.lexical: expected {\"buckets\": B, \"dim\": E, \"max_n\": N}, got 97"}},
      {"lexical on a token_tags head",
       [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[0]["lexical"] = v[1]["lexical"]; }); },
       {"heads.tags key 'lexical'", "only segment_labels and sequence_classes heads may have a lexical bag, this head is token_tags"}},
      {"lexical on an embedding head",
       [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[3]["lexical"] = v[1]["lexical"]; }); },
       {"heads.embed key 'lexical'", "this head is embedding"}},
      {"missing proj tensor", [](Parts& p) { p.header.erase("heads.clauses.lexical.proj.weight"); },
       {"tensor 'heads.clauses.lexical.proj.weight'", "missing", "head 'clauses' (segment_labels, 4 labels, lexical buckets 40 dim 8) implies [4,8]"}},
      {"missing table", [](Parts& p) { p.header.erase("heads.clauses.lexical.embed.weight"); },
       {"tensor 'heads.clauses.lexical.embed.weight'", "missing", "[40,8]"}},
      {"table shape differs from the buckets",
       [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[1]["lexical"]["buckets"] = 50; }); },
       {"tensor 'heads.clauses.lexical.embed.weight': shape [40,8] but head 'clauses' (segment_labels, 4 labels, "
        "lexical buckets 50 dim 8) implies [50,8]"}},
      {"table with the same bytes in another shape",
       [](Parts& p) { p.header["heads.clauses.lexical.embed.weight"]["shape"] = {20, 16}; },
       {"tensor 'heads.clauses.lexical.embed.weight': shape [20,16] but", "implies [40,8]"}},
      {"proj shape differs from the dim",
       [](Parts& p) {
         p.edit_meta_json("heads", [](ordered_json& v) { v[1]["lexical"] = {{"buckets", 80}, {"dim", 4}, {"max_n", 3}}; });
         p.header["heads.clauses.lexical.embed.weight"]["shape"] = {80, 4};  // the same bytes
       },
       {"tensor 'heads.clauses.lexical.proj.weight': shape [4,8] but", "implies [4,4]"}},
      {"table without a precision",
       [](Parts& p) { p.edit_meta_json("precision", [](ordered_json& v) { v.erase("heads.clauses.lexical.embed"); }); },
       {"precision key 'heads.clauses.lexical.embed'", "missing"}},
      {"table precision disagrees with dtype",
       [](Parts& p) { p.edit_meta_json("precision", [](ordered_json& v) { v["heads.clauses.lexical.embed"] = "fp16"; }); },
       {"tensor 'heads.clauses.lexical.embed.weight'", "dtype F32 but precision 'fp16' needs F16"}},
      {"proj quantized",
       [](Parts& p) { p.edit_meta_json("precision", [](ordered_json& v) { v["heads.clauses.lexical.proj"] = "int8"; }); },
       {"precision key 'heads.clauses.lexical.proj'", "always fp32"}},
      {"tensors without the lexical definition",
       [](Parts& p) {
         p.edit_meta_json("heads", [](ordered_json& v) { v[1].erase("lexical"); });
         p.edit_meta_json("precision", [](ordered_json& v) { v.erase("heads.clauses.lexical.embed"); });
       },
       {"tensor 'heads.clauses.lexical.", "unknown tensor"}},
      {"table precision without the lexical definition",
       [](Parts& p) { p.edit_meta_json("heads", [](ordered_json& v) { v[1].erase("lexical"); }); },
       {"precision key 'heads.clauses.lexical.embed'", "names no weight matrix"}},
  };
  TempDir dir;
  EXPECT_EQ(open_error(dir, good), "");
  for (const BrokenCase& c : cases) {
    SCOPED_TRACE(c.what);
    Parts p(good);
    c.edit(p);
    std::string msg = open_error(dir, p.join());
    ASSERT_FALSE(msg.empty()) << c.what << ": the broken file loaded";
    for (const std::string& s : c.expect) EXPECT_CONTAINS(msg, s);
  }
}

TEST(ModelFile, QuantizedLayoutsAreValidatedAndDecoded) {
  TempDir dir;
  model::RandomModelSpec spec;
  spec.overrides = {{"layers.0.ffn.up", model::Precision::kInt8},
                    {"layers.1.ffn.down", model::Precision::kInt4},
                    {"layers.0.global.q", model::Precision::kFp16},
                    {"embed", model::Precision::kFp16}};
  const std::string path = (dir / "q.safetensors").string();
  model::make_random_model(spec).write(path);
  auto f = ModelFile::open(path);
  EXPECT_EQ(f->matrix("layers.0.ffn.up").precision, model::Precision::kInt8);
  EXPECT_EQ(f->matrix("layers.1.ffn.down").precision, model::Precision::kInt4);
  EXPECT_EQ(f->int4_group_size(), 8);

  // int8: W = q * scale[n]; int4: low nibble first, zero point 8, group scales.
  const model::MatrixInfo& m8 = f->matrix("layers.0.ffn.up");
  std::vector<float> row(static_cast<size_t>(m8.cols));
  model::decode_matrix_rows(*f, m8, 3, 1, row.data());
  const int8_t* q = reinterpret_cast<const int8_t*>(f->data(*m8.weight)) + 3 * m8.cols;
  uint16_t s16;
  std::memcpy(&s16, f->data(*m8.scale) + 3 * 2, 2);
  float s;
  kernels::fp16_to_fp32(&s16, &s, 1);
  for (int64_t k = 0; k < m8.cols; ++k) ASSERT_EQ(row[size_t(k)], float(q[k]) * s);

  const model::MatrixInfo& m4 = f->matrix("layers.1.ffn.down");
  row.resize(static_cast<size_t>(m4.cols));
  model::decode_matrix_rows(*f, m4, 5, 1, row.data());
  const uint8_t* b = f->data(*m4.weight) + 5 * (m4.cols / 2);
  for (int64_t k = 0; k < m4.cols; ++k) {
    uint16_t g16;
    std::memcpy(&g16, f->data(*m4.scale) + (5 * (m4.cols / 8) + k / 8) * 2, 2);
    float g;
    kernels::fp16_to_fp32(&g16, &g, 1);
    const int u = k % 2 ? b[k / 2] >> 4 : b[k / 2] & 15;
    ASSERT_EQ(row[size_t(k)], float(u - 8) * g) << k;
  }

  // The quantized model runs, and stays near the FP32 one it was made from.
  model::RandomModelSpec fp32_spec;
  model::make_random_model(fp32_spec).write((dir / "f.safetensors").string());
  model::Encoder qe(f), fe(ModelFile::open((dir / "f.safetensors").string()));
  std::vector<int32_t> ids = {1, 5, 9, 2, 33, 7, 8, 60, 4, 4, 12};
  model::SequenceInput in{ids, {}};
  auto qo = qe.encode({&in, 1}, {}, nullptr);
  auto fo = fe.encode({&in, 1}, {}, nullptr);
  double worst = 0;
  for (size_t i = 0; i < qo[0].hidden.data.size(); ++i)
    worst = std::max(worst, double(std::fabs(qo[0].hidden.data[i] - fo[0].hidden.data[i])));
  EXPECT_GT(worst, 0.0);
  EXPECT_LT(worst, 0.5);

  // int4 needs the quant metadata.
  Parts p(model::make_random_model(spec).serialize());
  p.meta().erase("quant");
  EXPECT_CONTAINS(open_error(dir, p.join()), "precision key 'layers.1.ffn.down': int4 needs metadata key 'quant'");
}

// Every single-byte change over the header of a small file gives a clean ModelError or a valid
// load (then the model must also run), never a crash. Run under the asan preset too.
TEST(ModelFile, EverySingleByteFlipInTheHeaderIsACleanErrorOrAValidLoad) {
  model::RandomModelSpec spec;
  spec.config.n_layers = 1;
  spec.config.d_model = 8;
  spec.config.n_heads = 2;
  spec.config.n_local_heads = 1;
  spec.config.head_dim = 4;
  spec.config.ffn_dim = 8;
  spec.config.ffn_max_dim = 12;
  spec.config.vocab_size = 16;
  spec.config.max_len = 8;
  spec.config.window_overlap = 2;
  spec.config.window = 2;
  spec.heads_json = R"([{"name":"t","type":"token_tags","labels":["a","b"]},{"name":"e","type":"embedding","dim":3}])";
  const std::string good = model::make_random_model(spec).serialize();
  uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  TempDir dir;
  const std::string path = (dir / "fuzz.safetensors").string();
  int errors = 0, loads = 0;
  std::vector<int32_t> ids = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 3, 2, 1};
  for (size_t pos = 0; pos < 8 + n; ++pos) {
    for (uint8_t mask : {0x01, 0x20, 0x80}) {
      std::string bytes = good;
      bytes[pos] = static_cast<char>(bytes[pos] ^ mask);
      write_file(path, bytes);
      try {
        auto f = ModelFile::open(path);
        ++loads;
        model::Encoder enc(f);
        std::vector<int32_t> in_ids;
        for (int32_t id : ids) in_ids.push_back(id % f->config().vocab_size);
        model::SequenceInput in{in_ids, {}};
        auto out = enc.encode({&in, 1}, {}, nullptr);
        ASSERT_EQ(out[0].hidden.shape[0], static_cast<int64_t>(in_ids.size()));
      } catch (const ModelError& e) {
        ++errors;
        ASSERT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
      }
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(loads, 0);  // flips inside label names or the model name are harmless
  std::cout << "header bytes " << 8 + n << ": " << errors << " clean errors, " << loads << " valid loads\n";
}

}  // namespace
}  // namespace ds::test
