// Document fields rendered the same way by every sink (JSON text for maps and lists, span text,
// timestamps), so SQLite, JSONL and CSV agree on what a result looks like.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ds/document.h"
#include "sinks/sink.h"

namespace ds {

// The bytes of `doc.normalized` under `span`, clamped to the text, invalid UTF-8 replaced by U+FFFD
// (a span may cut a character in two). Empty for an empty or inverted span.
std::string span_text(const Document& doc, Span span);

// Byte offset -> Unicode code-point offset in one UTF-8 text, in O(1) per lookup after one pass.
class CodePointIndex {
 public:
  explicit CodePointIndex(std::string_view text);
  size_t at(size_t byte) const;  // code points before `byte` (clamped to the text)

 private:
  static constexpr size_t kBlock = 256;
  std::string_view text_;
  std::vector<size_t> before_block_;  // code points before each kBlock-byte block
};

// A normalized span as code-point offsets into the decoded text (`text_begin`/`text_end` of every
// sink: what users index a document's text with, e.g. CUAD's offsets).
Span text_code_points(const Document& doc, const CodePointIndex& decoded, Span normalized_span);

// {"k":"v",...} in key order.
std::string attributes_json(const std::map<std::string, std::string>& attributes);
// ["w1","w2"].
std::string strings_json(const std::vector<std::string>& items);
// {"stage":12.5,...} in key order, values in milliseconds.
std::string timings_json(const std::map<std::string, double>& timings_ms);

// "2026-11-28T12:00:00.123Z" for a Unix time in milliseconds.
std::string iso8601_utc(int64_t unix_ms);
int64_t now_unix_ms();

// One string that identifies `key` for in-memory sets: the three parts joined by '\0', each
// sanitized to valid UTF-8 the way JSON output stores them (so keys read back from a file match).
std::string key_string(const DocKey& key);

}  // namespace ds
