// Pipeline YAML loading: resolution, every error class, suggestions, ${VAR} expansion.
// Error cases live as data in tests/golden/config_errors/<case>/{pipeline.yaml,expected.txt}.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "config/env_expand.h"
#include "config/pipeline_config.h"
#include "config/suggest.h"
#include "test_util.h"

namespace ds {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_file;

std::unique_ptr<Stage> no_stage(const Options&, const StageContext&) { return nullptr; }
std::unique_ptr<Sink> no_sink(const Options&) { return nullptr; }

// Stand-ins for the built-in stages and sinks, with realistic data flow and one option of each type.
const Registry& fake_registry() {
  static const Registry registry = [] {
    Registry r;
    r.add_stage({"decode", "bytes to text", {opt_string("encoding", "auto", "charset or auto"),
                                             opt_enum("on_error", "replace", {"fail", "replace"}, "bad bytes")},
                 {Field::kBytes}, {Field::kText}},
                no_stage);
    r.add_stage({"normalize", "NFKC", {opt_enum("form", "nfkc", {"nfc", "nfkc"}, "normal form"),
                                       opt_bool("lowercase", false, "fold case")},
                 {Field::kText}, {Field::kNormalized}},
                no_stage);
    r.add_stage({"segment", "sentences", {opt_string("language", "auto", "language code or auto"),
                                          opt_bool("clauses", false, "split clauses"),
                                          opt_int("max_chars", 2000, "longest segment", 1, 100000)},
                 {Field::kNormalized}, {Field::kSegments}},
                no_stage);
    r.add_stage({"tokenize", "pieces", {opt_path("model", std::nullopt, "SentencePiece model file"),
                                        opt_int("max_tokens", 512, "per segment", 1, 8192),
                                        opt_float("dropout", 0.0, "sampling", 0.0, 1.0),
                                        opt_strings("special", {}, "extra symbols")},
                 {Field::kNormalized, Field::kSegments}, {Field::kTokens}},
                no_stage);
    r.add_stage({"tag", "annotations", {}, {Field::kTokens}, {Field::kAnnotations}, "demo"}, no_stage);
    r.add_sink({"jsonl", "lines", {opt_path("path", std::nullopt, "output file")}}, no_sink);
    r.add_sink({"sqlite", "db", {opt_path("path", std::nullopt, "database file"),
                                 opt_bool("store_text", false, "keep text")}},
               no_sink);
    r.add_sink({"csv", "table", {opt_path("path", std::nullopt, "output file"), opt_bool("bom", false, "BOM")}},
               no_sink);
    return r;
  }();
  return registry;
}

PipelineConfig load(const fs::path& file) { return validate_pipeline(parse_pipeline_file(file), fake_registry()); }

// Loads YAML text written to dir/pipeline.yaml; returns the formatted errors (empty when valid).
std::vector<std::string> errors_of(const fs::path& file) {
  try {
    load(file);
  } catch (const ConfigErrors& e) {
    std::vector<std::string> out;
    for (const ConfigError& err : e.errors()) out.push_back(err.format());
    return out;
  }
  return {};
}

std::vector<std::string> errors_of_text(const std::string& yaml) {
  TempDir dir;
  write_file(dir / "p.yaml", yaml);
  std::vector<std::string> errs = errors_of(dir / "p.yaml");
  std::string prefix = (dir / "p.yaml").string();
  for (std::string& e : errs)
    if (e.rfind(prefix, 0) == 0) e = "p.yaml" + e.substr(prefix.size());
  return errs;
}

std::string single_error(const std::string& yaml) {
  std::vector<std::string> errs = errors_of_text(yaml);
  if (errs.size() != 1) {
    std::string all;
    for (const auto& e : errs) all += "\n  " + e;
    ADD_FAILURE() << "expected exactly one error, got " << errs.size() << ":" << all;
    return "";
  }
  return errs[0];
}

const std::string kMinimal = "stages: [decode, normalize, segment, tokenize: {model: m.model}]\n";

// ---- golden error cases -------------------------------------------------------------------------

std::string trim_end(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

TEST(ConfigGolden, EveryCaseMatchesExpectedErrors) {
  fs::path root = test::source_dir() / "tests" / "golden" / "config_errors";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  setenv("DS_TEST_SET", "from-env", 1);
  unsetenv("DS_TEST_UNSET");
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory()) cases.push_back(entry.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 15u);
  const bool update = std::getenv("DS_UPDATE_GOLDEN") != nullptr;
  for (const fs::path& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    fs::path expected_file = dir / "expected.txt";
    std::string actual;
    for (const std::string& e : errors_of(dir / "pipeline.yaml")) actual += e + "\n";
    actual = replace_all(actual, dir.string() + "/", "");
    if (update) {
      std::ofstream(expected_file, std::ios::binary) << actual;
      continue;
    }
    ASSERT_TRUE(fs::exists(expected_file)) << expected_file;
    EXPECT_FALSE(actual.empty()) << "the pipeline loaded without errors";
    EXPECT_EQ(trim_end(test::read_file(expected_file)), trim_end(actual));
  }
}

// ---- resolution ---------------------------------------------------------------------------------

TEST(ConfigResolve, FillsDefaultsResolvesPathsAndNamesInstances) {
  TempDir dir;
  fs::create_directories(dir / "cfg");
  write_file(dir / "cfg" / "batch.yaml", R"(version: 1
input:
  paths: [../docs, /srv/in/./x]
  exclude: ["*.bak"]
stages:
  - decode: {on_error: fail}
  - normalize
  - segment:
  - tokenize: {model: models/../tok.model, dropout: 1, special: ["<c>"]}
  - segment: {max_chars: 40}
sinks:
  - jsonl: {path: out/r.jsonl}
run:
  threads: 4
)");
  PipelineConfig cfg = load(dir / "cfg" / "batch.yaml");
  fs::path base = (dir / "cfg").lexically_normal();
  EXPECT_EQ(cfg.name, "batch");
  EXPECT_EQ(cfg.base_dir, base);
  EXPECT_EQ(cfg.file, base / "batch.yaml");

  EXPECT_EQ(cfg.input.get_strings("paths"),
            (std::vector<std::string>{(dir.path() / "docs").lexically_normal().string(), "/srv/in/x"}));
  EXPECT_EQ(cfg.input.get_strings("include"), std::vector<std::string>{"*"});
  EXPECT_EQ(cfg.input.get_strings("exclude"), std::vector<std::string>{"*.bak"});
  EXPECT_TRUE(cfg.input.get_bool("recursive"));
  EXPECT_FALSE(cfg.input.get_bool("follow_symlinks"));
  EXPECT_EQ(cfg.input.get_int("max_file_bytes"), 64 * 1024 * 1024);
  EXPECT_EQ(cfg.input.get_string("encoding"), "auto");

  ASSERT_EQ(cfg.stages.size(), 5u);
  std::vector<std::string> instances;
  for (const StageConfig& s : cfg.stages) instances.push_back(s.instance_name);
  EXPECT_EQ(instances, (std::vector<std::string>{"decode", "normalize", "segment", "tokenize", "segment#2"}));
  EXPECT_EQ(cfg.stages[0].options.get_string("on_error"), "fail");
  EXPECT_EQ(cfg.stages[0].options.get_string("encoding"), "auto");
  EXPECT_EQ(cfg.stages[2].options.get_int("max_chars"), 2000);
  EXPECT_EQ(cfg.stages[4].options.get_int("max_chars"), 40);
  EXPECT_EQ(cfg.stages[3].options.get_string("model"), (base / "tok.model").string());
  EXPECT_DOUBLE_EQ(cfg.stages[3].options.get_float("dropout"), 1.0);
  EXPECT_EQ(cfg.stages[3].options.get_strings("special"), std::vector<std::string>{"<c>"});
  EXPECT_EQ(cfg.stages[3].where.line, 9);
  EXPECT_EQ(cfg.stages[3].where.column, 5);

  // Every declared option, in declaration order.
  std::vector<std::string> names;
  for (const auto& [name, value] : cfg.stages[3].options.values()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"model", "max_tokens", "dropout", "special"}));

  ASSERT_EQ(cfg.sinks.size(), 1u);
  EXPECT_EQ(cfg.sinks[0].type, "jsonl");
  EXPECT_EQ(cfg.sinks[0].options.get_string("path"), (base / "out" / "r.jsonl").string());
  EXPECT_EQ(cfg.run.get_int("threads"), 4);
  EXPECT_EQ(cfg.run.get_int("batch_size"), 8);
  EXPECT_EQ(cfg.run.get_string("progress"), "auto");
  EXPECT_EQ(cfg.config_hash.rfind("sha256:", 0), 0u);
  EXPECT_EQ(cfg.config_hash.size(), 7u + 64u);
}

TEST(ConfigResolve, NamePluginsAndZeroSinks) {
  TempDir dir;
  write_file(dir / "p.yaml", "name: legal-batch\nplugins: [legal, ./libx.so]\n" + kMinimal);
  RawPipeline raw = parse_pipeline_file(dir / "p.yaml");
  ASSERT_EQ(raw.plugins.size(), 2u);
  EXPECT_EQ(raw.plugins[1].name_or_path, "./libx.so");
  EXPECT_EQ(raw.plugins[1].where.line, 2);
  EXPECT_EQ(raw.plugins[1].where.column, 18);
  PipelineConfig cfg = validate_pipeline(raw, fake_registry());
  EXPECT_EQ(cfg.name, "legal-batch");
  EXPECT_TRUE(cfg.sinks.empty());
  EXPECT_NE(cfg.resolved_yaml.find("plugins: [legal, ./libx.so]"), std::string::npos) << cfg.resolved_yaml;
}

TEST(ConfigResolve, ExpandsEnvironmentVariables) {
  TempDir dir;
  setenv("DS_TEST_OUT", "/var/out", 1);
  setenv("DS_TEST_THREADS", "3", 1);
  setenv("DS_TEST_EMPTY", "", 1);
  unsetenv("DS_TEST_UNSET");
  write_file(dir / "p.yaml", R"(stages:
  - decode: {encoding: "$$HOME-${DS_TEST_EMPTY:-x}"}
  - normalize
  - segment: {language: "${DS_TEST_UNSET:-zh}"}
  - tokenize: {model: "${DS_TEST_UNSET:-models}/t.model"}
sinks:
  - jsonl: {path: "${DS_TEST_OUT}/r.jsonl"}
run: {threads: "${DS_TEST_THREADS}"}
)");
  PipelineConfig cfg = load(dir / "p.yaml");
  EXPECT_EQ(cfg.stages[0].options.get_string("encoding"), "$HOME-x");
  EXPECT_EQ(cfg.stages[2].options.get_string("language"), "zh");
  EXPECT_EQ(cfg.stages[3].options.get_string("model"), (dir.path() / "models" / "t.model").lexically_normal().string());
  EXPECT_EQ(cfg.sinks[0].options.get_string("path"), "/var/out/r.jsonl");
  EXPECT_EQ(cfg.run.get_int("threads"), 3);
}

TEST(ConfigResolve, UnsetVariableIsReportedAtTheReference) {
  unsetenv("DS_TEST_UNSET");
  EXPECT_EQ(single_error(kMinimal + "sinks:\n  - jsonl: {path: \"out/${DS_TEST_UNSET}/r.jsonl\"}\n"),
            "p.yaml:3:24: sinks[0].jsonl.path: environment variable 'DS_TEST_UNSET' is not set "
            "(set it, or write '${DS_TEST_UNSET:-default}')");
}

TEST(ConfigResolve, HashIgnoresRunSectionButNotStageOptions) {
  TempDir dir;
  auto hash_of = [&](const std::string& yaml) {
    write_file(dir / "p.yaml", yaml);
    return load(dir / "p.yaml");
  };
  PipelineConfig a = hash_of(kMinimal + "run: {threads: 1}\n");
  PipelineConfig b = hash_of(kMinimal + "run: {threads: 8, progress: none}\n");
  PipelineConfig c = hash_of("stages: [decode, normalize, segment: {clauses: true}, tokenize: {model: m.model}]\n");
  PipelineConfig a2 = hash_of(kMinimal + "run: {threads: 1}\n");
  EXPECT_EQ(a.config_hash, b.config_hash);
  EXPECT_NE(a.resolved_yaml, b.resolved_yaml);
  EXPECT_NE(a.config_hash, c.config_hash);
  EXPECT_EQ(a.resolved_yaml, a2.resolved_yaml);
  EXPECT_EQ(a.config_hash, a2.config_hash);
}

TEST(ConfigResolve, ResolvedYamlReadsBackToTheSameConfig) {
  TempDir dir;
  write_file(dir / "p.yaml", R"(name: rt
input: {paths: [in], include: ["*.txt", "123"]}
stages:
  - decode: {encoding: "true"}
  - normalize
  - segment: {language: "007"}
  - tokenize: {model: m.model, dropout: 0.25}
sinks: [sqlite: {path: out.db}, csv: {path: "", bom: true}]
run: {batch_size: 2}
)");
  PipelineConfig first = load(dir / "p.yaml");
  EXPECT_NE(first.resolved_yaml.find("  - tokenize:\n      model: " + (dir.path() / "m.model").string() +
                                     "\n      max_tokens: 512\n      dropout: 0.25\n      special: []\n"),
            std::string::npos)
      << first.resolved_yaml;
  EXPECT_NE(first.resolved_yaml.find("encoding: \"true\""), std::string::npos) << first.resolved_yaml;
  EXPECT_NE(first.resolved_yaml.find("run:\n  threads: 0\n  batch_size: 2\n  progress: auto\n"), std::string::npos)
      << first.resolved_yaml;
  write_file(dir / "resolved.yaml", first.resolved_yaml);
  PipelineConfig second = load(dir / "resolved.yaml");
  EXPECT_EQ(second.resolved_yaml, first.resolved_yaml);
  EXPECT_EQ(second.config_hash, first.config_hash);
  EXPECT_EQ(second.stages[2].options.get_string("language"), "007");
  EXPECT_EQ(second.sinks[1].options.get_string("path"), "");
}

// ---- errors, checked directly ---------------------------------------------------------------------

TEST(ConfigErrors, FileNotFoundAndDirectory) {
  TempDir dir;
  std::vector<std::string> errs = errors_of(dir / "nope.yaml");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], (dir / "nope.yaml").string() + ": cannot read the pipeline file: no such file");
  fs::create_directories(dir / "d.yaml");
  errs = errors_of(dir / "d.yaml");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], (dir / "d.yaml").string() + ": cannot read the pipeline file: it is a directory, not a YAML file");
}

TEST(ConfigErrors, NotYamlOrNotAMap) {
  EXPECT_EQ(single_error("stages: [decode\n"), "p.yaml:2:1: not valid YAML: end of sequence flow not found");
  EXPECT_EQ(single_error("- decode\n- normalize\n"),
            "p.yaml:1:1: expected a map of pipeline sections (version, name, plugins, input, stages, sinks, run), "
            "got a list");
  EXPECT_EQ(single_error("just words\n"),
            "p.yaml:1:1: expected a map of pipeline sections (version, name, plugins, input, stages, sinks, run), "
            "got 'just words'");
  EXPECT_EQ(single_error(""), "p.yaml:1:1: the file is empty; a pipeline is a map with at least a 'stages:' list");
  EXPECT_EQ(single_error("# only a comment\n"),
            "p.yaml:1:1: the file holds no YAML values (only comments?); a pipeline is a map with at least a 'stages:' "
            "list");
  EXPECT_EQ(single_error(std::string("stages: [decode]\nname: a\0b\n", 27)),
            "p.yaml:2:8: not valid YAML: the file contains NUL bytes (a pipeline file is UTF-8 text)");
}

TEST(ConfigErrors, EmptyInputPathIsReportedAtTheEntry) {
  EXPECT_EQ(single_error(kMinimal + "input:\n  paths: [a, \"\"]\n"),
            "p.yaml:3:14: input.paths[1]: expected a path, got an empty string");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(single_error(kMinimal + "run: {threads: abc}\n"),
            "p.yaml:2:16: run.threads: expected an integer in [0, 256], got 'abc'");
  EXPECT_EQ(single_error(kMinimal + "run: {batch_size: 1.5}\n"),
            "p.yaml:2:19: run.batch_size: expected an integer in [1, 4096], got '1.5'");
  EXPECT_EQ(single_error(kMinimal + "input: {recursive: yes}\n"),
            "p.yaml:2:20: input.recursive: expected true or false, got 'yes'");
  EXPECT_EQ(single_error(kMinimal + "input: {recursive: True}\n"),
            "p.yaml:2:20: input.recursive: expected true or false, got 'True'");
  EXPECT_EQ(single_error(kMinimal + "input: {include: \"*.txt\"}\n"),
            "p.yaml:2:18: input.include: expected a list of strings, got '*.txt' (write a list, e.g. [\"*.txt\"])");
  EXPECT_EQ(single_error(kMinimal + "input: {include: [a, [b]]}\n"),
            "p.yaml:2:22: input.include[1]: expected a string, got a list");
  EXPECT_EQ(single_error(kMinimal + "run: {threads: }\n"), "p.yaml:2:7: run.threads: expected an integer in [0, 256], got an empty value");
  EXPECT_EQ(single_error(kMinimal + "run: [threads]\n"), "p.yaml:2:6: run: expected a map of run options, got a list");
}

TEST(ConfigErrors, RangesChoicesAndFloats) {
  EXPECT_EQ(single_error(kMinimal + "run: {batch_size: 0}\n"),
            "p.yaml:2:19: run.batch_size: expected an integer in [1, 4096], got 0");
  EXPECT_EQ(single_error(kMinimal + "input: {max_file_bytes: -5}\n"),
            "p.yaml:2:25: input.max_file_bytes: expected an integer >= 1, got -5");
  EXPECT_EQ(single_error("stages: [decode, normalize, segment, tokenize: {model: m, dropout: 1.5}]\n"),
            "p.yaml:1:68: stages[3].tokenize.dropout: expected a number in [0, 1], got 1.5");
  EXPECT_EQ(single_error("stages: [decode: {on_error: ignore}]\n"),
            "p.yaml:1:29: stages[0].decode.on_error: expected one of: fail, replace; got 'ignore'");
  EXPECT_EQ(single_error("stages: [decode: {on_error: replce}]\n"),
            "p.yaml:1:29: stages[0].decode.on_error: expected one of: fail, replace; got 'replce' "
            "(did you mean 'replace'?)");
}

TEST(ConfigErrors, DuplicateKeysAtAnyDepth) {
  std::vector<std::string> errs =
      errors_of_text("stages:\n  - segment: {language: zh, language: en}\nrun: {threads: 1}\nrun: {threads: 2}\n");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0],
            "p.yaml:2:29: stages[0].segment.language: duplicate key 'language' (first given at line 2; YAML keeps "
            "only one of them)");
  EXPECT_EQ(errs[1], "p.yaml:4:1: run: duplicate key 'run' (first given at line 3; YAML keeps only one of them)");
}

TEST(ConfigErrors, DataFlowNamesTheMissingStage) {
  EXPECT_EQ(single_error("stages: [decode, segment, normalize]\n"),
            "p.yaml:1:18: stages[1]: stage 'segment' reads 'normalized', which no earlier stage adds "
            "(move 'normalize' before it)");
  std::vector<std::string> errs = errors_of_text("stages:\n  - decode\n  - tokenize: {model: m}\n");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0],
            "p.yaml:3:5: stages[1]: stage 'tokenize' reads 'normalized', which no earlier stage adds (add "
            "'normalize' before it)");
  EXPECT_EQ(errs[1],
            "p.yaml:3:5: stages[1]: stage 'tokenize' reads 'segments', which no earlier stage adds (add "
            "'segment' before it)");
  // Nothing is known after an unknown stage, so no guesses follow it.
  errs = errors_of_text("stages: [decode, normalise, segment]\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].find("unknown stage 'normalise'"), std::string::npos);
}

TEST(ConfigErrors, UnknownNamesGetSuggestions) {
  EXPECT_EQ(single_error("stages: [decode, normalize, segmnet]\n"),
            "p.yaml:1:29: stages[2]: unknown stage 'segmnet'; known stages: decode, normalize, segment, tag, tokenize "
            "(did you mean 'segment'?)");
  EXPECT_EQ(single_error(kMinimal + "sinks: [jsnol: {path: x}]\n"),
            "p.yaml:2:9: sinks[0]: unknown sink 'jsnol'; known sinks: csv, jsonl, sqlite (did you mean 'jsonl'?)");
  EXPECT_EQ(single_error("stages: [decode, normalize, segment: {langauge: en}]\n"),
            "p.yaml:1:39: stages[2].segment.langauge: unknown option 'langauge' for stage 'segment'; it takes: "
            "language, clauses, max_chars (did you mean 'language'?)");
  EXPECT_EQ(single_error("stages: [decode, legal.clauses]\n"),
            "p.yaml:1:18: stages[1]: unknown stage 'legal.clauses': no loaded plug-in provides stages named "
            "'legal.*' (is 'legal' listed under plugins:?)");
  EXPECT_EQ(single_error("plugins: [./lib/libds_legal.so]\nstages: [decode, legal.clauses]\n"),
            "p.yaml:2:18: stages[1]: unknown stage 'legal.clauses': no loaded plug-in provides stages named "
            "'legal.*' ('legal' is under plugins: but was not loaded)");
  EXPECT_EQ(single_error("stage: [decode]\n"),
            "p.yaml:1:1: stage: unknown top-level key 'stage'; a pipeline has: version, name, plugins, input, stages, "
            "sinks, run (did you mean 'stages'?)");
}

TEST(ConfigErrors, MultipleErrorsAreReportedTogetherInFileOrder) {
  TempDir dir;
  write_file(dir / "p.yaml", R"(run: {batch_size: 0}
stages:
  - decode: {on_error: nope}
  - normalize
  - tokenize
sinks: [csv]
input: {recursive: maybe}
)");
  try {
    load(dir / "p.yaml");
    FAIL() << "expected ConfigErrors";
  } catch (const ConfigErrors& e) {
    std::vector<std::string> paths;
    for (const ConfigError& err : e.errors()) paths.push_back(err.key_path);
    EXPECT_EQ(paths, (std::vector<std::string>{"run.batch_size", "stages[0].decode.on_error", "stages[2].tokenize.model",
                                               "stages[2]", "sinks[0].csv.path", "input.recursive"}));
    for (size_t i = 1; i < e.errors().size(); ++i) EXPECT_LE(e.errors()[i - 1].where.line, e.errors()[i].where.line);
    EXPECT_NE(std::string(e.what()).find(e.errors()[0].format()), std::string::npos);
  }
}

TEST(ConfigErrors, ValidateRequiresAParsedTree) {
  EXPECT_THROW(validate_pipeline(RawPipeline{}, fake_registry()), std::invalid_argument);
}

TEST(ConfigErrors, OnlyConfigErrorsEscapeForOddDocuments) {
  const char* docs[] = {
      "&a [*a]",
      "? [a, b]\n: c\n",
      "stages: [{? [x] : y}]\n",
      "stages: [decode: [1, 2]]\n",
      "stages: [[decode]]\n",
      "stages: [{}]\n",
      "stages: !!binary aGVsbG8=\n",
      "stages: [decode]\nsinks: {jsonl: {path: x}}\n",
      "stages: [decode]\ninput: {paths: [\"\"]}\n",
      "\xff\xfe\x00s\x00",
      "stages: [decode]\nrun: {threads: 99999999999999999999999}\n",
      "version: [1]\nname: {a: b}\nplugins: legal\n",
      "stages: [\"${\"]\n",
      "a: &x {b: *x}\n",
  };
  for (const char* doc : docs) {
    SCOPED_TRACE(doc);
    TempDir dir;
    write_file(dir / "p.yaml", doc);
    try {
      load(dir / "p.yaml");
      ADD_FAILURE() << "loaded without errors";
    } catch (const ConfigErrors& e) {
      EXPECT_FALSE(e.errors().empty());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "escaped: " << e.what();
    }
  }
}

TEST(ConfigErrorFormat, WithAndWithoutLocationAndSuggestion) {
  ConfigError e{{"p.yaml", 3, 7}, "stages[1]", "unknown stage 'x'", "did you mean 'y'?"};
  EXPECT_EQ(e.format(), "p.yaml:3:7: stages[1]: unknown stage 'x' (did you mean 'y'?)");
  ConfigError f{{"p.yaml", 0, 0}, "", "cannot read", ""};
  EXPECT_EQ(f.format(), "p.yaml: cannot read");
  ConfigErrors all({e, f});
  ASSERT_EQ(all.errors().size(), 2u);
  EXPECT_EQ(all.errors()[0].message, "cannot read");
}

// ---- helpers --------------------------------------------------------------------------------------

TEST(ConfigSuggest, DistanceAndClosestName) {
  EXPECT_EQ(config::edit_distance("segment", "segment"), 0);
  EXPECT_EQ(config::edit_distance("segmnt", "segment"), 1);
  EXPECT_EQ(config::edit_distance("sgement", "segment"), 1);  // one swap
  EXPECT_EQ(config::edit_distance("", "abc"), 3);
  std::vector<std::string> names = {"decode", "normalize", "segment", "tokenize"};
  EXPECT_EQ(config::closest_name("tokenzie", names), "tokenize");
  EXPECT_EQ(config::closest_name("Decode", names), "decode");
  EXPECT_EQ(config::closest_name("normalise", names), "normalize");
  EXPECT_EQ(config::closest_name("model", names), "");
  EXPECT_EQ(config::closest_name("xy", {"ab"}), "");
  EXPECT_EQ(config::closest_name("segment", names), "");
  // Long names tolerate more edits (a third of the length).
  EXPECT_EQ(config::closest_name("follow_symlnks_x", {"follow_symlinks"}), "follow_symlinks");
  EXPECT_EQ(config::did_you_mean("jsnol", {"csv", "jsonl"}), "did you mean 'jsonl'?");
}

TEST(ConfigEnv, ExpansionRules) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "A") return "alpha";
    if (name == "E") return "";
    return std::nullopt;
  };
  EXPECT_EQ(config::expand_env("x/${A}/y", env).value, "x/alpha/y");
  EXPECT_EQ(config::expand_env("${B:-def}", env).value, "def");
  EXPECT_EQ(config::expand_env("${E:-def}", env).value, "def");
  EXPECT_EQ(config::expand_env("${E}", env).value, "");
  EXPECT_EQ(config::expand_env("$$A $$${A} $x $", env).value, "$A $alpha $x $");
  config::EnvExpansion e = config::expand_env("ab${B}", env);
  EXPECT_EQ(e.error_offset, 2u);
  EXPECT_EQ(e.variable, "B");
  EXPECT_NE(e.error.find("'B' is not set"), std::string::npos);
  EXPECT_NE(config::expand_env("${A", env).error.find("unterminated"), std::string::npos);
  EXPECT_NE(config::expand_env("${1A}", env).error.find("invalid variable reference"), std::string::npos);
}

}  // namespace
}  // namespace ds
