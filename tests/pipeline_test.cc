// End-to-end tests of `deepseek run`: bad inputs, resume, SIGKILL-and-resume, thread-count
// independence, large inputs. They run the real CLI binary on real files with real sinks.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;

// A pipeline over the framework's own stages writing to all three sinks in `out`.
std::string text_pipeline(const fs::path& out, bool fsync = true, const std::string& extra_stages = "") {
  return "version: 1\nname: t\ninput:\n  include: ['*']\nstages:\n  - decode: {on_error: replace}\n"
         "  - normalize\n  - segment\n" +
         extra_stages + "sinks:\n  - sqlite: {path: '" + (out / "r.db").string() + "'}\n" +
         "  - jsonl: {path: '" + (out / "r.jsonl").string() + "', fsync: " + (fsync ? "true" : "false") + "}\n" +
         "  - csv: {path: '" + (out / "r.csv").string() + "'}\nrun: {threads: 2, batch_size: 4, progress: none}\n";
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

CommandResult deepseek(const std::string& args) { return run_command(q(deepseek_binary()) + " " + args); }

int64_t count(const fs::path& db, const std::string& sql) { return std::stoll(query(db, sql).at(0)); }

std::vector<std::string> lines_of(const fs::path& file) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void make_corpus(const fs::path& dir, int n) {
  for (int i = 0; i < n; ++i) {
    std::string text = "第" + std::to_string(i + 1) + "条 违约责任\n乙方逾期交货的，应支付违约金。Document " +
                       std::to_string(i) + ". The Buyer shall pay within 30 days.\n";
    write_file(dir / ("doc" + std::to_string(10000 + i) + ".txt"), text);
  }
}

TEST(Pipeline, BadInputsFailOneByOneAndTheBatchGoesOn) {
  TempDir tmp;
  fs::path in = tmp / "in", out = tmp / "out";
  write_file(in / "good.txt", "第一条 合同标的\n甲方向乙方采购设备。\n");
  write_file(in / "empty.txt", "");
  write_file(in / "binary.bin", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0", 20) + std::string(200, '\0'));
  // Damaged UTF-8: 27 bytes of Chinese, then a lead byte with no continuation.
  write_file(in / "bad-utf8.txt", "甲方应当按期付款。\xC3\x28 乙方按时交货。\n");
  write_file(in / "locked.txt", "you cannot read me\n");
  fs::permissions(in / "locked.txt", fs::perms::none);
  bool root_reads_anyway = ::access((in / "locked.txt").c_str(), R_OK) == 0;
  write_file(tmp / "p.yaml", text_pipeline(out));

  auto r = deepseek("run " + q(tmp / "p.yaml") + " " + q(in) + " " + q(in / "does-not-exist.txt"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto db = out / "r.db";
  auto status = [&](const std::string& name) {
    auto rows = query(db, "SELECT status, failed_stage, error FROM documents WHERE path LIKE '%/" + name + "'");
    return rows.empty() ? std::string("MISSING") : rows[0];
  };
  EXPECT_EQ(status("good.txt").substr(0, 4), "done");
  EXPECT_EQ(status("empty.txt").substr(0, 4), "done");  // an empty file is a valid, empty document
  EXPECT_NE(status("binary.bin").find("failed|decode|"), std::string::npos) << status("binary.bin");
  EXPECT_NE(status("binary.bin").find("binary"), std::string::npos) << status("binary.bin");
  EXPECT_EQ(status("bad-utf8.txt").substr(0, 4), "done");  // replaced, with a warning naming the offset
  auto warnings = query(db, "SELECT warnings FROM documents WHERE path LIKE '%bad-utf8.txt'");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("27"), std::string::npos) << warnings[0];  // byte offset of 0xC3
  if (!root_reads_anyway) {
    EXPECT_NE(status("locked.txt").find("failed|read|"), std::string::npos);
  }
  EXPECT_NE(status("does-not-exist.txt").find("failed|read|"), std::string::npos) << status("does-not-exist.txt");
  EXPECT_NE(r.out.find("does-not-exist.txt"), std::string::npos) << "the summary names failed files";
}

TEST(Pipeline, RerunSkipsCompletedDocumentsAndAddsNothing) {
  TempDir tmp;
  make_corpus(tmp / "in", 12);
  write_file(tmp / "p.yaml", text_pipeline(tmp / "out"));
  auto first = deepseek("run " + q(tmp / "p.yaml") + " " + q(tmp / "in") + " --json");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("\"done\":12"), std::string::npos) << first.out;
  auto second = deepseek("run " + q(tmp / "p.yaml") + " " + q(tmp / "in") + " --json");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("\"skipped\":12"), std::string::npos) << second.out;
  EXPECT_EQ(count(tmp / "out/r.db", "SELECT COUNT(*) FROM documents"), 12);
  EXPECT_EQ(count(tmp / "out/r.db", "SELECT COUNT(*) FROM runs"), 2);
  EXPECT_EQ(lines_of(tmp / "out/r.jsonl").size(), 12u);

  // A changed document is processed again; an unchanged one is not.
  write_file(tmp / "in/doc10003.txt", "第一条 新内容\n");
  auto third = deepseek("run " + q(tmp / "p.yaml") + " " + q(tmp / "in") + " --json");
  EXPECT_NE(third.out.find("\"done\":1"), std::string::npos) << third.out;
  EXPECT_NE(third.out.find("\"skipped\":11"), std::string::npos) << third.out;
}

TEST(Pipeline, OutputDoesNotDependOnThreadCount) {
  TempDir tmp;
  make_corpus(tmp / "in", 40);
  write_file(tmp / "in/wide.txt", "ＡＢＣ１２３，全角文字。第二条 付款\n(a) first item; (b) second item.\n");
  for (int threads : {1, 3}) {
    fs::path out = tmp / ("out" + std::to_string(threads));
    write_file(tmp / "p.yaml", text_pipeline(out));
    auto r = deepseek("run " + q(tmp / "p.yaml") + " " + q(tmp / "in") + " --threads " + std::to_string(threads) +
                      " --batch-size " + std::to_string(threads == 1 ? 1 : 5));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(read_file(tmp / "out1/r.csv"), read_file(tmp / "out3/r.csv"));
  const char* sql = "SELECT d.path, s.ordinal, s.kind, s.number, s.begin, s.end FROM segments s "
                    "JOIN documents d ON d.id = s.document_id ORDER BY d.path, s.ordinal";
  auto a = query(tmp / "out1/r.db", sql), b = query(tmp / "out3/r.db", sql);
  EXPECT_GT(a.size(), 40u);
  EXPECT_EQ(a, b);
}

// Starts `deepseek run`, SIGKILLs it after `delay`, and returns whether it was still running.
bool run_and_kill(const std::string& args, std::chrono::milliseconds delay) {
  return test::run_and_kill("exec " + q(deepseek_binary()) + " " + args + " >/dev/null 2>&1",
                            static_cast<int>(delay.count()));
}

TEST(Pipeline, KilledRunsResumeWithEveryDocumentExactlyOnce) {
  TempDir tmp;
  constexpr int kDocs = 400;
  make_corpus(tmp / "in", kDocs);
  write_file(tmp / "p.yaml", text_pipeline(tmp / "out"));
  std::string args = "run " + q(tmp / "p.yaml") + " " + q(tmp / "in");

  // Reference: a clean run into its own folder.
  write_file(tmp / "ref.yaml", text_pipeline(tmp / "ref"));
  ASSERT_EQ(deepseek("run " + q(tmp / "ref.yaml") + " " + q(tmp / "in")).exit_code, 0);

  int kills = 0;
  for (int delay_ms : {30, 80, 150, 250, 400, 700}) {
    if (run_and_kill(args, std::chrono::milliseconds(delay_ms))) ++kills;
  }
  EXPECT_GE(kills, 2) << "the run finished before most kills: make the corpus larger";
  auto final_run = deepseek(args + " --json");
  ASSERT_EQ(final_run.exit_code, 0) << final_run.err;

  auto db = tmp / "out/r.db";
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM documents"), kDocs);
  EXPECT_EQ(count(db, "SELECT COUNT(DISTINCT path) FROM documents"), kDocs);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM documents WHERE status = 'done'"), kDocs);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM segments"), count(tmp / "ref/r.db", "SELECT COUNT(*) FROM segments"));

  auto jsonl = lines_of(tmp / "out/r.jsonl");
  EXPECT_EQ(jsonl.size(), static_cast<size_t>(kDocs));
  std::set<std::string> paths;
  for (const auto& line : jsonl) {
    auto p = line.find("\"path\":\"");
    ASSERT_NE(p, std::string::npos) << line;
    paths.insert(line.substr(p + 8, line.find('"', p + 8) - p - 8));
  }
  EXPECT_EQ(paths.size(), static_cast<size_t>(kDocs));
  // CSV rows (one per document here: no annotations) match the clean run, order aside.
  auto csv = lines_of(tmp / "out/r.csv"), ref_csv = lines_of(tmp / "ref/r.csv");
  EXPECT_EQ(csv.size(), ref_csv.size());
  std::multiset<std::string> a, b;
  auto strip_run = [](std::string s) { return s; };
  for (auto& l : csv) a.insert(strip_run(l));
  for (auto& l : ref_csv) b.insert(strip_run(l));
  EXPECT_EQ(a, b);
}

TEST(Pipeline, TenThousandSmallFilesAndOneLargeFile) {
  TempDir tmp;
  for (int i = 0; i < 10000; ++i) write_file(tmp / "in/many" / ("f" + std::to_string(i) + ".txt"), "第一条 付款。Pay now.\n");
  {
    std::ofstream big(tmp / "in/big.txt", std::ios::binary);
    std::string para = "第十二条 违约责任：乙方逾期交货的，每逾期一日应按合同总价款的日万分之五支付违约金。"
                       "The Supplier shall pay liquidated damages of 0.5% per week of delay.\n";
    for (size_t written = 0; written < (50u << 20); written += para.size()) big << para;
  }
  write_file(tmp / "p.yaml", text_pipeline(tmp / "out", /*fsync=*/false));
  auto r = deepseek("run " + q(tmp / "p.yaml") + " " + q(tmp / "in") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("\"done\":10001"), std::string::npos) << r.out;
  EXPECT_EQ(count(tmp / "out/r.db", "SELECT COUNT(*) FROM documents WHERE status='done'"), 10001);
  EXPECT_GT(count(tmp / "out/r.db", "SELECT segments_count FROM documents WHERE path LIKE '%big.txt'"), 100000);
}

TEST(Pipeline, FileOverTheSizeLimitFailsWithAClearMessage) {
  TempDir tmp;
  write_file(tmp / "in/small.txt", "ok\n");
  write_file(tmp / "in/big.txt", std::string(2048, 'x'));
  std::string yaml = text_pipeline(tmp / "out");
  yaml.replace(yaml.find("input:\n"), 7, "input:\n  max_file_bytes: 1024\n");
  write_file(tmp / "p.yaml", yaml);
  auto r = deepseek("run " + q(tmp / "p.yaml") + " " + q(tmp / "in"));
  EXPECT_EQ(r.exit_code, 1);
  auto rows = query(tmp / "out/r.db", "SELECT error FROM documents WHERE path LIKE '%big.txt'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_NE(rows[0].find("over input.max_file_bytes (1024)"), std::string::npos) << rows[0];
}

TEST(Cli, VersionHelpAndExitCodes) {
  auto v = deepseek("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("deepseek ", 0), 0u) << v.out;
  for (const char* cmd : {"--help", "run --help", "validate --help", "config --help", "plugins --help", "stages --help"}) {
    auto h = deepseek(cmd);
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.out.find("usage: deepseek"), std::string::npos) << cmd;
  }
  EXPECT_EQ(deepseek("frobnicate").exit_code, 2);
  EXPECT_EQ(deepseek("run").exit_code, 2);
  EXPECT_EQ(deepseek("run --threads x p.yaml").exit_code, 2);
}

TEST(Cli, NotYamlIsAConfigurationError) {
  TempDir tmp;
  write_file(tmp / "bad.yaml", "stages: [decode\n  - : : {\n");
  auto r = deepseek("validate " + q(tmp / "bad.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:"), std::string::npos) << r.err;
  auto missing = deepseek("run " + q(tmp / "nope.yaml"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.yaml"), std::string::npos) << missing.err;
}

TEST(Cli, ShippedPipelinesValidate) {
  for (const char* p : {"pipelines/legal-batch.yaml", "pipelines/text-only.yaml"}) {
    auto r = deepseek("validate " + q(source_dir() / p));
    EXPECT_EQ(r.exit_code, 0) << p << ": " << r.err;
  }
  auto cfg = deepseek("config " + q(source_dir() / "pipelines/legal-batch.yaml"));
  EXPECT_EQ(cfg.exit_code, 0) << cfg.err;
  EXPECT_NE(cfg.out.find("config_hash: sha256:"), std::string::npos) << cfg.out;
  EXPECT_NE(cfg.out.find("min_confidence"), std::string::npos) << "defaults are shown";
}

TEST(Cli, PluginsListsTheInTreePlugins) {
  auto r = deepseek("plugins --json");
  EXPECT_NE(r.out.find("\"name\":\"legal\""), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("legal.clauses"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"medical\""), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ds::test
