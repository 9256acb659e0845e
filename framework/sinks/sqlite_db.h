// A thin RAII layer over the sqlite3 C API where every return code goes through one check that
// throws std::runtime_error "<prefix> <file>: <call>: <sqlite message>", e.g.
// "[sink.sqlite] results.db: sqlite3_step(insert annotation): database is locked".
//
// A connection and its statements belong to one thread at a time. Statements must not outlive their
// SqliteDb.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace ds {

class SqliteDb {
 public:
  // `prefix` names the area in errors, e.g. "[sink.sqlite]".
  explicit SqliteDb(std::string prefix) : prefix_(std::move(prefix)) {}
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Opens (creating if missing) the database at `path`, read-write. Throws naming the file.
  void open(const std::string& path);
  // Closes; statements must be finalized first. Safe to call twice.
  void close();
  bool is_open() const { return db_ != nullptr; }

  // Runs SQL without results (several statements allowed). `what` names it in errors.
  void exec(const std::string& sql, std::string_view what);
  // Runs a statement and returns the first column of its first row as text ("" if no row).
  std::string query_text(const std::string& sql, std::string_view what);
  int64_t query_int(const std::string& sql, std::string_view what);

  // Throws unless rc is SQLITE_OK, SQLITE_ROW or SQLITE_DONE. `call` is e.g. "sqlite3_step(insert run)".
  void check(int rc, std::string_view call) const;
  [[noreturn]] void fail(int rc, std::string_view call) const;
  [[noreturn]] void fail(std::string_view call, const std::string& message) const;
  // The message for `rc`: the connection's latest error text if it is about rc, else the generic one.
  std::string message(int rc) const;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  std::string prefix_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

// A prepared statement kept for reuse: bind (1-based), step, reset.
class SqliteStatement {
 public:
  SqliteStatement() = default;
  // Prepares `sql` (persistent). `what` names the statement in errors.
  SqliteStatement(SqliteDb& db, std::string_view sql, std::string what);
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;

  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind(int index, double value);
  SqliteStatement& bind_null(int index);
  // Binds `text`, or NULL when it is empty.
  SqliteStatement& bind_or_null(int index, std::string_view text);

  // True when a row is ready, false when done. On error the statement is reset, then it throws.
  bool step();
  // Steps to completion, expecting no rows of interest.
  void run();
  // Resets and clears bindings; releases any read snapshot the statement held.
  void reset();
  // Finalizes now (also done by the destructor).
  void finalize();

  int64_t column_int(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  SqliteDb* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string what_;
};

}  // namespace ds
