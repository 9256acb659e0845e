// What a legal-extract run did, for the terminal, --json and the report: the batch's documents
// (done, failed, not reached), rows per category and this run's throughput.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "results.h"

namespace ds::legal_extract {

struct FailedDocument {
  std::string path, stage, error;
};

struct CategoryCount {
  std::string label_zh;
  int64_t rows = 0;
  int64_t documents = 0;
};

struct BatchSummary {
  // Settings, filled by the caller.
  std::string pipeline_file, pipeline_name, config_hash, run_id, db_path, version, plugins;
  std::string started_at;  // ISO 8601 UTC
  double min_confidence = 0;
  std::vector<std::string> categories;
  double run_seconds = 0;  // the engine's wall time for this run
  bool interrupted = false;

  // Counts, filled by add().
  int64_t documents = 0;  // in the batch
  int64_t done = 0;
  int64_t failed = 0;
  int64_t not_reached = 0;           // not in the database: the run stopped before them
  int64_t processed_now = 0;         // done or failed by this run (the rest came from earlier runs)
  int64_t processed_file_bytes = 0;  // on disk, of the documents processed now
  int64_t processed_text_bytes = 0;  // decoded UTF-8 text of the documents processed now
  int64_t rows = 0;
  int64_t rows_filtered_out = 0;  // below --min-confidence or outside --categories
  std::map<std::string, CategoryCount> by_category;
  std::vector<FailedDocument> failures;
  std::vector<std::string> not_reached_paths;
  std::vector<std::pair<std::string, std::string>> notes;  // (path, note): empty documents and the like

  void add(const ExtractedDocument& doc);

  // This run's processing rate; 0 when nothing was processed or no time passed.
  double text_mb_per_minute() const;  // decoded text, 10^6 bytes
  double documents_per_minute() const;
};

// The summary as one JSON object (what --json prints), with `outputs` naming the files written.
std::string summary_json(const BatchSummary& s, const std::map<std::string, std::string>& outputs);

}  // namespace ds::legal_extract
