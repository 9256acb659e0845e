#include "sinks/csv_sink.h"

#include <stdexcept>

#include "sinks/csv_format.h"
#include "sinks/json_writer.h"
#include "sinks/result_fields.h"
#include "sinks/sink_options.h"

namespace ds {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

char parse_delimiter(const std::string& value) {
  if (value == "tab" || value == "\\t") return '\t';
  if (value.size() != 1 || value == "\"" || value == "\r" || value == "\n")
    throw std::invalid_argument("[sink.csv] option 'delimiter' must be one character other than '\"', CR and LF "
                                "(or \"tab\"), got \"" + value + "\"");
  return value[0];
}

// The key as the file stores it: csv_field guards formula-like values with a leading '.
std::string stored_key(const DocKey& key) {
  return key_string({csv_guarded(key.path), csv_guarded(key.content_hash), csv_guarded(key.config_hash)});
}

std::string number_text(double value) {
  std::string out;
  append_json_number(out, value);
  return out == "null" ? "" : out;
}

}  // namespace

std::vector<OptionSpec> CsvSink::option_specs() {
  return {
      opt_path("path", std::nullopt, "CSV file the results are appended to (created if missing)"),
      opt_bool("bom", true, "start a new file with a UTF-8 byte order mark, so Excel reads Chinese text right"),
      opt_string("delimiter", std::string(","), "field delimiter: one character, or \"tab\""),
      opt_bool("retry_failed", false, "process documents again that failed in an earlier run"),
      opt_bool("fsync", true, "fdatasync after every document (off: faster, may lose the last rows on power loss)"),
  };
}

const std::vector<std::string>& CsvSink::columns() {
  static const std::vector<std::string> kColumns = {"path",  "content_hash", "config_hash", "status", "label",
                                                    "begin", "end",          "text",        "score",  "attributes",
                                                    "stage", "error",        "doc_rows"};
  return kColumns;
}

CsvSink::CsvSink(const Options& options)
    : file_(sink_options::required_path(options, "csv"), "[sink.csv]"),
      bom_(sink_options::get_bool(options, "bom", true)),
      delimiter_(parse_delimiter(sink_options::get_string(options, "delimiter", ","))),
      retry_failed_(sink_options::get_bool(options, "retry_failed", false)),
      fsync_(sink_options::get_bool(options, "fsync", true)) {}

std::string CsvSink::header() const {
  std::string out;
  for (size_t i = 0; i < columns().size(); ++i) {
    if (i) out += delimiter_;
    out += csv_field(columns()[i], delimiter_, true);
  }
  out += "\r\n";
  return out;
}

std::string CsvSink::to_rows(const DocKey& key, const Document& doc) const {
  struct Row {
    std::string status, label, begin, end, text, score, attributes, stage, error;
  };
  std::vector<Row> rows;
  std::string status = to_string(doc.status);
  if (doc.failed()) {
    rows.push_back({status, "", "", "", "", "", "", doc.failed_stage, doc.error});
  } else if (doc.annotations.empty()) {
    rows.push_back({status, "", "", "", "", "", "", "", ""});
  } else {
    for (const auto& a : doc.annotations)
      rows.push_back({status, a.label, std::to_string(a.span.begin), std::to_string(a.span.end), span_text(doc, a.span),
                      number_text(a.score), attributes_json(a.attributes), a.stage, ""});
  }
  std::string out;
  std::string doc_rows = std::to_string(rows.size());
  auto text = [&](std::string_view v) {
    out += csv_field(v, delimiter_, true);
    out += delimiter_;
  };
  auto number = [&](std::string_view v) {
    out += csv_field(v, delimiter_, false);
    out += delimiter_;
  };
  for (const Row& r : rows) {
    text(key.path);
    text(key.content_hash);
    text(key.config_hash);
    text(r.status);
    text(r.label);
    number(r.begin);
    number(r.end);
    text(r.text);
    number(r.score);
    text(r.attributes);
    text(r.stage);
    text(r.error);
    out += doc_rows;
    out += "\r\n";
  }
  return out;
}

void CsvSink::load(std::string content) {
  size_t base = content.compare(0, kBom.size(), kBom) == 0 ? kBom.size() : 0;
  CsvParse parsed = parse_csv(std::string_view(content).substr(base), delimiter_);
  if (!parsed.error.empty())
    throw std::runtime_error("[sink.csv] " + file_.path() + ": not a CSV file this sink wrote (" + parsed.error +
                             "); use another file");
  failed_by_key_.clear();
  if (parsed.records.empty()) {
    std::string with_bom = std::string(kBom) + header();
    auto is_prefix_of = [&](const std::string& full) { return full.compare(0, content.size(), content) == 0 && content.size() <= full.size(); };
    if (!is_prefix_of(with_bom) && !is_prefix_of(header()))
      throw std::runtime_error("[sink.csv] " + file_.path() +
                               ": not a CSV file this sink wrote (no header row); use another file");
    // New, empty, or only a torn header: start the file over.
    file_.truncate(0);
    file_.append((bom_ ? std::string(kBom) : std::string()) + header(), true);
    return;
  }
  if (parsed.records.front().fields != columns())
    throw std::runtime_error("[sink.csv] " + file_.path() +
                             ": the header row does not match this sink's columns (another delimiter or another "
                             "program's file?); use another file");

  struct Group {
    size_t first, count;  // record indexes
    std::string key;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> last_group;
  const auto& records = parsed.records;
  size_t keep_bytes = parsed.complete_bytes;
  const size_t n_columns = columns().size();
  for (size_t i = 1; i < records.size();) {
    auto bad = [&](const std::string& what) {
      return std::runtime_error("[sink.csv] " + file_.path() + ": record " + std::to_string(i + 1) + ": " + what +
                                "; fix or remove it, or use another file");
    };
    const auto& f = records[i].fields;
    if (f.size() != n_columns) throw bad("expected " + std::to_string(n_columns) + " fields");
    size_t count = 0;
    try {
      count = std::stoul(f.back());
    } catch (const std::exception&) {
      throw bad("doc_rows is not a number");
    }
    if (count == 0) throw bad("doc_rows is 0");
    std::string key = key_string({f[0], f[1], f[2]});
    size_t have = 0;
    while (have < count && i + have < records.size()) {
      const auto& g = records[i + have].fields;
      if (g.size() != n_columns || key_string({g[0], g[1], g[2]}) != key || g.back() != f.back()) break;
      ++have;
    }
    if (have < count) {
      // A document cut short by a kill can only be the last one.
      if (i + have != records.size()) throw bad("document has fewer rows than its doc_rows says");
      keep_bytes = records[i].begin;
      break;
    }
    failed_by_key_[key] = f[3] == "failed";
    last_group[key] = groups.size();
    groups.push_back({i, count, std::move(key)});
    i += count;
  }
  if (keep_bytes != content.size() - base) {
    file_.truncate(base + keep_bytes);
    content.resize(base + keep_bytes);
  }

  if (last_group.size() == groups.size()) return;
  std::string kept = content.substr(0, base + records.front().end);
  for (size_t g = 0; g < groups.size(); ++g) {
    if (last_group[groups[g].key] != g) continue;
    size_t begin = records[groups[g].first].begin;
    size_t end = records[groups[g].first + groups[g].count - 1].end;
    kept.append(content, base + begin, end - begin);
  }
  file_.replace(kept);
}

void CsvSink::begin_run(const RunInfo&) {
  superseded_ = false;
  load(file_.open_and_read());
  begun_ = true;
}

bool CsvSink::has(const DocKey& key) {
  if (!begun_) throw std::logic_error("[sink.csv] has() before begin_run()");
  auto it = failed_by_key_.find(stored_key(key));
  if (it == failed_by_key_.end()) return false;
  return !(it->second && retry_failed_);
}

void CsvSink::write(const DocKey& key, const Document& doc) {
  if (!begun_) throw std::logic_error("[sink.csv] write() before begin_run()");
  file_.append(to_rows(key, doc), fsync_);
  auto [it, inserted] = failed_by_key_.insert_or_assign(stored_key(key), doc.failed());
  if (!inserted) superseded_ = true;
}

void CsvSink::end_run(const RunSummary&) {
  if (!begun_) return;
  file_.sync();
  if (superseded_) load(file_.open_and_read());
  file_.close();
  begun_ = false;
}

}  // namespace ds
