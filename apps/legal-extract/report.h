// The HTML report: one self-contained file (inline CSS, no scripts, fonts or images from
// elsewhere) with the batch summary, then per document its clause table and each clause's text in
// context with the span highlighted and the values inside it marked. Every text from a document or
// the database is escaped. Documents are written as they come (to a side file), so the report of a
// batch of any size is built in the memory of its largest document; commit() puts the summary in
// front and renames the finished file into place.
#pragma once

#include <string>

#include "output_file.h"
#include "results.h"
#include "summary.h"

namespace ds::legal_extract {

class HtmlReport {
 public:
  // Throws std::runtime_error when the file cannot be created.
  explicit HtmlReport(const std::string& path);
  ~HtmlReport();
  HtmlReport(const HtmlReport&) = delete;
  HtmlReport& operator=(const HtmlReport&) = delete;

  void add(const ExtractedDocument& doc);
  void commit(const BatchSummary& summary);

 private:
  std::string path_;
  std::string body_path_;
  OutputFile body_;
  std::string contents_;  // the table of contents, one list item per document
  int documents_ = 0;
};

// Text escaped for HTML element content and attribute values (& < > " '), invalid UTF-8 and control
// characters other than tab, LF and CR replaced by U+FFFD.
std::string html_escape(std::string_view text);

// A short human reading of a normalized value: "500000.00 CNY", "2024-03-01", "3 year",
// "0.0005 / day", "甲方: 某某有限公司"; falls back to the fields as key=value.
std::string value_summary(const ValueItem& value);

}  // namespace ds::legal_extract
