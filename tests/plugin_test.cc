// The plug-in system: loading (by name, by path, through DS_PLUGIN_PATH), every refusal with its
// message, the stage adapter (errors, rollback, the document view), library lifetime, and the
// legal and medical keyword baselines on hand-built documents.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.h"
#include "ds/plugin.h"
#include "plugin/plugin_host.h"
#include "test_util.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

const fs::path kBuildPlugins = fs::path(DS_BINARY_DIR) / "plugins";
const fs::path kTestPlugins = fs::path(DS_TEST_PLUGIN_DIR);

std::string abi(uint32_t major, uint32_t minor) { return std::to_string(major) + "." + std::to_string(minor); }
const std::string kHostAbi = abi(DS_PLUGIN_ABI_MAJOR, DS_PLUGIN_ABI_MINOR);

// Sets DS_PLUGIN_PATH for one test and restores the previous value.
class ScopedPluginPath {
 public:
  explicit ScopedPluginPath(const std::string& value) {
    if (const char* old = std::getenv("DS_PLUGIN_PATH")) old_ = old;
    setenv("DS_PLUGIN_PATH", value.c_str(), 1);
  }
  ~ScopedPluginPath() {
    if (old_) setenv("DS_PLUGIN_PATH", old_->c_str(), 1);
    else unsetenv("DS_PLUGIN_PATH");
  }

 private:
  std::optional<std::string> old_;
};

// The PluginError message of loading `what`, or "" if it loaded.
std::string load_error(const std::string& what, const fs::path& base = {}) {
  PluginHost host;
  Registry registry;
  try {
    host.load(what, base, registry);
  } catch (const PluginError& e) {
    EXPECT_TRUE(registry.stage_names().empty()) << "a refused plug-in registered stages";
    return e.what();
  }
  return "";
}

std::unique_ptr<Stage> make_stage(const Registry& registry, const std::string& name, const Options& options = {},
                                  const std::string& instance = "") {
  const StageFactory* factory = registry.stage_factory(name);
  if (!factory) throw std::runtime_error("no stage " + name);
  StageContext context;
  context.instance_name = instance.empty() ? name : instance;
  return (*factory)(options, context);
}

Document make_doc(const std::string& path, const std::string& normalized) {
  Document d;
  d.source.path = path;
  d.text = normalized;
  d.normalized = normalized;
  return d;
}

// Runs one stage over documents the way the engine does.
void run(Stage& stage, std::vector<Document*> docs, const std::string& name) { stage.process_batch(docs, name); }

Span span_of(const std::string& text, const std::string& piece) {
  size_t at = text.find(piece);
  EXPECT_NE(at, std::string::npos) << piece;
  return {at, at + piece.size()};
}

std::string piece(const Document& d, const Annotation& a) {
  return d.normalized.substr(a.span.begin, a.span.end - a.span.begin);
}

StageSpec spec_named(const std::string& name, const std::string& doc) {
  StageSpec spec;
  spec.name = name;
  spec.doc = doc;
  return spec;
}

bool mapped(const fs::path& file) {
  void* h = dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (h) dlclose(h);
  return h != nullptr;
}

// ---- loading ----

TEST(PluginHost, LoadsLegalAndMedicalByNameFromTheBuildFolder) {
  PluginHost host;
  Registry registry;
  const PluginInfo& legal = host.load("legal", {}, registry);
  EXPECT_EQ(legal.name, "legal");
  EXPECT_EQ(legal.version, "0.1.0");
  EXPECT_EQ(legal.license, "Apache-2.0");
  EXPECT_EQ(legal.abi_major, static_cast<uint32_t>(DS_PLUGIN_ABI_MAJOR));
  EXPECT_EQ(legal.abi_minor, static_cast<uint32_t>(DS_PLUGIN_ABI_MINOR));
  EXPECT_EQ(fs::canonical(legal.file), fs::canonical(kBuildPlugins / "ds_legal.so"));
  EXPECT_EQ(legal.stages,
            (std::vector<std::string>{"legal.clauses", "legal.amounts", "legal.values", "legal.completeness",
                                      "legal.extract"}));

  const PluginInfo& medical = host.load("medical", {}, registry);
  EXPECT_EQ(medical.stages, (std::vector<std::string>{"medical.redflags", "medical.answer", "medical.triage"}));
  EXPECT_EQ(registry.stage_names(), (std::vector<std::string>{"legal.amounts", "legal.clauses", "legal.completeness",
                                                              "legal.extract", "legal.values", "medical.answer", "medical.redflags",
                                                              "medical.triage"}));
  ASSERT_EQ(host.loaded().size(), 2u);
  EXPECT_EQ(host.loaded()[0].name, "legal");
  EXPECT_EQ(host.loaded()[1].name, "medical");
}

TEST(PluginHost, LoadsByPathRelativeToTheBaseFolderAndOnlyOnce) {
  PluginHost host;
  Registry registry;
  const PluginInfo& by_path = host.load("ds_legal.so", kBuildPlugins, registry);
  EXPECT_EQ(fs::canonical(by_path.file), fs::canonical(kBuildPlugins / "ds_legal.so"));
  const PluginInfo& dotted = host.load("../ds_legal.so", kBuildPlugins / "sub", registry);
  const PluginInfo& by_name = host.load("legal", {}, registry);
  EXPECT_EQ(&dotted, &by_path);
  EXPECT_EQ(&by_name, &by_path);
  EXPECT_EQ(host.loaded().size(), 1u);
  EXPECT_EQ(registry.stage_names().size(), by_path.stages.size());  // registered once
  // A folder of a plug-in loaded by path is searched first for later names.
  EXPECT_EQ(host.search_path().front(), fs::path(by_path.file).parent_path());
}

TEST(PluginHost, FindsPluginsThroughDsPluginPath) {
  ScopedPluginPath env("/nonexistent/folder:" + kTestPlugins.string());
  PluginHost host;
  auto path = host.search_path();
  ASSERT_GE(path.size(), 3u);
  EXPECT_EQ(path[0], fs::path("/nonexistent/folder"));
  EXPECT_EQ(path[1], kTestPlugins.lexically_normal());
  EXPECT_NE(std::find(path.begin(), path.end(), fs::path(DS_PLUGIN_BUILD_DIR).lexically_normal()), path.end());
  Registry registry;
  const PluginInfo& info = host.load("throwing", {}, registry);
  EXPECT_EQ(fs::canonical(info.file), fs::canonical(kTestPlugins / "ds_throwing.so"));
  EXPECT_NE(registry.find_stage("throwing.boom"), nullptr);
}

TEST(PluginHost, NotFoundNamesTheCandidatesAndEveryFolder) {
  ScopedPluginPath env(kTestPlugins.string());
  std::string e = load_error("nosuch");
  EXPECT_NE(e.find("[plugin.load] plugin 'nosuch' not found"), std::string::npos) << e;
  EXPECT_NE(e.find("ds_nosuch.so, libds_nosuch.so, nosuch.so"), std::string::npos) << e;
  EXPECT_NE(e.find(kTestPlugins.string()), std::string::npos) << e;
  EXPECT_NE(e.find(fs::path(DS_PLUGIN_BUILD_DIR).lexically_normal().string()), std::string::npos) << e;

  test::TempDir tmp;
  e = load_error("./missing.so", tmp.path());
  EXPECT_NE(e.find("plugin file " + (tmp.path() / "missing.so").string() + " not found"), std::string::npos) << e;
  EXPECT_NE(load_error("Bad Name").find("neither a plug-in name"), std::string::npos);
}

TEST(PluginHost, RefusesAFileThatIsNotALibrary) {
  const fs::path file = kTestPlugins / "ds_not_a_library.so";
  std::string e = load_error(file.string());
  EXPECT_NE(e.find("[plugin.load] " + file.string() + " is not a loadable library"), std::string::npos) << e;
  // dlopen's own reason comes along.
  EXPECT_TRUE(e.find("ELF") != std::string::npos || e.find("too short") != std::string::npos) << e;
}

TEST(PluginHost, RefusesALibraryWithoutEntryPoint) {
  const fs::path file = kTestPlugins / "ds_no_entry.so";
  std::string e = load_error(file.string());
  EXPECT_NE(e.find(file.string() + " has no entry point 'ds_plugin_entry'"), std::string::npos) << e;
}

TEST(PluginHost, RefusesAWrongAbiMajorNamingBothVersions) {
  const fs::path file = kTestPlugins / "ds_abi_old.so";
  std::string e = load_error(file.string());
  EXPECT_NE(e.find("[plugin.abi] plugin " + file.string() + " was built for plug-in ABI 0.3 but this host provides " +
                   kHostAbi),
            std::string::npos)
      << e;
}

TEST(PluginHost, RefusesAPluginBuiltForANewerMinor) {
  const fs::path file = kTestPlugins / "ds_abi_newer.so";
  std::string e = load_error(file.string());
  EXPECT_NE(e.find("plugin " + file.string() + " was built for plug-in ABI " +
                   abi(DS_PLUGIN_ABI_MAJOR, DS_PLUGIN_ABI_MINOR + 1) + " but this host provides " + kHostAbi),
            std::string::npos)
      << e;
  // The plug-in's own check ran too and said why.
  EXPECT_NE(e.find("abi_newer needs a newer host"), std::string::npos) << e;
}

TEST(PluginHost, RefusesABadDescriptor) {
  const fs::path file = kTestPlugins / "ds_bad_descriptor.so";
  std::string e = load_error(file.string());
  EXPECT_NE(e.find(file.string() + ": bad plug-in descriptor: stage 0: name 'Bad Name'"), std::string::npos) << e;
}

TEST(PluginHost, RefusesAStageNameThatIsTakenAndRegistersNothing) {
  PluginHost host;
  Registry registry;
  registry.add_stage(spec_named("legal.clauses", "a built-in impostor"), [](const Options&, const StageContext&) {
    return std::unique_ptr<Stage>();
  });
  try {
    host.load("legal", {}, registry);
    FAIL() << "loaded over an existing stage";
  } catch (const PluginError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("ds_legal.so: stage 'legal.clauses' is already registered by a built-in stage"), std::string::npos)
        << m;
  }
  EXPECT_EQ(registry.find_stage("legal.amounts"), nullptr);
  EXPECT_TRUE(host.loaded().empty());
}

TEST(PluginHost, RefusesASecondFileOfTheSamePlugin) {
  test::TempDir tmp;
  fs::copy_file(kBuildPlugins / "ds_legal.so", tmp / "ds_legal_copy.so");
  PluginHost host;
  Registry registry;
  host.load("legal", {}, registry);
  try {
    host.load((tmp / "ds_legal_copy.so").string(), {}, registry);
    FAIL() << "two files registered the same stages";
  } catch (const PluginError& e) {
    EXPECT_NE(std::string(e.what()).find("ds_legal_copy.so: stage 'legal.clauses' is already registered by plug-in "
                                         "'legal'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Registry, RejectsADuplicateStageName) {
  Registry registry;
  auto factory = [](const Options&, const StageContext&) { return std::unique_ptr<Stage>(); };
  registry.add_stage(spec_named("x.y", "first"), factory);
  EXPECT_THROW(registry.add_stage(spec_named("x.y", "second"), factory), std::invalid_argument);
  EXPECT_EQ(registry.find_stage("x.y")->doc, "first");
}

TEST(PluginHost, DiscoverListsPluginsAndTheFilesThatFail) {
  ScopedPluginPath env(kTestPlugins.string());
  PluginHost host;
  std::vector<std::string> errors;
  auto found = host.discover(&errors);
  std::vector<std::string> names;
  for (const auto& p : found) names.push_back(p.name);
  for (const char* n : {"legal", "medical", "throwing", "failing", "inspect"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  auto error_for = [&](const std::string& file) {
    for (const auto& e : errors)
      if (e.rfind((kTestPlugins / file).string() + ": ", 0) == 0) return e;
    return std::string();
  };
  EXPECT_NE(error_for("ds_abi_old.so").find("ABI 0.3"), std::string::npos);
  EXPECT_NE(error_for("ds_abi_newer.so").find("[plugin.abi]"), std::string::npos);
  EXPECT_NE(error_for("ds_no_entry.so").find("no entry point"), std::string::npos);
  EXPECT_NE(error_for("ds_not_a_library.so").find("not a loadable library"), std::string::npos);
  EXPECT_NE(error_for("ds_bad_descriptor.so").find("bad plug-in descriptor"), std::string::npos);
  EXPECT_EQ(errors.size(), 5u);
}

// ---- what the registry sees ----

TEST(PluginHost, StageSpecsAreVisibleInTheRegistry) {
  PluginHost host;
  Registry registry;
  host.load("legal", {}, registry);
  host.load("medical", {}, registry);

  const StageSpec* clauses = registry.find_stage("legal.clauses");
  ASSERT_NE(clauses, nullptr);
  EXPECT_EQ(clauses->provider, "legal");
  EXPECT_FALSE(clauses->doc.empty());
  EXPECT_EQ(clauses->reads, (std::vector<Field>{Field::kNormalized, Field::kSegments}));
  EXPECT_EQ(clauses->adds, (std::vector<Field>{Field::kAnnotations}));
  ASSERT_EQ(clauses->options.size(), 2u);
  const OptionSpec& min_score = clauses->options[0];
  EXPECT_EQ(min_score.name, "min_score");
  EXPECT_EQ(min_score.type, OptionType::kFloat);
  EXPECT_EQ(std::get<double>(*min_score.default_value), 0.5);
  EXPECT_EQ(min_score.min, 0.0);
  EXPECT_EQ(min_score.max, 1.0);
  const OptionSpec& language = clauses->options[1];
  EXPECT_EQ(language.type, OptionType::kEnum);
  EXPECT_EQ(language.choices, (std::vector<std::string>{"auto", "zh", "en"}));
  EXPECT_EQ(std::get<std::string>(*language.default_value), "auto");

  const StageSpec* redflags = registry.find_stage("medical.redflags");
  ASSERT_NE(redflags, nullptr);
  EXPECT_EQ(redflags->reads, (std::vector<Field>{Field::kNormalized}));
  ASSERT_EQ(redflags->options.size(), 3u);
  EXPECT_EQ(redflags->options[1].name, "negation");
  EXPECT_EQ(redflags->options[1].type, OptionType::kBool);
  EXPECT_EQ(std::get<bool>(*redflags->options[1].default_value), true);
}

// ---- the stage adapter ----

class ThrowingPlugin : public ::testing::Test {
 protected:
  void SetUp() override { host_.load((kTestPlugins / "ds_throwing.so").string(), {}, registry_); }
  PluginHost host_;
  Registry registry_;
};

TEST_F(ThrowingPlugin, AnExceptionFailsThatDocumentOnlyAndDropsItsPartialResults) {
  auto stage = make_stage(registry_, "throwing.boom", {}, "my_boom");
  Document a = make_doc("a.txt", "all good"), b = make_doc("b.txt", "this one goes boom"),
           c = make_doc("c.txt", "fine again");
  run(*stage, {&a, &b, &c}, "my_boom");
  EXPECT_FALSE(a.failed());
  ASSERT_EQ(a.annotations.size(), 1u);
  EXPECT_EQ(a.annotations[0].label, "fine");
  EXPECT_EQ(a.annotations[0].stage, "my_boom");
  EXPECT_EQ(a.annotations[0].span, (Span{0, 8}));

  EXPECT_TRUE(b.failed());
  EXPECT_EQ(b.failed_stage, "my_boom");
  EXPECT_EQ(b.error, "[throwing.boom] kaboom in b.txt");
  EXPECT_TRUE(b.annotations.empty());  // "fine" was added before the throw, then discarded

  EXPECT_FALSE(c.failed());
  EXPECT_EQ(c.annotations.size(), 1u);
}

TEST_F(ThrowingPlugin, ANonStandardExceptionIsCaughtAtTheBoundary) {
  auto stage = make_stage(registry_, "throwing.unknown");
  Document d = make_doc("d.txt", "anything");
  run(*stage, {&d}, "throwing.unknown");
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.error, "[throwing.unknown] unknown exception (not derived from std::exception)");
}

TEST_F(ThrowingPlugin, TheHostRefusesASpanOutsideTheText) {
  auto stage = make_stage(registry_, "throwing.bad_span");
  Document d = make_doc("d.txt", "short");
  run(*stage, {&d}, "throwing.bad_span");
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.error.rfind("[throwing.bad_span] [plugin.host] add_annotation: span [0, 15)", 0), 0u) << d.error;
  EXPECT_NE(d.error.find("outside the normalized text (5 bytes)"), std::string::npos) << d.error;
}

TEST(PluginStage, AnErrorStatusFromACPluginFailsTheDocumentWithItsMessage) {
  PluginHost host;
  Registry registry;
  host.load((kTestPlugins / "ds_failing.so").string(), {}, registry);
  Options options;
  options.set("code", int64_t{12});
  auto stage = make_stage(registry, "failing.status", options);
  Document d = make_doc("d.txt", "text");
  run(*stage, {&d}, "failing.status");
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.error, "[failing.status] model not ready (code 12)");
  EXPECT_TRUE(d.annotations.empty());

  // Options the caller leaves out get their declared defaults.
  auto defaults = make_stage(registry, "failing.status");
  Document e = make_doc("e.txt", "text");
  run(*defaults, {&e}, "failing.status");
  EXPECT_EQ(e.error, "[failing.status] model not ready (code 7)");
}

TEST(PluginStage, AFailingCreateThrowsWithThePluginAndStageName) {
  PluginHost host;
  Registry registry;
  host.load((kTestPlugins / "ds_failing.so").string(), {}, registry);
  try {
    make_stage(registry, "failing.create");
    FAIL() << "create should fail";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "[failing.create] cannot open model file 'missing.bin'");
  }
}

TEST(PluginStage, ThePluginSeesEveryPartOfTheDocument) {
  PluginHost host;
  Registry registry;
  host.load((kTestPlugins / "ds_inspect.so").string(), {}, registry);
  Options options;
  options.set("tensors", std::vector<std::string>{"logits", "missing"});
  auto stage = make_stage(registry, "inspect.summary", options, "look");

  Document d = make_doc("in/doc.txt", "第一条 定义。Second.");
  d.text = "decoded text";
  d.segments.push_back({span_of(d.normalized, "第一条 定义。"), "clause", "第一条", 1});
  d.segments.push_back({span_of(d.normalized, "Second."), "sentence", "", 0});
  d.tokens = {{5, {0, 3}}, {6, {3, 9}}, {7, {9, 10}}, {8, {10, 13}}};
  d.outputs["logits"] = Tensor{{2, 3}, {1, 2, 3, 4, 5, 6}, {"payment", "breach", "dispute"}};
  d.annotations.push_back({"earlier", {0, 3}, 0.25, {{"k", "v"}}, "before"});
  run(*stage, {&d}, "look");

  ASSERT_FALSE(d.failed()) << d.error;
  ASSERT_EQ(d.annotations.size(), 2u);
  const Annotation& s = d.annotations[1];
  EXPECT_EQ(s.label, "summary");
  EXPECT_EQ(s.stage, "look");
  EXPECT_EQ(s.score, 0.5);
  EXPECT_EQ(s.attributes.at("path"), "in/doc.txt");
  EXPECT_EQ(s.attributes.at("text"), "decoded text");
  EXPECT_EQ(s.attributes.at("segments"), "clause:第一条:1:第一条 定义。;sentence::0:Second.;");
  EXPECT_EQ(s.attributes.at("tokens"), "5@0-3;6@3-9;7@9-10;");  // limit 3 (the default)
  EXPECT_EQ(s.attributes.at("tensors"), "logits[2,3,]=21|payment|breach|dispute@2;missing=none;");
  EXPECT_EQ(s.attributes.at("annotations"), "earlier@0-3{k=v,}before;");
  EXPECT_EQ(d.warnings, (std::vector<std::string>{"[look] inspected by look"}));
}

TEST(PluginStage, TheLibraryStaysLoadedWhileAStageLives) {
  const fs::path file = kBuildPlugins / "ds_medical.so";
  std::unique_ptr<Stage> stage;
  {
    PluginHost host;
    Registry registry;
    host.load("medical", {}, registry);
    ASSERT_TRUE(mapped(file));
    stage = make_stage(registry, "medical.redflags");
  }
  // Host and registry are gone; the stage alone holds the library.
  ASSERT_TRUE(mapped(file));
  Document d = make_doc("d.txt", "He had a seizure.");
  run(*stage, {&d}, "medical.redflags");
  ASSERT_EQ(d.annotations.size(), 1u);
  EXPECT_EQ(d.annotations[0].attributes.at("rule"), "seizure");
  stage.reset();
  EXPECT_FALSE(mapped(file));
}

// ---- the legal plug-in ----

class LegalPlugin : public ::testing::Test {
 protected:
  void SetUp() override { host_.load("legal", {}, registry_); }

  // A bilingual contract excerpt with segments built by hand (no segmenter involved).
  Document contract() {
    Document d = make_doc("contract.txt",
                          "第五条 违约责任\n"
                          "第六条 违约金\n乙方逾期交货的,每日按合同总额的0.05%支付违约金。\n"
                          "第七条 争议解决\n因本合同引起的争议,提交上海仲裁委员会仲裁。\n"
                          "8. Governing Law\nThis Agreement is governed by the laws of the State of New York.\n"
                          "9. Termination\nEither party may end this Agreement on thirty days notice.\n"
                          "10. Payment Terms\nBuyer shall pay within 30 days.\n"
                          "A sentence about payment that is not a clause.\n"
                          "11. Miscellaneous\nThe parties agree to act in good faith.\n");
    auto add = [&](const std::string& piece, const std::string& kind, const std::string& number) {
      d.segments.push_back({span_of(d.normalized, piece), kind, number, number.empty() ? 0 : 1});
    };
    add("第五条 违约责任", "heading", "第五条");
    add("第六条 违约金\n乙方逾期交货的,每日按合同总额的0.05%支付违约金。", "clause", "第六条");
    add("第七条 争议解决\n因本合同引起的争议,提交上海仲裁委员会仲裁。", "clause", "第七条");
    add("8. Governing Law\nThis Agreement is governed by the laws of the State of New York.", "clause", "8.");
    add("9. Termination\nEither party may end this Agreement on thirty days notice.", "clause", "9.");
    add("10. Payment Terms\nBuyer shall pay within 30 days.", "clause", "10.");
    add("A sentence about payment that is not a clause.", "sentence", "");
    add("11. Miscellaneous\nThe parties agree to act in good faith.", "clause", "11.");
    return d;
  }

  std::vector<std::string> labels(const Document& d) {
    std::vector<std::string> out;
    for (const auto& a : d.annotations) out.push_back(a.label);
    return out;
  }

  PluginHost host_;
  Registry registry_;
};

TEST_F(LegalPlugin, ClassifiesClausesByTheirHeadingsInBothLanguages) {
  auto stage = make_stage(registry_, "legal.clauses");
  Document d = contract();
  run(*stage, {&d}, "legal.clauses");
  ASSERT_FALSE(d.failed()) << d.error;
  EXPECT_EQ(labels(d), (std::vector<std::string>{"breach", "liquidated", "dispute", "governing_law", "termination",
                                                 "payment"}));
  const Annotation& liquidated = d.annotations[1];
  EXPECT_EQ(liquidated.span, d.segments[1].span);
  EXPECT_EQ(liquidated.score, 0.9);
  EXPECT_EQ(liquidated.attributes.at("number"), "第六条");
  EXPECT_EQ(liquidated.attributes.at("heading"), "违约金");
  EXPECT_EQ(liquidated.attributes.at("keyword"), "违约金");
  EXPECT_EQ(liquidated.attributes.at("method"), "keyword");
  EXPECT_EQ(d.annotations[3].attributes.at("heading"), "Governing Law");
  EXPECT_EQ(d.annotations[3].attributes.at("number"), "8.");
  EXPECT_EQ(d.annotations[4].attributes.at("keyword"), "Termination");  // not "term"
}

TEST_F(LegalPlugin, MinScoreAndLanguageOptionsApply) {
  Options low;
  low.set("min_score", 0.3);
  auto lenient = make_stage(registry_, "legal.clauses", low);
  Document d = contract();
  run(*lenient, {&d}, "legal.clauses");
  ASSERT_EQ(d.annotations.size(), 7u);
  EXPECT_EQ(d.annotations[6].label, "parties");  // a body keyword only: 0.4
  EXPECT_EQ(d.annotations[6].score, 0.4);

  Options english;
  english.set("language", std::string("en"));
  auto en = make_stage(registry_, "legal.clauses", english);
  Document e = contract();
  run(*en, {&e}, "legal.clauses");
  EXPECT_EQ(labels(e), (std::vector<std::string>{"governing_law", "termination", "payment"}));
}

TEST_F(LegalPlugin, FindsAndNormalizesMoneyAmounts) {
  auto stage = make_stage(registry_, "legal.amounts");
  Document d = make_doc("fees.txt",
                        "合同总价为人民币50万元(¥500,000.00),预付款RMB 120,000元。"
                        "The fee is USD 1.5 million, or $2,000 per month, due 2024-05-01. 违约金为10万元,利率0.05%。");
  run(*stage, {&d}, "legal.amounts");
  ASSERT_FALSE(d.failed()) << d.error;
  std::vector<std::string> got;
  for (const auto& a : d.annotations)
    got.push_back(piece(d, a) + "=" + a.attributes.at("value") + " " + a.attributes.at("currency"));
  EXPECT_EQ(got, (std::vector<std::string>{"人民币50万元=500000.00 CNY", "¥500,000.00=500000.00 CNY",
                                           "RMB 120,000元=120000.00 CNY", "USD 1.5 million=1500000.00 USD",
                                           "$2,000=2000.00 USD", "10万元=100000.00 CNY"}));
  for (const auto& a : d.annotations) EXPECT_EQ(a.label, "amount");

  Options yen;
  yen.set("yen_sign", std::string("JPY"));
  auto jp = make_stage(registry_, "legal.amounts", yen);
  Document e = make_doc("jp.txt", "価格は¥3,000です");
  run(*jp, {&e}, "legal.amounts");
  ASSERT_EQ(e.annotations.size(), 1u);
  EXPECT_EQ(e.annotations[0].attributes.at("currency"), "JPY");
  EXPECT_EQ(e.annotations[0].attributes.at("value"), "3000.00");
}

// ---- the medical plug-in ----

TEST(MedicalPlugin, FlagsRedFlagsAndRespectsNegation) {
  PluginHost host;
  Registry registry;
  host.load("medical", {}, registry);
  const std::string text =
      "患者胸痛伴呼吸困难。否认头痛。Patient denies chest pain or shortness of breath. He had a seizure this "
      "morning. 没有抽搐。She reports chest pain, no shortness of breath. 突然口角歪斜,说话不清。";
  auto stage = make_stage(registry, "medical.redflags");
  Document d = make_doc("note.txt", text);
  run(*stage, {&d}, "medical.redflags");
  ASSERT_FALSE(d.failed()) << d.error;
  std::vector<std::string> got;
  for (const auto& a : d.annotations) {
    EXPECT_EQ(a.label, "red_flag");
    EXPECT_EQ(a.attributes.at("level"), "emergency");
    got.push_back(a.attributes.at("rule") + ":" + piece(d, a));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"chest_pain_breathless:胸痛伴呼吸困难", "seizure:seizure",
                                           "stroke_signs:口角歪斜"}));

  Options no_negation;
  no_negation.set("negation", false);
  auto literal = make_stage(registry, "medical.redflags", no_negation);
  Document e = make_doc("note.txt", text);
  run(*literal, {&e}, "medical.redflags");
  std::map<std::string, int> rules;
  for (const auto& a : e.annotations) ++rules[a.attributes.at("rule")];
  EXPECT_EQ(rules["chest_pain_breathless"], 3);  // every sentence with both, negated or not
  EXPECT_EQ(rules["seizure"], 2);                 // "seizure" and "没有抽搐"

  // A negation's scope ends at a comma or "but": the findings after it stand.
  Document f = make_doc("note.txt", "No fever, but chest pain and shortness of breath. 无发热,但有胸痛、气短。");
  run(*stage, {&f}, "medical.redflags");
  ASSERT_EQ(f.annotations.size(), 2u);
  EXPECT_EQ(piece(f, f.annotations[0]), "chest pain and shortness of breath");
  EXPECT_EQ(piece(f, f.annotations[1]), "胸痛、气短");
}

// ---- the SDK on its own ----

TEST(PluginSdk, ConfigWalksOptionValuesByTheirStructSize) {
  // A newer host may append fields: the SDK must step by struct_size, not by its own sizeof.
  struct Longer {
    ds_option_value v;
    double appended;
  };
  Longer values[2] = {};
  values[0].v.struct_size = sizeof(Longer);
  values[0].v.name = {"n", 1};
  values[0].v.type = DS_OPTION_INT;
  values[0].v.int_value = 42;
  values[1].v.struct_size = sizeof(Longer);
  values[1].v.name = {"s", 1};
  values[1].v.type = DS_OPTION_ENUM;
  values[1].v.string_value = {"zh", 2};
  ds_create_args args{};
  args.struct_size = sizeof args;
  args.options = &values[0].v;
  args.option_count = 2;
  args.instance_name = {"inst", 4};
  sdk::Config config(&args);
  EXPECT_EQ(config.get_int("n"), 42);
  EXPECT_EQ(config.get_float("n"), 42.0);
  EXPECT_EQ(config.get_string("s"), "zh");
  EXPECT_EQ(config.instance_name(), "inst");
  EXPECT_THROW(config.get_bool("n"), std::invalid_argument);
  EXPECT_THROW(config.get_int("missing"), std::invalid_argument);
}

TEST(PluginSdk, KeywordsMatchWholeWordsUnlessOpenEnded) {
  std::vector<std::string> keywords = {"term", "terminat*", "违约"};
  auto hits = sdk::text::find_keywords("Termination of the Terms; 违约 determined", keywords);
  std::vector<std::string> got;
  std::string text = "Termination of the Terms; 违约 determined";
  for (const auto& h : hits) got.push_back(keywords[h.keyword] + "=" + text.substr(h.begin, h.end - h.begin));
  EXPECT_EQ(got, (std::vector<std::string>{"terminat*=Termination", "term=Terms", "违约=违约"}));
}

}  // namespace
}  // namespace ds
