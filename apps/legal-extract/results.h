// The batch's results as legal-extract exports them: read back from the SQLite database (the source
// of truth), one ExtractedDocument per document key of the batch, each with its rows.
//
// Which annotations become rows (independent of the stage that produced them):
//   - clause rows: attribute kind=clause, or no `kind` and a label that is a taxonomy id
//     (plugins/legal/taxonomy.tsv): legal.clauses (method=keyword), legal.extract (method=model);
//   - entity rows: attribute kind=entity (the model's party/date/amount/duration tags): category
//     from the `category` attribute, else `parties` for party and the label itself otherwise;
//   - party rows from legal.values: a `party` value annotation is a `parties` row, unless the
//     document has entity rows for parties (the model's, which then stand for them).
// Value annotations (money, amount, date, duration, rate, party without kind=entity) carry
// normalized fields; a row's `values` are the value annotations whose span lies inside the row's
// span. The document-level `completeness` annotation is kept for the report, the `route` annotation
// (model.encode with path: auto) as the rows' `path` and `router_score` columns.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinks/sink.h"
#include "taxonomy.h"  // plugins/legal: the one taxonomy of the plug-in and the app

namespace ds::legal_extract {

// A normalized value inside a row's span.
struct ValueItem {
  std::string kind;  // money, amount, date, duration, rate, party
  size_t start = 0;  // code points in the decoded text
  size_t end = 0;
  std::string text;                           // decoded text [start, end)
  std::map<std::string, std::string> fields;  // the annotation's attributes (value, currency, ...), `method` left out
};

struct Row {
  std::string kind;  // "clause" or "entity"
  std::string category, cuad, label, label_zh;
  size_t start = 0;  // code points in the decoded text, half-open
  size_t end = 0;
  std::string text;       // exactly the decoded text [start, end)
  double confidence = 0;  // 0..1
  std::vector<ValueItem> values;
  std::string stage, method;
};

struct ExtractedDocument {
  DocKey key;                // path as given, content hash, config hash
  bool found = false;        // false: not in the database (the run stopped before it)
  std::string status;        // "done" or "failed"
  std::string failed_stage;  // when failed
  std::string error;         // when failed
  std::string charset;
  int64_t size = 0;  // bytes on disk
  std::vector<std::string> warnings;
  std::string run_id;                       // the run that processed it
  std::optional<std::string> decoded_text;  // null when the sink did not store it
  size_t text_code_points = 0;
  std::vector<Row> rows;  // filtered, ordered by start, then longest first
  size_t rows_filtered_out = 0;
  // The legal.completeness annotation's attributes (Art. 470 hints), when present.
  std::map<std::string, std::string> completeness;
  // model.encode's `route` annotation (path: auto): the path the router chose and its score, as
  // written; both empty when the pipeline forced a path.
  std::string path, router_score;
  std::vector<std::string> notes;  // why a done document has no rows, or how its rows are limited
};

struct RowFilter {
  double min_confidence = 0;            // rows below are dropped
  std::vector<std::string> categories;  // taxonomy ids, CUAD names or entity categories; empty: all
};

// Reads documents one at a time from a results database (opened read-only), so a batch of any size
// is exported in the memory of its largest document. Not thread-safe.
class ResultReader {
 public:
  // Throws std::runtime_error "[legal-extract] <file>: ..." when the file cannot be opened or is not
  // a results database of schema 3 or later.
  ResultReader(const std::string& db_path, RowFilter filter, const legal::Taxonomy& taxonomy);
  ~ResultReader();
  ResultReader(const ResultReader&) = delete;
  ResultReader& operator=(const ResultReader&) = delete;

  // The document with `key` and its rows; found = false when the database does not hold it.
  // Throws std::runtime_error on a read error.
  ExtractedDocument read(const DocKey& key);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// "3f2a…" (hex digits only) of a "sha256:3f2a…" content hash; "" when empty.
std::string bare_sha256(const std::string& content_hash);

// Entity categories that are not taxonomy ids: the model's date, amount and duration tags.
const std::vector<std::string>& entity_categories();

}  // namespace ds::legal_extract
