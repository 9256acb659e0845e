// `deepseek eval legal`: span matching (Jaccard, each gold span once, most confident first), the
// ranked metrics (AUPR, precision at 80% recall) on lists worked out by hand, macro and micro
// averages, document and category keys, gzip input, and bad input (exit 2 naming file:line).
#include <gtest/gtest.h>

#include <zlib.h>

#include <nlohmann/json.hpp>

#include "cli/legal_eval.h"
#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;
using eval::Ranked;
using nlohmann::json;

std::string q(const fs::path& p) {
  std::string s = "'";
  s += p.string();
  return s += "'";
}
CommandResult deepseek(const std::string& args) { return run_command(q(deepseek_binary()) + " " + args); }

// A gold row: labels given as {key: [[start, end], ...]}.
std::string gold_row(const std::string& id, const std::map<std::string, std::vector<std::pair<int, int>>>& labels,
                     const std::string& split = "dev") {
  json l = json::object();
  for (const auto& [key, spans] : labels) {
    json clauses = json::array();
    for (auto [s, e] : spans) clauses.push_back({{"text", "..."}, {"start", s}, {"end", e}, {"match", "exact"}});
    l[key] = {{"clauses", clauses}, {"answer", ""}};
  }
  return json({{"id", id}, {"split", split}, {"labels", l}}).dump() + "\n";
}

std::string pred_row(const std::string& document, const std::string& cuad, int start, int end, double confidence,
                     const std::string& category = "") {
  json j = {{"document", document}, {"doc_sha256", "0"}, {"category", category.empty() ? "x_" + cuad : category},
            {"cuad", cuad},         {"label", cuad},     {"label_zh", ""},
            {"start", start},       {"end", end},        {"text", ""},
            {"confidence", confidence}, {"values", json::object()}};
  return j.dump() + "\n";
}

eval::EvalReport score(const TempDir& dir, const std::string& gold, const std::string& pred,
                       eval::EvalSettings settings = {}) {
  write_file(dir / "gold.jsonl", gold);
  write_file(dir / "pred.jsonl", pred);
  return eval::evaluate(eval::load_gold(dir / "gold.jsonl"), eval::load_predictions(dir / "pred.jsonl"), settings);
}

const eval::Metrics& category(const eval::EvalReport& r, const std::string& key) {
  for (const auto& c : r.categories)
    if (c.key == key) return c.metrics;
  throw std::runtime_error("no category " + key);
}

std::vector<Ranked> ranking(std::initializer_list<std::pair<double, bool>> items) {
  std::vector<Ranked> out;
  for (auto [c, hit] : items) out.push_back({c, hit});
  return out;
}

TEST(EvalJaccard, IntersectionOverUnionOfCodePointRanges) {
  EXPECT_DOUBLE_EQ(eval::jaccard({0, 10}, {0, 10}), 1.0);
  EXPECT_DOUBLE_EQ(eval::jaccard({0, 10}, {5, 15}), 5.0 / 15.0);
  EXPECT_DOUBLE_EQ(eval::jaccard({0, 100}, {0, 50}), 0.5);
  EXPECT_DOUBLE_EQ(eval::jaccard({0, 10}, {10, 20}), 0.0);
  EXPECT_DOUBLE_EQ(eval::jaccard({3, 3}, {3, 3}), 0.0);
  EXPECT_DOUBLE_EQ(eval::jaccard({2, 4}, {0, 10}), 0.2);
}

TEST(EvalDocumentId, FileNameWithoutFoldersAndExtensions) {
  EXPECT_EQ(eval::document_id("cuad-0003.txt.gz"), "cuad-0003");
  EXPECT_EQ(eval::document_id("/data/in/cuad-0003.txt.gz"), "cuad-0003");
  EXPECT_EQ(eval::document_id("合同/设备采购合同.txt"), "设备采购合同");
  EXPECT_EQ(eval::document_id("cuad-0003"), "cuad-0003");
  EXPECT_EQ(eval::document_id("a/Agreement v1.2.pdf"), "Agreement v1.2");
  EXPECT_EQ(eval::document_id("notes.md.xz"), "notes");
}

TEST(EvalRanked, AverageAndPrecisionAtRecallByHand) {
  // 4 gold spans. Cumulative (P, R) after each prediction: (1, .25) (.5, .25) (2/3, .5) (.75, .75) (.6, .75).
  auto r = ranking({{0.9, true}, {0.8, false}, {0.7, true}, {0.6, true}, {0.5, false}});
  EXPECT_NEAR(eval::average_precision(r, 4), 0.25 * 1 + 0.25 * (2.0 / 3) + 0.25 * 0.75, 1e-12);
  EXPECT_DOUBLE_EQ(eval::precision_at_recall(r, 4, 0.8), 0.0);  // 80% recall never reached

  // 5 gold spans; recall 4/5 first reached at 0.5 with precision 4/5, then 5/7 at 0.3.
  auto s = ranking({{0.3, true}, {0.9, true}, {0.8, true}, {0.7, false}, {0.6, true}, {0.5, true}, {0.4, false}});
  EXPECT_DOUBLE_EQ(eval::precision_at_recall(s, 5, 0.8), 0.8);
  EXPECT_NEAR(eval::average_precision(s, 5), 0.2 * (1 + 1 + 0.75 + 0.8 + 5.0 / 7), 1e-12);

  // Tied confidences form one threshold: (P, R) = (.5, .5) at once, not (1, .5) then (.5, .5).
  EXPECT_DOUBLE_EQ(eval::average_precision(ranking({{0.9, false}, {0.9, true}}), 2), 0.25);
  EXPECT_DOUBLE_EQ(eval::average_precision(ranking({{0.9, true}, {0.9, true}}), 2), 1.0);
  EXPECT_DOUBLE_EQ(eval::average_precision({}, 3), 0.0);
  EXPECT_DOUBLE_EQ(eval::average_precision(ranking({{0.9, false}}), 0), 0.0);
}

TEST(EvalLegal, PerfectPredictionsScoreOne) {
  TempDir dir;
  std::string gold = gold_row("cuad-0001", {{"Governing Law", {{10, 50}}}, {"Parties", {{0, 5}, {20, 30}}}}) +
                     gold_row("cuad-0002", {{"Governing Law", {{100, 180}}}, {"Parties", {{3, 9}}}});
  std::string pred = pred_row("in/cuad-0001.txt.gz", "Governing Law", 10, 50, 0.9) +
                     pred_row("in/cuad-0001.txt.gz", "Parties", 0, 5, 0.8) +
                     pred_row("in/cuad-0001.txt.gz", "Parties", 20, 30, 0.7) +
                     pred_row("cuad-0002.txt", "Governing Law", 100, 180, 0.6) +
                     pred_row("cuad-0002.txt", "Parties", 3, 9, 0.95);
  eval::EvalSettings settings;
  settings.min_gold = 1;
  auto r = score(dir, gold, pred, settings);
  ASSERT_EQ(r.categories.size(), 2u);
  EXPECT_EQ(r.averaged_categories, 2);
  for (const eval::Metrics* m : {&r.categories[0].metrics, &r.categories[1].metrics, &r.macro, &r.micro}) {
    EXPECT_DOUBLE_EQ(m->precision, 1.0);
    EXPECT_DOUBLE_EQ(m->recall, 1.0);
    EXPECT_DOUBLE_EQ(m->f1, 1.0);
    EXPECT_DOUBLE_EQ(m->aupr, 1.0);
    EXPECT_DOUBLE_EQ(m->p_at_80r, 1.0);
  }
  EXPECT_EQ(r.micro.gold, 5);
  EXPECT_EQ(r.micro.true_positives, 5);
  EXPECT_EQ(r.documents_without_predictions, 0);

  auto cli = deepseek("eval legal --gold " + q(dir / "gold.jsonl") + " --pred " + q(dir / "pred.jsonl") +
                      " --min-gold 1 --json");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  json j = json::parse(cli.out);
  EXPECT_DOUBLE_EQ(j["macro"]["aupr"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["micro"]["f1"].get<double>(), 1.0);
  EXPECT_EQ(j["macro"]["categories"].get<int>(), 2);
  EXPECT_EQ(j["categories"][0]["key"], "Governing Law");
  EXPECT_EQ(j["documents"]["gold"].get<int>(), 2);

  auto table = deepseek("eval legal --gold " + q(dir / "gold.jsonl") + " --pred " + q(dir / "pred.jsonl"));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("Governing Law"), std::string::npos);
  EXPECT_NE(table.out.find("macro (0 categories)"), std::string::npos);  // default --min-gold 5
  EXPECT_NE(table.out.find("* fewer than 5 gold spans"), std::string::npos);
}

TEST(EvalLegal, JaccardThresholdIsInclusive) {
  TempDir dir;
  // One gold span [0, 100) per document; predictions overlap it by exactly 0.5, 0.49 and 0.51.
  std::string gold = gold_row("a", {{"K", {{0, 100}}}}) + gold_row("b", {{"K", {{0, 100}}}}) +
                     gold_row("c", {{"K", {{0, 100}}}});
  std::string pred = pred_row("a.txt", "K", 0, 50, 0.9) + pred_row("b.txt", "K", 0, 49, 0.9) +
                     pred_row("c.txt", "K", 0, 102, 0.9);  // 100 / 102 = 0.98
  eval::EvalSettings settings;
  settings.min_gold = 1;
  auto r = score(dir, gold, pred, settings);
  EXPECT_EQ(category(r, "K").true_positives, 2);  // a (0.5) and c, not b (0.49)

  // 51/100 = 0.51 matches, 100/201 = 0.4975 does not.
  write_file(dir / "pred.jsonl", pred_row("b.txt", "K", 49, 100, 0.9) + pred_row("a.txt", "K", 0, 201, 0.9));
  r = eval::evaluate(eval::load_gold(dir / "gold.jsonl"), eval::load_predictions(dir / "pred.jsonl"), settings);
  EXPECT_EQ(category(r, "K").true_positives, 1);
  settings.jaccard = 0.52;
  r = eval::evaluate(eval::load_gold(dir / "gold.jsonl"), eval::load_predictions(dir / "pred.jsonl"), settings);
  EXPECT_EQ(category(r, "K").true_positives, 0);
}

TEST(EvalLegal, EachGoldSpanMatchesOnceMostConfidentFirst) {
  TempDir dir;
  // Gold spans listed twice are one span. Three predictions for the same span: the most confident
  // one takes it (although the second overlaps better), the other two are false positives.
  std::string gold = gold_row("d", {{"K", {{0, 10}, {0, 10}, {50, 60}}}});
  std::string pred = pred_row("d.txt", "K", 0, 8, 0.9) + pred_row("d.txt", "K", 0, 10, 0.6) +
                     pred_row("d.txt", "K", 0, 10, 0.6) + pred_row("d.txt", "K", 50, 60, 0.3);
  eval::EvalSettings settings;
  settings.min_gold = 1;
  auto r = score(dir, gold, pred, settings);
  const eval::Metrics& m = category(r, "K");
  EXPECT_EQ(m.gold, 2);
  EXPECT_EQ(m.predicted, 4);
  EXPECT_EQ(m.predicted_at_threshold, 3);
  EXPECT_EQ(m.true_positives, 1);
  EXPECT_DOUBLE_EQ(m.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.f1, 0.4);
  // Ranking: 0.9 hit; 0.6 x2 miss; 0.3 hit -> (1, .5), (1/3, .5), (.5, 1).
  EXPECT_DOUBLE_EQ(m.aupr, 0.5 * 1 + 0.5 * 0.5);
  EXPECT_DOUBLE_EQ(m.p_at_80r, 0.5);
}

TEST(EvalLegal, MacroOverCategoriesWithEnoughGoldAndMicroPooled) {
  TempDir dir;
  std::string gold = gold_row("d1", {{"A", {{0, 10}, {20, 30}, {40, 50}, {60, 70}, {80, 90}}},
                                     {"B", {{0, 10}, {20, 30}, {40, 50}, {60, 70}, {80, 90}}},
                                     {"C", {{0, 10}}}});
  // A: 5 of 5 found at 0.9 -> all 1. B: 1 hit at 0.7 and 1 miss at 0.8 -> P .5, R .2.
  std::string pred;
  for (int s : {0, 20, 40, 60, 80}) pred += pred_row("d1.txt", "A", s, s + 10, 0.9);
  pred += pred_row("d1.txt", "B", 100, 110, 0.8) + pred_row("d1.txt", "B", 0, 10, 0.7);
  pred += pred_row("d1.txt", "C", 0, 10, 0.9);
  auto r = score(dir, gold, pred);
  EXPECT_EQ(r.averaged_categories, 2);  // C has 1 gold span < 5
  const eval::Metrics& b = category(r, "B");
  EXPECT_DOUBLE_EQ(b.precision, 0.5);
  EXPECT_DOUBLE_EQ(b.recall, 0.2);
  EXPECT_DOUBLE_EQ(b.aupr, 0.2 * 0.5);
  EXPECT_DOUBLE_EQ(b.p_at_80r, 0.0);
  EXPECT_DOUBLE_EQ(r.macro.precision, 0.75);
  EXPECT_DOUBLE_EQ(r.macro.recall, 0.6);
  EXPECT_DOUBLE_EQ(r.macro.f1, (1.0 + 2 * 0.5 * 0.2 / 0.7) / 2);
  EXPECT_DOUBLE_EQ(r.macro.aupr, (1.0 + 0.1) / 2);
  EXPECT_DOUBLE_EQ(r.macro.p_at_80r, 0.5);
  EXPECT_EQ(r.macro.gold, 10);
  // Micro: 7 predictions of A and B, 6 hits, 10 gold spans; ranking 0.9 x5 hit, 0.8 miss, 0.7 hit.
  EXPECT_EQ(r.micro.gold, 10);
  EXPECT_EQ(r.micro.predicted, 7);
  EXPECT_DOUBLE_EQ(r.micro.precision, 6.0 / 7);
  EXPECT_DOUBLE_EQ(r.micro.recall, 0.6);
  EXPECT_DOUBLE_EQ(r.micro.aupr, 0.5 * 1 + 0.1 * (6.0 / 7));
}

TEST(EvalLegal, ConfidenceThresholdOnlyMovesPrecisionRecallF1) {
  TempDir dir;
  std::string gold = gold_row("d", {{"K", {{0, 10}, {20, 30}}}});
  std::string pred = pred_row("d.txt", "K", 0, 10, 0.9) + pred_row("d.txt", "K", 20, 30, 0.4);
  eval::EvalSettings settings;
  settings.min_gold = 1;
  auto r = score(dir, gold, pred, settings);
  EXPECT_DOUBLE_EQ(category(r, "K").recall, 0.5);
  EXPECT_DOUBLE_EQ(category(r, "K").aupr, 1.0);
  settings.min_confidence = 0.4;
  r = score(dir, gold, pred, settings);
  EXPECT_DOUBLE_EQ(category(r, "K").recall, 1.0);
  EXPECT_DOUBLE_EQ(category(r, "K").aupr, 1.0);
}

TEST(EvalLegal, UnknownDocumentsAreIgnoredAndMissingOnesCount) {
  TempDir dir;
  std::string gold = gold_row("d1", {{"K", {{0, 10}}}}) + gold_row("d2", {{"K", {{0, 10}}}});
  std::string pred = pred_row("d1.txt", "K", 0, 10, 0.9) + pred_row("other.txt", "K", 0, 10, 0.9) +
                     pred_row("other.txt", "K", 30, 40, 0.9) + pred_row("d1.txt", "Nope", 0, 10, 0.9);
  eval::EvalSettings settings;
  settings.min_gold = 1;
  auto r = score(dir, gold, pred, settings);
  EXPECT_EQ(r.unknown_document_predictions, 2);
  EXPECT_EQ(r.unknown_documents, std::vector<std::string>{"other"});
  EXPECT_EQ(r.unknown_category_predictions, 1);
  EXPECT_EQ(r.documents_without_predictions, 1);
  const eval::Metrics& m = category(r, "K");
  EXPECT_EQ(m.predicted, 1);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);  // d2's span is a miss
  EXPECT_DOUBLE_EQ(m.aupr, 0.5);

  auto cli = deepseek("eval legal --gold " + q(dir / "gold.jsonl") + " --pred " + q(dir / "pred.jsonl"));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("warning: 2 predictions for 1 documents not in the gold set were ignored: other"),
            std::string::npos)
      << cli.out;
}

TEST(EvalLegal, KeysMatchCuadNameOrCategoryId) {
  TempDir dir;
  // Gold keyed by a taxonomy id and by a CUAD name; a missing clause (-1) is skipped, a clause with
  // segments counts as its whole range.
  json law = {{"clauses", {{{"start", 0}, {"end", 10}}, {{"start", -1}, {"end", -1}}}}};
  json parties = {
      {"clauses", {{{"start", 20}, {"end", 60}, {"match", "segments"}, {"segments", {{20, 30}, {50, 60}}}}}}};
  json seg = {{"id", "d"}, {"labels", {{"governing_law", law}, {"Parties", parties}}}};
  write_file(dir / "gold.jsonl", seg.dump() + "\n");
  write_file(dir / "pred.jsonl", pred_row("d.txt", "Governing Law", 0, 10, 0.9, "governing_law") +
                                     pred_row("d.txt", "Parties", 20, 60, 0.9, "parties"));
  eval::EvalSettings settings;
  settings.min_gold = 1;
  auto r = eval::evaluate(eval::load_gold(dir / "gold.jsonl"), eval::load_predictions(dir / "pred.jsonl"), settings);
  EXPECT_EQ(category(r, "governing_law").gold, 1);
  EXPECT_EQ(category(r, "governing_law").true_positives, 1);
  EXPECT_EQ(category(r, "Parties").true_positives, 1);

  settings.categories = {"Parties"};
  r = eval::evaluate(eval::load_gold(dir / "gold.jsonl"), eval::load_predictions(dir / "pred.jsonl"), settings);
  ASSERT_EQ(r.categories.size(), 1u);
  EXPECT_EQ(r.categories[0].key, "Parties");
  settings.categories = {"Nope"};
  EXPECT_THROW(
      eval::evaluate(eval::load_gold(dir / "gold.jsonl"), eval::load_predictions(dir / "pred.jsonl"), settings),
      std::invalid_argument);
  EXPECT_EQ(deepseek("eval legal --gold " + q(dir / "gold.jsonl") + " --pred " + q(dir / "pred.jsonl") +
                     " --categories Nope")
                .exit_code,
            2);
}

TEST(EvalLegal, SplitAndIdsFilterGoldAndGzipIsRead) {
  TempDir dir;
  std::string gold = gold_row("t1", {{"K", {{0, 10}}}}, "train") + gold_row("v1", {{"K", {{0, 10}}}}, "dev") +
                     gold_row("v2", {{"K", {{0, 10}}}}, "dev");
  gzFile gz = gzopen((dir / "gold.jsonl.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, gold.data(), static_cast<unsigned>(gold.size())), static_cast<int>(gold.size()));
  gzclose(gz);
  write_file(dir / "pred.jsonl", pred_row("t1.txt", "K", 0, 10, 0.9) + pred_row("v1.txt", "K", 0, 10, 0.9));

  eval::GoldFilter dev;
  dev.split = "dev";
  eval::GoldSet g = eval::load_gold(dir / "gold.jsonl.gz", dev);
  EXPECT_EQ(g.ids, (std::vector<std::string>{"v1", "v2"}));
  eval::GoldFilter ids;
  ids.ids = std::set<std::string>{"t1"};
  EXPECT_EQ(eval::load_gold(dir / "gold.jsonl.gz", ids).ids, std::vector<std::string>{"t1"});

  auto cli = deepseek("eval legal --gold " + q(dir / "gold.jsonl.gz") + " --pred " + q(dir / "pred.jsonl") +
                      " --split dev --min-gold 1 --json");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  json j = json::parse(cli.out);
  EXPECT_EQ(j["documents"]["gold"].get<int>(), 2);
  EXPECT_EQ(j["predictions"]["unknown_document"].get<int>(), 1);  // t1 is train
  EXPECT_DOUBLE_EQ(j["micro"]["recall"].get<double>(), 0.5);

  write_file(dir / "ids.txt", "# dev subset\nv2\n\n");
  cli = deepseek("eval legal --gold " + q(dir / "gold.jsonl.gz") + " --pred " + q(dir / "pred.jsonl") + " --ids " +
                 q(dir / "ids.txt") + " --min-gold 1 --json");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_DOUBLE_EQ(json::parse(cli.out)["micro"]["recall"].get<double>(), 0.0);

  EXPECT_EQ(deepseek("eval legal --gold " + q(dir / "gold.jsonl.gz") + " --pred " + q(dir / "pred.jsonl") +
                     " --split test")
                .exit_code,
            2);  // no gold documents left

  std::string bytes = read_file(dir / "gold.jsonl.gz");
  write_file(dir / "cut.jsonl.gz", bytes.substr(0, bytes.size() / 2));
  auto cut = deepseek("eval legal --gold " + q(dir / "cut.jsonl.gz") + " --pred " + q(dir / "pred.jsonl"));
  EXPECT_EQ(cut.exit_code, 2);
  EXPECT_NE(cut.err.find("cut.jsonl.gz"), std::string::npos) << cut.err;
}

TEST(EvalLegal, MalformedRowsExitTwoNamingFileAndLine) {
  TempDir dir;
  write_file(dir / "gold.jsonl", gold_row("d", {{"K", {{0, 10}}}}));
  struct Case {
    std::string pred;
    std::string message;
  };
  std::string good = pred_row("d.txt", "K", 0, 10, 0.9);
  std::vector<Case> cases = {
      {good + "\n{\"document\": \"d.txt\", \n", "pred.jsonl:3: invalid JSON"},
      {good + "[1, 2]\n", "pred.jsonl:2: a row must be a JSON object"},
      {good + pred_row("d.txt", "K", 10, 5, 0.9), "pred.jsonl:2: bad range [10, 5)"},
      {good + pred_row("d.txt", "K", 0, 5, 1.5), "pred.jsonl:2: \"confidence\" must be between 0 and 1"},
      {R"({"document": "d.txt", "cuad": "K", "start": 0, "end": 4})" "\n", "pred.jsonl:1: missing \"confidence\""},
      {R"({"document": "d.txt", "cuad": "K", "start": "0", "end": 4, "confidence": 1})" "\n",
       "pred.jsonl:1: \"start\" must be an integer"},
      {R"({"document": "d.txt", "start": 0, "end": 4, "confidence": 1})" "\n",
       "pred.jsonl:1: needs \"category\" or \"cuad\""},
      {R"({"cuad": "K", "start": 0, "end": 4, "confidence": 1})" "\n", "pred.jsonl:1: missing \"document\""},
  };
  for (const Case& c : cases) {
    write_file(dir / "pred.jsonl", c.pred);
    auto r = deepseek("eval legal --gold " + q(dir / "gold.jsonl") + " --pred " + q(dir / "pred.jsonl"));
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << r.err;
  }

  write_file(dir / "pred.jsonl", good);
  write_file(dir / "bad_gold.jsonl", gold_row("d", {{"K", {{0, 10}}}}) + R"({"id": "e", "labels": []})" "\n");
  auto r = deepseek("eval legal --gold " + q(dir / "bad_gold.jsonl") + " --pred " + q(dir / "pred.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad_gold.jsonl:2: \"labels\" must be an object"), std::string::npos) << r.err;

  write_file(dir / "bad_gold.jsonl", gold_row("d", {{"K", {{0, 10}}}}) + gold_row("d", {{"K", {{0, 10}}}}));
  r = deepseek("eval legal --gold " + q(dir / "bad_gold.jsonl") + " --pred " + q(dir / "pred.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad_gold.jsonl:2: document \"d\" appears twice"), std::string::npos) << r.err;

  write_file(dir / "bad_gold.jsonl", R"({"id": "d", "labels": {"K": {"clauses": [{"start": 5, "end": 2}]}}})" "\n");
  r = deepseek("eval legal --gold " + q(dir / "bad_gold.jsonl") + " --pred " + q(dir / "pred.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad_gold.jsonl:1: labels[\"K\"]: bad clause range [5, 2)"), std::string::npos) << r.err;
}

TEST(EvalLegal, UsageErrors) {
  TempDir dir;
  write_file(dir / "gold.jsonl", gold_row("d", {{"K", {{0, 10}}}}));
  write_file(dir / "pred.jsonl", pred_row("d.txt", "K", 0, 10, 0.9));
  std::string files = " --gold " + q(dir / "gold.jsonl") + " --pred " + q(dir / "pred.jsonl");
  auto help = deepseek("eval --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: deepseek eval legal"), std::string::npos);
  EXPECT_NE(deepseek("--help").out.find("eval legal"), std::string::npos);
  EXPECT_EQ(deepseek("eval").exit_code, 2);
  EXPECT_EQ(deepseek("eval medical" + files).exit_code, 2);
  EXPECT_EQ(deepseek("eval legal --gold " + q(dir / "gold.jsonl")).exit_code, 2);
  EXPECT_EQ(deepseek("eval legal" + files + " --jaccard 0").exit_code, 2);
  EXPECT_EQ(deepseek("eval legal" + files + " --min-confidence 2").exit_code, 2);
  EXPECT_EQ(deepseek("eval legal" + files + " --min-gold -1").exit_code, 2);
  EXPECT_EQ(deepseek("eval legal" + files + " --frobnicate").exit_code, 2);
  auto missing = deepseek("eval legal --gold " + q(dir / "nope.jsonl") + " --pred " + q(dir / "pred.jsonl"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.jsonl: cannot open"), std::string::npos) << missing.err;
  EXPECT_EQ(deepseek("eval legal" + files + " --jaccard=0.9 --min-gold=0").exit_code, 0);
}

}  // namespace
}  // namespace ds::test
