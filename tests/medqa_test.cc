// The medqa console: its input rules, its in-process session with the medical model (the triage
// guarantees on every labelled question: red flags only raise, an emergency always carries the
// number and the emergency department), and the binary end to end (piped questions in both
// languages with bad lines among them, arguments, commands, usage errors).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "answer.h"
#include "cli_options.h"
#include "medical_model.h"
#include "question.h"
#include "session.h"
#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<std::string> kLevels = {"self_care", "routine", "urgent", "emergency"};
int rank(const std::string& level) {
  auto it = std::find(kLevels.begin(), kLevels.end(), level);
  return it == kLevels.end() ? -1 : static_cast<int>(it - kLevels.begin());
}

std::string q(const fs::path& p) {
  std::string s = "'";
  s += p.string();
  return s + "'";
}
fs::path medqa_binary() { return binary_dir() / "bin" / "medqa"; }
fs::path pipeline_file() { return source_dir() / "pipelines" / "medqa.yaml"; }

// A knowledge base built from data/kb/entries with the test model (the bundled one is a build
// output and may be missing or built with another model), once per test process.
const fs::path& test_kb() {
  static TempDir dir;
  static const fs::path kb = [] {
    const fs::path file = dir / "kb.sqlite";
    CommandResult r = run_command(q(deepseek_binary()) + " kb build --threads 1 --out " + q(file) + " --model " +
                                  q(medical_model()));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return file;
  }();
  return kb;
}

// Runs medqa with `args`, `input` on stdin.
CommandResult medqa(const std::string& args, const std::string& input = "") {
  TempDir dir;
  write_file(dir / "in", input);
  return run_command(q(medqa_binary()) + " --model " + q(medical_model()) + " --kb " + q(test_kb()) + " " + args +
                     " < " + q(dir / "in"));
}

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    lines.push_back(j);
  }
  return lines;
}

// ---- input rules (no model) ----

TEST(MedqaInput, RefusesEmptyWordlessLongAndInvalidText) {
  EXPECT_EQ(medqa::check_question("")->code, "empty");
  EXPECT_EQ(medqa::check_question("  \t \xE3\x80\x80 ")->code, "empty");
  EXPECT_EQ(medqa::check_question("？？？!!! ...")->code, "no_words");
  EXPECT_EQ(medqa::check_question("39.5 !!")->code, "no_words");
  EXPECT_EQ(medqa::check_question("\xF0\x9F\x98\x80")->code, "no_words");  // an emoji alone
  EXPECT_EQ(medqa::check_question("fever \xff\xfe")->code, "invalid_utf8");
  EXPECT_EQ(medqa::check_question("\xC0\xAF")->code, "invalid_utf8");        // overlong '/'
  EXPECT_EQ(medqa::check_question("\xED\xA0\x80")->code, "invalid_utf8");    // a surrogate
  EXPECT_EQ(medqa::check_question(std::string(2001, 'a'))->code, "too_long");
  EXPECT_EQ(medqa::check_question("头痛", true)->code, "too_long");
  EXPECT_FALSE(medqa::check_question("头痛怎么办"));
  EXPECT_FALSE(medqa::check_question("胸痛?"));
  EXPECT_FALSE(medqa::check_question(std::string(2000, 'a')));
  EXPECT_EQ(medqa::clean_question("\t 头痛\x01怎么办 \r"), "头痛 怎么办");
  EXPECT_EQ(medqa::clean_question("\xE3\x80\x80 cough \xE3\x80\x80"), "cough");
}

TEST(MedqaInput, ReadsLinesWithALimit) {
  std::istringstream in("one\r\n\n" + std::string(100, 'x') + "\nlast");
  std::string line;
  bool truncated = false;
  ASSERT_TRUE(medqa::read_line(in, line, truncated, 50));
  EXPECT_EQ(line, "one");
  ASSERT_TRUE(medqa::read_line(in, line, truncated, 50));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(medqa::read_line(in, line, truncated, 50));
  EXPECT_TRUE(truncated);
  EXPECT_EQ(line.size(), 50u);
  ASSERT_TRUE(medqa::read_line(in, line, truncated, 50));
  EXPECT_EQ(line, "last");
  EXPECT_FALSE(truncated);
  EXPECT_FALSE(medqa::read_line(in, line, truncated, 50));
}

TEST(MedqaInput, ParsesFlags) {
  medqa::MedqaOptions o = medqa::parse_options({"--json", "--lang=zh", "--path", "light", "头痛"});
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.lang, "zh");
  EXPECT_EQ(o.path, "light");
  EXPECT_EQ(o.questions, (std::vector<std::string>{"头痛"}));
  EXPECT_THROW(medqa::parse_options({"--lang", "fr"}), medqa::UsageError);
  EXPECT_THROW(medqa::parse_options({"--path"}), medqa::UsageError);
  EXPECT_THROW(medqa::parse_options({"--colour"}), medqa::UsageError);
  EXPECT_EQ(medqa::parse_options({"--", "--json"}).questions, (std::vector<std::string>{"--json"}));
}

// ---- the session with the medical model ----

class MedqaSession : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(medical_model())) << "no medical model at " << medical_model();
    session_ = new medqa::Session(
        medqa::SessionSettings{pipeline_file(), medical_model().string(), "", "auto", test_kb().string()});
  }
  static void TearDownTestSuite() {
    delete session_;
    session_ = nullptr;
  }

  static medqa::Answer ask(const std::string& question) {
    medqa::Answered done = session_->ask(question);
    EXPECT_FALSE(done.doc.failed()) << done.doc.failed_stage << ": " << done.doc.error;
    return medqa::read_answer(done.doc, 1, question, session_->path(), done.latency_ms, done.stage_ms);
  }

  // The guarantees every answer keeps, whatever the model says.
  static void expect_guarantees(const medqa::Answer& a) {
    SCOPED_TRACE(a.question);
    const std::string level = a.get("level"), model = a.get("model_level");
    ASSERT_NE(rank(level), -1) << level;
    ASSERT_NE(rank(model), -1) << model;
    EXPECT_GE(rank(level), rank(model));
    for (const medqa::RedFlag& r : a.red_flags) EXPECT_GE(rank(level), rank(r.level)) << r.rule;
    const bool emergency = level == "emergency";
    EXPECT_EQ(!a.get("emergency_number").empty(), emergency);
    EXPECT_EQ(a.get("department") == "emergency", emergency);
    if (emergency) {
      EXPECT_EQ(a.get("emergency_number"), a.language() == "zh" ? "120" : "911");
    }
    json probs = json::parse(a.get("model_probs"));
    double sum = 0;
    for (const std::string& l : kLevels) sum += probs.at(l).get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-3);
    json top = json::parse(a.get("departments_top"));
    ASSERT_EQ(top.size(), 3u);
    EXPECT_GE(top[0]["p"].get<double>(), top[1]["p"].get<double>());
    EXPECT_FALSE(a.get("department_name").empty());
    EXPECT_FALSE(a.get("advice").empty());
    std::string fired = "," + a.get("rules_fired") + ",";
    std::stringstream raised(a.get("raised_by"));
    for (std::string id; std::getline(raised, id, ',');) EXPECT_NE(fired.find("," + id + ","), std::string::npos) << id;
    EXPECT_EQ(a.get("raised_by").empty(), rank(level) == rank(model));
  }

  static medqa::Session* session_;
};

medqa::Session* MedqaSession::session_ = nullptr;

TEST_F(MedqaSession, ChestPainWithBreathlessnessIsAlwaysAnEmergencyWithTheNumber) {
  for (const auto& [question, number] : std::vector<std::pair<std::string, std::string>>{
           {"胸口剧痛，喘不上气", "120"},
           {"胸痛伴呼吸困难，出冷汗", "120"},
           {"Chest pain and shortness of breath", "911"},
           {"crushing chest pain and I can't breathe", "911"}}) {
    medqa::Answer a = ask(question);
    SCOPED_TRACE(question);
    expect_guarantees(a);
    EXPECT_EQ(a.get("level"), "emergency");
    EXPECT_EQ(a.get("emergency_number"), number);
    EXPECT_EQ(a.get("department"), "emergency");
    EXPECT_FALSE(a.get("rules_fired").empty());
    EXPECT_FALSE(a.red_flags.empty());
  }
}

TEST_F(MedqaSession, ANegatedRedFlagRaisesNothing) {
  for (const std::string question : {"no chest pain, just a mild cough", "没有胸痛，只是有点咳嗽",
                                     "I had chest pain last year, now fine", "中风前兆有哪些表现"}) {
    medqa::Answer a = ask(question);
    SCOPED_TRACE(question);
    expect_guarantees(a);
    EXPECT_EQ(a.get("rules_fired"), "");
    EXPECT_EQ(a.get("raised_by"), "");
    EXPECT_TRUE(a.red_flags.empty());
    EXPECT_EQ(a.get("level"), a.get("model_level"));
  }
}

TEST_F(MedqaSession, TheGuaranteesHoldOnEveryLabelledQuestion) {
  std::ifstream in(source_dir() / "data/medical/triage/questions.jsonl");
  int n = 0, emergency_rules = 0;
  for (std::string line; std::getline(in, line); ++n) {
    const json item = json::parse(line);
    medqa::Answer a = ask(item["text"].get<std::string>());
    expect_guarantees(a);
    if (std::any_of(a.red_flags.begin(), a.red_flags.end(), [](const medqa::RedFlag& r) { return r.level == "emergency"; })) {
      ++emergency_rules;
      EXPECT_EQ(a.get("level"), "emergency") << a.question;
    }
    EXPECT_EQ(a.language(), item["lang"].get<std::string>()) << a.question;
  }
  EXPECT_EQ(n, 673);
  EXPECT_GT(emergency_rules, 150);  // most of the 215 emergency questions carry an emergency rule
}

TEST_F(MedqaSession, SwitchingThePathKeepsAnsweringAndABadPathChangesNothing) {
  const std::string before = session_->path();
  EXPECT_EQ(before, "standard");
  session_->set_path("light");
  EXPECT_EQ(session_->path(), "light");
  medqa::Answer a = ask("crushing chest pain and I can't breathe");
  EXPECT_EQ(a.path, "light");
  EXPECT_EQ(a.get("level"), "emergency");
  EXPECT_THROW(session_->set_path("warp"), ConfigErrors);
  EXPECT_EQ(session_->path(), "light");
  session_->set_path("standard");
  EXPECT_EQ(session_->path(), "standard");
}

// ---- the binary ----

TEST(MedqaApp, PipedQuestionsInBothLanguagesGiveOneJsonObjectPerLine) {
  ASSERT_TRUE(fs::exists(medical_model())) << "no medical model at " << medical_model();
  const std::string input =
      "头痛怎么办\n"
      "my 2-year-old has had a fever of 39.5 for two days\n"
      "\n"
      "crushing chest pain and I can't breathe\n"
      "fever \xff\xfe\xfd\n"
      "胸口剧痛，喘不上气";  // no final newline
  CommandResult r = medqa("--json", input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("not a diagnosis"), std::string::npos) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["n"], i + 1);
  EXPECT_EQ(lines[2]["error"], "empty");
  EXPECT_EQ(lines[4]["error"], "invalid_utf8");
  EXPECT_FALSE(lines[4]["message"].get<std::string>().empty());
  for (size_t i : {0u, 1u, 3u, 5u}) {
    const json& j = lines[i];
    SCOPED_TRACE(j.dump());
    EXPECT_FALSE(j.contains("error"));
    EXPECT_NE(rank(j["level"]), -1);
    EXPECT_GE(rank(j["level"]), rank(j["model_level"]));
    for (const char* key : {"question", "language", "advice", "department", "department_name", "path"})
      EXPECT_TRUE(j[key].is_string() && !j[key].get<std::string>().empty()) << key;
    EXPECT_EQ(j["model_probs"].size(), 4u);
    EXPECT_EQ(j["departments_top"].size(), 3u);
    EXPECT_TRUE(j["raised_by"].is_array());
    EXPECT_TRUE(j["rules_fired"].is_array());
    EXPECT_TRUE(j["red_flags"].is_array());
    EXPECT_TRUE(j["answers"].is_array());
    EXPECT_EQ(j["path"], "standard");
    EXPECT_GT(j["latency_ms"].get<double>(), 0.0);
    EXPECT_EQ(j.contains("emergency_number"), j["level"] == "emergency");
  }
  EXPECT_EQ(lines[0]["language"], "zh");
  EXPECT_EQ(lines[0]["question"], "头痛怎么办");
  // The knowledge base answers, with its source.
  ASSERT_FALSE(lines[0]["answers"].empty());
  const json& top = lines[0]["answers"][0];
  for (const char* key : {"entry", "title", "method", "source", "reviewer"})
    EXPECT_FALSE(top[key].get<std::string>().empty()) << key;
  EXPECT_GT(top["score"].get<double>(), 0.0);
  EXPECT_FALSE(top["self_care"].empty());
  EXPECT_TRUE(top["see_doctor_when"].is_array());
  EXPECT_EQ(top["lang"], "zh");
  EXPECT_EQ(lines[1]["language"], "en");
  for (size_t i : {3u, 5u}) {
    EXPECT_EQ(lines[i]["level"], "emergency");
    EXPECT_EQ(lines[i]["department"], "emergency");
    EXPECT_FALSE(lines[i]["red_flags"].empty());
    EXPECT_FALSE(lines[i]["red_flags"][0]["rationale"].get<std::string>().empty());
  }
  EXPECT_EQ(lines[3]["emergency_number"], "911");
  EXPECT_EQ(lines[5]["emergency_number"], "120");
  EXPECT_EQ(lines[5]["department_name"], "急诊科");
}

TEST(MedqaApp, QuestionsFromArgumentsPrintPlainTextWithoutColour) {
  ASSERT_TRUE(fs::exists(medical_model()));
  CommandResult r = medqa("'胸口剧痛，喘不上气' 'Chest pain and shortness of breath'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("not a diagnosis"), std::string::npos);
  EXPECT_NE(r.out.find("紧急"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("急救电话：120"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("科室：急诊科"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("EMERGENCY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Emergency number: 911"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chest_pain_breathless"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("来源："), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Source: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "colour codes on a pipe";
}

TEST(MedqaApp, CommandsExplainSwitchPathAndToggleJson) {
  ASSERT_TRUE(fs::exists(medical_model()));
  CommandResult r = medqa("--json", ":why\n头痛怎么办\n:why\n:path light\n头痛怎么办\n:path warp\n:bogus\n:json\n头痛怎么办\n:quit\n头痛怎么办\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("ask a question first"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("medqa: path light"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no path 'warp'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("path stays light"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown command ':bogus'"), std::string::npos) << r.err;
  // answer, why, answer (light), then text output after :json; nothing after :quit.
  std::istringstream out(r.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 4u) << r.out;
  json first = json::parse(lines[0]), why = json::parse(lines[1]), light = json::parse(lines[2]);
  EXPECT_EQ(first["path"], "standard");
  EXPECT_EQ(why["n"], 1);
  EXPECT_EQ(why["model_probs"].size(), 4u);
  EXPECT_EQ(why["departments_top"].size(), 3u);
  EXPECT_FALSE(why["kb_hits"].empty());
  EXPECT_FALSE(why["kb_hits"][0]["method"].get<std::string>().empty());
  EXPECT_TRUE(why["stage_ms"].contains("model.encode"));
  EXPECT_EQ(why["settings"]["emergency_threshold"], "0.35");
  EXPECT_EQ(light["path"], "light");
  EXPECT_EQ(light["n"], 2);
  EXPECT_NE(r.out.find("科室："), std::string::npos) << "text output after :json";
  EXPECT_EQ(r.out.find("4> "), std::string::npos) << "nothing after :quit";
}

TEST(MedqaApp, PathAutoRecordsThePathTheRouterChoseAndItsScore) {
  const fs::path model = medical_model();
  const fs::path router = model.parent_path() / (model.stem().string() + ".router.yaml");
  if (!fs::exists(router)) GTEST_SKIP() << "no router for the model (" << router << ")";
  CommandResult r = medqa("--json --path auto", "头痛怎么办\ncrushing chest pain and I can't breathe\n:why\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const json& j : lines) {
    SCOPED_TRACE(j.dump());
    EXPECT_NE(j["path"], "auto");
    EXPECT_TRUE(j["path"] == "light" || j["path"] == "standard" || j["path"] == "heavy");
    ASSERT_TRUE(j.contains("router_score"));
    EXPECT_TRUE(j["router_score"].is_number());
  }
  EXPECT_EQ(lines[1]["level"], "emergency");  // whatever path the router picks, the rules hold
}

TEST(MedqaApp, LanguageFlagSetsTheAnswersLanguage) {
  ASSERT_TRUE(fs::exists(medical_model()));
  CommandResult r = medqa("--json --lang zh 'Chest pain and shortness of breath'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["language"], "zh");
  EXPECT_EQ(lines[0]["emergency_number"], "120");
  EXPECT_EQ(lines[0]["rules_fired"][0], "chest_pain_breathless");  // English terms still match
}

TEST(MedqaApp, BadLinesAreRefusedAndTheLoopGoesOn) {
  ASSERT_TRUE(fs::exists(medical_model()));
  using namespace std::string_literals;
  const std::string input = std::string(3000, 'a') + "\n？？？!!!\n" + std::string(100000, 'b') + "\n\x00\x01\n头痛\n"s;
  CommandResult r = medqa("--json", input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0]["error"], "too_long");
  EXPECT_EQ(lines[1]["error"], "no_words");
  EXPECT_EQ(lines[2]["error"], "too_long");
  EXPECT_LT(lines[2]["question"].get<std::string>().size(), 300u);
  EXPECT_EQ(lines[3]["error"], "empty");
  EXPECT_EQ(lines[4]["question"], "头痛");
  EXPECT_FALSE(lines[4].contains("error"));
}

TEST(MedqaApp, UsageErrorsExitTwoAndAMissingKnowledgeBaseOne) {
  CommandResult help = run_command(q(medqa_binary()) + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: medqa"), std::string::npos);
  CommandResult version = run_command(q(medqa_binary()) + " --version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("medqa ", 0), 0u);
  CommandResult bad = run_command(q(medqa_binary()) + " --lang fr x");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--lang expects one of auto, zh, en"), std::string::npos) << bad.err;
  CommandResult no_model = run_command(q(medqa_binary()) + " --model /nonexistent/m.safetensors x");
  EXPECT_EQ(no_model.exit_code, 2);
  EXPECT_NE(no_model.err.find("cannot load the model"), std::string::npos) << no_model.err;
  EXPECT_NE(no_model.err.find("--model"), std::string::npos) << "a hint how to give the model: " << no_model.err;
  CommandResult no_pipeline = run_command(q(medqa_binary()) + " --pipeline /nonexistent.yaml x");
  EXPECT_EQ(no_pipeline.exit_code, 2) << no_pipeline.err;
  // A knowledge base that is not there is a runtime error with a hint how to build one.
  CommandResult no_kb = run_command(q(medqa_binary()) + " --model " + q(medical_model()) + " --kb /nonexistent/kb.sqlite x");
  EXPECT_EQ(no_kb.exit_code, 1) << no_kb.err;
  EXPECT_NE(no_kb.err.find("deepseek kb build"), std::string::npos) << no_kb.err;
}

}  // namespace
}  // namespace ds::test
