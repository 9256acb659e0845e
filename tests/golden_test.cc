// Golden pipeline cases as data: tests/golden/<case>/ holds pipeline.yaml, inputs/ and expected.tsv.
// The driver runs the real CLI on each case (DS_OUT points at a temporary folder), dumps what the
// SQLite sink holds in a canonical, line-oriented form and compares it with expected.tsv.
// Set DS_UPDATE_GOLDEN=1 to rewrite expected.tsv after an intended change (and review the diff).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unicode/ucnv.h>

#include <cstdlib>
#include <sstream>

#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; !from.empty() && (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

// The original bytes [begin, end) of `file`, converted from `charset` to UTF-8 independently of the
// pipeline, so the golden file shows that source offsets land on the right bytes.
std::string source_slice(const fs::path& file, const std::string& charset, size_t begin, size_t end) {
  std::string bytes = read_file(file);
  if (end > bytes.size() || begin > end) return "<out of range>";
  std::string slice = bytes.substr(begin, end - begin);
  std::string out(slice.size() * 4 + 4, '\0');
  UErrorCode status = U_ZERO_ERROR;
  int32_t n = ucnv_convert("UTF-8", charset.c_str(), out.data(), static_cast<int32_t>(out.size()), slice.data(),
                           static_cast<int32_t>(slice.size()), &status);
  if (U_FAILURE(status)) return std::string("<") + u_errorName(status) + ">";
  out.resize(static_cast<size_t>(n));
  return out;
}

// One line per document, segment and annotation, tab-separated, in a stable order.
std::string dump(const fs::path& db_path, const fs::path& case_dir) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    return "cannot open " + db_path.string();
  std::ostringstream out;
  // `with_source`: the row ends with path, charset, source_begin, source_end, which are replaced by
  // the original bytes of that span.
  auto run = [&](const char* tag, const char* sql, bool with_source = false) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      out << tag << "\tSQL ERROR " << sqlite3_errmsg(db) << "\n";
      return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      out << tag;
      int columns = sqlite3_column_count(st) - (with_source ? 4 : 0);
      for (int c = 0; c < columns; ++c) {
        auto t = sqlite3_column_text(st, c);
        std::string v = t ? reinterpret_cast<const char*>(t) : "";
        v = replace_all(v, case_dir.string() + "/", "");
        v = replace_all(replace_all(v, "\t", "\\t"), "\n", "\\n");
        out << "\t" << v;
      }
      if (with_source) {
        auto col = [&](int c) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c))); };
        size_t b = static_cast<size_t>(sqlite3_column_int64(st, columns + 2));
        size_t e = static_cast<size_t>(sqlite3_column_int64(st, columns + 3));
        out << "\t" << b << "\t" << e << "\t"
            << replace_all(source_slice(col(columns), col(columns + 1), b, e), "\n", "\\n");
      }
      out << "\n";
    }
    sqlite3_finalize(st);
  };
  run("doc", "SELECT path, status, charset, failed_stage, error, segments_count, annotations_count "
             "FROM documents ORDER BY path");
  run("seg", "SELECT d.path, s.kind, s.number, s.level, s.begin, s.end, "
             "CAST(substr(CAST(d.text AS BLOB), s.begin + 1, s.end - s.begin) AS TEXT) "
             "FROM segments s JOIN documents d ON d.id = s.document_id ORDER BY d.path, s.ordinal");
  run("ann",
      "SELECT d.path, a.label, a.begin, a.end, a.text, printf('%.3f', a.score), a.attributes, "
      "d.path, d.charset, a.source_begin, a.source_end "
      "FROM annotations a JOIN documents d ON d.id = a.document_id ORDER BY d.path, a.ordinal",
      true);
  sqlite3_close(db);
  return out.str();
}

std::vector<fs::path> cases() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(source_dir() / "tests/golden"))
    if (fs::exists(e.path() / "pipeline.yaml")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

class Golden : public ::testing::TestWithParam<fs::path> {};

TEST_P(Golden, MatchesExpectedOutput) {
  const fs::path dir = GetParam();
  TempDir tmp;
  std::string cmd = "DS_OUT='" + tmp.path().string() + "' '" + deepseek_binary().string() + "' run '" +
                    (dir / "pipeline.yaml").string() + "' --progress none";
  CommandResult r = run_command(cmd);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  std::string got = dump(tmp / "golden.db", dir / "inputs");
  fs::path expected_file = dir / "expected.tsv";
  const char* update = std::getenv("DS_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    write_file(expected_file, got);
    GTEST_SKIP() << "rewrote " << expected_file;
  }
  ASSERT_TRUE(fs::exists(expected_file)) << "no expected.tsv: run with DS_UPDATE_GOLDEN=1 and review it";
  EXPECT_EQ(got, read_file(expected_file)) << "case " << dir.filename();
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<fs::path>& info) {
                           std::string name = info.param.filename().string();
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace ds::test
