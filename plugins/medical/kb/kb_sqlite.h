// A small RAII layer over the sqlite3 C API for the KB file. Every failing call throws KbError
// "[medical.kb] <file>: <call>: <sqlite message>". (The framework's SqliteDb is not used because
// the medical plug-in links no framework code.)
//
// A connection and its statements belong to one thread at a time (opened SQLITE_OPEN_NOMUTEX).
// Statements must not outlive their Db.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace ds::medical::kb {

class Db {
 public:
  enum class Mode { kReadOnly, kReadWriteCreate };
  Db(const std::string& path, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql, std::string_view what);
  int64_t query_int(const std::string& sql, std::string_view what);
  void check(int rc, std::string_view call) const;
  [[noreturn]] void fail(std::string_view call, const std::string& message) const;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt(Db& db, std::string_view sql, std::string what);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, double value);
  Stmt& bind_blob(int index, std::span<const float> values);
  Stmt& bind_null(int index);

  bool step();  // true: a row is ready; false: done
  void run();   // steps to completion
  void reset();

  int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::span<const unsigned char> column_blob(int index) const;  // valid until the next step/reset
  bool column_is_null(int index) const;

 private:
  Db* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string what_;
};

}  // namespace ds::medical::kb
