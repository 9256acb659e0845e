// End-to-end tests of the `legal-extract` batch app: the real binary on the bundled samples and on
// files made here. Rows must index the decoded text exactly, exports must be complete and valid,
// a SIGKILL mid-batch must lose and duplicate nothing, filters must filter, bad inputs must be
// recorded with their reason, and usage errors must exit 2.
#include <gtest/gtest.h>
#include <iconv.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/hash.h"
#include "exports.h"
#include "results.h"
#include "sinks/csv_format.h"
#include "sinks/json_reader.h"
#include "sinks/sqlite_sink.h"
#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) {
  std::string quoted = "'";
  quoted += p.string();
  quoted += '\'';
  return quoted;
}

fs::path legal_extract_binary() { return binary_dir() / "bin" / "legal-extract"; }

// Runs legal-extract from the top of the source tree (so sample paths are relative, as a user
// types them) with the progress display off.
CommandResult legal_extract(const std::string& args) {
  return run_command("cd " + q(source_dir()) + " && " + q(legal_extract_binary()) + " --progress none " + args);
}

int64_t count(const fs::path& db, const std::string& sql) { return std::stoll(query(db, sql).at(0)); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<JsonValue> jsonl_rows(const fs::path& file) {
  std::vector<JsonValue> rows;
  for (const std::string& line : lines_of(read_file(file))) {
    std::string error;
    auto v = parse_json(line, &error);
    EXPECT_TRUE(v && v->is_object()) << error << ": " << line;
    if (v) rows.push_back(std::move(*v));
  }
  return rows;
}

std::optional<JsonValue> json_of(const std::string& text) {
  std::string error;
  auto v = parse_json(text, &error);
  EXPECT_TRUE(v) << error << ": " << text;
  return v;
}

// Code points [begin, end) of a UTF-8 text.
std::string code_point_slice(const std::string& s, size_t begin, size_t end) {
  size_t cp = 0, b = std::string::npos, e = s.size();
  for (size_t i = 0; i <= s.size(); ++i) {
    bool starts = i == s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
    if (!starts) continue;
    if (cp == begin && b == std::string::npos) b = i;
    if (cp == end) {
      e = i;
      break;
    }
    ++cp;
  }
  return b == std::string::npos ? std::string() : s.substr(b, e - b);
}

// The file's text, decoded independently of the framework (glibc iconv), BOM removed.
std::string decode_independently(const fs::path& file) {
  std::string bytes = read_file(file);
  std::string name = file.filename().string();
  const char* charset = name.find("gb18030") != std::string::npos ? "GB18030"
                        : name.find("utf16") != std::string::npos ? "UTF-16"
                                                                  : nullptr;
  if (!charset) return bytes.rfind("\xEF\xBB\xBF", 0) == 0 ? bytes.substr(3) : bytes;
  iconv_t cd = iconv_open("UTF-8", charset);
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string out(bytes.size() * 4 + 16, '\0');
  char* in_p = bytes.data();
  size_t in_left = bytes.size();
  char* out_p = out.data();
  size_t out_left = out.size();
  EXPECT_NE(iconv(cd, &in_p, &in_left, &out_p, &out_left), static_cast<size_t>(-1)) << file;
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out.rfind("\xEF\xBB\xBF", 0) == 0 ? out.substr(3) : out;
}

std::string str(const JsonValue& row, const char* name) {
  const JsonValue* v = row.find(name);
  return v && v->is_string() ? v->string : std::string("<missing>");
}
size_t num(const JsonValue& row, const char* name) {
  const JsonValue* v = row.find(name);
  return v && v->is_number() ? static_cast<size_t>(v->number) : static_cast<size_t>(-1);
}

// A contract with headed clauses, amounts, dates and parties; `n` makes each copy distinct.
std::string contract(int n) {
  return "设备采购合同（编号 HT-" + std::to_string(n) +
         "）\n\n甲方（买方）：上海某某科技有限公司\n乙方（卖方）：北京某某设备有限公司\n\n"
         "第一条 合同标的\n乙方向甲方出售数控机床" +
         std::to_string(n % 9 + 1) +
         "台。\n\n第二条 价款与支付\n合同总价款为人民币伍拾万元整（¥500,000.00），甲方应于2026年3月1日前支付。\n\n"
         "第三条 违约责任\n乙方逾期交货的，每逾期一日应按合同总价款的日万分之五支付违约金。\n\n"
         "第四条 争议解决\n因本合同引起的争议，提交上海仲裁委员会仲裁。\n\n"
         "9. Governing Law. This Agreement is governed by the laws of the State of New York.\n";
}

// `n` distinct copies of a 5 KB sample contract.
void make_corpus(const fs::path& dir, int n) {
  const std::string sample = read_file(source_dir() / "data/samples/legal/zh/办公家具买卖合同.txt");
  for (int i = 0; i < n; ++i)
    write_file(dir / ("contract-" + std::to_string(10000 + i) + ".txt"),
               sample + "\n合同编号：" + std::to_string(i) + "\n");
}

// Starts legal-extract with `args` (from the source folder), SIGKILLs it after `delay`; returns
// whether it was still running.
bool run_and_kill(const std::string& args, std::chrono::milliseconds delay) {
  return test::run_and_kill("cd " + q(source_dir()) + " && exec " + q(legal_extract_binary()) + " --progress none " +
                                args + " >/dev/null 2>&1",
                            static_cast<int>(delay.count()));
}

const char* const kSampleDirs = "data/samples/legal data/samples/zh data/samples/en";

TEST(LegalExtract, SampleRowsHoldExactlyTheDecodedTextBetweenTheirOffsets) {
  TempDir tmp;
  auto r = legal_extract(std::string(kSampleDirs) + " --db " + q(tmp / "r.db") + " --jsonl " + q(tmp / "r.jsonl") +
                         " --csv " + q(tmp / "r.csv") + " --report " + q(tmp / "r.html") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto summary = json_of(r.out);
  ASSERT_TRUE(summary);
  // 15 contracts in data/samples/legal (its README.md is excluded by the pipeline) + 3 + 3.
  EXPECT_EQ(summary->find("documents")->number, 21);
  EXPECT_EQ(summary->find("done")->number, 21);
  EXPECT_EQ(summary->find("failed")->number, 0);

  std::vector<JsonValue> rows = jsonl_rows(tmp / "r.jsonl");
  ASSERT_GT(rows.size(), 100u);
  EXPECT_EQ(summary->find("rows")->number, static_cast<double>(rows.size()));
  std::map<std::string, std::string> text_of;  // document -> independently decoded text
  std::map<std::string, int> rows_per_doc;
  std::set<std::string> categories;
  for (const JsonValue& row : rows) {
    const std::string doc = str(row, "document");
    ASSERT_EQ(doc.rfind("data/samples/", 0), 0u) << "the path as given: " << doc;
    if (!text_of.count(doc)) {
      text_of[doc] = decode_independently(source_dir() / doc);
      EXPECT_EQ(str(row, "doc_sha256"), sha256_tagged(read_file(source_dir() / doc)).substr(7)) << doc;
    }
    const std::string& text = text_of[doc];
    size_t start = num(row, "start"), end = num(row, "end");
    ASSERT_LE(start, end) << doc;
    EXPECT_EQ(str(row, "text"), code_point_slice(text, start, end)) << doc << " [" << start << ", " << end << ")";
    EXPECT_FALSE(str(row, "text").empty()) << doc;
    double conf = row.find("confidence")->number;
    EXPECT_TRUE(conf >= 0.5 && conf <= 1.0) << conf << " (default threshold: the clause stage's 0.5)";
    EXPECT_NE(str(row, "category"), "<missing>");
    EXPECT_NE(str(row, "label"), "<missing>");
    EXPECT_NE(str(row, "label_zh"), "<missing>");
    ASSERT_TRUE(row.find("cuad") && (row.find("cuad")->is_null() || row.find("cuad")->is_string()));
    ASSERT_TRUE(row.find("values") && row.find("values")->is_object());
    for (const auto& [kind, items] : row.find("values")->object) {
      ASSERT_TRUE(items.is_array());
      for (const JsonValue& v : items.array) {
        size_t vs = num(v, "start"), ve = num(v, "end");
        EXPECT_TRUE(start <= vs && ve <= end) << "a value lies inside its row";
        EXPECT_EQ(str(v, "text"), code_point_slice(text, vs, ve)) << doc;
      }
    }
    ++rows_per_doc[doc];
    categories.insert(str(row, "category"));
  }
  // The two samples in other charsets have rows, and their offsets index the decoded text.
  EXPECT_GT(rows_per_doc["data/samples/zh/房屋租赁合同-gb18030.txt"], 0);
  EXPECT_GT(rows_per_doc["data/samples/en/mutual-nda-utf16.txt"], 0);
  for (const char* c : {"breach", "dispute", "payment", "governing_law", "parties"})
    EXPECT_TRUE(categories.count(c)) << c;
  // The database keeps the decoded text the offsets index; it agrees with the independent decoding.
  for (const auto& [doc, text] : text_of) {
    auto stored = query(tmp / "r.db", "SELECT decoded_text FROM documents WHERE path = '" + doc + "'");
    ASSERT_EQ(stored.size(), 1u) << doc;
    EXPECT_EQ(stored[0], text) << doc;
  }
  // A CUAD-mapped category carries its CUAD name.
  for (const JsonValue& row : rows) {
    if (str(row, "category") == "governing_law") {
      EXPECT_EQ(str(row, "cuad"), "Governing Law");
    }
  }

  // CSV: BOM, header, one record per row with the same values.
  std::string csv = read_file(tmp / "r.csv");
  ASSERT_EQ(csv.rfind("\xEF\xBB\xBF", 0), 0u);
  CsvParse parsed = parse_csv(std::string_view(csv).substr(3), ',');
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  EXPECT_EQ(parsed.complete_bytes, csv.size() - 3);
  ASSERT_EQ(parsed.records.size(), rows.size() + 1);
  EXPECT_EQ(parsed.records[0].fields,
            (std::vector<std::string>{"document", "doc_sha256", "category", "cuad", "label", "label_zh", "start", "end",
                                      "text", "confidence", "values", "kind", "method", "path", "router_score"}));
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& f = parsed.records[i + 1].fields;
    ASSERT_EQ(f.size(), 15u);
    EXPECT_EQ(f[0], csv_guarded(str(rows[i], "document")));
    EXPECT_EQ(f[2], str(rows[i], "category"));
    EXPECT_EQ(std::stoul(f[6]), num(rows[i], "start"));
    EXPECT_EQ(f[8], csv_guarded(str(rows[i], "text")));
    EXPECT_TRUE(json_of(f[10])) << "values is JSON text";
  }

  // The report: one self-contained HTML file naming every document.
  std::string html = read_file(tmp / "r.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  for (const char* external : {"<script", "<link", "src=", "http://", "https://", "@import"})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  for (const auto& [doc, text] : text_of) EXPECT_NE(html.find(doc), std::string::npos) << doc;
  EXPECT_NE(html.find("<mark>"), std::string::npos);
  EXPECT_NE(html.find("违约责任"), std::string::npos);
  EXPECT_NE(html.find("MB/min"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Nothing from the documents reaches the HTML unescaped: tags are ours only.
  std::set<std::string> tags;
  for (size_t p = html.find('<'); p != std::string::npos; p = html.find('<', p + 1)) {
    size_t e = html.find_first_of(" >", p + 1);
    tags.insert(html.substr(p + 1, e - p - 1));
  }
  const std::set<std::string> ours = {
      "!DOCTYPE", "html",     "/html",   "head",     "/head", "meta", "title", "/title", "style",   "/style",
      "body",     "/body",    "h1",      "/h1",      "h2",    "/h2",  "h3",    "/h3",    "p",       "/p",
      "table",    "/table",   "tr",      "/tr",      "th",    "/th",  "td",    "/td",    "span",    "/span",
      "b",        "/b",       "a",       "/a",       "ul",    "/ul",  "li",    "/li",    "section", "/section",
      "details",  "/details", "summary", "/summary", "div",   "/div", "mark",  "/mark",  "br"};
  for (const std::string& t : tags) EXPECT_TRUE(ours.count(t)) << "unexpected tag <" << t;
  // No temporary files are left next to the outputs.
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(LegalExtract, RerunReusesTheDatabaseAndRewritesIdenticalExports) {
  TempDir tmp;
  std::string args = std::string(kSampleDirs) + " --db " + q(tmp / "r.db") + " --jsonl " + q(tmp / "r.jsonl") +
                     " --csv " + q(tmp / "r.csv") + " --json";
  auto first = legal_extract(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string jsonl = read_file(tmp / "r.jsonl"), csv = read_file(tmp / "r.csv");
  auto second = legal_extract(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto s = json_of(second.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->find("processed_now")->number, 0);
  EXPECT_EQ(s->find("reused")->number, 21);
  EXPECT_EQ(read_file(tmp / "r.jsonl"), jsonl);
  EXPECT_EQ(read_file(tmp / "r.csv"), csv);
  EXPECT_EQ(count(tmp / "r.db", "SELECT COUNT(*) FROM documents"), 21);
  EXPECT_EQ(count(tmp / "r.db", "SELECT COUNT(*) FROM runs"), 2);
}

TEST(LegalExtract, KilledBatchResumesWithEveryDocumentAndRowExactlyOnce) {
  TempDir tmp;
  // The shipped pipeline runs the legal model (about 10 contracts/s on 2 cores, several times slower
  // under the sanitizers): 96 contracts keep the kills mid-run and the test short.
  constexpr int kDocs = 96;
  make_corpus(tmp / "in", kDocs);
  // Reference: one clean run.
  auto ref =
      legal_extract(q(tmp / "in") + " --threads 2 --db " + q(tmp / "ref.db") + " --jsonl " + q(tmp / "ref.jsonl"));
  ASSERT_EQ(ref.exit_code, 0) << ref.err;

  std::string args = q(tmp / "in") + " --threads 2 --db " + q(tmp / "out.db") + " --jsonl " + q(tmp / "out.jsonl") +
                     " --report " + q(tmp / "out.html");
  int kills = 0;
  for (int delay_ms : {150, 400, 700, 1000, 1400, 1900}) {
    if (run_and_kill(args, std::chrono::milliseconds(delay_ms))) ++kills;
  }
  EXPECT_GE(kills, 2) << "the run finished before most kills: make the corpus larger";
  auto final_run = legal_extract(args + " --json");
  ASSERT_EQ(final_run.exit_code, 0) << final_run.err;
  auto s = json_of(final_run.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->find("documents")->number, kDocs);
  EXPECT_EQ(s->find("done")->number, kDocs);

  auto db = tmp / "out.db";
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM documents"), kDocs);
  EXPECT_EQ(count(db, "SELECT COUNT(DISTINCT path) FROM documents"), kDocs);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM documents WHERE status = 'done'"), kDocs);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM annotations"), count(tmp / "ref.db", "SELECT COUNT(*) FROM annotations"));
  // The export is the clean run's, byte for byte: nothing lost, nothing twice, same order.
  EXPECT_EQ(read_file(tmp / "out.jsonl"), read_file(tmp / "ref.jsonl"));
  std::string html = read_file(tmp / "out.html");
  EXPECT_NE(html.find("contract-" + std::to_string(10000 + kDocs - 1) + ".txt"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // Temporary export files of the killed runs are gone.
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(LegalExtract, MinConfidenceReachesTheClauseStageAndCategoriesFilter) {
  TempDir tmp;
  auto def = legal_extract(std::string(kSampleDirs) + " --db " + q(tmp / "d.db") + " --jsonl " + q(tmp / "def.jsonl"));
  ASSERT_EQ(def.exit_code, 0) << def.err;
  auto all = legal_extract(std::string(kSampleDirs) + " --min-confidence 0 --db " + q(tmp / "a.db") + " --jsonl " +
                           q(tmp / "all.jsonl") + " --json");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto high = legal_extract(std::string(kSampleDirs) + " --min-confidence 0.8 --db " + q(tmp / "a.db") + " --jsonl " +
                            q(tmp / "high.jsonl"));
  ASSERT_EQ(high.exit_code, 0) << high.err;
  std::vector<JsonValue> all_rows = jsonl_rows(tmp / "all.jsonl"), def_rows = jsonl_rows(tmp / "def.jsonl"),
                         high_rows = jsonl_rows(tmp / "high.jsonl");
  EXPECT_GE(all_rows.size(), def_rows.size());
  ASSERT_FALSE(high_rows.empty());
  EXPECT_LT(high_rows.size(), def_rows.size());
  for (const JsonValue& r : high_rows) EXPECT_GE(r.find("confidence")->number, 0.8);
  auto s = json_of(all.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->find("min_confidence")->number, 0);
  // The threshold reached the clause stage: it is part of the run's configuration (and key).
  auto configs = query(tmp / "a.db", "SELECT config_text FROM runs ORDER BY started_at");
  ASSERT_EQ(configs.size(), 2u);
  EXPECT_NE(configs[0].find("min_confidence: 0.0"), std::string::npos) << configs[0];
  EXPECT_NE(configs[1].find("min_confidence: 0.8"), std::string::npos) << configs[1];
  EXPECT_EQ(count(tmp / "a.db", "SELECT COUNT(DISTINCT config_hash) FROM documents"), 2);

  auto some = legal_extract(std::string(kSampleDirs) + " --categories 'breach, Governing Law' --db " + q(tmp / "a.db") +
                            " --jsonl " + q(tmp / "some.jsonl") + " --csv " + q(tmp / "some.csv"));
  ASSERT_EQ(some.exit_code, 0) << some.err;
  std::vector<JsonValue> some_rows = jsonl_rows(tmp / "some.jsonl");
  ASSERT_FALSE(some_rows.empty());
  std::set<std::string> seen;
  for (const JsonValue& r : some_rows) {
    EXPECT_TRUE(str(r, "category") == "breach" || str(r, "cuad") == "Governing Law") << str(r, "category");
    seen.insert(str(r, "category"));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"breach", "governing_law"}));
  EXPECT_EQ(parse_csv(read_file(tmp / "some.csv").substr(3), ',').records.size(), some_rows.size() + 1);

  auto bad = legal_extract(std::string(kSampleDirs) + " --categories breech --db " + q(tmp / "x.db"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("did you mean 'breach'"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(tmp / "x.db")) << "nothing runs after a usage error";
}

TEST(LegalExtract, BadInputsAreRecordedWithTheirReasonAndTheBatchGoesOn) {
  TempDir tmp;
  fs::path in = tmp / "in";
  write_file(in / "good.txt", contract(1));
  write_file(in / "empty.txt", "");
  write_file(in / "binary.txt", std::string("\x7f"
                                            "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0",
                                            20) +
                                    std::string(300, '\0'));
  write_file(in / "corrupt.docx", "PK\x03\x04 this is not really a zip archive");
  write_file(in / "z-last.md", "## 采购合同\n\n" + contract(2));  // a whole contract: rows at the default 0.5
  auto r = legal_extract(q(in) + " " + q(tmp / "missing.txt") + " --db " + q(tmp / "r.db") + " --jsonl " +
                         q(tmp / "r.jsonl") + " --report " + q(tmp / "r.html") + " --json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto s = json_of(r.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->find("documents")->number, 6);
  EXPECT_EQ(s->find("failed")->number, 3);
  std::map<std::string, std::string> failures;
  for (const JsonValue& f : s->find("failures")->array)
    failures[fs::path(str(f, "path")).filename().string()] = str(f, "stage") + ": " + str(f, "error");
  EXPECT_NE(failures["binary.txt"].find("binary"), std::string::npos) << failures["binary.txt"];
  EXPECT_NE(failures["corrupt.docx"].find("decode"), std::string::npos) << failures["corrupt.docx"];
  EXPECT_NE(failures["missing.txt"].find("no such file"), std::string::npos) << failures["missing.txt"];
  bool empty_noted = false;
  for (const JsonValue& n : s->find("notes")->array)
    empty_noted |= str(n, "path").find("empty.txt") != std::string::npos && str(n, "note").find("empty") == 0;
  EXPECT_TRUE(empty_noted) << r.out;
  // The documents after the bad ones were processed and exported.
  std::set<std::string> docs;
  for (const JsonValue& row : jsonl_rows(tmp / "r.jsonl")) docs.insert(fs::path(str(row, "document")).filename());
  EXPECT_EQ(docs, (std::set<std::string>{"good.txt", "z-last.md"}));
  EXPECT_EQ(count(tmp / "r.db", "SELECT COUNT(*) FROM documents WHERE status = 'failed' AND error <> ''"), 3);
  std::string html = read_file(tmp / "r.html");
  for (const char* name : {"good.txt", "empty.txt", "binary.txt", "corrupt.docx", "missing.txt", "z-last.md"})
    EXPECT_NE(html.find(name), std::string::npos) << name;
  EXPECT_NE(html.find("failed"), std::string::npos);
}

TEST(LegalExtract, GlobsFoldersAndFilesAreInputs) {
  TempDir tmp;
  // Quoted, so the program expands the glob, not the shell.
  auto r = legal_extract("'data/samples/legal/zh/*.txt' data/samples/en/supply-agreement.md 'nothing/*.pdf' --db " +
                         q(tmp / "r.db") + " --json");
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the glob that matches nothing is a failed input
  auto s = json_of(r.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->find("documents")->number, 6 + 1 + 1);
  EXPECT_EQ(s->find("done")->number, 7);
  ASSERT_EQ(s->find("failures")->array.size(), 1u);
  EXPECT_NE(str(s->find("failures")->array[0], "error").find("no file matches"), std::string::npos);
}

TEST(LegalExtract, LanguageAndPathOptionsReachTheStages) {
  TempDir tmp;
  auto base = legal_extract("data/samples/zh --db " + q(tmp / "r.db") + " --json");
  ASSERT_EQ(base.exit_code, 0) << base.err;
  auto zh = legal_extract("data/samples/zh --lang zh --db " + q(tmp / "r.db") + " --json");
  ASSERT_EQ(zh.exit_code, 0) << zh.err;
  auto light = legal_extract("data/samples/zh --path light --db " + q(tmp / "r.db") + " --json");
  ASSERT_EQ(light.exit_code, 0) << light.err;
  auto b = json_of(base.out), z = json_of(zh.out), l = json_of(light.out);
  ASSERT_TRUE(b && z && l);
  EXPECT_NE(str(*b, "config_hash"), str(*z, "config_hash")) << "--lang changes the stages' settings, so the key";
  EXPECT_NE(str(*b, "config_hash"), str(*l, "config_hash")) << "--path reaches model.encode";
  EXPECT_EQ(z->find("processed_now")->number, 3);
  EXPECT_EQ(l->find("processed_now")->number, 3);
  auto configs = query(tmp / "r.db", "SELECT config_text FROM runs ORDER BY started_at");
  ASSERT_EQ(configs.size(), 3u);
  EXPECT_NE(configs[2].find("path: light"), std::string::npos) << configs[2];
  // path: auto loads the router shipped next to the model and records its choice per contract.
  auto routed = legal_extract("data/samples/zh --path auto --db " + q(tmp / "auto.db") + " --json");
  ASSERT_EQ(routed.exit_code, 0) << routed.err;
  EXPECT_EQ(count(tmp / "auto.db", "SELECT COUNT(*) FROM annotations WHERE label = 'route'"), 3);
  // A pipeline without model.encode accepts --path with a warning.
  const fs::path keyword = tmp / "keyword.yaml";
  std::string yaml = read_file(source_dir() / "pipelines/legal_extraction.yaml");
  const size_t from = yaml.find("  - model.encode:"), to = yaml.find("  - legal.values");
  ASSERT_TRUE(from != std::string::npos && to != std::string::npos);
  yaml.replace(from, to - from, "  - legal.clauses: {min_score: 0.5, language: auto}\n");
  size_t rel;
  while ((rel = yaml.find("../data/")) != std::string::npos) yaml.replace(rel, 8, (source_dir() / "data").string() + "/");
  write_file(keyword, yaml);
  auto kw = legal_extract("data/samples/zh --pipeline " + q(keyword) + " --path standard --db " + q(tmp / "k.db"));
  ASSERT_EQ(kw.exit_code, 0) << kw.err;
  EXPECT_NE(kw.err.find("--path standard has no effect"), std::string::npos) << kw.err;
}

TEST(LegalExtract, DeepseekRunAcceptsThePipelineAndSharesItsResults) {
  TempDir tmp;
  auto v = run_command(q(deepseek_binary()) + " validate " + q(source_dir() / "pipelines/legal_extraction.yaml"));
  EXPECT_EQ(v.exit_code, 0) << v.err;
  // deepseek run writes ${DS_OUT}/legal-extract.db; legal-extract with the same inputs reuses it all.
  auto run = run_command("cd " + q(source_dir()) + " && DS_OUT=" + q(tmp.path()) + " " + q(deepseek_binary()) +
                         " run pipelines/legal_extraction.yaml data/samples/zh --progress none");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ASSERT_TRUE(fs::exists(tmp / "legal-extract.db"));
  auto le = run_command("cd " + q(source_dir()) + " && DS_OUT=" + q(tmp.path()) + " " + q(legal_extract_binary()) +
                        " data/samples/zh --progress none --json --jsonl " + q(tmp / "r.jsonl"));
  ASSERT_EQ(le.exit_code, 0) << le.err;
  auto s = json_of(le.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->find("processed_now")->number, 0);
  EXPECT_EQ(s->find("reused")->number, 3);
  EXPECT_GT(jsonl_rows(tmp / "r.jsonl").size(), 5u);
}

// --- The row rules, on annotations as the trained model's stage (legal.extract) will write them ---

// Writes `doc` with the SQLite sink (decoded text kept) and reads it back through the app's reader.
legal_extract::ExtractedDocument write_and_read(const fs::path& db, Document doc,
                                                const legal_extract::RowFilter& filter = {}) {
  doc.text_to_bytes = OffsetMap::identity(doc.text.size());
  doc.normalized = doc.text;
  doc.normalized_to_text = OffsetMap::identity(doc.text.size());
  doc.status = DocStatus::kDone;
  Options o;
  o.set("path", db.string());
  o.set("store_decoded_text", true);
  SqliteSink sink(o);
  RunInfo run;
  run.run_id = "run-1";
  sink.begin_run(run);
  DocKey key{doc.source.path, doc.source.content_hash, "sha256:cfg"};
  sink.write(key, doc);
  sink.end_run({});
  legal_extract::ResultReader reader(db.string(), filter, legal::Taxonomy::builtin());
  return reader.read(key);
}

// Adds an annotation over the first occurrence of `needle` in the document's text.
void annotate(Document& d, const std::string& label, const std::string& needle, double score,
              std::map<std::string, std::string> attrs, const std::string& stage = "legal.extract") {
  size_t at = d.text.find(needle);
  ASSERT_NE(at, std::string::npos) << needle;
  d.annotations.push_back({label, {at, at + needle.size()}, score, std::move(attrs), stage});
}

Document model_document() {
  Document d;
  d.source = {"in/合同-𠮷.txt", 100, "sha256:abc"};
  d.charset = "UTF-8";
  // 𠮷 (U+20BB7) is one code point and 4 bytes: offsets must count it once.
  d.text =
      "𠮷甲方：上海某某科技有限公司\n第五条 违约责任：乙方逾期交货的，应支付违约金人民币伍万元整。\n"
      "Governing Law. New York law governs. Signed on 2024-03-01.\n";
  annotate(d, "party", "甲方：上海某某科技有限公司", 0.77,
           {{"kind", "entity"}, {"category", "parties"}, {"cuad", "Parties"}, {"method", "model"}});
  annotate(d, "party", "甲方：上海某某科技有限公司", 0.9,
           {{"name", "上海某某科技有限公司"}, {"role", "甲方"}, {"method", "pattern"}}, "legal.values");
  annotate(
      d, "breach", "第五条 违约责任：乙方逾期交货的，应支付违约金人民币伍万元整。", 0.83,
      {{"kind", "clause"}, {"label", "Liability for breach"}, {"label_zh", "违约责任/违约条款"}, {"method", "model"}});
  annotate(d, "liquidated", "应支付违约金人民币伍万元整", 0.41,
           {{"kind", "clause"}, {"cuad", "Liquidated Damages"}, {"method", "model"}});
  annotate(d, "money", "人民币伍万元整", 0.9,
           {{"value", "50000.00"}, {"currency", "CNY"}, {"form", "words"}, {"method", "pattern"}}, "legal.values");
  annotate(d, "governing_law", "Governing Law. New York law governs.", 0.9, {{"method", "keyword"}}, "legal.clauses");
  annotate(d, "date", "2024-03-01", 0.65, {{"kind", "entity"}, {"method", "model"}});
  annotate(d, "date", "2024-03-01", 0.9, {{"value", "2024-03-01"}, {"kind", "absolute"}, {"method", "pattern"}},
           "legal.values");
  annotate(d, "note", "Signed", 1.0, {});
  d.annotations.push_back({"completeness", {0, d.text.size()}, 0.5, {{"absent", "quality"}}, "legal.completeness"});
  return d;
}

TEST(LegalExtractRows, ModelClausesEntitiesAndValuesBecomeRows) {
  TempDir tmp;
  Document doc = model_document();
  auto d = write_and_read(tmp / "r.db", doc);
  ASSERT_TRUE(d.found);
  EXPECT_EQ(d.status, "done");
  EXPECT_EQ(d.completeness.at("absent"), "quality");
  std::vector<std::string> got;
  for (const auto& r : d.rows) got.push_back(r.kind + ":" + r.category);
  // In text order; the values' party is not a row because the model's party entity stands for it.
  EXPECT_EQ(got, (std::vector<std::string>{"entity:parties", "clause:breach", "clause:liquidated",
                                           "clause:governing_law", "entity:date"}));
  const std::string text = doc.text;
  for (const auto& r : d.rows) EXPECT_EQ(r.text, code_point_slice(text, r.start, r.end)) << r.category;
  const auto& party = d.rows[0];
  EXPECT_EQ(party.start, 1u) << "𠮷 counts as one code point";
  EXPECT_EQ(party.cuad, "Parties");
  EXPECT_EQ(party.method, "model");
  ASSERT_EQ(party.values.size(), 1u);
  EXPECT_EQ(party.values[0].fields.at("name"), "上海某某科技有限公司");
  const auto& breach = d.rows[1];
  EXPECT_EQ(breach.label, "Liability for breach");
  EXPECT_EQ(breach.label_zh, "违约责任");
  EXPECT_EQ(breach.cuad, "");
  EXPECT_DOUBLE_EQ(breach.confidence, 0.83);
  ASSERT_EQ(breach.values.size(), 1u);
  EXPECT_EQ(breach.values[0].kind, "money");
  EXPECT_EQ(breach.values[0].text, "人民币伍万元整");
  EXPECT_EQ(breach.values[0].fields.at("value"), "50000.00");
  EXPECT_EQ(breach.values[0].fields.count("method"), 0u);
  EXPECT_EQ(d.rows[2].cuad, "Liquidated Damages");
  EXPECT_EQ(d.rows[2].label_zh, "违约金") << "from the taxonomy when the annotation has none";
  EXPECT_EQ(d.rows[3].cuad, "Governing Law") << "the one CUAD category of the id";
  EXPECT_EQ(d.rows[3].method, "keyword");
  const auto& date = d.rows[4];
  EXPECT_EQ(date.label, "Date");
  EXPECT_EQ(date.label_zh, "日期");
  ASSERT_EQ(date.values.size(), 1u);
  EXPECT_EQ(date.values[0].fields.at("kind"), "absolute");

  auto line = parse_json(legal_extract::row_json(d, breach));
  ASSERT_TRUE(line);
  std::vector<std::string> keys;
  for (const auto& [k, v] : line->object) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"document", "doc_sha256", "category", "cuad", "label", "label_zh", "start",
                                            "end", "text", "confidence", "values", "kind", "method", "path",
                                            "router_score"}));
  EXPECT_TRUE(line->find("path")->is_null());  // a forced path: no route

  // path: auto: model.encode's document-level `route` annotation becomes the path columns, not a row.
  Document routed = model_document();
  routed.annotations.push_back({"route", {0, 0}, 0.3127, {{"path", "standard"}, {"score", "0.3127"}, {"router", "r.yaml"}},
                                "model.encode"});
  auto rd = write_and_read(tmp / "routed.db", routed);
  EXPECT_EQ(rd.rows.size(), d.rows.size());
  EXPECT_EQ(rd.path, "standard");
  EXPECT_EQ(rd.router_score, "0.3127");
  auto routed_line = parse_json(legal_extract::row_json(rd, rd.rows[0]));
  ASSERT_TRUE(routed_line);
  EXPECT_EQ(str(*routed_line, "path"), "standard");
  EXPECT_DOUBLE_EQ(routed_line->find("router_score")->number, 0.3127);
  EXPECT_TRUE(line->find("cuad")->is_null());
  EXPECT_EQ(str(*line, "doc_sha256"), "abc");
  EXPECT_EQ(line->find("values")->find("money")->array[0].find("currency")->string, "CNY");
}

TEST(LegalExtractRows, FiltersByConfidenceAndByCategoryOrCuadName) {
  TempDir tmp;
  auto strong = write_and_read(tmp / "a.db", model_document(), {0.8, {}});
  std::vector<std::string> got;
  for (const auto& r : strong.rows) got.push_back(r.category);
  EXPECT_EQ(got, (std::vector<std::string>{"breach", "governing_law"}));
  EXPECT_EQ(strong.rows_filtered_out, 3u);
  auto some = write_and_read(tmp / "b.db", model_document(), {0.0, {"Liquidated Damages", "date"}});
  got.clear();
  for (const auto& r : some.rows) got.push_back(r.category);
  EXPECT_EQ(got, (std::vector<std::string>{"liquidated", "date"}));
}

TEST(LegalExtractRows, WithoutModelPartiesTheValuesPartiesAreRows) {
  TempDir tmp;
  Document d = model_document();
  std::erase_if(d.annotations,
                [](const Annotation& a) { return a.attributes.count("kind") && a.attributes.at("kind") == "entity"; });
  auto r = write_and_read(tmp / "r.db", d);
  ASSERT_FALSE(r.rows.empty());
  EXPECT_EQ(r.rows[0].category, "parties");
  EXPECT_EQ(r.rows[0].kind, "entity");
  EXPECT_EQ(r.rows[0].method, "pattern");
  EXPECT_EQ(r.rows[0].cuad, "Parties");
  EXPECT_EQ(r.rows[0].values.at(0).kind, "party");
}

TEST(LegalExtract, HelpVersionAndUsageErrors) {
  auto h = legal_extract("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("usage: legal-extract"), std::string::npos);
  for (const char* flag :
       {"--jsonl", "--csv", "--report", "--min-confidence", "--categories", "--lang", "--path", "--threads", "--db"})
    EXPECT_NE(h.out.find(flag), std::string::npos) << flag;
  auto v = legal_extract("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("legal-extract ", 0), 0u) << v.out;
  TempDir tmp;
  const std::string db = " --db " + q(tmp / "x.db");
  for (const std::string& args :
       {std::string(""), "data/samples/zh --frobnicate" + db, "data/samples/zh --min-confidence 1.5" + db,
        "data/samples/zh --min-confidence x" + db, "data/samples/zh --lang fr" + db, "data/samples/zh --path fast" + db,
        "data/samples/zh --threads -1" + db, "data/samples/zh" + db + " --jsonl",
        "data/samples/zh --pipeline " + q(tmp / "none.yaml") + db}) {
    auto r = legal_extract(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
  EXPECT_FALSE(fs::exists(tmp / "x.db"));
}

}  // namespace
}  // namespace ds::test
