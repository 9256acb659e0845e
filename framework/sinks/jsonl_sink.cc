#include "sinks/jsonl_sink.h"

#include <stdexcept>

#include "sinks/json_reader.h"
#include "sinks/json_writer.h"
#include "sinks/result_fields.h"
#include "sinks/sink_options.h"

namespace ds {

std::vector<OptionSpec> JsonlSink::option_specs() {
  return {
      opt_path("path", std::nullopt, "JSONL file the results are appended to (created if missing)"),
      opt_bool("retry_failed", false, "process documents again that failed in an earlier run"),
      opt_bool("fsync", true, "fdatasync after every document (off: faster, may lose the last lines on power loss)"),
      opt_bool("segment_spans", false, "also write every segment (kind, numbering, normalized and source offsets)"),
      opt_bool("token_ids", false, "also write the token ids and their normalized and source offsets"),
  };
}

JsonlSink::JsonlSink(const Options& options)
    : file_(sink_options::required_path(options, "jsonl"), "[sink.jsonl]"),
      retry_failed_(sink_options::get_bool(options, "retry_failed", false)),
      fsync_(sink_options::get_bool(options, "fsync", true)),
      detail_{sink_options::get_bool(options, "segment_spans", false), sink_options::get_bool(options, "token_ids", false)} {}

std::string JsonlSink::to_line(const DocKey& key, const Document& doc, const std::string& run_id, JsonlDetail detail) {
  JsonWriter w;
  w.begin_object();
  w.key("path").value(key.path);
  w.key("content_hash").value(key.content_hash);
  w.key("config_hash").value(key.config_hash);
  w.key("run_id").value(run_id);
  w.key("status").value(to_string(doc.status));
  w.key("failed_stage").value(doc.failed_stage);
  w.key("error").value(doc.error);
  w.key("charset").value(doc.charset);
  w.key("warnings").begin_array();
  for (const auto& warning : doc.warnings) w.value(warning);
  w.end_array();
  w.key("segments").value(static_cast<int64_t>(doc.segments.size()));
  w.key("tokens").value(static_cast<int64_t>(doc.tokens.size()));
  if (detail.segment_spans) {
    w.key("segment_spans").begin_array();
    for (const Segment& s : doc.segments) {
      Span source = doc.to_bytes(s.span);
      w.begin_object();
      w.key("kind").value(s.kind);
      w.key("number").value(s.number);
      w.key("level").value(static_cast<int64_t>(s.level));
      w.key("begin").value(static_cast<int64_t>(s.span.begin));
      w.key("end").value(static_cast<int64_t>(s.span.end));
      w.key("source_begin").value(static_cast<int64_t>(source.begin));
      w.key("source_end").value(static_cast<int64_t>(source.end));
      w.end_object();
    }
    w.end_array();
  }
  if (detail.token_ids) {
    w.key("token_ids").begin_array();
    for (const Token& t : doc.tokens) w.value(static_cast<int64_t>(t.id));
    w.end_array();
    w.key("token_spans").begin_array();
    for (const Token& t : doc.tokens) {
      Span source = doc.to_bytes(t.span);
      w.begin_array();
      w.value(static_cast<int64_t>(t.span.begin)).value(static_cast<int64_t>(t.span.end));
      w.value(static_cast<int64_t>(source.begin)).value(static_cast<int64_t>(source.end));
      w.end_array();
    }
    w.end_array();
  }
  w.key("annotations").begin_array();
  const CodePointIndex decoded(doc.text);
  for (const auto& a : doc.annotations) {
    w.begin_object();
    w.key("label").value(a.label);
    w.key("begin").value(static_cast<int64_t>(a.span.begin));
    w.key("end").value(static_cast<int64_t>(a.span.end));
    Span source = doc.to_bytes(a.span);
    w.key("source_begin").value(static_cast<int64_t>(source.begin));
    w.key("source_end").value(static_cast<int64_t>(source.end));
    Span chars = text_code_points(doc, decoded, a.span);
    w.key("text_begin").value(static_cast<int64_t>(chars.begin));
    w.key("text_end").value(static_cast<int64_t>(chars.end));
    w.key("text").value(span_text(doc, a.span));
    w.key("score").value(a.score);
    w.key("attributes").begin_object();
    for (const auto& [k, v] : a.attributes) w.key(k).value(v);
    w.end_object();
    w.key("stage").value(a.stage);
    w.end_object();
  }
  w.end_array();
  w.key("timings_ms").begin_object();
  for (const auto& [k, v] : doc.timings_ms) w.key(k).value(v);
  w.end_object();
  w.end_object();
  return w.take();
}

void JsonlSink::load(std::string content) {
  size_t last_newline = content.rfind('\n');
  size_t complete = last_newline == std::string::npos ? 0 : last_newline + 1;
  if (complete < content.size()) {
    file_.truncate(complete);
    content.resize(complete);
  }

  struct Line {
    size_t begin, end;  // without the '\n'
    std::string key;
  };
  std::vector<Line> lines;
  std::unordered_map<std::string, size_t> last_index;
  failed_by_key_.clear();
  size_t line_no = 0;
  for (size_t pos = 0; pos < content.size();) {
    size_t nl = content.find('\n', pos);
    ++line_no;
    std::string_view text(content.data() + pos, nl - pos);
    if (!text.empty() && text.find_first_not_of(" \t\r") != std::string_view::npos) {
      std::string error;
      auto value = parse_json(text, &error);
      const JsonValue* path = value ? value->find("path") : nullptr;
      const JsonValue* content_hash = value ? value->find("content_hash") : nullptr;
      const JsonValue* config_hash = value ? value->find("config_hash") : nullptr;
      if (!value || !path || !path->is_string() || !content_hash || !content_hash->is_string() || !config_hash ||
          !config_hash->is_string()) {
        throw std::runtime_error("[sink.jsonl] " + file_.path() + ":" + std::to_string(line_no) +
                                 ": not a result line (" + (value ? "no path/content_hash/config_hash" : error) +
                                 "); fix or remove the line, or use another file");
      }
      const JsonValue* status = value->find("status");
      std::string key = key_string({path->string, content_hash->string, config_hash->string});
      failed_by_key_[key] = status && status->is_string() && status->string == "failed";
      last_index[key] = lines.size();
      lines.push_back({pos, nl, std::move(key)});
    }
    pos = nl + 1;
  }

  if (last_index.size() == lines.size()) return;
  std::string kept;
  kept.reserve(content.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (last_index[lines[i].key] != i) continue;
    kept.append(content, lines[i].begin, lines[i].end - lines[i].begin);
    kept += '\n';
  }
  file_.replace(kept);
}

void JsonlSink::begin_run(const RunInfo& run) {
  run_id_ = run.run_id;
  superseded_ = false;
  load(file_.open_and_read());
  begun_ = true;
}

bool JsonlSink::has(const DocKey& key) {
  if (!begun_) throw std::logic_error("[sink.jsonl] has() before begin_run()");
  auto it = failed_by_key_.find(key_string(key));
  if (it == failed_by_key_.end()) return false;
  return !(it->second && retry_failed_);
}

void JsonlSink::write(const DocKey& key, const Document& doc) {
  if (!begun_) throw std::logic_error("[sink.jsonl] write() before begin_run()");
  std::string line = to_line(key, doc, run_id_, detail_);
  line += '\n';
  file_.append(line, fsync_);
  auto [it, inserted] = failed_by_key_.insert_or_assign(key_string(key), doc.failed());
  if (!inserted) superseded_ = true;
}

void JsonlSink::end_run(const RunSummary&) {
  if (!begun_) return;
  file_.sync();
  if (superseded_) load(file_.open_and_read());
  file_.close();
  begun_ = false;
}

}  // namespace ds
