// The KB file: one SQLite database holding the entries, a trigram full-text index over them and,
// optionally, one embedding per entry from one model. Format (version kSchemaVersion, stored as
// PRAGMA user_version; PRAGMA application_id is kApplicationId) in plugins/medical/README.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kb_entry.h"

namespace ds::medical::kb {

constexpr int kSchemaVersion = 1;
constexpr int32_t kApplicationId = 0x44534B42;  // "DSKB"

class Db;
class Stmt;

// The model whose vectors a KB holds. Search only compares a query vector with the stored ones
// when its model_sha256 is this one.
struct EmbeddingModel {
  std::string sha256;  // "sha256:<hex>" of the model file
  std::string file;    // the path it was built with (informational)
  std::string head;    // the embedding head, e.g. "embed"
  int dim = 0;
};

// What a KB holds, for `kb search` headers and --json.
struct KbInfo {
  std::string path;
  int schema_version = 0;
  int64_t entries = 0;   // all
  int64_t ours = 0;      // kind "entry"
  int64_t imported = 0;  // kind "medquad"
  int64_t embedded = 0;  // entries with a vector of `embedding`'s model
  std::optional<EmbeddingModel> embedding;
  std::map<std::string, std::string> meta;  // the meta table
};

// A field as the substring fallback compares it: ASCII letters lowercased (the trigram index
// folds case itself), list items one per line.
std::string search_text(const std::string& s);
std::string search_text(const std::vector<std::string>& items);

// Writes a KB file. One writer per file at a time, one thread.
class KbWriter {
 public:
  // Creates the schema in a new file at `path` (an existing file there is an error).
  static KbWriter create(const std::filesystem::path& path);
  // Opens an existing KB file to add to it; throws KbError if it is not a KB file of this version.
  static KbWriter open_existing(const std::filesystem::path& path);
  KbWriter(KbWriter&&) noexcept;
  ~KbWriter();

  void begin();  // BEGIN IMMEDIATE
  void commit();
  void rollback() noexcept;

  void set_meta(const std::string& key, const std::string& value);
  std::string meta(const std::string& key);  // "" if unset
  // The embedding model recorded in meta, if any.
  std::optional<EmbeddingModel> embedding_model();
  void set_embedding_model(const EmbeddingModel& model);

  // Inserts `entry`, replacing an entry with the same id (its index row and vectors go too).
  void put(const Entry& entry);
  bool has(const std::string& id);
  // Stores `vector` (model.dim floats) for the entry `id`.
  void put_embedding(const std::string& id, const EmbeddingModel& model, std::span<const float> vector);
  // Rebuilds the full-text index's b-trees into one (smaller, faster); call after large imports.
  void optimize();

  const std::string& path() const;

 private:
  explicit KbWriter(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
  std::unique_ptr<Stmt> find_, del_entry_, del_fts_, del_vec_, ins_entry_, ins_fts_, ins_vec_;
  void prepare();
};

// Opens `path` read-only and checks it is a KB file of this schema version (throws KbError naming
// the file otherwise, e.g. a results database or a KB from a newer version).
std::unique_ptr<Db> open_kb_read_only(const std::filesystem::path& path);

// The stored entry of the current row of a statement selecting kEntryColumns (in that order).
extern const char* const kEntryColumns;
Entry entry_from_row(const Stmt& row);

KbInfo read_info(Db& db);

}  // namespace ds::medical::kb
