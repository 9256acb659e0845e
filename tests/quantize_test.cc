// DMPQ quantization: the INT8/INT4 quantizers against plain reference code and the SPEC decode,
// the head KL, and `deepseek quantize` end to end on a small random model (rules, budget, size
// target, the output running through a pipeline, bad inputs and exit codes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <random>

#include "core/hash.h"
#include "kernels/cpu/kernels.h"
#include "model/linear.h"
#include "model/model_file.h"
#include "model/quantize.h"
#include "model/random_model.h"
#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;
using model::Precision;

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

fs::path tokenizer_path() { return source_dir() / "data/models/tokenizer.model"; }
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
CommandResult deepseek(const std::string& args) { return run_command(q(deepseek_binary()) + " " + args); }

float half_value(float x) {
  uint16_t h;
  float back;
  kernels::fp32_to_fp16(&x, &h, 1);
  kernels::fp16_to_fp32(&h, &back, 1);
  return back;
}
float from_half(uint16_t h) {
  float v;
  kernels::fp16_to_fp32(&h, &v, 1);
  return v;
}

std::vector<float> random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (float& x : v) x = d(rng);
  if (rows > 1)
    for (int64_t k = 0; k < cols; ++k) v[size_t(cols + k)] = 0;  // an all-zero row
  return v;
}

TEST(Quantize, Int8MatchesPlainReferenceAndDecodesWithinHalfAStep) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {7, 33}, {16, 64}}) {
    const std::vector<float> w = random_matrix(rows, cols, 7);
    const model::Int8Matrix m = model::quantize_int8(w.data(), rows, cols);
    ASSERT_EQ(m.q.size(), size_t(rows * cols));
    ASSERT_EQ(m.scale.size(), size_t(rows));
    for (int64_t r = 0; r < rows; ++r) {
      float mx = 0;
      for (int64_t k = 0; k < cols; ++k) mx = std::max(mx, std::fabs(w[size_t(r * cols + k)]));
      const float s = half_value(mx > 0 ? mx / 127.0f : 1.0f);
      EXPECT_EQ(from_half(m.scale[size_t(r)]), s) << r;
      for (int64_t k = 0; k < cols; ++k) {
        const float x = w[size_t(r * cols + k)];
        const int want = std::clamp(int(std::lround(x / s)), -127, 127);
        EXPECT_EQ(int(m.q[size_t(r * cols + k)]), want) << r << "," << k;
        EXPECT_LE(std::fabs(m.q[size_t(r * cols + k)] * s - x), 0.5f * s * 1.01f + 1e-7f);
      }
    }
  }
}

TEST(Quantize, Int4MatchesPlainReferenceAndTheSpecNibbleLayout) {
  const int64_t rows = 5, cols = 32;
  for (int G : {8, 32}) {
    const std::vector<float> w = random_matrix(rows, cols, 11);
    const model::Int4Matrix m = model::quantize_int4(w.data(), rows, cols, G);
    ASSERT_EQ(m.packed.size(), size_t(rows * cols / 2));
    ASSERT_EQ(m.scale.size(), size_t(rows * cols / G));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < cols; ++k) {
        float mx = 0;
        for (int64_t j = k / G * G; j < (k / G + 1) * G; ++j) mx = std::max(mx, std::fabs(w[size_t(r * cols + j)]));
        const float s = half_value(mx > 0 ? mx / 7.0f : 1.0f);
        ASSERT_EQ(from_half(m.scale[size_t(r * (cols / G) + k / G)]), s);
        const float x = w[size_t(r * cols + k)];
        const int want = std::clamp(int(std::lround(x / s)) + 8, 0, 15);
        const uint8_t byte = m.packed[size_t(r * cols / 2 + k / 2)];
        const int u = k % 2 ? byte >> 4 : byte & 15;  // SPEC: k = 2b low nibble, k = 2b + 1 high
        EXPECT_EQ(u, want) << G << ":" << r << "," << k;
        EXPECT_LE(std::fabs((u - 8) * s - x), 0.5f * s * 1.01f + 1e-7f);  // SPEC decode
      }
  }
  EXPECT_THROW(model::quantize_int4(nullptr, 1, 30, 8), std::invalid_argument);
  EXPECT_THROW(model::quantize_int4(nullptr, 1, 32, 7), std::invalid_argument);
}

TEST(Quantize, RequantizedFileDecodesToTheQuantizersValuesAndKeepsEverythingElse) {
  TempDir dir;
  model::RandomModelSpec spec;
  spec.precision = Precision::kFp16;
  model::make_random_model(spec).write((dir / "m.safetensors").string());
  auto src = model::ModelFile::open((dir / "m.safetensors").string());
  model::requantize(*src, {{"layers.0.ffn.up", Precision::kInt4}, {"layers.1.global.v", Precision::kInt8}}, 8,
                    {{"quantization", "{}"}})
      .write((dir / "q.safetensors").string());
  auto out = model::ModelFile::open((dir / "q.safetensors").string());
  EXPECT_EQ(out->int4_group_size(), 8);
  EXPECT_EQ(out->matrix("layers.0.ffn.up").precision, Precision::kInt4);
  EXPECT_EQ(out->matrix("layers.1.global.v").precision, Precision::kInt8);
  EXPECT_EQ(out->matrix("layers.0.global.q").precision, Precision::kFp16);
  EXPECT_EQ(out->metadata().at("name"), src->metadata().at("name"));
  EXPECT_EQ(out->metadata().at("quantization"), "{}");

  const model::MatrixInfo& up = src->matrix("layers.0.ffn.up");
  std::vector<float> master(size_t(up.rows * up.cols)), got(master.size());
  model::decode_matrix_rows(*src, up, 0, up.rows, master.data());
  model::decode_matrix_rows(*out, out->matrix("layers.0.ffn.up"), 0, up.rows, got.data());
  const model::Int4Matrix m = model::quantize_int4(master.data(), up.rows, up.cols, 8);
  for (int64_t r = 0; r < up.rows; ++r)
    for (int64_t k = 0; k < up.cols; ++k) {
      const uint8_t b = m.packed[size_t(r * up.cols / 2 + k / 2)];
      const float want = float((k % 2 ? b >> 4 : b & 15) - 8) * from_half(m.scale[size_t(r * (up.cols / 8) + k / 8)]);
      ASSERT_EQ(got[size_t(r * up.cols + k)], want);
    }
  // Unchanged tensors keep their bytes.
  const auto& a = src->tensor("layers.1.ffn.down.weight");
  const auto& b = out->tensor("layers.1.ffn.down.weight");
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(src->data(a)), a.bytes()),
            std::string_view(reinterpret_cast<const char*>(out->data(b)), b.bytes()));
  EXPECT_THROW(model::requantize(*src, {{"layers.0.ffn.up", Precision::kInt4}}, 7), std::invalid_argument);
  EXPECT_THROW(model::requantize(*src, {{"nope", Precision::kInt8}}, 8), std::out_of_range);
}

TEST(Quantize, HeadKlIsZeroForEqualOutputsAndMatchesHandComputedValues) {
  std::vector<model::HeadDef> defs(2);
  defs[0] = {"t", model::HeadType::kSequenceClasses, {"a", "b"}, 0};
  defs[1] = {"s", model::HeadType::kSegmentLabels, {"x"}, 0};
  model::SequenceOutput r, t;
  r.heads["t"] = {{2}, {0.0f, 0.0f}};
  t.heads["t"] = {{2}, {std::log(3.0f), 0.0f}};  // p = (1/2, 1/2), q = (3/4, 1/4)
  r.heads["s"] = {{1, 1}, {0.0f}};
  t.heads["s"] = {{1, 1}, {0.0f}};
  std::vector<model::SequenceOutput> ref{r}, test{t};
  const model::HeadKl kl = model::head_kl(ref, test, defs);
  const double want = 0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(0.5 / 0.25);
  EXPECT_NEAR(kl.per_head.at("t"), want, 1e-6);
  EXPECT_NEAR(kl.per_head.at("s"), 0.0, 1e-12);
  EXPECT_NEAR(kl.total, want, 1e-6);
  EXPECT_NEAR(model::head_kl(ref, ref, defs).total, 0.0, 1e-12);
  EXPECT_EQ(model::head_kl(ref, test, defs, {"s"}).per_head.count("t"), 0u);
}

// A random FP16 model "trained with" the project tokenizer, and calibration texts.
struct Fixture {
  TempDir dir;
  std::string model, calib;
  // `heads_json`: the model's heads (empty: make_random_model's default four).
  explicit Fixture(const std::string& heads_json = "") {
    model::RandomModelSpec spec;
    spec.config.vocab_size = 16000;
    spec.precision = Precision::kFp16;
    spec.heads_json = heads_json;
    spec.tokenizer = sha256_tagged(read_file(tokenizer_path()));
    model = (dir / "m.safetensors").string();
    model::make_random_model(spec).write(model);
    std::string lines;
    const char* texts[] = {"The Buyer shall pay within 30 days.", "甲方向乙方采购设备。", "Delivery is due on 1 March 2025.",
                           "头痛三天，伴有发热。", "A penalty of 5% applies to late payment.", "My child has a fever of 39.5."};
    int n = 0;
    for (const char* t : texts)
      lines += nlohmann::json{{"text", t}, {"split", n++ % 3 == 2 ? "dev" : "train"}}.dump() + "\n";
    calib = (dir / "calib.jsonl").string();
    write_file(calib, lines);
  }
  std::string base() const {
    return "quantize --model " + q(model) + " --calibration " + q(calib) + " --tokenizer " + q(tokenizer_path()) +
           " --group-size 8 --threads 1 ";
  }
};

TEST(QuantizeCli, GenerousBudgetQuantizesButNeverQAndKAndTheFileRunsInAPipeline) {
  Fixture f;
  const fs::path out = f.dir / "q.safetensors";
  auto r = deepseek(f.base() + "--out " + q(out) + " --kl-budget 1000 --split train --json --table " + q(f.dir / "t.md"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["calibration"]["texts"], 4);
  EXPECT_GT(j["counts"].value("int4", 0), 0);
  EXPECT_GT(j["kl_measured"].get<double>(), 0.0);
  EXPECT_LE(j["kl_sum"].get<double>(), 1000.0);
  EXPECT_LT(j["sizes"]["out"].get<int64_t>(), j["sizes"]["fp16"].get<int64_t>());
  EXPECT_EQ(j["sizes"]["out"].get<uint64_t>(), fs::file_size(out));
  EXPECT_CONTAINS(read_file(f.dir / "t.md"), "| layers.0.global.q | 32x32 |");

  auto m = model::ModelFile::open(out.string());
  int quantized = 0;
  for (const model::MatrixInfo& mi : m->matrices()) {
    const bool qk = mi.name.ends_with(".q") || mi.name.ends_with(".k") || mi.name == "embed";
    if (qk) {
      EXPECT_EQ(mi.precision, Precision::kFp16) << mi.name;
    }
    quantized += mi.precision == Precision::kInt4 || mi.precision == Precision::kInt8;
  }
  EXPECT_EQ(quantized, 12);  // 2 layers x (global v, o + local v, o + ffn up, down)
  EXPECT_EQ(m->int4_group_size(), 8);
  auto meta = nlohmann::json::parse(m->metadata().at("quantization"));
  EXPECT_EQ(meta["budget"]["kl"], 1000.0);
  EXPECT_EQ(meta["table"].size(), m->matrices().size());

  auto info = deepseek("model info " + q(out));
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_CONTAINS(info.out, "int4");

  write_file(f.dir / "in/a.txt", "The Buyer shall pay within 30 days.\n");
  write_file(f.dir / "p.yaml", "version: 1\nname: m\ninput:\n  include: ['*']\nstages:\n  - decode\n  - normalize\n  - segment\n"
                               "  - tokenize: {model: " + q(tokenizer_path()) + "}\n  - model.encode: {model: " + q(out) +
                                   "}\nrun: {threads: 1, batch_size: 4, progress: none}\n");
  auto run = deepseek("run " + q(f.dir / "p.yaml") + " " + q(f.dir / "in") + " --json");
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_CONTAINS(run.out, "\"done\":1");
}

TEST(QuantizeCli, ZeroBudgetKeepsFp16AndTargetSizeIsReachedOrReported) {
  Fixture f;
  auto zero = deepseek(f.base() + "--out " + q(f.dir / "z.safetensors") + " --kl-budget 0 --json");
  ASSERT_EQ(zero.exit_code, 0) << zero.err;
  auto jz = nlohmann::json::parse(zero.out);
  EXPECT_EQ(jz["counts"].value("int4", 0) + jz["counts"].value("int8", 0), 0) << jz["counts"];

  const int64_t fp16 = jz["sizes"]["fp16"];
  const int64_t target = fp16 - 5000;  // needs a few matrices quantized (all would save ~20 kB, less the table)
  auto t = deepseek(f.base() + "--out " + q(f.dir / "t.safetensors") + " --target-size " + std::to_string(target) + " --json");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_LE(static_cast<int64_t>(fs::file_size(f.dir / "t.safetensors")), target);
  auto jt = nlohmann::json::parse(t.out);
  EXPECT_GT(jt["counts"].value("int4", 0) + jt["counts"].value("int8", 0), 0);

  auto miss = deepseek(f.base() + "--out " + q(f.dir / "s.safetensors") + " --target-size 1KB");
  EXPECT_EQ(miss.exit_code, 1) << miss.err;
  EXPECT_CONTAINS(miss.err, "cannot be reached");
}

TEST(QuantizeCli, BadInputsGiveClearErrorsAndExitCodes) {
  Fixture f;
  const std::string out = " --out " + q(f.dir / "o.safetensors");
  auto none = deepseek("quantize --model " + q(f.model) + out);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_CONTAINS(none.err, "needs --calibration");

  auto missing = deepseek("quantize --model " + q(f.model) + " --calibration " + q(f.dir / "nope.jsonl") + out);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_CONTAINS(missing.err, (f.dir / "nope.jsonl").string() + " does not exist");

  write_file(f.dir / "junk.safetensors", "not a model at all");
  auto junk = deepseek("quantize --model " + q(f.dir / "junk.safetensors") + " --calibration " + q(f.calib) + out);
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_CONTAINS(junk.err, "--model: " + (f.dir / "junk.safetensors").string());

  write_file(f.dir / "bad.jsonl", "{\"text\": \"ok\"}\n{\"nope\": 1}\n");
  auto bad = deepseek("quantize --model " + q(f.model) + " --calibration " + q(f.dir / "bad.jsonl") + out);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_CONTAINS(bad.err, "bad.jsonl:2: expected an object");

  auto split = deepseek(f.base() + "--out " + q(f.dir / "o.safetensors") + " --split test");
  EXPECT_EQ(split.exit_code, 2);
  EXPECT_CONTAINS(split.err, "no texts in");

  auto both = deepseek(f.base() + "--out " + q(f.dir / "o.safetensors") + " --kl-budget 1 --target-size 1MB");
  EXPECT_EQ(both.exit_code, 2);
  auto group = deepseek(f.base() + "--out " + q(f.dir / "o.safetensors") + " --group-size 7");
  EXPECT_EQ(group.exit_code, 2);
  EXPECT_FALSE(fs::exists(f.dir / "o.safetensors"));
}

TEST(QuantizeCli, UniformInt8NeedsNoCalibration) {
  Fixture f;
  auto r = deepseek("quantize --model " + q(f.model) + " --out " + q(f.dir / "u.safetensors") + " --uniform int8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto m = model::ModelFile::open((f.dir / "u.safetensors").string());
  EXPECT_EQ(m->matrix("layers.1.ffn.down").precision, Precision::kInt8);
  EXPECT_EQ(m->matrix("layers.1.local.k").precision, Precision::kFp16);
}

// A segment_labels head's lexical-bag table (SPEC.md section 3) is not searched: it keeps its stored
// precision and bytes, beside the projection, whatever the budget or --uniform precision.
TEST(QuantizeCli, LexicalTablesKeepTheirStoredPrecisionAndBytes) {
  Fixture f(R"([{"name":"clauses","type":"segment_labels","labels":["payment","delivery"],)"
            R"("lexical":{"buckets":64,"dim":16,"max_n":2}},{"name":"triage","type":"sequence_classes","labels":["a","b"]}])");
  auto src = model::ModelFile::open(f.model);
  ASSERT_EQ(src->matrix("heads.clauses.lexical.embed").precision, Precision::kFp16);
  auto same_bytes = [&](const model::ModelFile& out, const std::string& name) {
    const auto& a = src->tensor(name);
    const auto& b = out.tensor(name);
    return std::string_view(reinterpret_cast<const char*>(src->data(a)), a.bytes()) ==
           std::string_view(reinterpret_cast<const char*>(out.data(b)), b.bytes());
  };
  for (const char* mode : {"--uniform int8", "--uniform fp32", "--kl-budget 1000"}) {
    SCOPED_TRACE(mode);
    const fs::path out = f.dir / "lex.safetensors";
    auto r = deepseek(f.base() + "--out " + q(out) + " " + mode + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto m = model::ModelFile::open(out.string());
    EXPECT_EQ(m->matrix("heads.clauses.lexical.embed").precision, Precision::kFp16);
    EXPECT_TRUE(same_bytes(*m, "heads.clauses.lexical.embed.weight"));
    EXPECT_TRUE(same_bytes(*m, "heads.clauses.lexical.proj.weight"));
    auto j = nlohmann::json::parse(r.out);
    bool listed = false;
    for (const auto& row : j["table"])
      if (row["matrix"] == "heads.clauses.lexical.embed") {
        listed = true;
        EXPECT_EQ(row["precision"], "fp16");
        EXPECT_EQ(row["rule"], "lexical table: as stored");
        EXPECT_TRUE(row["kl_candidates"].empty());
      }
    EXPECT_TRUE(listed);
  }
}

}  // namespace
}  // namespace ds::test
