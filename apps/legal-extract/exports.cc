#include "exports.h"

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "sinks/csv_format.h"
#include "sinks/json_writer.h"

namespace ds::legal_extract {

namespace {

std::string number_text(double v) {
  std::string s;
  append_json_number(s, v);
  return s;
}

bool parse_number(const std::string& text, double* out) {
  try {
    size_t used = 0;
    *out = std::stod(text, &used);
    return used == text.size() && std::isfinite(*out);
  } catch (const std::exception&) {
    return false;
  }
}

const char* const kCsvColumns[] = {"document", "doc_sha256", "category",   "cuad",   "label", "label_zh", "start",
                                   "end",      "text",       "confidence", "values", "kind",  "method", "path",
                                   "router_score"};

}  // namespace

namespace {

void write_values(JsonWriter& w, const Row& row) {
  std::map<std::string, std::vector<const ValueItem*>> by_kind;
  for (const ValueItem& v : row.values) by_kind[v.kind].push_back(&v);
  w.begin_object();
  for (const auto& [kind, items] : by_kind) {
    w.key(kind).begin_array();
    for (const ValueItem* v : items) {
      w.begin_object();
      w.key("text").value(v->text);
      w.key("start").value(static_cast<uint64_t>(v->start));
      w.key("end").value(static_cast<uint64_t>(v->end));
      for (const auto& [k, value] : v->fields)
        if (k != "text" && k != "start" && k != "end") w.key(k).value(value);
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
}

}  // namespace

std::string values_json(const Row& row) {
  JsonWriter w;
  write_values(w, row);
  return w.take();
}

std::string row_json(const ExtractedDocument& doc, const Row& row) {
  JsonWriter w;
  w.begin_object();
  w.key("document").value(doc.key.path);
  w.key("doc_sha256").value(bare_sha256(doc.key.content_hash));
  w.key("category").value(row.category);
  w.key("cuad");
  if (row.cuad.empty())
    w.null();
  else
    w.value(row.cuad);
  w.key("label").value(row.label);
  w.key("label_zh").value(row.label_zh);
  w.key("start").value(static_cast<uint64_t>(row.start));
  w.key("end").value(static_cast<uint64_t>(row.end));
  w.key("text").value(row.text);
  w.key("confidence").value(row.confidence);
  w.key("values");
  write_values(w, row);
  w.key("kind").value(row.kind);
  w.key("method").value(row.method);
  // The computation path the router chose for the document (path: auto), else null.
  w.key("path");
  if (doc.path.empty())
    w.null();
  else
    w.value(doc.path);
  w.key("router_score");
  double score = 0;
  if (!doc.router_score.empty() && parse_number(doc.router_score, &score))
    w.value(score);
  else
    w.null();
  w.end_object();
  return w.take();
}

void JsonlExport::add(const ExtractedDocument& doc) {
  std::string lines;
  for (const Row& row : doc.rows) {
    lines += row_json(doc, row);
    lines += '\n';
    ++rows_;
  }
  out_.write(lines);
}

CsvExport::CsvExport(const std::string& path) : out_(path) {
  std::string header = "\xEF\xBB\xBF";
  bool first = true;
  for (const char* c : kCsvColumns) {
    if (!first) header += ',';
    header += c;
    first = false;
  }
  out_.write(header + "\r\n");
}

void CsvExport::add(const ExtractedDocument& doc) {
  std::string records;
  const std::string sha = bare_sha256(doc.key.content_hash);
  for (const Row& row : doc.rows) {
    const std::string fields[] = {doc.key.path,
                                  sha,
                                  row.category,
                                  row.cuad,
                                  row.label,
                                  row.label_zh,
                                  std::to_string(row.start),
                                  std::to_string(row.end),
                                  sanitize_utf8(row.text),
                                  number_text(row.confidence),
                                  values_json(row),
                                  row.kind,
                                  row.method,
                                  doc.path,
                                  doc.router_score};
    bool first = true;
    for (const std::string& f : fields) {
      if (!first) records += ',';
      records += csv_field(f, ',', /*guard_formula=*/true);
      first = false;
    }
    records += "\r\n";
    ++rows_;
  }
  out_.write(records);
}

}  // namespace ds::legal_extract
