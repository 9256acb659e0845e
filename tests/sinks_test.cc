#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/registry.h"
#include "sinks/csv_format.h"
#include "sinks/csv_sink.h"
#include "sinks/json_reader.h"
#include "sinks/json_writer.h"
#include "sinks/jsonl_sink.h"
#include "sinks/sinks.h"
#include "sinks/sqlite_sink.h"
#include "test_util.h"

namespace ds {
namespace {

using test::read_file;
using test::TempDir;
using test::write_file;

Options path_options(const std::filesystem::path& path) {
  Options o;
  o.set("path", path.string());
  return o;
}

RunInfo run_info(const std::string& id) {
  RunInfo r;
  r.run_id = id;
  r.pipeline_name = "legal";
  r.pipeline_path = "/p/legal.yaml";
  r.config_hash = "sha256:cfg";
  r.config_text = "name: legal\n";
  r.version = "0.1.0";
  r.plugins = "legal 0.1.0 (abi 1.0)";
  r.started_unix_ms = 1'800'000'000'000;
  return r;
}

DocKey key_of(const std::string& path, const std::string& hash = "") {
  return {path, hash.empty() ? "sha256:" + path : hash, "sha256:cfg"};
}

// A finished document whose normalized text is "甲方违约。第二条 付款。" with one annotation per clause.
Document done_doc(const std::string& path, int annotations = 2) {
  Document d;
  d.source = {path, 100, "sha256:" + path};
  d.charset = "UTF-8";
  d.normalized = "甲方违约。第二条 付款。";
  d.status = DocStatus::kDone;
  d.segments.push_back({{0, 15}, "clause", "", 0});
  d.segments.push_back({{15, 34}, "clause", "第二条", 1});
  d.tokens.resize(7);
  for (int i = 0; i < annotations; ++i) {
    Annotation a;
    a.label = i % 2 == 0 ? "breach" : "payment";
    a.span = i % 2 == 0 ? Span{0, 12} : Span{25, 31};
    a.score = 0.5 + i * 0.125;
    a.attributes = {{"party", "甲方"}, {"n", std::to_string(i)}};
    a.stage = "legal.clauses";
    d.annotations.push_back(a);
  }
  d.warnings = {"replaced 1 undecodable byte"};
  d.timings_ms = {{"decode", 1.5}, {"legal.clauses", 3.25}};
  return d;
}

Document failed_doc(const std::string& path) {
  Document d;
  d.source = {path, 7, "sha256:" + path};
  d.fail("decode", "[text.decode] bad bytes at offset 3");
  return d;
}

// --- a tiny sqlite3 reader for assertions ---
class Db {
 public:
  explicit Db(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path.string());
  }
  ~Db() { sqlite3_close_v2(db_); }
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        auto t = sqlite3_column_text(s, i);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "<null>");
      }
      out.push_back(row);
    }
    sqlite3_finalize(s);
    return out;
  }
  std::string one(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() || r[0].empty() ? "<none>" : r[0][0];
  }

 private:
  sqlite3* db_ = nullptr;
};

// ---------------------------------------------------------------- JSON writer / reader

TEST(JsonWriter, EscapesQuotesNewlinesControlsAndKeepsChinese) {
  JsonWriter w;
  w.begin_object().key("s").value("a\"b\\c\nd\te\x01 合同").key("n").value(int64_t{-3}).key("x").value(0.25);
  w.key("nan").value(std::numeric_limits<double>::quiet_NaN()).key("l").begin_array().value(true).null().end_array();
  w.end_object();
  EXPECT_EQ(w.str(), "{\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001 合同\",\"n\":-3,\"x\":0.25,\"nan\":null,\"l\":[true,null]}");
  auto v = parse_json(w.str());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("s")->string, "a\"b\\c\nd\te\x01 合同");
}

TEST(JsonWriter, ReplacesInvalidUtf8SoOutputIsAlwaysValid) {
  // Lone continuation, truncated 3-byte sequence, overlong '/', surrogate, byte 0xFF.
  std::string bad = "a\x80" "b\xE5\x90" "c\xC0\xAF" "d\xED\xA0\x80" "e\xFF";
  std::string out;
  append_json_string(out, bad);
  auto v = parse_json(out);
  ASSERT_TRUE(v) << out;
  EXPECT_EQ(v->string, "a\uFFFDb\uFFFDc\uFFFD\uFFFDd\uFFFD\uFFFD\uFFFDe\uFFFD");
  EXPECT_EQ(sanitize_utf8("合同 ok"), "合同 ok");
}

TEST(JsonWriter, MisuseIsALogicError) {
  JsonWriter w;
  w.begin_object();
  EXPECT_THROW(w.value("no key"), std::logic_error);
  EXPECT_THROW(w.end_array(), std::logic_error);
}

TEST(JsonReader, RejectsInvalidJson) {
  EXPECT_FALSE(parse_json("{\"a\":1,}"));
  EXPECT_FALSE(parse_json("{\"a\":\"x\ny\"}"));
  EXPECT_FALSE(parse_json("[1] 2"));
  EXPECT_FALSE(parse_json("\"\xFF\""));
  auto v = parse_json(R"({"a":[1,2.5e1,"\u4e2d\ud83d\ude00"]})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("a")->array[1].number, 25.0);
  EXPECT_EQ(v->find("a")->array[2].string, "中\xF0\x9F\x98\x80");
}

// ---------------------------------------------------------------- SQLite

TEST(SqliteSink, CreatesSchemaWithWalAndVersion) {
  TempDir dir;
  SqliteSink sink(path_options(dir / "results.db"));
  sink.begin_run(run_info("run-1"));
  {
    Db db(dir / "results.db");
    EXPECT_EQ(db.one("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db.one("PRAGMA user_version"), "3");
    EXPECT_EQ(db.one("PRAGMA application_id"), std::to_string(SqliteSink::kApplicationId));
    auto tables = db.rows("SELECT name FROM sqlite_schema WHERE type IN ('table','index') AND name NOT LIKE "
                          "'sqlite_%' ORDER BY name");
    std::vector<std::string> names;
    for (auto& r : tables) names.push_back(r[0]);
    EXPECT_EQ(names, (std::vector<std::string>{"annotations", "annotations_label", "documents", "documents_status",
                                               "runs", "segments"}));
    EXPECT_EQ(db.one("SELECT status || ' ' || pipeline || ' ' || started_at FROM runs WHERE id = 'run-1'"),
              "running legal 2027-01-15T08:00:00.000Z");
  }
  sink.end_run({});
}

TEST(SqliteSink, AnnotationsCarryCodePointOffsetsIntoTheDecodedText) {
  TempDir dir;
  auto path = dir / "results.db";
  Document d = done_doc("a.txt");
  d.text = d.normalized;  // identity map: code points of "甲方违约" are 0..4, of "付款" 9..11
  {
    SqliteSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    sink.write(key_of("a.txt"), d);
    sink.end_run({});
  }
  Db db(path);
  EXPECT_EQ(db.one("SELECT text_begin || '-' || text_end FROM annotations WHERE ordinal = 0"), "0-4");
  EXPECT_EQ(db.one("SELECT text_begin || '-' || text_end FROM annotations WHERE ordinal = 1"), "9-11");
  auto line = parse_json(JsonlSink::to_line(key_of("a.txt"), d, "run-1"));
  ASSERT_TRUE(line);
  const JsonValue& a1 = line->find("annotations")->array[1];
  EXPECT_EQ(a1.find("text_begin")->number, 9);
  EXPECT_EQ(a1.find("text_end")->number, 11);
}

TEST(SqliteSink, StoresTheDecodedTextOnlyWhenAskedAndMigratesAVersion2File) {
  TempDir dir;
  auto path = dir / "results.db";
  Document d = done_doc("a.txt");
  d.text = "甲方違约。第二条　付款。";  // decoded, before NFKC: the ideographic space is still there
  {
    SqliteSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    sink.write(key_of("a.txt"), d);
    sink.end_run({});
  }
  {
    Db db(path);
    EXPECT_EQ(db.one("SELECT coalesce(decoded_text, '<null>') FROM documents"), "<null>");
  }
  // A file written by schema version 2 (no decoded_text column) is migrated on open.
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "ALTER TABLE documents DROP COLUMN decoded_text; PRAGMA user_version = 2", nullptr,
                           nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(h);
    sqlite3_close(h);
  }
  Options o = path_options(path);
  o.set("store_decoded_text", true);
  SqliteSink sink(o);
  sink.begin_run(run_info("run-2"));
  EXPECT_TRUE(sink.has(key_of("a.txt")));
  sink.write(key_of("b.txt"), d);
  sink.end_run({});
  Db db(path);
  EXPECT_EQ(db.one("PRAGMA user_version"), "3");
  EXPECT_EQ(db.one("SELECT decoded_text FROM documents WHERE path = 'b.txt'"), d.text);
  EXPECT_EQ(db.one("SELECT text FROM documents WHERE path = 'b.txt'"), "<null>");
}

TEST(SqliteSink, WritesDoneAndFailedDocumentsAndReadsThemBack) {
  TempDir dir;
  auto path = dir / "results.db";
  SqliteSink sink(path_options(path));
  sink.begin_run(run_info("run-1"));
  EXPECT_FALSE(sink.has(key_of("a.txt")));
  EXPECT_FALSE(sink.has(key_of("b.txt")));
  sink.write(key_of("a.txt"), done_doc("a.txt"));
  sink.write(key_of("b.txt"), failed_doc("b.txt"));
  EXPECT_TRUE(sink.has(key_of("a.txt")));
  EXPECT_TRUE(sink.has(key_of("b.txt")));  // a failed document is a final result
  EXPECT_FALSE(sink.has(key_of("a.txt", "sha256:other-content")));
  sink.end_run({2, 1, 1, 0, 1'800'000'060'000, 60.0});

  Db db(path);
  auto docs = db.rows("SELECT path, status, failed_stage, error, charset, size, warnings, segments_count, "
                      "tokens_count, annotations_count, text, run_id FROM documents ORDER BY path");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0], (std::vector<std::string>{"a.txt", "done", "<null>", "<null>", "UTF-8", "100",
                                               "[\"replaced 1 undecodable byte\"]", "2", "7", "2", "<null>", "run-1"}));
  EXPECT_EQ(docs[1][1], "failed");
  EXPECT_EQ(docs[1][2], "decode");
  EXPECT_EQ(docs[1][3], "[text.decode] bad bytes at offset 3");
  EXPECT_EQ(db.one("SELECT json_extract(timings, '$.\"legal.clauses\"') FROM documents WHERE path = 'a.txt'"), "3.25");

  auto anns = db.rows("SELECT a.ordinal, a.label, a.\"begin\", a.\"end\", a.text, a.score, "
                      "json_extract(a.attributes, '$.party'), a.stage FROM annotations a JOIN documents d ON "
                      "d.id = a.document_id ORDER BY a.ordinal");
  ASSERT_EQ(anns.size(), 2u);
  EXPECT_EQ(anns[0], (std::vector<std::string>{"0", "breach", "0", "12", "甲方违约", "0.5", "甲方", "legal.clauses"}));
  EXPECT_EQ(anns[1][4], "付款");
  EXPECT_EQ(db.one("SELECT group_concat(number, '|') FROM segments ORDER BY ordinal"), "|第二条");
  EXPECT_EQ(db.one("SELECT status || ' ' || total || ' ' || done || ' ' || failed || ' ' || finished_at FROM runs"),
            "finished 2 1 1 2027-01-15T08:01:00.000Z");
  // end_run checkpointed with TRUNCATE: the WAL file is empty.
  EXPECT_EQ(std::filesystem::exists(dir / "results.db-wal") ? std::filesystem::file_size(dir / "results.db-wal") : 0u,
            0u);
}

TEST(SqliteSink, SecondRunOnTheSameFileSkipsAndKeepsCounts) {
  TempDir dir;
  auto path = dir / "results.db";
  {
    SqliteSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    sink.write(key_of("a.txt"), done_doc("a.txt"));
    sink.write(key_of("b.txt"), failed_doc("b.txt"));
    sink.end_run({});
  }
  SqliteSink again(path_options(path));
  again.begin_run(run_info("run-2"));
  EXPECT_TRUE(again.has(key_of("a.txt")));
  EXPECT_TRUE(again.has(key_of("b.txt")));
  EXPECT_FALSE(again.has(key_of("c.txt")));
  again.end_run({2, 0, 0, 2, 0, 0});
  Db db(path);
  EXPECT_EQ(db.one("SELECT count(*) FROM documents"), "2");
  EXPECT_EQ(db.one("SELECT count(*) FROM annotations"), "2");
  EXPECT_EQ(db.one("SELECT group_concat(id || ':' || status || ':' || skipped, ',') FROM runs ORDER BY id"),
            "run-1:finished:0,run-2:finished:2");
}

TEST(SqliteSink, RetriedFailedDocumentReplacesItsRowWithoutDuplicates) {
  TempDir dir;
  auto path = dir / "results.db";
  {
    SqliteSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    Document partly = failed_doc("a.txt");
    partly.annotations = done_doc("a.txt", 3).annotations;  // a failed doc may carry earlier annotations
    sink.write(key_of("a.txt"), partly);
    sink.end_run({});
  }
  Options o = path_options(path);
  o.set("retry_failed", true);
  o.set("store_text", true);
  SqliteSink retry(o);
  retry.begin_run(run_info("run-2"));
  EXPECT_FALSE(retry.has(key_of("a.txt")));
  retry.write(key_of("a.txt"), done_doc("a.txt", 2));
  EXPECT_TRUE(retry.has(key_of("a.txt")));
  retry.end_run({});
  Db db(path);
  EXPECT_EQ(db.one("SELECT count(*) || ' ' || status || ' ' || run_id || ' ' || text FROM documents"),
            "1 done run-2 甲方违约。第二条 付款。");
  EXPECT_EQ(db.one("SELECT count(*) FROM annotations"), "2");
  EXPECT_EQ(db.one("SELECT count(*) FROM segments"), "2");
}

TEST(SqliteSink, ErrorsNameTheFile) {
  TempDir dir;
  write_file(dir / "plain-file", "x");
  auto missing = dir / "plain-file" / "results.db";  // a folder that cannot be created
  SqliteSink sink(path_options(missing));
  try {
    sink.begin_run(run_info("r"));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("[sink.sqlite] " + missing.string() + ": cannot create folder"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(sink.has(key_of("a")), std::logic_error);

  // Another program's database is refused, not written into.
  auto foreign = dir / "foreign.db";
  {
    sqlite3* db = nullptr;
    sqlite3_open(foreign.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  SqliteSink other(path_options(foreign));
  try {
    other.begin_run(run_info("r"));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another program's tables"), std::string::npos) << e.what();
  }
  write_file(dir / "text.db", "this is not a database, just text that is long enough to be looked at...........");
  SqliteSink text(path_options(dir / "text.db"));
  EXPECT_THROW(text.begin_run(run_info("r")), std::runtime_error);
  EXPECT_THROW(SqliteSink(Options{}), std::invalid_argument);
}

TEST(SqliteSink, LockedDatabaseGivesTheCallAndMessage) {
  TempDir dir;
  auto path = dir / "results.db";
  SqliteSink sink(path_options(path));
  sink.begin_run(run_info("run-1"));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  // Shorten the wait: the sink's own busy_timeout is 5 s.
  auto started = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  sink.write(key_of("a.txt"), done_doc("a.txt"));  // waits for the lock instead of failing
  release.join();
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(150));
  EXPECT_TRUE(sink.has(key_of("a.txt")));
  sqlite3_close(other);
  sink.end_run({});
}

// ---------------------------------------------------------------- JSONL

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

TEST(JsonlSink, WritesOneValidObjectPerLineWithEscaping) {
  TempDir dir;
  auto path = dir / "out.jsonl";
  JsonlSink sink(path_options(path));
  sink.begin_run(run_info("run-1"));
  Document d = done_doc("dir/\"quoted\"\n合同\xFF.txt");
  d.annotations[0].attributes["note"] = "line1\nline2\t\"x\"";
  d.normalized = "甲方违约\xFF。第二条 付款。";
  DocKey k = key_of("dir/\"quoted\"\n合同\xFF.txt");
  EXPECT_FALSE(sink.has(k));
  sink.write(k, d);
  sink.write(key_of("b.txt"), failed_doc("b.txt"));
  EXPECT_TRUE(sink.has(k));
  sink.end_run({});

  std::string text = read_file(path);
  ASSERT_EQ(text.back(), '\n');
  auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 2u);
  std::string error;
  auto first = parse_json(lines[0], &error);
  ASSERT_TRUE(first) << error << "\n" << lines[0];
  EXPECT_EQ(first->find("path")->string, "dir/\"quoted\"\n合同\uFFFD.txt");
  EXPECT_EQ(first->find("status")->string, "done");
  EXPECT_EQ(first->find("run_id")->string, "run-1");
  EXPECT_EQ(first->find("segments")->number, 2);
  EXPECT_EQ(first->find("tokens")->number, 7);
  const auto& anns = first->find("annotations")->array;
  ASSERT_EQ(anns.size(), 2u);
  EXPECT_EQ(anns[0].find("text")->string, "甲方违约");
  EXPECT_EQ(anns[0].find("end")->number, 12);
  EXPECT_EQ(anns[0].find("attributes")->find("note")->string, "line1\nline2\t\"x\"");
  EXPECT_EQ(first->find("timings_ms")->find("decode")->number, 1.5);
  std::vector<std::string> keys;
  for (const auto& [name, value] : first->object) keys.push_back(name);
  EXPECT_EQ(keys, (std::vector<std::string>{"path", "content_hash", "config_hash", "run_id", "status", "failed_stage",
                                            "error", "charset", "warnings", "segments", "tokens", "annotations",
                                            "timings_ms"}));
  auto second = parse_json(lines[1]);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->find("status")->string, "failed");
  EXPECT_EQ(second->find("error")->string, "[text.decode] bad bytes at offset 3");

  // Reopened: both keys, the invalid-UTF-8 path included, are found again.
  JsonlSink again(path_options(path));
  again.begin_run(run_info("run-2"));
  EXPECT_TRUE(again.has(k));
  EXPECT_TRUE(again.has(key_of("b.txt")));
  again.end_run({});
}

TEST(JsonlSink, DetailOptionsWriteSegmentsAndTokens) {
  Document d = done_doc("a.txt");
  for (size_t i = 0; i < d.tokens.size(); ++i) d.tokens[i] = {static_cast<int32_t>(100 + i), {i * 3, i * 3 + 3}};
  auto plain = parse_json(JsonlSink::to_line(key_of("a.txt"), d, "run-1"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->find("segment_spans"), nullptr);
  EXPECT_EQ(plain->find("token_ids"), nullptr);

  auto line = parse_json(JsonlSink::to_line(key_of("a.txt"), d, "run-1", {true, true}));
  ASSERT_TRUE(line);
  const JsonValue* segs = line->find("segment_spans");
  ASSERT_TRUE(segs && segs->is_array());
  ASSERT_EQ(segs->array.size(), 2u);
  EXPECT_EQ(segs->array[1].find("number")->string, "第二条");
  EXPECT_EQ(segs->array[1].find("begin")->number, 15);
  EXPECT_EQ(segs->array[1].find("end")->number, 34);
  const JsonValue* ids = line->find("token_ids");
  const JsonValue* spans = line->find("token_spans");
  ASSERT_TRUE(ids && spans);
  ASSERT_EQ(ids->array.size(), 7u);
  ASSERT_EQ(spans->array.size(), 7u);
  EXPECT_EQ(ids->array[2].number, 102);
  EXPECT_EQ(spans->array[2].array[0].number, 6);
  EXPECT_EQ(spans->array[2].array[1].number, 9);
}

TEST(JsonlSink, TruncatesAPartialTrailingLineOnReopen) {
  TempDir dir;
  auto path = dir / "out.jsonl";
  std::string good = JsonlSink::to_line(key_of("a.txt"), done_doc("a.txt"), "run-1") + "\n";
  std::string torn = JsonlSink::to_line(key_of("b.txt"), done_doc("b.txt"), "run-1").substr(0, 40);
  write_file(path, good + torn);
  JsonlSink sink(path_options(path));
  sink.begin_run(run_info("run-2"));
  EXPECT_EQ(read_file(path), good);
  EXPECT_TRUE(sink.has(key_of("a.txt")));
  EXPECT_FALSE(sink.has(key_of("b.txt")));
  sink.write(key_of("b.txt"), done_doc("b.txt"));
  sink.end_run({});
  auto lines = lines_of(read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(parse_json(lines[1]));
}

TEST(JsonlSink, RetriedFailedDocumentLeavesOneLine) {
  TempDir dir;
  auto path = dir / "out.jsonl";
  {
    JsonlSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    sink.write(key_of("a.txt"), failed_doc("a.txt"));
    sink.write(key_of("b.txt"), done_doc("b.txt"));
    sink.end_run({});
  }
  Options o = path_options(path);
  o.set("retry_failed", true);
  JsonlSink retry(o);
  retry.begin_run(run_info("run-2"));
  EXPECT_FALSE(retry.has(key_of("a.txt")));
  EXPECT_TRUE(retry.has(key_of("b.txt")));
  retry.write(key_of("a.txt"), done_doc("a.txt"));
  retry.end_run({});
  auto lines = lines_of(read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parse_json(lines[0])->find("path")->string, "b.txt");
  EXPECT_EQ(parse_json(lines[1])->find("status")->string, "done");
}

TEST(JsonlSink, CorruptLineInTheMiddleIsAClearError) {
  TempDir dir;
  auto path = dir / "out.jsonl";
  write_file(path, "{\"path\":\"a\",\"content_hash\":\"h\",\"config_hash\":\"c\"}\nnot json\n");
  JsonlSink sink(path_options(path));
  try {
    sink.begin_run(run_info("r"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("[sink.jsonl] " + path.string() + ":2:"), std::string::npos) << e.what();
  }
}

TEST(JsonlSink, UnwritablePathNamesTheFile) {
  TempDir dir;
  write_file(dir / "plain-file", "x");
  auto path = dir / "plain-file" / "out.jsonl";
  JsonlSink sink(path_options(path));
  try {
    sink.begin_run(run_info("r"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("[sink.jsonl] " + path.string() + ": cannot create folder"), std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------- CSV

TEST(CsvFormat, QuotesWhatNeedsQuotingAndGuardsFormulas) {
  EXPECT_EQ(csv_field("plain 合同", ',', true), "plain 合同");
  EXPECT_EQ(csv_field("a,b", ',', true), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\"", ',', true), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines", ',', true), "\"two\nlines\"");
  EXPECT_EQ(csv_field("=SUM(A1)", ',', true), "\"'=SUM(A1)\"");
  EXPECT_EQ(csv_field("@cmd", ',', true), "\"'@cmd\"");
  EXPECT_EQ(csv_field("-1.5", ',', false), "-1.5");
  EXPECT_EQ(csv_field("a;b", ';', true), "\"a;b\"");
  EXPECT_EQ(csv_field("a,b", ';', true), "a,b");

  auto p = parse_csv("a,\"b,\"\"c\"\"\r\nd\"\r\ne,f\ng,\"h", ',');
  EXPECT_TRUE(p.error.empty());
  ASSERT_EQ(p.records.size(), 2u);
  EXPECT_EQ(p.records[0].fields, (std::vector<std::string>{"a", "b,\"c\"\r\nd"}));
  EXPECT_EQ(p.records[1].fields, (std::vector<std::string>{"e", "f"}));
  EXPECT_EQ(p.complete_bytes, std::string("a,\"b,\"\"c\"\"\r\nd\"\r\ne,f\n").size());
  EXPECT_FALSE(parse_csv("a,\"b\"c\n", ',').error.empty());
}

TEST(CsvFormat, RandomFieldsRoundTripThroughTheParser) {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", ",", ";", "\"", "\r", "\n", "\r\n", "=", "+", "-", "@", "\t", "'", "合同", " "};
  for (int round = 0; round < 300; ++round) {
    char delimiter = round % 2 ? ',' : ';';
    std::vector<std::string> values(1 + rng() % 4);
    std::string row;
    for (size_t i = 0; i < values.size(); ++i) {
      for (int n = static_cast<int>(rng() % 6); n > 0; --n) values[i] += pieces[rng() % pieces.size()];
      if (i) row += delimiter;
      row += csv_field(values[i], delimiter, true);
    }
    row += "\r\n";
    CsvParse p = parse_csv(row, delimiter);
    ASSERT_TRUE(p.error.empty()) << p.error;
    ASSERT_EQ(p.records.size(), 1u) << row;
    ASSERT_EQ(p.complete_bytes, row.size());
    for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(p.records[0].fields[i], csv_guarded(values[i])) << row;
  }
}

TEST(JsonWriter, RandomBytesAlwaysGiveParseableJson) {
  std::mt19937 rng(11);
  for (int round = 0; round < 500; ++round) {
    std::string bytes(rng() % 24, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 256);
    std::string out;
    append_json_string(out, bytes);
    auto v = parse_json(out);
    ASSERT_TRUE(v) << out;
    EXPECT_EQ(v->string, sanitize_utf8(bytes));
  }
}

TEST(CsvSink, WritesRowsWithBomOnceAndQuoting) {
  TempDir dir;
  auto path = dir / "out.csv";
  Document d = done_doc("a,b.txt");
  d.annotations[0].label = "=HYPERLINK(\"x\")";
  d.annotations[1].attributes = {{"q", "say \"hi\"\nbye"}};
  {
    CsvSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    sink.write(key_of("a,b.txt"), d);
    sink.write(key_of("-b.txt"), failed_doc("-b.txt"));
    Document empty = done_doc("c.txt", 0);
    sink.write(key_of("c.txt"), empty);
    sink.end_run({});
  }
  {
    CsvSink again(path_options(path));
    again.begin_run(run_info("run-2"));
    EXPECT_TRUE(again.has(key_of("a,b.txt")));
    EXPECT_TRUE(again.has(key_of("-b.txt")));
    EXPECT_TRUE(again.has(key_of("c.txt")));
    EXPECT_FALSE(again.has(key_of("d.txt")));
    again.end_run({});
  }
  std::string text = read_file(path);
  ASSERT_EQ(text.substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_EQ(text.find("\xEF\xBB\xBF", 3), std::string::npos);
  auto p = parse_csv(std::string_view(text).substr(3), ',');
  ASSERT_TRUE(p.error.empty()) << p.error;
  ASSERT_EQ(p.records.size(), 5u);  // header, 2 annotations, failed, empty
  EXPECT_EQ(p.records[0].fields, CsvSink::columns());
  const auto& r1 = p.records[1].fields;
  EXPECT_EQ(r1[0], "a,b.txt");
  EXPECT_EQ(r1[3], "done");
  EXPECT_EQ(r1[4], "'=HYPERLINK(\"x\")");
  EXPECT_EQ(r1[5], "0");
  EXPECT_EQ(r1[6], "12");
  EXPECT_EQ(r1[7], "甲方违约");
  EXPECT_EQ(r1[8], "0.5");
  EXPECT_EQ(r1[12], "2");
  EXPECT_EQ(parse_json(p.records[2].fields[9])->find("q")->string, "say \"hi\"\nbye");
  EXPECT_EQ(p.records[3].fields[0], "'-b.txt");
  EXPECT_EQ(p.records[3].fields[3], "failed");
  EXPECT_EQ(p.records[3].fields[10], "decode");
  EXPECT_EQ(p.records[3].fields[11], "[text.decode] bad bytes at offset 3");
  EXPECT_EQ(p.records[4].fields[4], "");
  EXPECT_NE(text.find("\"a,b.txt\""), std::string::npos);
}

TEST(CsvSink, TruncatesATornRecordAndAnIncompleteDocument) {
  TempDir dir;
  auto path = dir / "out.csv";
  {
    CsvSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    sink.write(key_of("a.txt"), done_doc("a.txt", 2));
    sink.end_run({});
  }
  std::string good = read_file(path);
  Options no_bom = path_options(dir / "x.csv");
  CsvSink helper(no_bom);
  std::string three = helper.to_rows(key_of("b.txt"), done_doc("b.txt", 3));
  size_t second_row_end = three.find("\r\n", three.find("\r\n") + 2) + 2;

  // Torn in the middle of a quoted field: the record is cut.
  write_file(path, good + three.substr(0, three.find("\r\n") + 20));
  {
    CsvSink sink(path_options(path));
    sink.begin_run(run_info("run-2"));
    EXPECT_EQ(read_file(path), good);
    EXPECT_FALSE(sink.has(key_of("b.txt")));
    sink.end_run({});
  }
  // Two complete rows of a three-row document: the document is cut as a whole.
  write_file(path, good + three.substr(0, second_row_end));
  {
    CsvSink sink(path_options(path));
    sink.begin_run(run_info("run-3"));
    EXPECT_EQ(read_file(path), good);
    EXPECT_TRUE(sink.has(key_of("a.txt")));
    EXPECT_FALSE(sink.has(key_of("b.txt")));
    sink.write(key_of("b.txt"), done_doc("b.txt", 3));
    sink.end_run({});
  }
  EXPECT_EQ(read_file(path), good + three);
}

TEST(CsvSink, TornHeaderStartsOverAndForeignFilesAreRefused) {
  TempDir dir;
  auto path = dir / "out.csv";
  write_file(path, "\xEF\xBB\xBFpath,content_ha");
  {
    CsvSink sink(path_options(path));
    sink.begin_run(run_info("r"));
    sink.end_run({});
  }
  std::string text = read_file(path);
  EXPECT_EQ(text.substr(0, 3), "\xEF\xBB\xBF");
  EXPECT_EQ(text.find("\xEF\xBB\xBF", 3), std::string::npos);
  EXPECT_EQ(text.substr(3, 5), "path,");

  write_file(dir / "other.csv", "name;age\r\nx;1\r\n");
  CsvSink other(path_options(dir / "other.csv"));
  EXPECT_THROW(other.begin_run(run_info("r")), std::runtime_error);

  Options tab = path_options(dir / "tab.csv");
  tab.set("delimiter", std::string("tab"));
  tab.set("bom", false);
  CsvSink tsv(tab);
  tsv.begin_run(run_info("r"));
  tsv.write(key_of("a,b.txt"), done_doc("a,b.txt", 1));
  tsv.end_run({});
  std::string t = read_file(dir / "tab.csv");
  EXPECT_EQ(t.substr(0, 18), "path\tcontent_hash\t");
  EXPECT_NE(t.find("\na,b.txt\t"), std::string::npos);

  Options bad = path_options(dir / "bad.csv");
  bad.set("delimiter", std::string("\"\""));
  EXPECT_THROW(CsvSink{bad}, std::invalid_argument);

  write_file(dir / "plain-file", "x");
  auto missing = dir / "plain-file" / "out.csv";
  CsvSink unwritable(path_options(missing));
  try {
    unwritable.begin_run(run_info("r"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("[sink.csv] " + missing.string() + ": cannot create folder"), std::string::npos);
  }
}

TEST(CsvSink, RetriedFailedDocumentLeavesOnlyItsNewRows) {
  TempDir dir;
  auto path = dir / "out.csv";
  {
    CsvSink sink(path_options(path));
    sink.begin_run(run_info("run-1"));
    sink.write(key_of("a.txt"), failed_doc("a.txt"));
    sink.end_run({});
  }
  Options o = path_options(path);
  o.set("retry_failed", true);
  CsvSink retry(o);
  retry.begin_run(run_info("run-2"));
  EXPECT_FALSE(retry.has(key_of("a.txt")));
  retry.write(key_of("a.txt"), done_doc("a.txt", 2));
  retry.end_run({});
  std::string text = read_file(path);
  auto p = parse_csv(std::string_view(text).substr(3), ',');
  ASSERT_EQ(p.records.size(), 3u);
  EXPECT_EQ(p.records[1].fields[3], "done");
  EXPECT_EQ(p.records[2].fields[3], "done");
}

// ---------------------------------------------------------------- registration

TEST(Sinks, RegistersThreeSinksWithARequiredPath) {
  Registry registry;
  register_sinks(registry);
  EXPECT_EQ(registry.sink_names(), (std::vector<std::string>{"csv", "jsonl", "sqlite"}));
  for (const char* name : {"csv", "jsonl", "sqlite"}) {
    const SinkSpec* spec = registry.find_sink(name);
    ASSERT_NE(spec, nullptr);
    ASSERT_FALSE(spec->options.empty());
    EXPECT_EQ(spec->options[0].name, "path");
    EXPECT_TRUE(spec->options[0].required());
    EXPECT_EQ(spec->options[0].type, OptionType::kPath);
  }
  TempDir dir;
  auto sink = (*registry.sink_factory("jsonl"))(path_options(dir / "r.jsonl"));
  sink->begin_run(run_info("r"));
  EXPECT_FALSE(sink->has(key_of("a")));
  sink->end_run({});
}

// ---------------------------------------------------------------- crash and resume

constexpr int kCrashDocs = 120;

std::string crash_doc_path(int i) { return "docs/" + std::to_string(i) + ".txt"; }

// Big enough that a document's JSONL line and CSV rows span several pages, so a kill can tear them.
Document crash_doc(int i) {
  if (i % 17 == 5) return failed_doc(crash_doc_path(i));
  Document d = done_doc(crash_doc_path(i), 1 + (i % 5) * 12);
  for (auto& a : d.annotations) a.attributes["padding"] = std::string(150, static_cast<char>('a' + i % 26));
  return d;
}

struct SinkSet {
  explicit SinkSet(const TempDir& dir) {
    Options csv = path_options(dir / "out.csv");
    sinks.push_back(std::make_unique<SqliteSink>(path_options(dir / "out.db")));
    sinks.push_back(std::make_unique<JsonlSink>(path_options(dir / "out.jsonl")));
    sinks.push_back(std::make_unique<CsvSink>(csv));
  }
  std::vector<std::unique_ptr<Sink>> sinks;
};

// What each file holds, read independently of the sinks: path -> number of copies.
std::map<std::string, int> sqlite_docs(const TempDir& dir) {
  std::map<std::string, int> out;
  Db db(dir / "out.db");
  for (auto& r : db.rows("SELECT path FROM documents")) ++out[r[0]];
  return out;
}

std::map<std::string, int> jsonl_docs(const TempDir& dir) {
  std::map<std::string, int> out;
  for (const auto& line : lines_of(read_file(dir / "out.jsonl"))) {
    auto v = parse_json(line);
    if (v) ++out[v->find("path")->string];
  }
  return out;
}

std::map<std::string, int> csv_docs(const TempDir& dir) {
  std::map<std::string, int> out;
  std::string text = read_file(dir / "out.csv");
  auto p = parse_csv(std::string_view(text).substr(3), ',');
  for (size_t i = 1; i < p.records.size();) {
    size_t n = std::stoul(p.records[i].fields.back());
    ++out[p.records[i].fields[0]];
    i += n;
  }
  return out;
}

TEST(SinksCrash, KilledRunsResumeWithEveryDocumentExactlyOnce) {
  TempDir dir;
  std::mt19937 rng(12345);
  int killed_mid_run = 0;
  for (int round = 0; round < 5; ++round) {
    // The child reports each document it has handled through a pipe; the parent waits for a random
    // document of this round's sixth of the input, then kills after a random few hundred microseconds,
    // so kills land mid-run (often mid-write) however fast the disk is.
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::cout.flush();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      int rc = 0;
      try {
        SinkSet set(dir);
        for (auto& s : set.sinks) s->begin_run(run_info("crash-" + std::to_string(round)));
        for (int i = 0; i < kCrashDocs; ++i) {
          DocKey k = key_of(crash_doc_path(i));
          Document d = crash_doc(i);
          for (auto& s : set.sinks)
            if (!s->has(k)) s->write(k, d);
          if (write(fds[1], "x", 1) != 1) rc = 2;
        }
        for (auto& s : set.sinks) s->end_run({});
      } catch (const std::exception& e) {
        fprintf(stderr, "child: %s\n", e.what());
        rc = 1;
      }
      _exit(rc);
    }
    close(fds[1]);
    // Sixths, not fifths: the last round still has documents left after its kill point.
    int part = kCrashDocs / 6;
    int target = round * part + std::uniform_int_distribution<int>(1, part - 1)(rng);
    int handled = 0;
    char buf[64];
    while (handled < target) {
      ssize_t n = read(fds[0], buf, std::min<size_t>(sizeof buf, static_cast<size_t>(target - handled)));
      if (n <= 0) break;
      handled += static_cast<int>(n);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 1500)(rng)));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(fds[0]);
    if (WIFSIGNALED(status)) {
      // A kill can also tear a write(2) of a big record between pages; that is rare on a fast disk, so
      // leave such a torn tail on purpose (a prefix of the next record, cut inside it or between CSV
      // rows) and let the next round cope with it.
      int next = std::min(handled, kCrashDocs - 1);
      Options csv_options = path_options(dir / "scratch.csv");
      std::string line = JsonlSink::to_line(key_of(crash_doc_path(next)), crash_doc(next), "torn");
      std::string rows = CsvSink(csv_options).to_rows(key_of(crash_doc_path(next)), crash_doc(next));
      auto cut = [&](const std::string& whole) {
        return whole.substr(0, std::uniform_int_distribution<size_t>(1, whole.size() - 1)(rng));
      };
      // Only onto a file that ends at a record boundary: when the kill itself tore the last write,
      // a second torn record after the first is something no real run can leave.
      auto add_torn_tail = [&](const std::filesystem::path& file, const std::string& record, std::string_view boundary) {
        std::string content = read_file(file);
        if (content.size() >= boundary.size() && content.compare(content.size() - boundary.size(), boundary.size(), boundary) == 0)
          write_file(file, content + cut(record));
      };
      add_torn_tail(dir / "out.jsonl", line, "\n");
      add_torn_tail(dir / "out.csv", rows, "\r\n");

      size_t held = sqlite_docs(dir).size();
      if (held < static_cast<size_t>(kCrashDocs)) ++killed_mid_run;
      std::cout << "round " << round << ": killed after document " << handled << ", " << held
                << " documents committed to SQLite\n";
    } else {
      ASSERT_EQ(WEXITSTATUS(status), 0);
    }
  }
  EXPECT_EQ(killed_mid_run, 5);

  auto in_sqlite = sqlite_docs(dir);
  auto in_jsonl = jsonl_docs(dir);  // may still count a torn last line as missing (parse fails)
  SinkSet set(dir);
  for (auto& s : set.sinks) s->begin_run(run_info("final"));
  in_jsonl = jsonl_docs(dir);  // after begin_run cut any torn tail
  auto in_csv = csv_docs(dir);
  std::vector<std::map<std::string, int>> present = {in_sqlite, in_jsonl, in_csv};
  int written = 0;
  for (int i = 0; i < kCrashDocs; ++i) {
    DocKey k = key_of(crash_doc_path(i));
    Document d = crash_doc(i);
    for (size_t s = 0; s < set.sinks.size(); ++s) {
      bool has = set.sinks[s]->has(k);
      EXPECT_EQ(has, present[s].count(k.path) == 1) << "sink " << s << " doc " << i;
      if (!has) {
        set.sinks[s]->write(k, d);
        ++written;
      }
    }
  }
  for (auto& s : set.sinks) s->end_run({});

  for (const auto& docs : {sqlite_docs(dir), jsonl_docs(dir), csv_docs(dir)}) {
    ASSERT_EQ(docs.size(), static_cast<size_t>(kCrashDocs));
    for (const auto& [path, copies] : docs) EXPECT_EQ(copies, 1) << path;
  }
  Db db(dir / "out.db");
  int64_t expected_annotations = 0;
  for (int i = 0; i < kCrashDocs; ++i) expected_annotations += static_cast<int64_t>(crash_doc(i).annotations.size());
  EXPECT_EQ(db.one("SELECT count(*) FROM annotations"), std::to_string(expected_annotations));
  EXPECT_EQ(db.one("SELECT count(*) FROM runs WHERE status = 'finished' AND id = 'final'"), "1");
  // Every file parses cleanly: no torn JSONL line, no torn CSV record.
  for (const auto& line : lines_of(read_file(dir / "out.jsonl"))) EXPECT_TRUE(parse_json(line)) << line;
  std::string csv = read_file(dir / "out.csv");
  EXPECT_EQ(parse_csv(std::string_view(csv).substr(3), ',').complete_bytes, csv.size() - 3);
  RecordProperty("documents_written_after_kills", written);
}

TEST(Sinks, CreateMissingOutputFolders) {
  TempDir dir;
  SqliteSink sqlite(path_options(dir / "a" / "b" / "results.db"));
  sqlite.begin_run(run_info("r"));
  sqlite.end_run({});
  JsonlSink jsonl(path_options(dir / "c" / "out.jsonl"));
  jsonl.begin_run(run_info("r"));
  jsonl.end_run({});
  CsvSink csv(path_options(dir / "d" / "e" / "out.csv"));
  csv.begin_run(run_info("r"));
  csv.end_run({});
  EXPECT_TRUE(std::filesystem::exists(dir / "a" / "b" / "results.db"));
  EXPECT_TRUE(std::filesystem::exists(dir / "c" / "out.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir / "d" / "e" / "out.csv"));
}

}  // namespace
}  // namespace ds
