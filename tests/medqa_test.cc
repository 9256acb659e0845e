// The medqa console: its input rules, its in-process session with the medical model (the triage
// guarantees on every labelled question: red flags only raise, an emergency always carries the
// number and the emergency department), and the binary end to end (piped questions in both
// languages with bad lines among them, arguments, commands, usage errors).
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "answer.h"
#include "batch.h"
#include "cli_options.h"
#include "line_editor.h"
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
fs::path pipeline_file() { return source_dir() / "pipelines" / "medical_qa.yaml"; }

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
  EXPECT_EQ(n, 1493);
  EXPECT_GT(emergency_rules, 150);  // most of the 444 emergency questions carry an emergency rule
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
  EXPECT_EQ(why["settings"]["emergency_threshold"], "0.25");
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

// ---- follow-ups, batch input, history (no model) ----

TEST(MedqaInput, FollowUpsAreShortLinesThatReferBack) {
  for (const char* yes : {"it started 2 hours ago", "It's getting worse", "and now I feel dizzy", "for 3 days",
                          "since yesterday morning", "getting worse", "它从昨天开始的", "现在更严重了", "两天了",
                          "还有点发烧", "这两天一直这样"})
    EXPECT_TRUE(medqa::looks_like_follow_up(yes)) << yes;
  for (const char* no : {"headache for 3 days", "chest pain and I can't breathe", "我头痛三天了", "sore throat",
                         "my 2-year-old has had a fever of 39.5 for two days", ""})
    EXPECT_FALSE(medqa::looks_like_follow_up(no)) << no;
}

TEST(MedqaInput, BatchLinesArePlainOrJsonlPerLine) {
  EXPECT_FALSE(medqa::parse_batch_line("", 1).has_value());
  EXPECT_FALSE(medqa::parse_batch_line("  \t", 2).has_value());
  auto plain = medqa::parse_batch_line("headache for two days", 3);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->id, "3");
  EXPECT_EQ(plain->text, "headache for two days");
  EXPECT_FALSE(plain->jsonl);
  auto row = medqa::parse_batch_line(R"({"id": "q-7", "text": "头痛怎么办", "lang": "zh"})", 4);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->id, "q-7");
  EXPECT_EQ(row->text, "头痛怎么办");
  EXPECT_TRUE(row->jsonl);
  auto numbered = medqa::parse_batch_line(R"({"id": 12, "text": "sore throat"})", 5);
  EXPECT_EQ(numbered->id, "12");
  auto no_id = medqa::parse_batch_line(R"({"text": "sore throat"})", 6);
  EXPECT_EQ(no_id->id, "6");
  // A JSON object without text is a question like any other line (and is refused as no words or answered).
  auto other = medqa::parse_batch_line(R"({"question": "x"})", 7);
  EXPECT_FALSE(other->jsonl);
  EXPECT_EQ(other->text, R"({"question": "x"})");
}

TEST(MedqaHistory, AppendsWholeLinesAndSkipsWhatCannotBeStored) {
  TempDir dir;
  const fs::path file = dir / "state" / "medqa_history";
  {
    medqa::LineEditor editor(file);
    EXPECT_TRUE(editor.remember("headache for two days"));
    EXPECT_FALSE(editor.remember("headache for two days")) << "a repeat of the last entry";
    EXPECT_FALSE(editor.remember(""));
    EXPECT_FALSE(editor.remember("bad \xFF utf-8"));
    EXPECT_FALSE(editor.remember(std::string(medqa::kMaxHistoryBytes + 1, 'a')));
    EXPECT_TRUE(editor.remember("头痛怎么办"));
  }
  EXPECT_EQ(read_file(file), "headache for two days\n头痛怎么办\n");
  // A damaged file (invalid bytes, a line cut by a crash) loses only its bad lines.
  write_file(file, "one\n\xC3\x28 two\nthree\n\xE5\xA4");
  EXPECT_EQ(medqa::load_history(file), (std::vector<std::string>{"one", "three"}));
  medqa::LineEditor editor(file);
  EXPECT_EQ(editor.history().size(), 2u);
}

// ---- batch mode against its schema (apps/medqa/README.md, "Batch JSON") ----

// Checks one batch output line: every required key with its type. Returns what is wrong ("" if nothing).
std::string batch_schema_errors(const json& j) {
  std::string err;
  auto need = [&](const json& obj, const char* key, auto is_type, const char* type) {
    if (!obj.contains(key)) err += std::string("missing ") + key + "; ";
    else if (!is_type(obj[key])) err += std::string(key) + " is not " + type + "; ";
  };
  auto str = [](const json& v) { return v.is_string(); };
  auto num = [](const json& v) { return v.is_number(); };
  if (!j.is_object()) return "not an object";
  need(j, "id", str, "a string");
  if (j.contains("error")) {
    need(j, "error", str, "a string");
    need(j, "message", str, "a string");
    return err;
  }
  need(j, "lang", str, "a string");
  if (j.value("lang", "") != "zh" && j.value("lang", "") != "en") err += "lang is not zh|en; ";
  need(j, "triage", str, "a string");
  if (rank(j.value("triage", "")) < 0) err += "triage is not a level; ";
  need(j, "triage_scores", [](const json& v) { return v.is_object(); }, "an object");
  if (j.contains("triage_scores")) {
    double sum = 0;
    for (const std::string& level : kLevels) {
      if (!j["triage_scores"].contains(level) || !j["triage_scores"][level].is_number()) err += "triage_scores." + level + " missing; ";
      else sum += j["triage_scores"][level].get<double>();
    }
    if (std::abs(sum - 1) > 0.01) err += "triage_scores do not sum to 1; ";
  }
  need(j, "red_flags", [](const json& v) { return v.is_array(); }, "an array");
  for (const json& f : j.value("red_flags", json::array())) {
    need(f, "id", str, "a string");
    need(f, "level", str, "a string");
    need(f, "rationale", str, "a string");
  }
  need(j, "department", str, "a string");
  need(j, "department_zh", str, "a string");
  need(j, "answer", [](const json& v) { return v.is_object() || v.is_null(); }, "an object or null");
  if (j.contains("answer") && j["answer"].is_object())
    for (const char* key : {"id", "title", "text", "source"}) need(j["answer"], key, str, "a string");
  need(j, "path", str, "a string");
  need(j, "latency_ms", num, "a number");
  if (j.value("triage", "") == "emergency") need(j, "emergency_number", str, "a string");
  return err;
}

TEST(MedqaBatch, EveryDevQuestionGivesALineOfTheSchema) {
  TempDir dir;
  std::ifstream in(source_dir() / "data/medical/triage/questions.jsonl");
  std::string dev;
  std::vector<std::string> ids;
  for (std::string line; std::getline(in, line);) {
    json row = json::parse(line);
    if (row.value("split", "") != "dev") continue;
    dev += line + "\n";
    ids.push_back(row["id"]);
  }
  ASSERT_GT(ids.size(), 100u);
  write_file(dir / "dev.jsonl", dev);
  CommandResult r = run_command(q(medqa_binary()) + " --model " + q(medical_model()) + " --kb " + q(test_kb()) +
                                " --batch " + q(dir / "dev.jsonl") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), ids.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(batch_schema_errors(lines[i]), "") << lines[i].dump();
    EXPECT_EQ(lines[i].value("id", ""), ids[i]);
    EXPECT_FALSE(lines[i].contains("error")) << lines[i].dump();
  }
}

TEST(MedqaBatch, MixedInputFromStdinWithBadLines) {
  const std::string input = std::string("headache for two days\n\n") + R"({"id": "zh-1", "text": "我胸口很痛，喘不上气"})" +
                            "\n???\nbad \xFF line\n" + std::string(3000, 'a') + "\n";
  CommandResult r = medqa("--batch - --json", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  for (const json& j : lines) EXPECT_EQ(batch_schema_errors(j), "") << j.dump();
  EXPECT_EQ(lines[0]["id"], "1");
  EXPECT_EQ(lines[1]["id"], "zh-1");
  EXPECT_EQ(lines[1]["triage"], "emergency");
  EXPECT_EQ(lines[1]["lang"], "zh");
  EXPECT_EQ(lines[1]["department_zh"], "急诊科");
  EXPECT_EQ(lines[1]["emergency_number"], "120");
  EXPECT_EQ(lines[2]["error"], "no_words");
  EXPECT_EQ(lines[3]["error"], "invalid_utf8");
  EXPECT_EQ(lines[4]["error"], "too_long");
  EXPECT_EQ(lines[4]["id"], "6");
  CommandResult missing = medqa("--batch /nonexistent/q.txt");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

// ---- the console on a pseudo-terminal ----

// medqa started on a pty (forkpty), as a person's terminal would run it.
class Terminal {
 public:
  explicit Terminal(const fs::path& history) {
    const std::string bin = medqa_binary().string(), model = medical_model().string(), kb = test_kb().string();
    const std::string hist = history.string();
    struct winsize ws{};
    ws.ws_row = 50;
    ws.ws_col = 200;
    pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      ::setenv("DS_MEDQA_HISTORY", hist.c_str(), 1);
      ::setenv("TERM", "xterm", 1);
      ::setenv("NO_COLOR", "1", 1);
      ::execl(bin.c_str(), "medqa", "--model", model.c_str(), "--kb", kb.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool started() const { return pid_ > 0; }

  // Reads the screen until `needle` shows after the last clear(), or `seconds` pass.
  bool wait_for(const std::string& needle, double seconds = 60) { return wait_after("", needle, seconds); }
  // The same for `needle` after `marker` (output that only comes once the line was handled: the
  // typed text's echo may redraw the prompt).
  bool wait_after(const std::string& marker, const std::string& needle, double seconds = 60) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    auto found = [&] {
      const size_t m = screen_.find(marker);
      return m != std::string::npos && screen_.find(needle, m + marker.size()) != std::string::npos;
    };
    while (!found()) {
      if (std::chrono::steady_clock::now() > end) return false;
      if (!read_some(100)) return found();
    }
    return true;
  }
  // Types `bytes`, reading the screen meanwhile (the echo must not fill the pty and block both sides).
  void type(const std::string& bytes) {
    for (size_t i = 0; i < bytes.size();) {
      struct pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 50) > 0 && (p.revents & POLLOUT)) {
        const ssize_t n = ::write(fd_, bytes.data() + i, std::min<size_t>(1024, bytes.size() - i));
        if (n > 0) i += static_cast<size_t>(n);
      }
      read_some(0);
    }
  }
  void clear() { screen_.clear(); }
  // Lets the line editor switch the terminal to its editing mode after drawing the prompt: a
  // control key typed ahead of that reaches the terminal's line discipline instead (Ctrl-C as
  // SIGINT, Ctrl-D as a cooked end of file), which no person typing can do.
  // Waits until the terminal is in the editor's non-canonical mode (tcgetattr on the master reads the
  // slave's settings), then 100 ms more; a fixed delay alone was too short on a loaded CI machine.
  void settle() {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (termios t{}; std::chrono::steady_clock::now() < end; read_some(20))
      if (tcgetattr(fd_, &t) == 0 && !(t.c_lflag & ICANON)) break;
    const auto extra = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (std::chrono::steady_clock::now() < extra) read_some(20);
  }
  const std::string& screen() const { return screen_; }
  // Waits for the program to end; its exit code, or -1 when it did not end in time or was killed.
  int wait_exit(double seconds = 20) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      read_some(50);
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
    }
    return -1;
  }
  bool running() { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  bool read_some(int timeout_ms) {
    struct pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;  // EIO: the program closed the terminal
    screen_.append(buf, static_cast<size_t>(n));
    return true;
  }
  pid_t pid_ = -1;
  int fd_ = -1;
  bool exited_ = false;
  std::string screen_;
};

// The prompt after output: at the start of a line (libedit may redraw "medqa> " with the typed text).
const char* const kPrompt = "\nmedqa> ";

TEST(MedqaTerminal, AQuestionAFollowUpCtrlCAndCtrlD) {
  TempDir dir;
  const fs::path history = dir / "medqa_history";
  Terminal t(history);
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for(kPrompt)) << t.screen();
  EXPECT_NE(t.screen().find("not a diagnosis"), std::string::npos) << "the disclaimer at start: " << t.screen();

  t.clear();
  t.type("crushing chest pain and I can't breathe\r");
  ASSERT_TRUE(t.wait_after(" ms\r\n", kPrompt)) << t.screen();
  EXPECT_NE(t.screen().find("EMERGENCY"), std::string::npos) << t.screen();
  EXPECT_NE(t.screen().find("Emergency number: 911"), std::string::npos) << t.screen();
  EXPECT_NE(t.screen().find("Not a diagnosis: call 120 (China) / 911 (US) now"), std::string::npos)
      << "the disclaimer with every emergency: " << t.screen();

  t.clear();
  t.type("it started 2 hours ago\r");
  ASSERT_TRUE(t.wait_after(" ms\r\n", kPrompt)) << t.screen();
  EXPECT_NE(t.screen().find("follow-up"), std::string::npos) << t.screen();
  EXPECT_NE(t.screen().find("crushing chest pain and I can't breathe it started 2 hours ago"), std::string::npos)
      << t.screen();

  t.clear();
  t.type(":lang zh\r");
  ASSERT_TRUE(t.wait_after("language zh", kPrompt)) << t.screen();
  t.clear();
  t.type(":new\r");
  ASSERT_TRUE(t.wait_after("new question", kPrompt)) << t.screen();
  t.clear();
  t.type("chest pain and I can't breathe\r");
  ASSERT_TRUE(t.wait_after(" ms\r\n", kPrompt)) << t.screen();
  EXPECT_NE(t.screen().find("急救电话：120"), std::string::npos) << ":lang zh answers in Chinese: " << t.screen();

  // Ctrl-C cancels the line being typed; the console stays.
  t.clear();
  t.settle();
  t.type("half a line\x03");
  ASSERT_TRUE(t.wait_after("^C", kPrompt)) << t.screen();
  EXPECT_TRUE(t.running());
  EXPECT_EQ(t.screen().find("Department"), std::string::npos) << "the cancelled line was not answered: " << t.screen();

  // A 100 KB paste gets a clear message.
  t.clear();
  t.type(std::string(100 * 1024, 'a') + "\r");
  ASSERT_TRUE(t.wait_after("too long", kPrompt, 120)) << t.screen().substr(t.screen().size() > 2000 ? t.screen().size() - 2000 : 0);
  EXPECT_NE(t.screen().find("too long"), std::string::npos);

  t.clear();
  t.type(":history\r");
  ASSERT_TRUE(t.wait_after("2  it started", kPrompt)) << t.screen();
  EXPECT_NE(t.screen().find("1  crushing chest pain and I can't breathe"), std::string::npos) << t.screen();
  EXPECT_EQ(t.screen().find("half a line"), std::string::npos) << "a cancelled line is not history: " << t.screen();

  t.settle();
  t.type("\x04");
  EXPECT_EQ(t.wait_exit(), 0) << t.screen();
  const std::string saved = read_file(history);
  EXPECT_EQ(saved.rfind("crushing chest pain and I can't breathe\nit started 2 hours ago\n", 0), 0u) << saved;
  EXPECT_EQ(saved.find("aaaa"), std::string::npos) << "the 100 KB paste is not history";
}

}  // namespace
}  // namespace ds::test
