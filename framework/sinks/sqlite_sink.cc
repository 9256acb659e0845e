#include "sinks/sqlite_sink.h"

#include <sqlite3.h>

#include <stdexcept>

#include "sinks/result_fields.h"
#include "sinks/sink_options.h"

namespace ds {

namespace {

// Schema migrations: kMigrations[i] takes user_version i to i + 1. Never edit a shipped step; add one.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE IF NOT EXISTS runs (
  id            TEXT PRIMARY KEY,
  pipeline      TEXT NOT NULL,
  pipeline_path TEXT NOT NULL,
  config_hash   TEXT NOT NULL,
  config_text   TEXT NOT NULL,
  version       TEXT NOT NULL,
  plugins       TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  finished_at   TEXT,
  total         INTEGER,
  done          INTEGER,
  failed        INTEGER,
  skipped       INTEGER,
  status        TEXT NOT NULL CHECK (status IN ('running', 'finished'))
);
CREATE TABLE IF NOT EXISTS documents (
  id                INTEGER PRIMARY KEY,
  path              TEXT NOT NULL,
  content_hash      TEXT NOT NULL,
  config_hash       TEXT NOT NULL,
  size              INTEGER NOT NULL,
  charset           TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('done', 'failed')),
  failed_stage      TEXT,
  error             TEXT,
  warnings          TEXT NOT NULL DEFAULT '[]',
  timings           TEXT NOT NULL DEFAULT '{}',
  run_id            TEXT NOT NULL,
  segments_count    INTEGER NOT NULL,
  tokens_count      INTEGER NOT NULL,
  annotations_count INTEGER NOT NULL,
  text              TEXT,
  processed_at      TEXT NOT NULL,
  UNIQUE (path, content_hash, config_hash)
);
CREATE INDEX IF NOT EXISTS documents_status ON documents (status);
CREATE TABLE IF NOT EXISTS annotations (
  id          INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  ordinal     INTEGER NOT NULL,
  label       TEXT NOT NULL,
  stage       TEXT NOT NULL,
  "begin"     INTEGER NOT NULL,
  "end"       INTEGER NOT NULL,
  source_begin INTEGER NOT NULL,
  source_end  INTEGER NOT NULL,
  text        TEXT NOT NULL,
  score       REAL,
  attributes  TEXT NOT NULL DEFAULT '{}',
  UNIQUE (document_id, ordinal)
);
CREATE INDEX IF NOT EXISTS annotations_label ON annotations (label);
CREATE TABLE IF NOT EXISTS segments (
  id          INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  ordinal     INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  number      TEXT NOT NULL,
  level       INTEGER NOT NULL,
  "begin"     INTEGER NOT NULL,
  "end"       INTEGER NOT NULL,
  UNIQUE (document_id, ordinal)
);
)sql",
    // 2: code-point offsets into the decoded text (NULL for rows written before).
    R"sql(
ALTER TABLE annotations ADD COLUMN text_begin INTEGER;
ALTER TABLE annotations ADD COLUMN text_end INTEGER;
)sql",
    // 3: the decoded text (before normalization) that text_begin/text_end index, when asked for.
    R"sql(
ALTER TABLE documents ADD COLUMN decoded_text TEXT;
)sql",
};
static_assert(std::size(kMigrations) == SqliteSink::kSchemaVersion);

}  // namespace

struct SqliteSink::Statements {
  explicit Statements(SqliteDb& db)
      : begin(db, "BEGIN IMMEDIATE", "begin document"),
        commit(db, "COMMIT", "commit document"),
        rollback(db, "ROLLBACK", "rollback document"),
        find_doc(db, "SELECT status FROM documents WHERE path = ?1 AND content_hash = ?2 AND config_hash = ?3",
                 "find document"),
        delete_doc(db, "DELETE FROM documents WHERE path = ?1 AND content_hash = ?2 AND config_hash = ?3",
                   "delete old document"),
        insert_doc(db,
                   "INSERT INTO documents (path, content_hash, config_hash, size, charset, status, failed_stage, "
                   "error, warnings, timings, run_id, segments_count, tokens_count, annotations_count, text, "
                   "processed_at, decoded_text) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                   "insert document"),
        insert_annotation(db,
                          "INSERT INTO annotations (document_id, ordinal, label, stage, \"begin\", \"end\", source_begin, "
                          "source_end, text, score, attributes, text_begin, text_end) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                          "insert annotation"),
        insert_segment(db,
                       "INSERT INTO segments (document_id, ordinal, kind, number, level, \"begin\", \"end\") "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       "insert segment") {}

  SqliteStatement begin, commit, rollback, find_doc, delete_doc, insert_doc, insert_annotation, insert_segment;
};

std::vector<OptionSpec> SqliteSink::option_specs() {
  return {
      opt_path("path", std::nullopt, "SQLite database file (created if missing), e.g. results.db"),
      opt_enum("synchronous", "normal", {"full", "normal"},
               "normal: fast, may lose the last documents on power loss (they are redone); full: fsync every commit"),
      opt_bool("store_text", false, "store each document's normalized text in documents.text"),
      opt_bool("store_decoded_text", false,
               "store each document's decoded text (before normalization) in documents.decoded_text: the text "
               "that annotations.text_begin/text_end index"),
      opt_bool("retry_failed", false, "process documents again that failed in an earlier run"),
  };
}

SqliteSink::SqliteSink(const Options& options)
    : path_(sink_options::required_path(options, "sqlite")),
      synchronous_(sink_options::get_string(options, "synchronous", "normal")),
      store_text_(sink_options::get_bool(options, "store_text", false)),
      store_decoded_text_(sink_options::get_bool(options, "store_decoded_text", false)),
      retry_failed_(sink_options::get_bool(options, "retry_failed", false)) {
  if (synchronous_ != "full" && synchronous_ != "normal")
    throw std::invalid_argument("[sink.sqlite] option 'synchronous' must be full or normal, got \"" + synchronous_ +
                                "\"");
}

SqliteSink::~SqliteSink() { close(); }

void SqliteSink::close() {
  stmts_.reset();
  db_.close();
}

void SqliteSink::migrate() {
  db_.exec("BEGIN IMMEDIATE", "begin migration");
  try {
    int64_t app_id = db_.query_int("PRAGMA application_id", "PRAGMA application_id");
    int64_t version = db_.query_int("PRAGMA user_version", "PRAGMA user_version");
    if (app_id != 0 && app_id != kApplicationId)
      throw std::runtime_error("[sink.sqlite] " + path_ + ": not a Deepseek Pipelines results database (application_id " +
                               std::to_string(app_id) + "); use another file");
    if (app_id == 0 && version == 0 &&
        db_.query_int("SELECT count(*) FROM sqlite_schema", "count existing tables") != 0)
      throw std::runtime_error("[sink.sqlite] " + path_ +
                               ": the database holds another program's tables; use another file");
    if (version > kSchemaVersion)
      throw std::runtime_error("[sink.sqlite] " + path_ + ": schema version " + std::to_string(version) +
                               " was written by a newer version (this one reads up to " +
                               std::to_string(kSchemaVersion) + ")");
    for (int64_t v = version; v < kSchemaVersion; ++v)
      db_.exec(kMigrations[v], "migrate schema to v" + std::to_string(v + 1));
    if (version < kSchemaVersion) {
      db_.exec("PRAGMA application_id = " + std::to_string(kApplicationId), "PRAGMA application_id");
      db_.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion), "PRAGMA user_version");
    }
    db_.exec("COMMIT", "commit migration");
  } catch (...) {
    // Report the reason the migration stopped; a failing rollback changes nothing for the caller.
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SqliteSink::begin_run(const RunInfo& run) {
  close();
  run_id_ = run.run_id;
  db_.open(path_);
  try {
    db_.check(sqlite3_busy_timeout(db_.handle(), 5000), "sqlite3_busy_timeout");
    std::string mode = db_.query_text("PRAGMA journal_mode = WAL", "PRAGMA journal_mode=WAL");
    if (mode != "wal")
      throw std::runtime_error("[sink.sqlite] " + path_ + ": PRAGMA journal_mode=WAL: the file system allows only '" +
                               mode + "' journaling; put the database on a local disk");
    db_.exec("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = " + synchronous_,
             "set pragmas");
    migrate();
    stmts_ = std::make_unique<Statements>(db_);

    SqliteStatement insert_run(db_,
                               "INSERT INTO runs (id, pipeline, pipeline_path, config_hash, config_text, version, "
                               "plugins, started_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running') "
                               "ON CONFLICT (id) DO UPDATE SET status = 'running', finished_at = NULL",
                               "insert run");
    insert_run.bind(1, run.run_id)
        .bind(2, run.pipeline_name)
        .bind(3, run.pipeline_path)
        .bind(4, run.config_hash)
        .bind(5, run.config_text)
        .bind(6, run.version)
        .bind(7, run.plugins)
        .bind(8, iso8601_utc(run.started_unix_ms ? run.started_unix_ms : now_unix_ms()));
    insert_run.run();
  } catch (...) {
    close();
    throw;
  }
}

bool SqliteSink::has(const DocKey& key) {
  if (!stmts_) throw std::logic_error("[sink.sqlite] has() before begin_run()");
  SqliteStatement& s = stmts_->find_doc;
  s.reset();
  s.bind(1, key.path).bind(2, key.content_hash).bind(3, key.config_hash);
  bool found = s.step();
  std::string status = found ? s.column_text(0) : std::string();
  s.reset();
  if (!found) return false;
  return !(status == "failed" && retry_failed_);
}

void SqliteSink::write(const DocKey& key, const Document& doc) {
  if (!stmts_) throw std::logic_error("[sink.sqlite] write() before begin_run()");
  if (doc.status == DocStatus::kPending)
    throw std::logic_error("[sink.sqlite] write() of an unfinished document: " + key.path);
  Statements& st = *stmts_;
  st.begin.reset();
  st.begin.run();
  try {
    st.delete_doc.reset();
    st.delete_doc.bind(1, key.path).bind(2, key.content_hash).bind(3, key.config_hash).run();

    SqliteStatement& d = st.insert_doc;
    d.reset();
    d.bind(1, key.path)
        .bind(2, key.content_hash)
        .bind(3, key.config_hash)
        .bind(4, static_cast<int64_t>(doc.source.size))
        .bind(5, doc.charset)
        .bind(6, doc.failed() ? "failed" : "done")
        .bind_or_null(7, doc.failed_stage)
        .bind_or_null(8, doc.error)
        .bind(9, strings_json(doc.warnings))
        .bind(10, timings_json(doc.timings_ms))
        .bind(11, run_id_)
        .bind(12, static_cast<int64_t>(doc.segments.size()))
        .bind(13, static_cast<int64_t>(doc.tokens.size()))
        .bind(14, static_cast<int64_t>(doc.annotations.size()))
        .bind(16, iso8601_utc(now_unix_ms()));
    if (store_text_) d.bind(15, doc.normalized);
    if (store_decoded_text_) d.bind(17, doc.text);
    d.run();
    int64_t doc_id = sqlite3_last_insert_rowid(db_.handle());

    SqliteStatement& a = st.insert_annotation;
    const CodePointIndex decoded(doc.text);
    for (size_t i = 0; i < doc.annotations.size(); ++i) {
      const Annotation& ann = doc.annotations[i];
      Span source = doc.to_bytes(ann.span);
      Span chars = text_code_points(doc, decoded, ann.span);
      a.reset();
      a.bind(1, doc_id)
          .bind(2, static_cast<int64_t>(i))
          .bind(3, ann.label)
          .bind(4, ann.stage)
          .bind(5, static_cast<int64_t>(ann.span.begin))
          .bind(6, static_cast<int64_t>(ann.span.end))
          .bind(7, static_cast<int64_t>(source.begin))
          .bind(8, static_cast<int64_t>(source.end))
          .bind(9, span_text(doc, ann.span))
          .bind(10, ann.score)
          .bind(11, attributes_json(ann.attributes))
          .bind(12, static_cast<int64_t>(chars.begin))
          .bind(13, static_cast<int64_t>(chars.end));
      a.run();
    }
    SqliteStatement& g = st.insert_segment;
    for (size_t i = 0; i < doc.segments.size(); ++i) {
      const Segment& seg = doc.segments[i];
      g.reset();
      g.bind(1, doc_id)
          .bind(2, static_cast<int64_t>(i))
          .bind(3, seg.kind)
          .bind(4, seg.number)
          .bind(5, static_cast<int64_t>(seg.level))
          .bind(6, static_cast<int64_t>(seg.span.begin))
          .bind(7, static_cast<int64_t>(seg.span.end));
      g.run();
    }
    st.commit.reset();
    st.commit.run();
  } catch (...) {
    if (!sqlite3_get_autocommit(db_.handle())) {
      st.rollback.reset();
      // The original error is the one worth reporting; a failed rollback ends with the connection anyway.
      try {
        st.rollback.run();
      } catch (const std::exception&) {
      }
    }
    throw;
  }
}

void SqliteSink::end_run(const RunSummary& summary) {
  if (!stmts_) return;
  SqliteStatement finish(db_,
                         "UPDATE runs SET finished_at = ?2, total = ?3, done = ?4, failed = ?5, skipped = ?6, "
                         "status = 'finished' WHERE id = ?1",
                         "finish run");
  finish.bind(1, run_id_)
      .bind(2, iso8601_utc(summary.finished_unix_ms ? summary.finished_unix_ms : now_unix_ms()))
      .bind(3, summary.total)
      .bind(4, summary.done)
      .bind(5, summary.failed)
      .bind(6, summary.skipped);
  finish.run();
  finish.finalize();
  stmts_.reset();
  // Readers may still hold the WAL; the checkpoint then does what it can, which is fine.
  db_.query_text("PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_checkpoint(TRUNCATE)");
  close();
}

}  // namespace ds
