#include "results.h"

#include <sqlite3.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "code_points.h"
#include "sinks/json_reader.h"
#include "sinks/json_writer.h"

namespace ds::legal_extract {

namespace {

// Labels of annotations that carry normalized values (legal.values, legal.amounts).
const std::set<std::string, std::less<>> kValueLabels = {"money", "amount", "date", "duration", "rate", "party"};

struct EntityLabel {
  const char* category;
  const char* label;
  const char* label_zh;
};
// The model's entity tags that are not taxonomy ids (party maps to `parties`).
const EntityLabel kEntityLabels[] = {
    {"date", "Date", "日期"}, {"amount", "Amount", "金额"}, {"duration", "Duration", "期限"}};

// An annotation row as stored.
struct Stored {
  std::string label, stage, text;
  int64_t begin = 0, end = 0;                   // normalized bytes
  std::optional<int64_t> text_begin, text_end;  // decoded code points
  std::optional<double> score;
  std::map<std::string, std::string> attrs;

  std::string attr(const std::string& name) const {
    auto it = attrs.find(name);
    return it == attrs.end() ? std::string() : it->second;
  }
};

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw std::runtime_error("[legal-extract] " + path + ": cannot open the results database: " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    doc_ = prepare(
        "SELECT id, status, coalesce(failed_stage, ''), coalesce(error, ''), charset, size, warnings, run_id, "
        "decoded_text FROM documents WHERE path = ?1 AND content_hash = ?2 AND config_hash = ?3");
    ann_ = prepare(
        "SELECT label, stage, \"begin\", \"end\", text_begin, text_end, score, attributes, text FROM annotations "
        "WHERE document_id = ?1 ORDER BY ordinal");
  }
  ~Reader() {
    sqlite3_finalize(doc_);
    sqlite3_finalize(ann_);
    sqlite3_close(db_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Fills the document's columns; returns its id, or -1 when the key is not in the database.
  int64_t document(const DocKey& key, ExtractedDocument& d) {
    sqlite3_reset(doc_);
    bind_text(doc_, 1, key.path);
    bind_text(doc_, 2, key.content_hash);
    bind_text(doc_, 3, key.config_hash);
    int rc = sqlite3_step(doc_);
    if (rc == SQLITE_DONE) return -1;
    if (rc != SQLITE_ROW) fail("read document " + key.path);
    int64_t id = sqlite3_column_int64(doc_, 0);
    d.status = column_text(doc_, 1);
    d.failed_stage = column_text(doc_, 2);
    d.error = column_text(doc_, 3);
    d.charset = column_text(doc_, 4);
    d.size = sqlite3_column_int64(doc_, 5);
    if (auto w = parse_json(column_text(doc_, 6)); w && w->is_array())
      for (const JsonValue& v : w->array)
        if (v.is_string()) d.warnings.push_back(v.string);
    d.run_id = column_text(doc_, 7);
    if (sqlite3_column_type(doc_, 8) != SQLITE_NULL) d.decoded_text = column_text(doc_, 8);
    sqlite3_reset(doc_);
    return id;
  }

  std::vector<Stored> annotations(int64_t document_id) {
    std::vector<Stored> out;
    sqlite3_reset(ann_);
    sqlite3_bind_int64(ann_, 1, document_id);
    int rc;
    while ((rc = sqlite3_step(ann_)) == SQLITE_ROW) {
      Stored a;
      a.label = column_text(ann_, 0);
      a.stage = column_text(ann_, 1);
      a.begin = sqlite3_column_int64(ann_, 2);
      a.end = sqlite3_column_int64(ann_, 3);
      if (sqlite3_column_type(ann_, 4) != SQLITE_NULL) a.text_begin = sqlite3_column_int64(ann_, 4);
      if (sqlite3_column_type(ann_, 5) != SQLITE_NULL) a.text_end = sqlite3_column_int64(ann_, 5);
      if (sqlite3_column_type(ann_, 6) != SQLITE_NULL) a.score = sqlite3_column_double(ann_, 6);
      if (auto attrs = parse_json(column_text(ann_, 7)); attrs && attrs->is_object()) {
        for (const auto& [k, v] : attrs->object) {
          if (v.is_string()) {
            a.attrs[k] = v.string;
          } else if (v.is_number()) {
            std::string n;
            append_json_number(n, v.number);
            a.attrs[k] = n;
          } else if (v.type == JsonValue::Type::kBool) {
            a.attrs[k] = v.boolean ? "true" : "false";
          }
        }
      }
      a.text = column_text(ann_, 8);
      out.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) fail("read annotations");
    sqlite3_reset(ann_);
    return out;
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK)
      fail("prepare (is it a legal-extract results database, schema 3 or later?)");
    return s;
  }
  static void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string column_text(sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s, i)))
             : std::string();
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("[legal-extract] " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* doc_ = nullptr;
  sqlite3_stmt* ann_ = nullptr;
};

bool wanted(const Row& row, const RowFilter& filter) {
  if (row.confidence < filter.min_confidence) return false;
  if (filter.categories.empty()) return true;
  for (const std::string& c : filter.categories)
    if (c == row.category || (!row.cuad.empty() && c == row.cuad)) return true;
  return false;
}

// Names the row after its category: the annotation's own label/label_zh/cuad attributes win
// (legal.extract sets them), the taxonomy or the entity table fills in the rest.
void name_row(Row& row, const Stored& a, const legal::Taxonomy& taxonomy) {
  row.label = a.attr("label");
  // The display heading: the first of the `/`-joined variants, whoever wrote the attribute.
  row.label_zh = a.attr("label_zh").substr(0, a.attr("label_zh").find('/'));
  row.cuad = a.attr("cuad");
  if (const legal::TaxonomyCategory* c = taxonomy.find(row.category)) {
    if (row.label.empty()) row.label = c->label;
    if (row.label_zh.empty()) row.label_zh = c->label_zh.substr(0, c->label_zh.find('/'));
    // A model's rows already say which CUAD category they are (legal.extract: its cuad head in
    // English, the id's sole CUAD category in Chinese); filling one in here would make every
    // general termination clause a "Termination For Convenience".
    if (row.cuad.empty() && a.attr("method") != "model") row.cuad = std::string(taxonomy.sole_cuad(row.category));
  } else {
    for (const EntityLabel& e : kEntityLabels) {
      if (row.category != e.category) continue;
      if (row.label.empty()) row.label = e.label;
      if (row.label_zh.empty()) row.label_zh = e.label_zh;
    }
  }
  if (row.label.empty()) row.label = row.category;
}

void fill_rows(ExtractedDocument& d, std::vector<Stored>& anns, const RowFilter& filter, const legal::Taxonomy& taxonomy) {
  const bool model_parties = std::any_of(anns.begin(), anns.end(), [](const Stored& a) {
    return a.attr("kind") == "entity" && (a.label == "party" || a.attr("category") == "parties");
  });
  std::optional<CodePointText> text;
  if (d.decoded_text) {
    text.emplace(*d.decoded_text);
    d.text_code_points = text->size();
  }
  auto decoded = [&](const Stored& a) -> std::string {
    if (!text) return a.text;  // the normalized span: the best there is (noted below)
    return std::string(text->slice(static_cast<size_t>(*a.text_begin), static_cast<size_t>(*a.text_end)));
  };

  std::vector<const Stored*> values;
  for (const Stored& a : anns) {
    const std::string kind = a.attr("kind");
    if (kValueLabels.count(a.label) && kind != "entity" && kind != "clause" && a.text_begin && a.text_end)
      values.push_back(&a);
  }

  bool missing_offsets = false;
  std::vector<std::pair<size_t, Row>> rows;  // (ordinal, row) for a stable order
  for (size_t i = 0; i < anns.size(); ++i) {
    const Stored& a = anns[i];
    const std::string kind = a.attr("kind");
    Row row;
    if (kind == "entity") {
      row.kind = "entity";
      row.category = a.attr("category");
      if (row.category.empty()) row.category = a.label == "party" ? "parties" : a.label;
    } else if (kind == "clause" || (kind.empty() && taxonomy.find(a.label))) {
      row.kind = "clause";
      row.category = a.label;
    } else if (a.label == "party" && kind != "clause" && !model_parties) {
      row.kind = "entity";
      row.category = "parties";
    } else {
      if (a.label == "completeness") d.completeness = a.attrs;
      if (a.label == "route") {
        d.path = a.attr("path");
        d.router_score = a.attr("score");
      }
      continue;
    }
    if (!a.text_begin || !a.text_end) {
      missing_offsets = true;
      continue;
    }
    name_row(row, a, taxonomy);
    row.start = static_cast<size_t>(*a.text_begin);
    row.end = static_cast<size_t>(*a.text_end);
    row.text = decoded(a);
    row.confidence = std::clamp(a.score.value_or(1.0), 0.0, 1.0);
    row.stage = a.stage;
    row.method = a.attr("method");
    if (!wanted(row, filter)) {
      ++d.rows_filtered_out;
      continue;
    }
    for (const Stored* v : values) {
      if (v->begin < a.begin || v->end > a.end) continue;
      ValueItem item{v->label, static_cast<size_t>(*v->text_begin), static_cast<size_t>(*v->text_end), decoded(*v),
                     v->attrs};
      item.fields.erase("method");
      row.values.push_back(std::move(item));
    }
    rows.emplace_back(i, std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
    if (x.second.start != y.second.start) return x.second.start < y.second.start;
    return x.second.end > y.second.end;
  });
  for (auto& [ordinal, row] : rows) d.rows.push_back(std::move(row));

  if (!text && !d.rows.empty())
    d.notes.push_back(
        "the database holds no decoded text for this document (its sink ran without "
        "store_decoded_text), so row text is the normalized span");
  if (missing_offsets)
    d.notes.push_back(
        "some annotations have no code-point offsets (written by a version before schema 2) and "
        "are left out");
}

}  // namespace

const std::vector<std::string>& entity_categories() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const EntityLabel& e : kEntityLabels) out.push_back(e.category);
    return out;
  }();
  return names;
}

std::string bare_sha256(const std::string& content_hash) {
  const std::string prefix = "sha256:";
  return content_hash.rfind(prefix, 0) == 0 ? content_hash.substr(prefix.size()) : content_hash;
}

class ResultReader::Impl {
 public:
  Impl(const std::string& path, RowFilter filter, const legal::Taxonomy& taxonomy)
      : reader(path), filter(std::move(filter)), taxonomy(taxonomy) {}
  Reader reader;
  RowFilter filter;
  const legal::Taxonomy& taxonomy;
};

ResultReader::ResultReader(const std::string& db_path, RowFilter filter, const legal::Taxonomy& taxonomy)
    : impl_(std::make_unique<Impl>(db_path, std::move(filter), taxonomy)) {}

ResultReader::~ResultReader() = default;

ExtractedDocument ResultReader::read(const DocKey& key) {
  ExtractedDocument d;
  d.key = key;
  int64_t id = impl_->reader.document(key, d);
  d.found = id >= 0;
  if (!d.found) return d;
  std::vector<Stored> anns = impl_->reader.annotations(id);
  fill_rows(d, anns, impl_->filter, impl_->taxonomy);
  if (d.status == "done" && d.decoded_text && d.decoded_text->find_first_not_of(" \t\r\n\f\v") == std::string::npos)
    d.notes.push_back(d.decoded_text->empty() ? "empty document: no text" : "no text: only white space");
  return d;
}

}  // namespace ds::legal_extract
