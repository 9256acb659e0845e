#include "sinks/sqlite_db.h"

#include <sqlite3.h>

#include "sinks/output_path.h"

#include <stdexcept>

namespace ds {

SqliteDb::~SqliteDb() { close(); }

std::string SqliteDb::message(int rc) const {
  return db_ && sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
}

void SqliteDb::fail(std::string_view call, const std::string& message) const {
  throw std::runtime_error(prefix_ + " " + path_ + ": " + std::string(call) + ": " + message);
}

void SqliteDb::fail(int rc, std::string_view call) const { fail(call, message(rc)); }

void SqliteDb::check(int rc, std::string_view call) const {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) fail(rc, call);
}

void SqliteDb::open(const std::string& path) {
  close();
  path_ = path;
  create_parent_folders(path_, prefix_);
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw std::runtime_error(prefix_ + " " + path_ + ": sqlite3_open_v2: " + message);
  }
  sqlite3_extended_result_codes(db_, 0);
}

void SqliteDb::close() {
  if (db_) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

void SqliteDb::exec(const std::string& sql, std::string_view what) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw std::runtime_error(prefix_ + " " + path_ + ": sqlite3_exec(" + std::string(what) + "): " + message);
  }
}

std::string SqliteDb::query_text(const std::string& sql, std::string_view what) {
  SqliteStatement stmt(*this, sql, std::string(what));
  if (!stmt.step()) return {};
  return stmt.column_text(0);
}

int64_t SqliteDb::query_int(const std::string& sql, std::string_view what) {
  SqliteStatement stmt(*this, sql, std::string(what));
  if (!stmt.step()) return 0;
  return stmt.column_int(0);
}

SqliteStatement::SqliteStatement(SqliteDb& db, std::string_view sql, std::string what)
    : db_(&db), what_(std::move(what)) {
  int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, "sqlite3_prepare_v3(" + what_ + ")");
}

SqliteStatement::~SqliteStatement() { finalize(); }

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), what_(std::move(other.what_)) {
  other.stmt_ = nullptr;
}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    finalize();
    db_ = other.db_;
    stmt_ = other.stmt_;
    what_ = std::move(other.what_);
    other.stmt_ = nullptr;
  }
  return *this;
}

void SqliteStatement::finalize() {
  if (stmt_) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  db_->check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
             "sqlite3_bind_text(" + what_ + ")");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
  db_->check(sqlite3_bind_int64(stmt_, index, value), "sqlite3_bind_int64(" + what_ + ")");
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, double value) {
  db_->check(sqlite3_bind_double(stmt_, index, value), "sqlite3_bind_double(" + what_ + ")");
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  db_->check(sqlite3_bind_null(stmt_, index), "sqlite3_bind_null(" + what_ + ")");
  return *this;
}

SqliteStatement& SqliteStatement::bind_or_null(int index, std::string_view text) {
  return text.empty() ? bind_null(index) : bind(index, text);
}

bool SqliteStatement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Read the message first: reset may replace it.
  std::string message = db_->message(rc);
  sqlite3_reset(stmt_);
  db_->fail("sqlite3_step(" + what_ + ")", message);
}

void SqliteStatement::run() {
  while (step()) {
  }
}

void SqliteStatement::reset() {
  // The code returned repeats the last step's error, which step() already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t SqliteStatement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string SqliteStatement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool SqliteStatement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

}  // namespace ds
