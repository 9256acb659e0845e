#include "kb_sqlite.h"

#include <sqlite3.h>

#include "kb_entry.h"

namespace ds::medical::kb {

Db::Db(const std::string& path, Mode mode) : path_(path) {
  const int flags = SQLITE_OPEN_NOMUTEX |
                    (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw KbError("[medical.kb] " + path + ": cannot open: " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

void Db::fail(std::string_view call, const std::string& message) const {
  throw KbError("[medical.kb] " + path_ + ": " + std::string(call) + ": " + message);
}

void Db::check(int rc, std::string_view call) const {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
    fail(call, sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
}

void Db::exec(const std::string& sql, std::string_view what) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    fail("sqlite3_exec(" + std::string(what) + ")", message);
  }
}

int64_t Db::query_int(const std::string& sql, std::string_view what) {
  Stmt s(*this, sql, std::string(what));
  return s.step() ? s.column_int(0) : 0;
}

Stmt::Stmt(Db& db, std::string_view sql, std::string what) : db_(&db), what_(std::move(what)) {
  const int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &stmt_, nullptr);
  if (rc != SQLITE_OK) db.check(rc, "sqlite3_prepare_v3(" + what_ + ")");
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int index, std::string_view text) {
  db_->check(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
             "sqlite3_bind_text(" + what_ + ")");
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  db_->check(sqlite3_bind_int64(stmt_, index, value), "sqlite3_bind_int64(" + what_ + ")");
  return *this;
}

Stmt& Stmt::bind(int index, double value) {
  db_->check(sqlite3_bind_double(stmt_, index, value), "sqlite3_bind_double(" + what_ + ")");
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::span<const float> values) {
  db_->check(sqlite3_bind_blob(stmt_, index, values.data(), static_cast<int>(values.size_bytes()), SQLITE_TRANSIENT),
             "sqlite3_bind_blob(" + what_ + ")");
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  db_->check(sqlite3_bind_null(stmt_, index), "sqlite3_bind_null(" + what_ + ")");
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  db_->check(rc, "sqlite3_step(" + what_ + ")");
  return false;
}

void Stmt::run() {
  while (step()) {
  }
  reset();
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Stmt::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
double Stmt::column_double(int index) const { return sqlite3_column_double(stmt_, index); }

std::string Stmt::column_text(int index) const {
  const unsigned char* t = sqlite3_column_text(stmt_, index);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)))
           : std::string();
}

std::span<const unsigned char> Stmt::column_blob(int index) const {
  const void* p = sqlite3_column_blob(stmt_, index);
  return {static_cast<const unsigned char*>(p), p ? static_cast<size_t>(sqlite3_column_bytes(stmt_, index)) : 0};
}

bool Stmt::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

}  // namespace ds::medical::kb
