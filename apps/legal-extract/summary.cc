#include "summary.h"

#include "sinks/json_writer.h"

namespace ds::legal_extract {

void BatchSummary::add(const ExtractedDocument& doc) {
  ++documents;
  if (!doc.found) {
    ++not_reached;
    not_reached_paths.push_back(doc.key.path);
    return;
  }
  if (doc.status == "failed") {
    ++failed;
    failures.push_back({doc.key.path, doc.failed_stage, doc.error});
  } else {
    ++done;
  }
  if (doc.run_id == run_id) {
    ++processed_now;
    processed_file_bytes += doc.size;
    if (doc.decoded_text) processed_text_bytes += static_cast<int64_t>(doc.decoded_text->size());
  }
  rows += static_cast<int64_t>(doc.rows.size());
  rows_filtered_out += static_cast<int64_t>(doc.rows_filtered_out);
  std::map<std::string, bool> seen;
  for (const Row& r : doc.rows) {
    CategoryCount& c = by_category[r.category];
    if (c.label_zh.empty()) c.label_zh = r.label_zh;
    ++c.rows;
    if (!seen[r.category]) {
      seen[r.category] = true;
      ++c.documents;
    }
  }
  for (const std::string& n : doc.notes) notes.emplace_back(doc.key.path, n);
}

double BatchSummary::text_mb_per_minute() const {
  return run_seconds > 0 ? static_cast<double>(processed_text_bytes) / 1e6 / (run_seconds / 60.0) : 0.0;
}

double BatchSummary::documents_per_minute() const {
  return run_seconds > 0 ? static_cast<double>(processed_now) / (run_seconds / 60.0) : 0.0;
}

std::string summary_json(const BatchSummary& s, const std::map<std::string, std::string>& outputs) {
  JsonWriter w;
  w.begin_object();
  w.key("pipeline").value(s.pipeline_name);
  w.key("pipeline_file").value(s.pipeline_file);
  w.key("run_id").value(s.run_id);
  w.key("config_hash").value(s.config_hash);
  w.key("documents").value(s.documents);
  w.key("done").value(s.done);
  w.key("failed").value(s.failed);
  w.key("not_reached").value(s.not_reached);
  w.key("processed_now").value(s.processed_now);
  w.key("reused").value(s.done + s.failed - s.processed_now);
  w.key("interrupted").value(s.interrupted);
  w.key("seconds").value(s.run_seconds);
  w.key("text_bytes").value(s.processed_text_bytes);
  w.key("file_bytes").value(s.processed_file_bytes);
  w.key("text_mb_per_minute").value(s.text_mb_per_minute());
  w.key("documents_per_minute").value(s.documents_per_minute());
  w.key("rows").value(s.rows);
  w.key("rows_filtered_out").value(s.rows_filtered_out);
  w.key("min_confidence").value(s.min_confidence);
  w.key("categories").begin_array();
  for (const std::string& c : s.categories) w.value(c);
  w.end_array();
  w.key("rows_by_category").begin_object();
  for (const auto& [id, c] : s.by_category) w.key(id).value(c.rows);
  w.end_object();
  w.key("failures").begin_array();
  for (const FailedDocument& f : s.failures) {
    w.begin_object();
    w.key("path").value(f.path);
    w.key("stage").value(f.stage);
    w.key("error").value(f.error);
    w.end_object();
  }
  w.end_array();
  w.key("notes").begin_array();
  for (const auto& [path, note] : s.notes) {
    w.begin_object();
    w.key("path").value(path);
    w.key("note").value(note);
    w.end_object();
  }
  w.end_array();
  w.key("outputs").begin_object();
  for (const auto& [kind, path] : outputs) w.key(kind).value(path);
  w.end_object();
  w.end_object();
  return w.take();
}

}  // namespace ds::legal_extract
