// The medical knowledge base (plugins/medical/kb): loading and validating the project's entries,
// the KB file, search (substring fallback for 1-2 character Chinese queries, FTS5 trigram + bm25,
// FTS-hostile input, language preference), embeddings and the model check, the MedQuAD import,
// the `deepseek kb` commands end to end, and the medical.answer stage in a real pipeline.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/hash.h"
#include "kb_build.h"
#include "kb_embedder.h"
#include "kb_entries.h"
#include "kb_medquad.h"
#include "kb_query.h"
#include "kb_search.h"
#include "model/random_model.h"
#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;
namespace kb = ds::medical::kb;
using nlohmann::json;

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
CommandResult deepseek(const std::string& args) { return run_command(q(deepseek_binary()) + " " + args); }
fs::path entries_dir() { return source_dir() / "data/kb/entries"; }
fs::path tokenizer_path() { return source_dir() / "data/models/tokenizer.model"; }

// A random model with the project tokenizer and one 128-dim embedding head named `embed` (and a
// classification head, like the medical model). `seed` makes models A and B differ.
fs::path write_embed_model(const fs::path& path, uint64_t seed) {
  model::RandomModelSpec spec;
  spec.config.vocab_size = 16000;
  spec.seed = seed;
  spec.tokenizer = sha256_tagged(read_file(tokenizer_path()));
  spec.heads_json =
      R"([{"name":"triage","type":"sequence_classes","labels":["emergency","urgent","routine","self_care"]},)"
      R"({"name":"embed","type":"embedding","dim":128}])";
  model::make_random_model(spec).write(path.string());
  return path;
}

std::vector<std::string> ids(const kb::SearchResult& r) {
  std::vector<std::string> out;
  for (const kb::Hit& h : r.hits) out.push_back(h.entry.id);
  return out;
}

// One KB built from the real entries (no model) and one with the vectors of random model A,
// shared by the tests of this file.
class KbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    kb::BuildOptions o;
    o.entries_dir = entries_dir();
    o.out = *dir_ / "kb.sqlite";
    report_ = new kb::BuildReport(kb::build_kb(o));
    model_a_ = new fs::path(write_embed_model(*dir_ / "a.safetensors", 1));
    model_b_ = new fs::path(write_embed_model(*dir_ / "b.safetensors", 2));
    kb::BuildOptions e = o;
    e.out = *dir_ / "kb-a.sqlite";
    e.embed.model = *model_a_;
    e.embed.tokenizer = tokenizer_path();
    e.embed.threads = 1;
    report_a_ = new kb::BuildReport(kb::build_kb(e));
  }
  static void TearDownTestSuite() {
    delete report_a_;
    delete report_;
    delete model_a_;
    delete model_b_;
    delete dir_;
  }
  static fs::path kb_file() { return *dir_ / "kb.sqlite"; }
  static fs::path kb_a_file() { return *dir_ / "kb-a.sqlite"; }

  static TempDir* dir_;
  static kb::BuildReport* report_;
  static kb::BuildReport* report_a_;
  static fs::path* model_a_;
  static fs::path* model_b_;
};
TempDir* KbTest::dir_ = nullptr;
kb::BuildReport* KbTest::report_ = nullptr;
kb::BuildReport* KbTest::report_a_ = nullptr;
fs::path* KbTest::model_a_ = nullptr;
fs::path* KbTest::model_b_ = nullptr;

TEST(KbEntries, TheProjectEntriesLoadWithEveryField) {
  const std::vector<kb::Entry> entries = kb::load_entries(entries_dir());
  ASSERT_GE(entries.size(), 150u);
  size_t zh = 0, linked = 0;
  for (const kb::Entry& e : entries) {
    zh += e.lang == "zh";
    linked += !e.translation_of.empty();
    EXPECT_FALSE(e.title.empty() || e.aliases.empty() || e.symptoms.empty() || e.self_care.empty() ||
                 e.see_doctor_when.empty() || e.department.empty() || e.usual_urgency.empty() || e.source.empty() ||
                 e.reviewer.empty())
        << e.id;
  }
  EXPECT_GT(zh, 50u);
  EXPECT_GT(linked, 50u);
  const auto it =
      std::find_if(entries.begin(), entries.end(), [](const kb::Entry& e) { return e.id == "kb-neuro-002"; });
  ASSERT_NE(it, entries.end());
  EXPECT_EQ(it->title, "头痛");
  EXPECT_EQ(it->origin.substr(0, 15), "neurology.yaml:");
  // The passage embedded for an entry: title, aliases and symptoms on three lines.
  EXPECT_EQ(kb::passage_text(*it), "头痛\n" + kb::join(it->aliases, "; ") + "\n" + kb::join(it->symptoms, "; "));
}

TEST(KbEntries, ErrorsNameFileLineAndKey) {
  TempDir dir;
  write_file(dir / "a.yaml",
             "- id: kb-x-001\n"
             "  lang: en\n"
             "  title: Thing\n"
             "  aliases: [thing]\n"
             "  symptoms: [it hurts]\n"
             "  self_care: [rest]\n"
             "  see_doctor_when:\n"
             "    - {level: soon, when: it gets worse}\n"
             "  department: neuro\n"
             "  usual_urgency: routine\n"
             "  red_flags: [none]\n"
             "  source: us\n"
             "  reviewer: unreviewed\n"
             "  updated: \"2026-11-29\"\n"
             "  colour: red\n"
             "- id: kb-x-002\n"
             "  lang: zh\n"
             "  translation_of: kb-x-009\n");
  try {
    kb::load_entries(dir.path());
    FAIL() << "no error";
  } catch (const kb::KbError& e) {
    const std::string m = e.what();
    const std::string f = (dir / "a.yaml").string();
    EXPECT_CONTAINS(m,
                    f + ":8:15: kb-x-001.see_doctor_when[0].level: 'soon' is not one of: emergency, urgent, routine");
    EXPECT_CONTAINS(m, f + ":9:15: kb-x-001.department: 'neuro' is not one of: emergency,");
    EXPECT_CONTAINS(m, f + ":15:3: kb-x-001.colour: unknown field");
    EXPECT_CONTAINS(m, f + ":16:3: kb-x-002.title: missing field");
    EXPECT_CONTAINS(m, "kb-x-002.translation_of: 'kb-x-009' does not exist");
  }
  write_file(dir / "a.yaml", "- id: [unclosed\n");
  try {
    kb::load_entries(dir.path());
    FAIL() << "no error";
  } catch (const kb::KbError& e) {
    EXPECT_CONTAINS(e.what(), (dir / "a.yaml").string() + ":");
    EXPECT_CONTAINS(e.what(), "cannot parse");
  }
}

TEST(KbQuery, TermsAndQuotedMatchExpressions) {
  kb::QueryTerms t = kb::analyze_query("I have a HEADACHE, 头痛");
  EXPECT_EQ(t.fts, (std::vector<std::string>{"headache"}));
  EXPECT_EQ(t.substring, (std::vector<std::string>{"头痛"}));
  EXPECT_TRUE(t.has_cjk);
  // Windows with a function character (我) or a filler word (厉害) are left out.
  t = kb::analyze_query("我头痛发烧");
  EXPECT_EQ(t.fts, (std::vector<std::string>{"头痛发", "痛发烧"}));
  EXPECT_EQ(t.substring, (std::vector<std::string>{"我头痛发烧", "头痛发烧", "头痛", "痛发", "发烧"}));
  t = kb::analyze_query("头痛得厉害");
  EXPECT_TRUE(t.fts.empty());
  EXPECT_EQ(t.substring, (std::vector<std::string>{"头痛得厉害", "头痛"}));
  EXPECT_TRUE(kb::analyze_query("我的").substring.empty());
  EXPECT_EQ(kb::analyze_query("我的牙很疼").substring, (std::vector<std::string>{"我的牙很疼", "牙", "疼"}));
  EXPECT_EQ(kb::fts_match_expression({"a\"b", "c"}), "\"a\"\"b\" OR \"c\"");
  EXPECT_EQ(kb::analyze_query("\" AND ( ) * ^ : NEAR").fts, (std::vector<std::string>{"near"}));
  EXPECT_EQ(kb::analyze_query("ＦＥＶＥＲ").fts, (std::vector<std::string>{"fever"}));  // full-width folds
}

TEST_F(KbTest, BuildRecordsEveryEntryAndNoEmbeddingsWithoutAModel) {
  EXPECT_EQ(report_->entries, kb::load_entries(entries_dir()).size());
  EXPECT_EQ(report_->embedded, 0u);
  kb::KnowledgeBase base(kb_file());
  EXPECT_EQ(base.info().entries, static_cast<int64_t>(report_->entries));
  EXPECT_EQ(base.info().schema_version, kb::kSchemaVersion);
  EXPECT_FALSE(base.info().embedding.has_value());
  const auto e = base.entry("kb-neuro-001");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->title, "Headache");
  EXPECT_EQ(e->department, "neurology");
  ASSERT_FALSE(e->see_doctor_when.empty());
  EXPECT_EQ(e->see_doctor_when[0].level, "emergency");
  EXPECT_EQ(query(kb_file(), "PRAGMA user_version"), (std::vector<std::string>{std::to_string(kb::kSchemaVersion)}));
  EXPECT_EQ(query(kb_file(), "SELECT sql LIKE '%trigram%' FROM sqlite_master WHERE name = 'entries_fts'"),
            (std::vector<std::string>{"1"}));
}

TEST_F(KbTest, TwoCharacterChineseQueriesFindTheirEntryBySubstring) {
  kb::KnowledgeBase base(kb_file());
  kb::SearchResult r = base.search("头痛", {});
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-002");
  EXPECT_EQ(r.hits[0].method, "substring");
  EXPECT_EQ(r.lang, "zh");
  for (const kb::Hit& h : r.hits) EXPECT_EQ(h.entry.lang, "zh") << h.entry.id;

  r = base.search("发烧", {});
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-gen-002");  // 成人发热, alias 发烧
  EXPECT_EQ(r.hits[0].method, "substring");

  // The trigram index alone finds nothing for two characters: that is why the fallback exists.
  EXPECT_EQ(query(kb_file(), "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH '\"头痛\"'"),
            (std::vector<std::string>{"0"}));

  // A sentence without spaces: its two-character words are found, fillers do not count.
  for (const char* sentence : {"我头痛怎么办", "我头痛得厉害"}) {
    r = base.search(sentence, {});
    ASSERT_FALSE(r.hits.empty()) << sentence;
    EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-002") << sentence;
  }
}

TEST_F(KbTest, EnglishMultiWordQueriesFindTheirEntryByFullText) {
  kb::KnowledgeBase base(kb_file());
  kb::SearchResult r = base.search("pins and needles in my hands", {});
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-013");
  EXPECT_EQ(r.hits[0].method, "fts");
  EXPECT_EQ(r.lang, "en");
  r = base.search("sore throat", {});
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-ent-001");
  EXPECT_GT(r.hits[0].fts, 0.0);
  // A three-character Chinese query goes through the trigram index.
  r = base.search("偏头痛", {});
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-004");
  EXPECT_EQ(r.hits[0].method, "fts");
}

TEST_F(KbTest, FtsSyntaxInQueriesNeverThrows) {
  kb::KnowledgeBase base(kb_file());
  for (const char* hostile :
       {"\"", "AND (", "NEAR(a b", "title:headache", "*", "^fever", "a\" OR \"b", "\"\"\"", "headache OR", "(((", "",
        "   ", "\xff\xfe broken utf-8 \xe5\xa4", "NOT", "-", "'; DROP TABLE entries; --"}) {
    kb::SearchResult r;
    EXPECT_NO_THROW(r = base.search(hostile, {})) << hostile;
  }
  EXPECT_TRUE(base.search("\"", {}).hits.empty());
  EXPECT_TRUE(base.search("AND (", {}).hits.empty());
  // Quotes and operators around real words are just separators.
  kb::SearchResult r = base.search("\"sore throat\" AND (", {});
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-ent-001");
  EXPECT_EQ(base.info().entries, static_cast<int64_t>(report_->entries));
}

TEST_F(KbTest, LanguagePreferenceAndFilter) {
  kb::KnowledgeBase base(kb_file());
  // auto: an English query prefers English entries, and a pair shows once, in English.
  kb::SearchResult r = base.search("headache", {5});
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-001");
  for (const kb::Hit& h : r.hits) EXPECT_NE(h.entry.id, "kb-neuro-002");
  // zh / en keep only that language.
  kb::SearchOptions only_en;
  only_en.lang = kb::LangMode::kEn;
  only_en.top_k = 10;
  for (const kb::Hit& h : base.search("头痛 headache", only_en).hits) EXPECT_EQ(h.entry.lang, "en") << h.entry.id;
  kb::SearchOptions only_zh = only_en;
  only_zh.lang = kb::LangMode::kZh;
  r = base.search("头痛 headache", only_zh);
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-002");
  for (const kb::Hit& h : r.hits) EXPECT_EQ(h.entry.lang, "zh") << h.entry.id;
  // any: both members of the pair may appear.
  kb::SearchOptions any;
  any.lang = kb::LangMode::kAny;
  any.top_k = 10;
  const std::vector<std::string> both = ids(base.search("头痛 headache", any));
  EXPECT_NE(std::find(both.begin(), both.end(), "kb-neuro-001"), both.end());
  EXPECT_NE(std::find(both.begin(), both.end(), "kb-neuro-002"), both.end());
}

TEST_F(KbTest, EmbeddingsAreStoredWithTheirModelAndUsedOnlyWithItsVectors) {
  ASSERT_TRUE(report_a_->model.has_value());
  EXPECT_EQ(report_a_->embedded, report_a_->entries);
  EXPECT_EQ(report_a_->model->dim, 128);
  EXPECT_EQ(report_a_->model->sha256, sha256_tagged(read_file(*model_a_)));
  kb::KnowledgeBase base(kb_a_file());
  ASSERT_TRUE(base.info().embedding.has_value());
  EXPECT_EQ(base.info().embedding->sha256, report_a_->model->sha256);
  EXPECT_EQ(base.info().embedded, static_cast<int64_t>(report_a_->entries));
  EXPECT_EQ(query(kb_a_file(), "SELECT count(*), min(dim), max(dim), min(length(vector)) FROM embeddings"),
            (std::vector<std::string>{std::to_string(report_a_->entries) + "|128|128|512"}));

  // The stored vector is what the framework's stages give for the passage text (the same code as
  // a pipeline), and it is L2-normalized.
  kb::Embedder a(*model_a_, tokenizer_path(), "embed", 1);
  const kb::Entry headache = *base.entry("kb-neuro-001");
  const std::vector<float> v = a.embed({kb::passage_text(headache)}).front();
  double norm = 0;
  for (float x : v) norm += double(x) * x;
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-4);
  kb::SearchOptions by_vector;
  by_vector.query_vector = kb::QueryVector{a.model().sha256, v};
  by_vector.lang = kb::LangMode::kAny;
  kb::SearchResult r = base.search("", by_vector);  // no text at all: the vector alone
  ASSERT_FALSE(r.hits.empty());
  EXPECT_TRUE(r.used_embedding);
  EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-001");
  EXPECT_NEAR(r.hits[0].cosine, 1.0, 1e-4);
  EXPECT_EQ(r.hits[0].method, "embedding");

  // With text too: embedding candidates re-ranked with full-text scores.
  kb::SearchOptions with_a;
  with_a.query_vector = a.embed_query("头痛");
  r = base.search("头痛", with_a);
  ASSERT_FALSE(r.hits.empty());
  EXPECT_TRUE(r.used_embedding);
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.hits[0].method.substr(0, 10), "embedding+");

  // Model B's vectors are never compared with model A's: full-text with a warning, or an error.
  kb::Embedder b(*model_b_, tokenizer_path(), "embed", 1);
  kb::SearchOptions with_b;
  with_b.query_vector = b.embed_query("头痛");
  r = base.search("头痛", with_b);
  EXPECT_FALSE(r.used_embedding);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_CONTAINS(r.warnings[0], b.model().sha256);
  EXPECT_CONTAINS(r.warnings[0], "not comparable");
  ASSERT_FALSE(r.hits.empty());
  EXPECT_EQ(r.hits[0].entry.id, "kb-neuro-002");
  EXPECT_EQ(r.hits[0].method, "substring");
  with_b.on_mismatch = kb::OnModelMismatch::kError;
  EXPECT_THROW(base.search("头痛", with_b), kb::KbError);

  // A KB without vectors searched with a vector: full text, and it says so.
  kb::KnowledgeBase plain(kb_file());
  r = plain.search("头痛", with_a);
  EXPECT_FALSE(r.used_embedding);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_CONTAINS(r.warnings[0], "has no embeddings");
}

// With the trained medical model (data/models/medical-small.safetensors, or the file named by
// DS_MEDICAL_MODEL, e.g. a development model): the embedding path ranks the right entry first
// for plain queries in both languages. Skipped when no such model exists.
TEST(KbTrainedModel, EmbeddingPlusTextRanksTheRightEntriesFirst) {
  fs::path model = source_dir() / "data/models/medical-small.safetensors";
  if (const char* env = std::getenv("DS_MEDICAL_MODEL"); env && *env) model = env;
  if (!fs::exists(model)) GTEST_SKIP() << "no trained medical model at " << model;
  TempDir dir;
  kb::BuildOptions o;
  o.entries_dir = entries_dir();
  o.out = dir / "kb.sqlite";
  o.embed.model = model;
  o.embed.tokenizer = tokenizer_path();
  const kb::BuildReport r = kb::build_kb(o);
  ASSERT_EQ(r.embedded, r.entries);
  kb::Embedder embedder(model, tokenizer_path());
  kb::KnowledgeBase base(o.out);
  for (const auto& [query, want] :
       std::vector<std::pair<std::string, std::string>>{{"头痛", "kb-neuro-002"},
                                                        {"发烧", "kb-gen-002"},
                                                        {"拉肚子", "kb-gi-006"},
                                                        {"sore throat", "kb-ent-001"},
                                                        {"pins and needles", "kb-neuro-013"}}) {
    kb::SearchOptions options;
    options.query_vector = embedder.embed_query(query);
    const kb::SearchResult res = base.search(query, options);
    ASSERT_TRUE(res.used_embedding) << query;
    ASSERT_FALSE(res.hits.empty()) << query;
    EXPECT_EQ(res.hits[0].entry.id, want) << query;
    EXPECT_EQ(res.hits[0].method.substr(0, 10), "embedding+") << query;
  }
}

TEST_F(KbTest, EmbedderRefusesAModelWithoutTheHead) {
  TempDir dir;
  model::RandomModelSpec spec;
  spec.config.vocab_size = 16000;
  spec.tokenizer = sha256_tagged(read_file(tokenizer_path()));
  spec.heads_json = R"([{"name":"triage","type":"sequence_classes","labels":["a","b"]}])";
  model::make_random_model(spec).write((dir / "noembed.safetensors").string());
  try {
    kb::Embedder e(dir / "noembed.safetensors", tokenizer_path());
    FAIL() << "no error";
  } catch (const kb::KbError& e) {
    EXPECT_CONTAINS(e.what(), "no embedding head named 'embed' (heads: triage (sequence_classes))");
  }
}

// A small MedQuAD-layout folder, written here: two collections, a good file with a pair whose
// answer is empty, a malformed file, and a file with focus synonyms.
fs::path write_medquad(const TempDir& dir) {
  const fs::path root = dir / "medquad";
  write_file(root / "1_Test_QA" / "0000001_1.xml",
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<Document id=\"0000001_1\" source=\"TestSource\" url=\"https://example.org/zorbitis\">\n"
             "<Focus>Zorbitis</Focus>\n"
             "<QAPairs>\n"
             "  <QAPair pid=\"1\">\n"
             "    <Question qid=\"0000001_1-1\" qtype=\"information\">What is (are) Zorbitis ?</Question>\n"
             "    <Answer>Zorbitis is a made-up condition used by the test suite.\n"
             "        It has    no real symptoms.</Answer>\n"
             "  </QAPair>\n"
             "  <QAPair pid=\"2\">\n"
             "    <Question qid=\"0000001_1-2\" qtype=\"treatment\">What are the treatments for Zorbitis ?</Question>\n"
             "    <Answer></Answer>\n"
             "  </QAPair>\n"
             "</QAPairs>\n"
             "</Document>\n");
  write_file(root / "1_Test_QA" / "0000002_1.xml",
             "<?xml version=\"1.0\"?>\n<Document id=\"0000002_1\">\n<Focus>Broken</Focus>\n<QAPairs>\n"
             "<QAPair pid=\"1\"><Question qid=\"0000002_1-1\">Unclosed?</Question><Answer>text</QAPair>\n");
  write_file(root / "2_Other_QA" / "0000001.xml",
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<Document id=\"0000001\" source=\"Other\" url=\"https://example.org/quux\">\n"
             "<Focus>Quuxalgia</Focus>\n"
             "<FocusAnnotations><Synonyms><Synonym>Quux pain</Synonym></Synonyms></FocusAnnotations>\n"
             "<QAPairs>\n"
             "  <QAPair pid=\"1\">\n"
             "    <Question qid=\"0000001-1\" qtype=\"symptoms\">What are the symptoms of Quuxalgia ?</Question>\n"
             "    <Answer>An ache in the left quux &amp; a mild fever.</Answer>\n"
             "  </QAPair>\n"
             "</QAPairs>\n"
             "</Document>\n");
  // The older spelling some files of the real collection use.
  write_file(root / "3_Old_QA" / "0000007.xml",
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<doc docid=\"0000007\" corpus=\"Old\" url=\"https://example.org/blorp\">\n"
             "<doctitle-focus>Blorpitis</doctitle-focus>\n"
             "<qaPairs><pair pid=\"1\"><question qid=\"0000007-1\" qtype=\"information\">what is blorpitis ?</question>"
             "<answer>Blorpitis is an invented old-format condition.</answer></pair></qaPairs>\n"
             "</doc>\n");
  return root;
}

TEST(KbMedquad, ImportsTheGoodPairsAndReportsTheBadFile) {
  TempDir dir;
  const fs::path root = write_medquad(dir);
  kb::ImportOptions o;
  o.dir = root;
  o.out = dir / "mq.sqlite";
  std::vector<std::string> log;
  o.log = [&](const std::string& line) { log.push_back(line); };
  const kb::ImportReport r = kb::import_medquad(o);
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.files, 4u);
  EXPECT_EQ(r.imported, 3u);
  EXPECT_EQ(r.empty_answers, 1u);
  EXPECT_EQ(r.embedded, 0u);
  ASSERT_EQ(r.bad_files.size(), 1u);
  EXPECT_CONTAINS(r.bad_files[0], (root / "1_Test_QA" / "0000002_1.xml").string() + ":");
  EXPECT_FALSE(log.empty());

  kb::KnowledgeBase base(o.out);
  EXPECT_EQ(base.info().imported, 3);
  const auto e = base.entry("medquad:1_Test_QA:0000001_1-1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, "medquad");
  EXPECT_EQ(e->title, "What is (are) Zorbitis ?");
  EXPECT_EQ(e->body, "Zorbitis is a made-up condition used by the test suite.\nIt has no real symptoms.");
  EXPECT_EQ(e->aliases, (std::vector<std::string>{"Zorbitis"}));
  EXPECT_EQ(e->qtype, "information");
  EXPECT_EQ(e->url, "https://example.org/zorbitis");
  EXPECT_EQ(e->origin, "1_Test_QA/0000001_1.xml");
  EXPECT_EQ(kb::passage_text(*e), e->title + "\n" + e->body);

  // Found through the answer text (the body is indexed for imported entries) and the synonyms.
  kb::SearchResult s = base.search("left quux", {});
  ASSERT_FALSE(s.hits.empty());
  EXPECT_EQ(s.hits[0].entry.id, "medquad:2_Other_QA:0000001-1");
  EXPECT_EQ(s.hits[0].entry.body, "An ache in the left quux & a mild fever.");
  s = base.search("quux pain", {});
  ASSERT_FALSE(s.hits.empty());
  EXPECT_EQ(s.hits[0].entry.id, "medquad:2_Other_QA:0000001-1");

  // Importing again into the same file replaces the entries (same ids), it does not add copies.
  const kb::ImportReport again = kb::import_medquad(o);
  EXPECT_FALSE(again.created);
  kb::KnowledgeBase reopened(o.out);
  EXPECT_EQ(reopened.info().entries, 3);
  const auto old_format = reopened.entry("medquad:3_Old_QA:0000007-1");
  ASSERT_TRUE(old_format.has_value());
  EXPECT_EQ(old_format->aliases, (std::vector<std::string>{"Blorpitis"}));
  EXPECT_CONTAINS(old_format->source, "Old: https://example.org/blorp");
}

TEST_F(KbTest, ImportIntoAKbWithEmbeddingsNeedsItsModel) {
  TempDir dir;
  const fs::path root = write_medquad(dir);
  fs::copy_file(kb_a_file(), dir / "grow.sqlite");
  kb::ImportOptions o;
  o.dir = root;
  o.out = dir / "grow.sqlite";
  try {
    kb::import_medquad(o);
    FAIL() << "no error";
  } catch (const kb::KbError& e) {
    EXPECT_CONTAINS(e.what(), "give --model with that file");
  }
  o.embed.model = *model_b_;
  o.embed.tokenizer = tokenizer_path();
  EXPECT_THROW(kb::import_medquad(o), kb::KbError);
  o.embed.model = *model_a_;
  o.embed.threads = 1;
  const kb::ImportReport r = kb::import_medquad(o);
  EXPECT_EQ(r.imported, 3u);
  EXPECT_EQ(r.embedded, 3u);
  kb::KnowledgeBase base(o.out);
  EXPECT_EQ(base.info().entries, static_cast<int64_t>(report_a_->entries) + 3);
  EXPECT_EQ(base.info().embedded, base.info().entries);
}

TEST_F(KbTest, CliBuildThenSearchTwoCharacterChineseAsJson) {
  TempDir dir;
  const fs::path out = dir / "kb" / "cli.sqlite";
  CommandResult b = deepseek("kb build --entries " + q(entries_dir()) + " --out " + q(out));
  ASSERT_EQ(b.exit_code, 0) << b.err << b.out;
  EXPECT_CONTAINS(b.out, "embeddings: none (no --model): search on this KB is full-text only");
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));

  CommandResult s = deepseek("kb search 头痛 --json --kb " + q(out));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json j = json::parse(s.out);
  EXPECT_EQ(j["mode"], "text");
  EXPECT_EQ(j["lang"], "zh");
  ASSERT_FALSE(j["hits"].empty());
  EXPECT_EQ(j["hits"][0]["id"], "kb-neuro-002");
  EXPECT_EQ(j["hits"][0]["title"], "头痛");
  EXPECT_EQ(j["hits"][0]["method"], "substring");
  EXPECT_EQ(j["hits"][0]["department"], "neurology");
  EXPECT_FALSE(j["hits"][0]["self_care"].empty());
  EXPECT_EQ(j["hits"][0]["see_doctor_when"][0]["level"], "emergency");
  EXPECT_EQ(j["hits"][0]["reviewer"], "unreviewed");

  CommandResult text = deepseek("kb search chest pain -k 2 --kb " + q(out));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_CONTAINS(text.out, "full-text only");
  EXPECT_CONTAINS(text.out, "1. Chest pain  [kb-card-001, en]");

  // The model check from the command line: model B against a KB of model A is a warning, or an error.
  CommandResult warn =
      deepseek("kb search 头痛 --json --kb " + q(kb_a_file()) + " --model " + q(*model_b_) + " --threads 1");
  ASSERT_EQ(warn.exit_code, 0) << warn.err;
  EXPECT_CONTAINS(warn.err, "warning: the query vector comes from model");
  EXPECT_EQ(json::parse(warn.out)["mode"], "text");
  CommandResult strict =
      deepseek("kb search 头痛 --strict-model --kb " + q(kb_a_file()) + " --model " + q(*model_b_) + " --threads 1");
  EXPECT_EQ(strict.exit_code, 1);
  CommandResult same =
      deepseek("kb search 头痛 --json --kb " + q(kb_a_file()) + " --model " + q(*model_a_) + " --threads 1");
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(json::parse(same.out)["mode"], "embedding+text");

  // Exit codes: usage 2, errors 1.
  EXPECT_EQ(deepseek("kb search --kb " + q(out)).exit_code, 2);
  EXPECT_EQ(deepseek("kb search x --lang fr --kb " + q(out)).exit_code, 2);
  EXPECT_EQ(deepseek("kb frobnicate").exit_code, 2);
  EXPECT_EQ(deepseek("kb import medquad").exit_code, 2);
  CommandResult missing = deepseek("kb search x --kb " + q(dir / "nope.sqlite"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_CONTAINS(missing.err, "nope.sqlite: no KB file there");
  write_file(dir / "bad" / "x.yaml", "- id: kb-bad-001\n");
  CommandResult bad = deepseek("kb build --entries " + q(dir / "bad") + " --out " + q(dir / "bad.sqlite"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_CONTAINS(bad.err, (dir / "bad" / "x.yaml").string() + ":1:3: kb-bad-001.lang: missing field");
  for (const char* sub : {"build", "search", "import", "info"}) {
    CommandResult h = deepseek(std::string("kb ") + sub + " --help");
    EXPECT_EQ(h.exit_code, 0) << sub;
    EXPECT_CONTAINS(h.out, std::string("usage: deepseek kb ") + sub);
  }
  EXPECT_CONTAINS(deepseek("--help").out, "kb build|search|import|info");
}

TEST(KbMedquad, CliImportReportsCountsAndTheBadFile) {
  TempDir dir;
  const fs::path root = write_medquad(dir);
  CommandResult r = deepseek("kb import medquad " + q(root) + " --out " + q(dir / "mq.sqlite") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["imported"], 3);
  EXPECT_EQ(j["skipped_empty_answer"], 1);
  ASSERT_EQ(j["bad_files"].size(), 1u);
  EXPECT_CONTAINS(j["bad_files"][0].get<std::string>(), "0000002_1.xml");
  EXPECT_CONTAINS(r.err, "0000002_1.xml");
  EXPECT_EQ(deepseek("kb import medquad " + q(dir / "none") + " --out " + q(dir / "x.sqlite")).exit_code, 1);
}

// The medical.answer stage in real pipelines run by `deepseek run`.
std::vector<json> run_pipeline_jsonl(const TempDir& dir, const std::string& stages, CommandResult* result = nullptr) {
  write_file(dir / "in" / "q1.txt", "头痛");
  write_file(dir / "in" / "q2.txt", "I have had a sore throat for two days");
  write_file(dir / "p.yaml", "version: 1\nname: kb\nplugins: [medical]\nstages:\n  - decode\n  - normalize\n" + stages +
                                 "sinks:\n  - jsonl: {path: out.jsonl}\nrun: {threads: 2, progress: none}\n");
  CommandResult r = deepseek("run " + q(dir / "p.yaml") + " " + q(dir / "in"));
  if (result) *result = r;
  std::vector<json> docs;
  if (!fs::exists(dir / "out.jsonl")) return docs;
  std::istringstream in(read_file(dir / "out.jsonl"));
  for (std::string line; std::getline(in, line);) docs.push_back(json::parse(line));
  std::sort(docs.begin(), docs.end(), [](const json& a, const json& b) { return a["path"] < b["path"]; });
  return docs;
}

TEST_F(KbTest, AnswerStageAddsKbAnswersInAPipeline) {
  TempDir dir;
  fs::copy_file(kb_file(), dir / "kb.sqlite");
  CommandResult r;
  const std::vector<json> docs = run_pipeline_jsonl(dir, "  - medical.answer: {kb: kb.sqlite, top_k: 2}\n", &r);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  ASSERT_EQ(docs.size(), 2u);
  const json& zh = docs[0]["annotations"];
  ASSERT_EQ(zh.size(), 2u);
  EXPECT_EQ(zh[0]["label"], "kb_answer");
  EXPECT_EQ(zh[0]["text"], "头痛");
  const json& a = zh[0]["attributes"];
  EXPECT_EQ(a["entry"], "kb-neuro-002");
  EXPECT_EQ(a["title"], "头痛");
  EXPECT_EQ(a["method"], "substring");
  EXPECT_EQ(a["rank"], "1");
  EXPECT_EQ(a["department"], "neurology");
  EXPECT_EQ(a["usual_urgency"], "self_care");
  EXPECT_EQ(a["reviewer"], "unreviewed");
  EXPECT_CONTAINS(a["source"].get<std::string>(), "Deepseek Pipelines");
  EXPECT_CONTAINS(a["self_care"].get<std::string>(), "\n");
  const json doctor = json::parse(a["see_doctor_when"].get<std::string>());
  ASSERT_FALSE(doctor.empty());
  EXPECT_EQ(doctor[0]["level"], "emergency");
  EXPECT_DOUBLE_EQ(zh[0]["score"].get<double>(), std::stod(a["score"].get<std::string>()));
  const json& en = docs[1]["annotations"];
  ASSERT_FALSE(en.empty());
  EXPECT_EQ(en[0]["attributes"]["entry"], "kb-ent-001");
  EXPECT_EQ(en[0]["attributes"]["method"], "fts");
  EXPECT_EQ(en[0]["attributes"]["lang"], "en");
}

TEST_F(KbTest, AnswerStageUsesTheEmbeddingOnlyOfTheKbsModel) {
  const std::string encode =
      "  - tokenize: {model: " + q(tokenizer_path()) + "}\n  - model.encode: {model: " + q(*model_a_) + "}\n";
  {
    TempDir dir;
    CommandResult r;
    const std::vector<json> docs = run_pipeline_jsonl(
        dir, encode + "  - medical.answer: {kb: " + q(kb_a_file()) + ", model: " + q(*model_a_) + "}\n", &r);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    ASSERT_EQ(docs.size(), 2u);
    ASSERT_FALSE(docs[0]["annotations"].empty());
    EXPECT_EQ(docs[0]["annotations"][0]["attributes"]["method"].get<std::string>().substr(0, 10), "embedding+");
    EXPECT_TRUE(docs[0]["warnings"].empty()) << docs[0]["warnings"];
  }
  {
    // Without the option `model` the vector cannot be checked: full text, with a warning.
    TempDir dir;
    CommandResult r;
    const std::vector<json> docs =
        run_pipeline_jsonl(dir, encode + "  - medical.answer: {kb: " + q(kb_a_file()) + "}\n", &r);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    ASSERT_FALSE(docs[0]["annotations"].empty());
    EXPECT_EQ(docs[0]["annotations"][0]["attributes"]["method"], "substring");
    EXPECT_CONTAINS(docs[0]["warnings"].dump(), "option 'model' is not set");
  }
  {
    // Another model than the KB's: the stage refuses to start, naming both.
    TempDir dir;
    CommandResult r;
    run_pipeline_jsonl(dir, encode + "  - medical.answer: {kb: " + q(kb_a_file()) + ", model: " + q(*model_b_) + "}\n",
                       &r);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_CONTAINS(r.err + r.out, "holds vectors of model");
    EXPECT_CONTAINS(r.err + r.out, "b.safetensors");
  }
}

}  // namespace
}  // namespace ds::test
