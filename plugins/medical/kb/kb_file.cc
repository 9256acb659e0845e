#include "kb_file.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "kb_sqlite.h"

namespace ds::medical::kb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries(
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('entry', 'medquad')),
  lang TEXT NOT NULL,
  translation_of TEXT NOT NULL,
  title TEXT NOT NULL,
  aliases TEXT NOT NULL,
  symptoms TEXT NOT NULL,
  self_care TEXT NOT NULL,
  see_doctor_when TEXT NOT NULL,
  department TEXT NOT NULL,
  usual_urgency TEXT NOT NULL,
  red_flags TEXT NOT NULL,
  source TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  updated TEXT NOT NULL,
  body TEXT NOT NULL,
  qtype TEXT NOT NULL,
  url TEXT NOT NULL,
  origin TEXT NOT NULL);
CREATE INDEX entries_translation_of ON entries(translation_of) WHERE translation_of <> '';
CREATE VIRTUAL TABLE entries_fts USING fts5(title, aliases, symptoms, body, content = 'entries', content_rowid = 'rowid',
  tokenize = 'trigram');
CREATE TABLE embeddings(
  entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  model_sha256 TEXT NOT NULL,
  dim INTEGER NOT NULL CHECK (dim > 0),
  vector BLOB NOT NULL CHECK (length(vector) = 4 * dim),
  PRIMARY KEY (entry_id, model_sha256));
)sql";

// A rollback journal, not WAL: a KB is written once, offline, and then only read, often from
// read-only places, where a WAL file would need its -shm sidecar.
constexpr const char* kPragmas = "PRAGMA journal_mode = DELETE; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

json strings_json(const std::vector<std::string>& v) { return json(v); }

std::vector<std::string> strings_of(const std::string& text) {
  if (text.empty()) return {};
  return json::parse(text).get<std::vector<std::string>>();
}

void check_kb_file(Db& db) {
  const int64_t app = db.query_int("PRAGMA application_id", "read application_id");
  const int64_t version = db.query_int("PRAGMA user_version", "read user_version");
  if (app != kApplicationId)
    throw KbError("[medical.kb] " + db.path() + ": not a knowledge-base file (build one with `deepseek kb build`)");
  if (version != kSchemaVersion)
    throw KbError("[medical.kb] " + db.path() + ": KB schema version " + std::to_string(version) +
                  ", this program reads version " + std::to_string(kSchemaVersion) +
                  "; rebuild it with `deepseek kb build`");
}

}  // namespace

const char* const kEntryColumns =
    "id, kind, lang, translation_of, title, aliases, symptoms, self_care, see_doctor_when, department, usual_urgency, "
    "red_flags, source, reviewer, updated, body, qtype, url, origin";

std::string search_text(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string search_text(const std::vector<std::string>& items) { return search_text(join(items, "\n")); }

Entry entry_from_row(const Stmt& r) {
  Entry e;
  int c = 0;
  e.id = r.column_text(c++);
  e.kind = r.column_text(c++);
  e.lang = r.column_text(c++);
  e.translation_of = r.column_text(c++);
  e.title = r.column_text(c++);
  e.aliases = strings_of(r.column_text(c++));
  e.symptoms = strings_of(r.column_text(c++));
  e.self_care = strings_of(r.column_text(c++));
  for (const json& item : json::parse(r.column_text(c++)))
    e.see_doctor_when.push_back({item.at("level").get<std::string>(), item.at("when").get<std::string>()});
  e.department = r.column_text(c++);
  e.usual_urgency = r.column_text(c++);
  e.red_flags = strings_of(r.column_text(c++));
  e.source = r.column_text(c++);
  e.reviewer = r.column_text(c++);
  e.updated = r.column_text(c++);
  e.body = r.column_text(c++);
  e.qtype = r.column_text(c++);
  e.url = r.column_text(c++);
  e.origin = r.column_text(c++);
  return e;
}

std::unique_ptr<Db> open_kb_read_only(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw KbError("[medical.kb] " + path.string() + ": no KB file there (build it with `deepseek kb build`)");
  auto db = std::make_unique<Db>(path.string(), Db::Mode::kReadOnly);
  check_kb_file(*db);
  return db;
}

KbInfo read_info(Db& db) {
  KbInfo info;
  info.path = db.path();
  info.schema_version = static_cast<int>(db.query_int("PRAGMA user_version", "read user_version"));
  {
    Stmt s(db, "SELECT key, value FROM meta", "read meta");
    while (s.step()) info.meta[s.column_text(0)] = s.column_text(1);
  }
  info.entries = db.query_int("SELECT count(*) FROM entries", "count entries");
  info.ours = db.query_int("SELECT count(*) FROM entries WHERE kind = 'entry'", "count entries");
  info.imported = info.entries - info.ours;
  auto m = [&](const char* k) {
    auto it = info.meta.find(k);
    return it == info.meta.end() ? std::string() : it->second;
  };
  if (!m("embed_model_sha256").empty()) {
    info.embedding =
        EmbeddingModel{m("embed_model_sha256"), m("embed_model_file"), m("embed_head"), std::stoi(m("embed_dim"))};
    Stmt s(db, "SELECT count(*) FROM embeddings WHERE model_sha256 = ?", "count embeddings");
    s.bind(1, info.embedding->sha256);
    if (s.step()) info.embedded = s.column_int(0);
  }
  return info;
}

KbWriter::KbWriter(std::unique_ptr<Db> db) : db_(std::move(db)) {}
KbWriter::KbWriter(KbWriter&&) noexcept = default;
KbWriter::~KbWriter() = default;

const std::string& KbWriter::path() const { return db_->path(); }

KbWriter KbWriter::create(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) throw KbError("[medical.kb] " + path.string() + ": already exists");
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  KbWriter w(std::make_unique<Db>(path.string(), Db::Mode::kReadWriteCreate));
  w.db_->exec(kPragmas, "pragmas");
  w.db_->exec("BEGIN IMMEDIATE;" + std::string(kSchema) + "PRAGMA application_id = " + std::to_string(kApplicationId) +
                  "; PRAGMA user_version = " + std::to_string(kSchemaVersion) + "; COMMIT;",
              "create schema");
  w.prepare();
  return w;
}

KbWriter KbWriter::open_existing(const fs::path& path) {
  KbWriter w(std::make_unique<Db>(path.string(), Db::Mode::kReadWriteCreate));
  check_kb_file(*w.db_);
  w.db_->exec(kPragmas, "pragmas");
  w.prepare();
  return w;
}

void KbWriter::prepare() {
  find_ = std::make_unique<Stmt>(*db_, "SELECT rowid FROM entries WHERE id = ?", "find entry");
  del_entry_ = std::make_unique<Stmt>(*db_, "DELETE FROM entries WHERE rowid = ?", "delete entry");
  // entries_fts is an external-content index over `entries`: its rows are removed with the
  // 'delete' command and the values they were indexed with.
  del_fts_ =
      std::make_unique<Stmt>(*db_,
                             "INSERT INTO entries_fts(entries_fts, rowid, title, aliases, symptoms, body) "
                             "SELECT 'delete', rowid, title, aliases, symptoms, body FROM entries WHERE rowid = ?",
                             "delete index row");
  del_vec_ = std::make_unique<Stmt>(*db_, "DELETE FROM embeddings WHERE entry_id = ?", "delete vectors");
  ins_entry_ = std::make_unique<Stmt>(
      *db_, "INSERT INTO entries(" + std::string(kEntryColumns) + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
      "insert entry");
  ins_fts_ = std::make_unique<Stmt>(*db_,
                                    "INSERT INTO entries_fts(rowid, title, aliases, symptoms, body) "
                                    "SELECT rowid, title, aliases, symptoms, body FROM entries WHERE rowid = ?",
                                    "insert index row");
  ins_vec_ = std::make_unique<Stmt>(
      *db_, "INSERT OR REPLACE INTO embeddings(entry_id, model_sha256, dim, vector) VALUES (?,?,?,?)", "insert vector");
}

void KbWriter::begin() { db_->exec("BEGIN IMMEDIATE", "begin"); }
void KbWriter::commit() { db_->exec("COMMIT", "commit"); }
void KbWriter::rollback() noexcept {
  try {
    db_->exec("ROLLBACK", "rollback");
  } catch (...) {
    // Nothing to roll back (no transaction open): the state is already the last commit.
  }
}

void KbWriter::set_meta(const std::string& key, const std::string& value) {
  Stmt s(*db_, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", "set meta");
  s.bind(1, key).bind(2, value).run();
}

std::string KbWriter::meta(const std::string& key) {
  Stmt s(*db_, "SELECT value FROM meta WHERE key = ?", "read meta");
  s.bind(1, key);
  return s.step() ? s.column_text(0) : std::string();
}

std::optional<EmbeddingModel> KbWriter::embedding_model() {
  const std::string sha = meta("embed_model_sha256");
  if (sha.empty()) return std::nullopt;
  return EmbeddingModel{sha, meta("embed_model_file"), meta("embed_head"), std::stoi(meta("embed_dim"))};
}

void KbWriter::set_embedding_model(const EmbeddingModel& m) {
  set_meta("embed_model_sha256", m.sha256);
  set_meta("embed_model_file", m.file);
  set_meta("embed_head", m.head);
  set_meta("embed_dim", std::to_string(m.dim));
}

bool KbWriter::has(const std::string& id) {
  find_->bind(1, id);
  const bool found = find_->step();
  find_->reset();
  return found;
}

void KbWriter::put(const Entry& e) {
  find_->bind(1, e.id);
  if (find_->step()) {
    const int64_t rowid = find_->column_int(0);
    find_->reset();
    del_fts_->bind(1, rowid).run();
    del_vec_->bind(1, e.id).run();
    del_entry_->bind(1, rowid).run();
  } else {
    find_->reset();
  }
  json doctor = json::array();
  for (const SeeDoctor& s : e.see_doctor_when) doctor.push_back({{"level", s.level}, {"when", s.when}});
  Stmt& s = *ins_entry_;
  s.bind(1, e.id).bind(2, e.kind).bind(3, e.lang).bind(4, e.translation_of).bind(5, e.title);
  s.bind(6, strings_json(e.aliases).dump()).bind(7, strings_json(e.symptoms).dump());
  s.bind(8, strings_json(e.self_care).dump()).bind(9, doctor.dump());
  s.bind(10, e.department).bind(11, e.usual_urgency).bind(12, strings_json(e.red_flags).dump());
  s.bind(13, e.source).bind(14, e.reviewer).bind(15, e.updated).bind(16, e.body).bind(17, e.qtype);
  s.bind(18, e.url).bind(19, e.origin);
  s.run();
  const int64_t rowid = sqlite3_last_insert_rowid(db_->handle());
  ins_fts_->bind(1, rowid).run();
}

void KbWriter::put_embedding(const std::string& id, const EmbeddingModel& model, std::span<const float> vector) {
  if (static_cast<int>(vector.size()) != model.dim)
    throw KbError("[medical.kb] " + path() + ": vector of " + id + " has " + std::to_string(vector.size()) +
                  " values, the model's dim is " + std::to_string(model.dim));
  ins_vec_->bind(1, id).bind(2, model.sha256).bind(3, static_cast<int64_t>(model.dim)).bind_blob(4, vector).run();
}

void KbWriter::optimize() { db_->exec("INSERT INTO entries_fts(entries_fts) VALUES ('optimize')", "optimize index"); }

}  // namespace ds::medical::kb
