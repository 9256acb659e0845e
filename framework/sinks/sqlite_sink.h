// The SQLite sink, the embedded default: one database file holding runs, documents, their
// annotations and segments. The schema, pragmas and versioning are documented in SCHEMA.md.
//
// Crash safety: WAL journal, and one BEGIN IMMEDIATE transaction per document that replaces any
// earlier row for the same key (and, by ON DELETE CASCADE, its annotations and segments), so a
// process killed at any moment leaves each document either fully there or absent. has() reads the
// documents table, so whatever a killed run committed counts. A run row left 'running' by a killed
// process stays as it is; the next run gets its own row.
//
// Errors throw std::runtime_error "[sink.sqlite] <file>: <call>: <sqlite message>". Not thread-safe:
// the engine calls it from one thread. Other processes may read the file meanwhile (WAL).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ds/options.h"
#include "sinks/sink.h"
#include "sinks/sqlite_db.h"

namespace ds {

class SqliteSink : public Sink {
 public:
  // "DSPL" in PRAGMA application_id, and the schema version in PRAGMA user_version.
  static constexpr int32_t kApplicationId = 0x4453504C;
  static constexpr int kSchemaVersion = 3;

  // path (kPath, required), synchronous (enum full|normal, normal), store_text (bool, false),
  // store_decoded_text (bool, false), retry_failed (bool, false).
  static std::vector<OptionSpec> option_specs();

  // Reads options only; the database is opened by begin_run. Throws std::invalid_argument without
  // path or with an unknown synchronous value.
  explicit SqliteSink(const Options& options);
  ~SqliteSink() override;

  // Opens the file, sets pragmas, creates or migrates the schema, inserts the run row (status
  // 'running'). Throws if the file is another program's database or has a newer schema.
  void begin_run(const RunInfo& run) override;
  bool has(const DocKey& key) override;
  void write(const DocKey& key, const Document& doc) override;
  // Marks the run 'finished' with its counts, checkpoints the WAL (TRUNCATE) and closes.
  void end_run(const RunSummary& summary) override;

 private:
  struct Statements;

  void migrate();
  void close();

  std::string path_;
  std::string synchronous_;
  bool store_text_ = false;
  bool store_decoded_text_ = false;
  bool retry_failed_ = false;
  std::string run_id_;
  SqliteDb db_{"[sink.sqlite]"};
  std::unique_ptr<Statements> stmts_;
};

}  // namespace ds
