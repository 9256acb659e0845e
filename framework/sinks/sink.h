// Sinks: where finished documents go. The engine calls a sink from one thread only.
//
// Every sink is idempotent per document key, so a run killed at any moment and started again writes
// each document exactly once: the engine asks has() before processing, and write() commits a
// document's whole result atomically (one SQLite transaction, one append of whole lines).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ds/document.h"
#include "ds/options.h"

namespace ds {

// Identifies a document result: the same file content under the same resolved config.
struct DocKey {
  std::string path;
  std::string content_hash;  // empty for unreadable files
  std::string config_hash;
  bool operator==(const DocKey&) const = default;
};

struct RunInfo {
  std::string run_id;         // unique per run, e.g. "20261128T120000Z-1a2b3c"
  std::string pipeline_name;
  std::string pipeline_path;
  std::string config_hash;    // sha256 of the resolved config text
  std::string config_text;    // the resolved config (YAML)
  std::string version;        // framework version
  std::string plugins;        // "legal 0.1.0 (abi 1.0), ..."
  int64_t started_unix_ms = 0;
};

struct RunSummary {
  int64_t total = 0;
  int64_t done = 0;
  int64_t failed = 0;
  int64_t skipped = 0;  // already complete in every sink from an earlier run
  int64_t finished_unix_ms = 0;
  double seconds = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Opens files, creates schema, records the run. Throws std::runtime_error naming the file.
  virtual void begin_run(const RunInfo& run) = 0;
  // True if this sink already holds a final result for `key` (done or failed).
  virtual bool has(const DocKey& key) = 0;
  // Writes one finished document (done or failed) atomically. `key.config_hash` is the run's.
  virtual void write(const DocKey& key, const Document& doc) = 0;
  // Records the summary and flushes. Not called if the process dies; begin_run copes with that.
  virtual void end_run(const RunSummary& summary) = 0;
};

using SinkFactory = std::function<std::unique_ptr<Sink>(const Options&)>;

}  // namespace ds
