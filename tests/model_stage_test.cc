// The `model.encode` stage and the `deepseek model` command: outputs on real tokenized documents,
// batching and per-document failures, load-time configuration errors (broken model file, tokenizer
// mismatch, path: auto, bad options), and `deepseek model info` on good and broken files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "config/pipeline_config.h"
#include "core/hash.h"
#include "core/pipeline_loader.h"
#include "core/registry.h"
#include "model/encode_stage.h"
#include "model/encoder.h"
#include "model/random_model.h"
#include "plugin/plugin_host.h"
#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;

fs::path tokenizer_path() { return source_dir() / "data/models/tokenizer.model"; }
// Appended rather than "'" + s + "'": GCC 12 reports a false -Wrestrict in the inserting operator+
// once q() is compiled out of line.
std::string q(const fs::path& p) {
  std::string s = "'";
  s += p.string();
  s += "'";
  return s;
}
CommandResult deepseek(const std::string& args) { return run_command(q(deepseek_binary()) + " " + args); }

// A random model trained "with" the project tokenizer: vocabulary 16000, tokenizer hash matching.
std::string write_model(const TempDir& dir, const std::string& name = "m.safetensors", int vocab = 16000) {
  model::RandomModelSpec spec;
  spec.config.vocab_size = vocab;
  spec.tokenizer = sha256_tagged(read_file(tokenizer_path()));
  model::make_random_model(spec).write((dir / name).string());
  return (dir / name).string();
}

std::string pipeline(const std::string& model_options, const fs::path& out = {}) {
  std::string y = "version: 1\nname: m\ninput:\n  include: ['*']\nstages:\n  - decode\n  - normalize\n  - segment\n"
                  "  - tokenize: {model: " + q(tokenizer_path()) + "}\n  - model.encode: {" + model_options + "}\n";
  if (!out.empty()) y += "sinks:\n  - sqlite: {path: " + q(out / "r.db") + "}\n";
  return y + "run: {threads: 1, batch_size: 4, progress: none}\n";
}

// Loads a pipeline file; returns the configuration errors as text ("" when it is valid).
std::string load_errors(const fs::path& yaml, PipelineConfig* out = nullptr) {
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  try {
    PipelineConfig cfg = load_pipeline(yaml, registry, host);
    if (out) *out = std::move(cfg);
    return "";
  } catch (const ConfigErrors& e) {
    std::string text;
    for (const ConfigError& err : e.errors()) text += err.format() + "\n";
    return text;
  }
}

// The pipeline's stages, created as the engine creates them, run over `docs` in order.
void run_pipeline(const fs::path& yaml, std::vector<Document>& docs) {
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  PipelineConfig cfg = load_pipeline(yaml, registry, host);
  std::vector<Document*> ptrs;
  for (Document& d : docs) ptrs.push_back(&d);
  for (const StageConfig& sc : cfg.stages) {
    auto stage = (*registry.stage_factory(sc.stage))(sc.options, StageContext{sc.instance_name, cfg.base_dir, 0});
    std::vector<Document*> live;
    for (Document* d : ptrs)
      if (!d->failed()) live.push_back(d);
    stage->process_batch(live, sc.instance_name);
  }
}

Document text_doc(const std::string& text) {
  Document d;
  d.bytes = text;
  return d;
}

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(ModelStage, SegmentsMapToTheTokensThatStartInThem) {
  std::vector<Token> tokens = {{1, {0, 3}}, {2, {3, 5}}, {3, {6, 9}}, {4, {9, 12}}};
  std::vector<Segment> segs = {{{0, 5}, "sentence", "", 0}, {{5, 12}, "sentence", "", 0}, {{12, 12}, "sentence", "", 0},
                               {{4, 7}, "sentence", "", 0}};
  auto r = segment_token_ranges(segs, tokens);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].begin, 0);
  EXPECT_EQ(r[0].end, 2);
  EXPECT_EQ(r[1].begin, 2);
  EXPECT_EQ(r[1].end, 4);
  EXPECT_EQ(r[2].begin, r[2].end);
  EXPECT_EQ(r[3].begin, 2);  // the token starting at 6 is the only one starting in [4, 7)
  EXPECT_EQ(r[3].end, 3);
}

TEST(ModelStage, HiddenFalseLeavesOutTheHiddenStatesButKeepsEveryHead) {
  TempDir dir;
  const std::string m = write_model(dir);
  write_file(dir / "on.yaml", pipeline("model: " + q(m) + ", path: light"));
  write_file(dir / "off.yaml", pipeline("model: " + q(m) + ", path: light, hidden: false"));
  const std::string text = "The Buyer shall pay USD 10,000 within 30 days. Late payment bears interest.\n";
  std::vector<Document> on, off;
  on.push_back(text_doc(text));
  off.push_back(text_doc(text));
  run_pipeline(dir / "on.yaml", on);
  run_pipeline(dir / "off.yaml", off);
  ASSERT_FALSE(off[0].failed()) << off[0].error;
  EXPECT_EQ(on[0].outputs.count("hidden"), 1u);
  EXPECT_EQ(off[0].outputs.count("hidden"), 0u);
  for (const char* head : {"tags", "clauses", "triage", "embed"}) {
    ASSERT_EQ(off[0].outputs.count(head), 1u) << head;
    EXPECT_EQ(off[0].outputs[head].data, on[0].outputs[head].data) << head;
  }
}

TEST(ModelStage, FillsHiddenAndEveryHeadForRealDocuments) {
  TempDir dir;
  const std::string m = write_model(dir);
  write_file(dir / "p.yaml", pipeline("model: " + q(m) + ", path: light, top_k: '0.5,min=4', threads: 2"));
  std::vector<Document> docs;
  docs.push_back(text_doc("第一条 合同标的\n甲方向乙方采购设备，总价人民币十万元。乙方应于2024年3月1日前交货。\n"));
  docs.push_back(text_doc("The Buyer shall pay USD 10,000 within 30 days. Late payment bears interest.\n"));
  docs.push_back(text_doc(""));
  run_pipeline(dir / "p.yaml", docs);
  for (Document& d : docs) {
    ASSERT_FALSE(d.failed()) << d.failed_stage << ": " << d.error;
    const int64_t T = static_cast<int64_t>(d.tokens.size()), S = static_cast<int64_t>(d.segments.size());
    ASSERT_EQ(d.outputs.count("hidden"), 1u);
    EXPECT_EQ(d.outputs["hidden"].shape, (std::vector<int64_t>{T, 32}));
    EXPECT_EQ(d.outputs["tags"].shape, (std::vector<int64_t>{T, 5}));
    EXPECT_EQ(d.outputs["clauses"].shape, (std::vector<int64_t>{S, 4}));
    EXPECT_EQ(d.outputs["triage"].shape, (std::vector<int64_t>{4}));
    EXPECT_EQ(d.outputs["embed"].shape, (std::vector<int64_t>{16}));
    EXPECT_EQ(d.outputs["hidden"].data.size(), size_t(T) * 32);
    // Head outputs carry their labels (plug-ins look them up by name); hidden states have none.
    EXPECT_TRUE(d.outputs["hidden"].labels.empty());
    EXPECT_EQ(d.outputs["tags"].labels.size(), 5u);
    EXPECT_EQ(d.outputs["clauses"].labels.size(), 4u);
    EXPECT_EQ(d.outputs["triage"].labels.size(), 4u);
    EXPECT_TRUE(d.outputs["embed"].labels.empty());
  }
  ASSERT_GT(docs[0].tokens.size(), 10u);
  ASSERT_GT(docs[0].segments.size(), 1u);

  // The stage's outputs are the encoder's outputs for the same ids, path and top-k.
  model::Encoder enc(model::ModelFile::open(m));
  std::vector<int32_t> ids;
  for (const Token& t : docs[0].tokens) ids.push_back(t.id);
  std::vector<model::TokenRange> spans = segment_token_ranges(docs[0].segments, docs[0].tokens);
  model::SequenceInput in{ids, spans};
  model::EncodeRequest req;
  req.path = enc.path("light");
  std::string err;
  req.top_k = model::parse_top_k_text("0.5,min=4", &err);
  auto want = enc.encode({&in, 1}, req, nullptr);
  double diff = 0;
  for (size_t i = 0; i < want[0].hidden.data.size(); ++i)
    diff = std::max(diff, double(std::fabs(want[0].hidden.data[i] - docs[0].outputs["hidden"].data[i])));
  EXPECT_LT(diff, 1e-5);
  EXPECT_EQ(want[0].heads.at("clauses").shape, docs[0].outputs["clauses"].shape);
}

TEST(ModelStage, SmallTokenBudgetsGiveTheSameOutputsAndABadDocumentFailsAlone) {
  TempDir dir;
  const std::string m = write_model(dir, "m.safetensors", 16000);
  write_file(dir / "big.yaml", pipeline("model: " + q(m)));
  write_file(dir / "small.yaml", pipeline("model: " + q(m) + ", max_tokens_per_batch: 8"));
  auto make_docs = [] {
    std::vector<Document> docs;
    for (int i = 0; i < 5; ++i) docs.push_back(text_doc("Clause " + std::to_string(i) + ": the Seller delivers goods.\n"));
    return docs;
  };
  std::vector<Document> big = make_docs(), small = make_docs();
  run_pipeline(dir / "big.yaml", big);
  run_pipeline(dir / "small.yaml", small);
  for (size_t i = 0; i < big.size(); ++i) {
    ASSERT_FALSE(small[i].failed()) << small[i].error;
    EXPECT_EQ(big[i].outputs["hidden"].data.size(), small[i].outputs["hidden"].data.size());
    double diff = 0;
    for (size_t k = 0; k < big[i].outputs["hidden"].data.size(); ++k)
      diff = std::max(diff, double(std::fabs(big[i].outputs["hidden"].data[k] - small[i].outputs["hidden"].data[k])));
    EXPECT_LT(diff, 1e-5) << i;
  }

  // A model with a smaller vocabulary than the tokenizer's: documents with ids past it fail alone.
  model::RandomModelSpec spec;
  spec.config.vocab_size = 300;
  spec.tokenizer = sha256_tagged(read_file(tokenizer_path()));
  model::make_random_model(spec).write((dir / "small_vocab.safetensors").string());
  write_file(dir / "sv.yaml", pipeline("model: " + q(dir / "small_vocab.safetensors")));
  std::vector<Document> docs;
  docs.push_back(text_doc("the the the\n"));
  docs.push_back(text_doc("甲方向乙方采购设备，总价人民币十万元。\n"));
  docs.push_back(text_doc("of the\n"));
  run_pipeline(dir / "sv.yaml", docs);
  int failed = 0;
  for (Document& d : docs) {
    bool high = std::any_of(d.tokens.begin(), d.tokens.end(), [](const Token& t) { return t.id >= 300; });
    EXPECT_EQ(d.failed(), high) << d.error;
    if (d.failed()) {
      ++failed;
      EXPECT_EQ(d.failed_stage, "model.encode");
      EXPECT_CONTAINS(d.error, "outside the vocabulary [0, 300)");
    } else {
      EXPECT_EQ(d.outputs.count("hidden"), 1u);
    }
  }
  EXPECT_GE(failed, 1);
  EXPECT_LE(failed, 2);
}

TEST(ModelStage, LoadTimeProblemsAreConfigurationErrorsNamingTheFileOrOption) {
  TempDir dir;
  const std::string m = write_model(dir);
  const std::string good = read_file(m);
  write_file(dir / "broken.safetensors", good.substr(0, good.size() / 2));
  struct Case {
    std::string options;
    std::vector<std::string> expect;
  };
  std::vector<Case> cases = {
      {"model: " + q(dir / "broken.safetensors"),
       {"stages[4].model.encode.model", "cannot load the model", (dir / "broken.safetensors").string(), "tensor '"}},
      {"model: " + q(dir / "missing.safetensors"), {"missing.safetensors", "cannot open"}},
      {"model: " + q(m) + ", path: auto", {"stages[4].model.encode.path", "path: auto needs a router", "m.router.yaml"}},
      {"model: " + q(m) + ", path: turbo", {"has no path 'turbo'", "heavy, light, standard, or auto"}},
      {"model: " + q(m) + ", top_k: lots", {"stages[4].model.encode.top_k", "expected a top-k spec"}},
      {"model: " + q(m) + ", attn_heads: 9", {"stages[4].model.encode.path", "attn_heads is 9, expected 1..4"}},
      {"model: " + q(m) + ", skip_ffn_layers: '0,x'", {"skip_ffn_layers", "layer indices"}},
      {"model: " + q(m) + ", skip_ffn_layers: '5'", {"skip_ffn_layers holds 5"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.options);
    write_file(dir / "p.yaml", pipeline(c.options));
    std::string errors = load_errors(dir / "p.yaml");
    ASSERT_FALSE(errors.empty());
    for (const std::string& s : c.expect) EXPECT_CONTAINS(errors, s);
  }
  write_file(dir / "p.yaml", pipeline("model: " + q(m) + ", path: heavy, skip_ffn_layers: none, ffn_ratio: 1.0"));
  EXPECT_EQ(load_errors(dir / "p.yaml"), "");

  // A model trained with another tokenizer is refused, naming both.
  model::RandomModelSpec other;
  other.config.vocab_size = 16000;
  model::make_random_model(other).write((dir / "other.safetensors").string());
  write_file(dir / "p.yaml", pipeline("model: " + q(dir / "other.safetensors")));
  std::string errors = load_errors(dir / "p.yaml");
  EXPECT_CONTAINS(errors, "was trained with tokenizer sha256:0000");
  EXPECT_CONTAINS(errors, "tokenizer.model (" + sha256_tagged(read_file(tokenizer_path())));
}

TEST(ModelStage, CliRunsThePipelineAndRefusesABrokenModelWithExitCode2) {
  TempDir dir;
  const std::string m = write_model(dir);
  write_file(dir / "in/a.txt", "第一条 合同标的\n甲方向乙方采购设备。\n");
  write_file(dir / "in/b.txt", "The Buyer shall pay within 30 days.\n");
  write_file(dir / "p.yaml", pipeline("model: " + q(m), dir / "out"));
  auto r = deepseek("run " + q(dir / "p.yaml") + " " + q(dir / "in") + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_CONTAINS(r.out, "\"done\":2");
  EXPECT_CONTAINS(r.out, "\"model.encode\"");

  const std::string good = read_file(m);
  write_file(dir / "broken.safetensors", good.substr(0, 100));
  write_file(dir / "bad.yaml", pipeline("model: " + q(dir / "broken.safetensors"), dir / "out2"));
  for (const char* cmd : {"run", "validate"}) {
    auto b = deepseek(std::string(cmd) + " " + q(dir / "bad.yaml") + " " + (std::string(cmd) == "run" ? q(dir / "in") : ""));
    EXPECT_EQ(b.exit_code, 2) << cmd << b.out << b.err;
    EXPECT_CONTAINS(b.err, "bad.yaml:10:5: stages[4].model.encode.model: cannot load the model: " +
                               (dir / "broken.safetensors").string());
  }
}

TEST(ModelCli, InfoDescribesAValidFile) {
  TempDir dir;
  model::RandomModelSpec spec;
  spec.overrides = {{"layers.0.global.q", model::Precision::kFp16}, {"layers.1.ffn.up", model::Precision::kInt8}};
  model::make_random_model(spec).write((dir / "m.safetensors").string());
  auto r = deepseek("model info " + q(dir / "m.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"deepseek-encoder, spec revision 1", "parameters: ", "tokenizer:  sha256:0000",
                        "standard (default)", "light: ffn_ratio 0.5 (24 units), 2 global + 1 local heads",
                        "skips the FFN of layers 0", "tags (token_tags, 5 labels): O B-AMT I-AMT B-DATE I-DATE",
                        "embed (embedding, dim 16)", "precision: fp16 1 fp32 19 int8 1 (of 21 weight matrices)"})
    EXPECT_CONTAINS(r.out, s);

  auto j = deepseek("model info " + q(dir / "m.safetensors") + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  auto f = model::ModelFile::open((dir / "m.safetensors").string());
  EXPECT_EQ(doc["parameters"].get<int64_t>(), f->parameter_count());
  EXPECT_EQ(doc["size_bytes"].get<uint64_t>(), fs::file_size(dir / "m.safetensors"));
  EXPECT_EQ(doc["config"]["d_model"], 32);
  EXPECT_EQ(doc["config"]["top_k"]["fixed"], 16);
  EXPECT_EQ(doc["paths"]["heavy"]["top_k"]["fraction"], 1.0);
  EXPECT_EQ(doc["heads"][1]["labels"].size(), 4u);
  EXPECT_EQ(doc["heads"][3]["dim"], 16);
  EXPECT_EQ(doc["precision"]["counts"]["int8"], 1);
  EXPECT_EQ(doc["precision"]["matrices"].size(), 21u);
  EXPECT_EQ(doc["precision"]["matrices"]["layers.0.global.q"], "fp16");
  EXPECT_EQ(doc["tokenizer"], "sha256:" + std::string(64, '0'));
}

TEST(ModelCli, InfoShowsALexicalBagAndItsTable) {
  TempDir dir;
  model::RandomModelSpec spec;
  spec.heads_json = R"([{"name":"clauses","type":"segment_labels","labels":["payment","delivery"],)"
                    R"("lexical":{"buckets":50,"dim":8,"max_n":3}}])";
  spec.overrides = {{"heads.clauses.lexical.embed", model::Precision::kFp16}};
  model::make_random_model(spec).write((dir / "m.safetensors").string());
  const std::string info = "model info " + q(dir / "m.safetensors");
  auto r = deepseek(info);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"clauses (segment_labels, 2 labels): payment delivery",
                        "lexical bag: 50 buckets of dim 8, n-grams up to 3 (fp16 table)",
                        "precision: fp16 1 fp32 21 (of 22 weight matrices)"})
    EXPECT_CONTAINS(r.out, s);
  auto j = deepseek(info + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["heads"][0]["lexical"], nlohmann::json({{"buckets", 50}, {"dim", 8}, {"max_n", 3}, {"shrink", 0}, {"length_bins", 0}, {"position_bins", 0}}));
  EXPECT_EQ(doc["precision"]["matrices"]["heads.clauses.lexical.embed"], "fp16");
}

TEST(ModelCli, InfoOnABrokenFileExitsWith2NamingTheProblem) {
  TempDir dir;
  const std::string bytes = model::make_random_model({}).serialize();
  write_file(dir / "cut.safetensors", bytes.substr(0, bytes.size() - 10));
  auto r = deepseek("model info " + q(dir / "cut.safetensors"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_CONTAINS(r.err, (dir / "cut.safetensors").string() + ": tensor '");
  EXPECT_CONTAINS(r.err, "truncated?");
  auto missing = deepseek("model info " + q(dir / "nope.safetensors"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_CONTAINS(missing.err, "nope.safetensors: cannot open");
  EXPECT_EQ(deepseek("model").exit_code, 2);
  EXPECT_EQ(deepseek("model list").exit_code, 2);
  auto help = deepseek("--help");
  EXPECT_CONTAINS(help.out, "model info FILE");
  EXPECT_EQ(deepseek("model --help").exit_code, 0);
}

}  // namespace
}  // namespace ds::test
