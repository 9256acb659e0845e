// The JSONL sink: one JSON object per document per line, appended.
//
// Line layout (keys in this order):
//   {"path","content_hash","config_hash","run_id","status","failed_stage","error","charset",
//    "warnings":[...],"segments":N,"tokens":N,
//    "annotations":[{"label","begin","end","source_begin","source_end","text_begin","text_end","text","score",
//                    "attributes":{...},"stage"}],"timings_ms":{...}}
// begin/end are byte offsets into the normalized text, source_* byte offsets into the original file,
// text_* Unicode code-point offsets into the decoded text (before normalization); all strings are
// valid UTF-8 (invalid bytes become U+FFFD).
//
// Detail (options, off by default; for training-data export and debugging): `segment_spans: true`
// adds "segment_spans":[{"kind","number","level","begin","end","source_begin","source_end"}] and
// `token_ids: true` adds "token_ids":[id,...] and "token_spans":[[begin,end,source_begin,source_end],...]
// after "tokens" (begin/end in the normalized text, source_* in the original file's bytes).
//
// Crash safety: begin_run cuts a torn last line (no final '\n') and reads the keys of the complete
// lines; write() appends a whole line with one write(2) on an O_APPEND descriptor, then fdatasync
// (option fsync). With retry_failed, a retried document's new line supersedes its old one; the older
// line is dropped by an atomic rewrite at end_run (or at the next begin_run after a kill), so the file
// holds each key once. Not thread-safe: the engine calls it from one thread.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ds/options.h"
#include "sinks/append_file.h"
#include "sinks/sink.h"

namespace ds {

// What a JSONL line carries beyond the summary (see the file comment).
struct JsonlDetail {
  bool segment_spans = false;
  bool token_ids = false;
};

class JsonlSink : public Sink {
 public:
  // path (kPath, required), retry_failed (bool, false), fsync (bool, true), segment_spans, token_ids.
  static std::vector<OptionSpec> option_specs();

  // Reads options only; the file is opened by begin_run. Throws std::invalid_argument without path.
  explicit JsonlSink(const Options& options);

  void begin_run(const RunInfo& run) override;
  bool has(const DocKey& key) override;
  void write(const DocKey& key, const Document& doc) override;
  void end_run(const RunSummary& summary) override;

  // The line write() appends for `doc`, without its '\n'.
  static std::string to_line(const DocKey& key, const Document& doc, const std::string& run_id,
                             JsonlDetail detail = {});

 private:
  // Cuts a torn tail, collects keys, and rewrites the file if a key occurs more than once.
  void load(std::string content);

  AppendFile file_;
  bool retry_failed_ = false;
  bool fsync_ = true;
  JsonlDetail detail_;
  bool begun_ = false;
  bool superseded_ = false;  // this run appended a line for a key the file already held
  std::string run_id_;
  std::unordered_map<std::string, bool> failed_by_key_;  // key_string -> status was "failed"
};

}  // namespace ds
