// The CSV sink: one row per annotation, for spreadsheets.
//
// Columns: path, content_hash, config_hash, status, label, begin, end, text, score, attributes
// (JSON object), stage, error, doc_rows. A failed document is one row (status "failed", stage = the
// failed stage, error); a document without annotations is one row with an empty label. begin/end
// are byte offsets into the normalized text. doc_rows, on every row, is how many rows the document
// has: it lets a reopen tell a document cut short by a kill from a complete one.
//
// Format: RFC 4180 with CRLF line ends; text fields that start with = + - @ TAB or CR are written as
// "'..." (spreadsheet formula injection guard). Optional UTF-8 BOM and the header are written once,
// when the file is new or empty.
//
// Crash safety as in JsonlSink: all rows of a document go out in one write(2) on an O_APPEND
// descriptor; begin_run parses the file, cuts a torn trailing record or an incomplete last document,
// collects keys, and drops superseded documents (retry_failed) with an atomic rewrite. Not
// thread-safe: the engine calls it from one thread.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "ds/options.h"
#include "sinks/append_file.h"
#include "sinks/sink.h"

namespace ds {

class CsvSink : public Sink {
 public:
  // path (kPath, required), bom (bool, true), delimiter (string, ","), retry_failed (bool, false),
  // fsync (bool, true).
  static std::vector<OptionSpec> option_specs();
  static const std::vector<std::string>& columns();

  // Reads options only. Throws std::invalid_argument without path or with a delimiter that is not
  // one character (or "tab"), or is '"', CR or LF.
  explicit CsvSink(const Options& options);

  void begin_run(const RunInfo& run) override;
  bool has(const DocKey& key) override;
  void write(const DocKey& key, const Document& doc) override;
  void end_run(const RunSummary& summary) override;

  // The rows write() appends for `doc`, each ended by CRLF.
  std::string to_rows(const DocKey& key, const Document& doc) const;

 private:
  void load(std::string content);
  std::string header() const;

  AppendFile file_;
  bool bom_ = true;
  char delimiter_ = ',';
  bool retry_failed_ = false;
  bool fsync_ = true;
  bool begun_ = false;
  bool superseded_ = false;
  std::unordered_map<std::string, bool> failed_by_key_;  // key as stored (formula-guarded) -> failed
};

}  // namespace ds
