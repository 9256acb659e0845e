// `deepseek eval triage`: the metrics on a hand-made gold/prediction pair whose numbers are worked
// out by hand, the file readers' errors, and the command end to end (--split, --json, exit codes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/legal_eval.h"
#include "cli/triage_eval.h"
#include "test_util.h"

namespace ds::test {
namespace {

using nlohmann::json;

// Gold: six questions (f has no prediction). Predictions: a right, b under-triaged (urgent ->
// routine), c over-triaged (routine -> urgent), d right, e over-triaged (urgent -> emergency), x
// not in the gold set.
const char* kGold =
    R"({"id": "a", "text": "chest pain", "triage": "emergency", "department": "emergency", "split": "dev"}
{"id": "b", "text": "fever 3 days", "triage": "urgent", "split": "dev"}
{"id": "c", "text": "mole", "triage": "routine", "split": "dev"}

{"id": "d", "text": "cold", "triage": "self_care", "split": "dev"}
{"id": "e", "text": "palpitations", "triage": "urgent", "department": "cardiology", "split": "dev"}
{"id": "f", "text": "sore throat", "triage": "self_care", "split": "dev"}
{"id": "t1", "text": "train row", "triage": "routine", "split": "train"}
)";
const char* kPred =
    R"({"id": "a", "triage": "emergency", "department": "emergency"}
{"id": "b", "triage": "routine", "department": "general"}
{"id": "c", "triage": "urgent"}
{"id": "d", "triage": "self_care"}
{"id": "e", "triage": "emergency", "department": "emergency"}
{"id": "x", "triage": "routine"}
{"id": "t1", "triage": "routine"}
)";

TEST(TriageEval, HandMadePairGivesTheWorkedOutNumbers) {
  TempDir dir;
  write_file(dir / "gold.jsonl", kGold);
  write_file(dir / "pred.jsonl", kPred);
  eval::TriageReport r =
      eval::evaluate_triage(eval::load_triage_gold(dir / "gold.jsonl", "dev"), eval::load_triage_pred(dir / "pred.jsonl"));
  EXPECT_EQ(r.gold, 6);
  EXPECT_EQ(r.scored, 5);
  EXPECT_EQ(r.missing, (std::vector<std::string>{"f"}));
  EXPECT_EQ(r.extra, (std::vector<std::string>{"x", "t1"}));  // t1 is another split's: the command sets it aside
  EXPECT_DOUBLE_EQ(r.accuracy, 2.0 / 5);
  EXPECT_DOUBLE_EQ(r.under_triage, 1.0 / 5);
  EXPECT_DOUBLE_EQ(r.over_triage, 2.0 / 5);
  EXPECT_DOUBLE_EQ(r.emergency_recall, 1.0);
  EXPECT_DOUBLE_EQ(r.emergency_precision, 0.5);
  EXPECT_DOUBLE_EQ(r.recall[1], 0.0);  // urgent: b and e both missed
  EXPECT_EQ(r.confusion[0][0], 1);
  EXPECT_EQ(r.confusion[1][2], 1);
  EXPECT_EQ(r.confusion[1][0], 1);
  EXPECT_EQ(r.confusion[2][1], 1);
  EXPECT_EQ(r.confusion[3][3], 1);
  // Three levels: b and c stay within "care"; only e (care -> emergency) is off.
  EXPECT_DOUBLE_EQ(r.accuracy3, 4.0 / 5);
  EXPECT_DOUBLE_EQ(r.under_triage3, 0.0);
  EXPECT_DOUBLE_EQ(r.over_triage3, 1.0 / 5);
  EXPECT_EQ(r.confusion3[1][1], 2);
  EXPECT_EQ(r.confusion3[1][0], 1);
  // Departments: a (right) and e (wrong); b's gold has none.
  EXPECT_EQ(r.department_gold, 2);
  EXPECT_EQ(r.department_correct, 1);
  EXPECT_DOUBLE_EQ(r.department_accuracy, 0.5);
}

TEST(TriageEval, RefusedLinesAndRepeatedIdsAreReported) {
  std::vector<eval::TriageRow> gold = {{"a", "urgent", "", "", 1}, {"b", "routine", "", "", 2}};
  std::vector<eval::TriageRow> pred = {{"a", "", "", "too_long", 1}, {"b", "routine", "", "", 2}, {"b", "urgent", "", "", 3}};
  eval::TriageReport r = eval::evaluate_triage(gold, pred);
  EXPECT_EQ(r.errors, (std::vector<std::string>{"a"}));
  EXPECT_EQ(r.duplicates, (std::vector<std::string>{"b"}));
  EXPECT_EQ(r.scored, 1);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);  // the first row for b counts
}

TEST(TriageEval, MalformedRowsNameFileAndLine) {
  TempDir dir;
  write_file(dir / "g.jsonl", "{\"id\": \"a\", \"triage\": \"urgent\"}\n{\"id\": \"b\", \"triage\": \"soon\"}\n");
  try {
    eval::load_triage_gold(dir / "g.jsonl");
    FAIL() << "no error";
  } catch (const eval::EvalInputError& e) {
    EXPECT_EQ(e.line(), 2u);
    EXPECT_NE(std::string(e.what()).find("emergency, urgent, routine or self_care"), std::string::npos) << e.what();
  }
  write_file(dir / "g.jsonl", "{\"id\": \"a\", \"triage\": \"urgent\"}\n{\"id\": \"a\", \"triage\": \"urgent\"}\n");
  EXPECT_THROW(eval::load_triage_gold(dir / "g.jsonl"), eval::EvalInputError);
  write_file(dir / "p.jsonl", "not json\n");
  EXPECT_THROW(eval::load_triage_pred(dir / "p.jsonl"), eval::EvalInputError);
}

TEST(TriageEval, CommandPrintsJsonAndSetsOtherSplitsAside) {
  TempDir dir;
  write_file(dir / "gold.jsonl", kGold);
  write_file(dir / "pred.jsonl", kPred);
  const std::string base = "'" + deepseek_binary().string() + "' eval triage --gold '" + (dir / "gold.jsonl").string() +
                           "' --pred '" + (dir / "pred.jsonl").string() + "'";
  CommandResult r = run_command(base + " --split dev --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["rows"]["gold"], 6);
  EXPECT_EQ(j["rows"]["scored"], 5);
  EXPECT_EQ(j["extra_ids"], json::array({"x"}));
  EXPECT_EQ(j["missing_ids"], json::array({"f"}));
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(j["three_level"]["accuracy"].get<double>(), 0.8);
  EXPECT_EQ(j["confusion"]["urgent"]["routine"], 1);
  EXPECT_EQ(j["three_level"]["confusion"]["care"]["emergency"], 1);
  EXPECT_DOUBLE_EQ(j["department"]["accuracy"].get<double>(), 0.5);
  CommandResult table = run_command(base + " --split dev");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("accuracy 0.400  under-triage 0.200  over-triage 0.400  emergency recall 1.000"),
            std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("1 gold ids without a prediction: f"), std::string::npos) << table.out;
  EXPECT_EQ(run_command(base + " --split nosuch").exit_code, 2);
  EXPECT_EQ(run_command("'" + deepseek_binary().string() + "' eval triage --gold x").exit_code, 2);
}

}  // namespace
}  // namespace ds::test
