#include "sinks/result_fields.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "sinks/json_writer.h"

namespace ds {

CodePointIndex::CodePointIndex(std::string_view text) : text_(text) {
  before_block_.reserve(text.size() / kBlock + 1);
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i % kBlock == 0) before_block_.push_back(count);
    count += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  }
}

size_t CodePointIndex::at(size_t byte) const {
  byte = std::min(byte, text_.size());
  if (byte == 0) return 0;
  const size_t block = (byte - 1) / kBlock;
  size_t count = before_block_[block];
  for (size_t i = block * kBlock; i < byte; ++i) count += (static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80;
  return count;
}

Span text_code_points(const Document& doc, const CodePointIndex& decoded, Span normalized_span) {
  Span t = doc.to_text(normalized_span);
  return {decoded.at(t.begin), decoded.at(t.end)};
}

std::string span_text(const Document& doc, Span span) {
  size_t end = std::min(span.end, doc.normalized.size());
  if (span.begin >= end) return {};
  return sanitize_utf8(std::string_view(doc.normalized).substr(span.begin, end - span.begin));
}

std::string attributes_json(const std::map<std::string, std::string>& attributes) {
  JsonWriter w;
  w.begin_object();
  for (const auto& [k, v] : attributes) w.key(k).value(v);
  w.end_object();
  return w.take();
}

std::string strings_json(const std::vector<std::string>& items) {
  JsonWriter w;
  w.begin_array();
  for (const auto& s : items) w.value(s);
  w.end_array();
  return w.take();
}

std::string timings_json(const std::map<std::string, double>& timings_ms) {
  JsonWriter w;
  w.begin_object();
  for (const auto& [k, v] : timings_ms) w.key(k).value(v);
  w.end_object();
  return w.take();
}

std::string iso8601_utc(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  int ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int year, so the format never truncates
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string key_string(const DocKey& key) {
  std::string s = sanitize_utf8(key.path);
  s += '\0';
  s += sanitize_utf8(key.content_hash);
  s += '\0';
  s += sanitize_utf8(key.config_hash);
  return s;
}

}  // namespace ds
