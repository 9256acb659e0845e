// Document fields rendered the same way by every sink (JSON text for maps and lists, span text,
// timestamps), so SQLite, JSONL and CSV agree on what a result looks like.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ds/document.h"
#include "sinks/sink.h"

namespace ds {

// The bytes of `doc.normalized` under `span`, clamped to the text, invalid UTF-8 replaced by U+FFFD
// (a span may cut a character in two). Empty for an empty or inverted span.
std::string span_text(const Document& doc, Span span);

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
