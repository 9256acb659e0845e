// The row exports: JSONL (one object per row, the documented format) and CSV (the same fields, for
// spreadsheets). Each file is rebuilt whole from the database on every run (OutputFile), so
// exporting is idempotent and a crash mid-export leaves the previous file.
#pragma once

#include <cstddef>
#include <string>

#include "output_file.h"
#include "results.h"

namespace ds::legal_extract {

// The row as one JSON object (no newline), members in this order: document, doc_sha256, category,
// cuad (null when no CUAD category applies), label, label_zh, start, end, text, confidence, values,
// kind, method.
std::string row_json(const ExtractedDocument& doc, const Row& row);

// {"money":[{"text":…,"start":…,"end":…,"value":…,"currency":…}],…}: the values inside the row, by
// kind, each with its decoded text, code-point offsets and normalized fields.
std::string values_json(const Row& row);

class JsonlExport {
 public:
  explicit JsonlExport(const std::string& path) : out_(path) {}
  void add(const ExtractedDocument& doc);  // writes the document's rows
  void commit() { out_.commit(); }
  size_t rows() const { return rows_; }

 private:
  OutputFile out_;
  size_t rows_ = 0;
};

// RFC 4180 with CRLF line ends, a UTF-8 byte order mark (so Excel reads Chinese right) and a header
// row; `values` as JSON text. Fields a spreadsheet would run as a formula (starting with = + - @)
// are written with a leading ' as the CSV sink does.
class CsvExport {
 public:
  explicit CsvExport(const std::string& path);
  void add(const ExtractedDocument& doc);
  void commit() { out_.commit(); }
  size_t rows() const { return rows_; }

 private:
  OutputFile out_;
  size_t rows_ = 0;
};

}  // namespace ds::legal_extract
