// A small strict JSON parser, enough to read back what JsonWriter writes (JSONL results, golden
// files, summaries). Not built for speed or huge inputs; nesting is limited to 64 levels.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ds {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;  // UTF-8, escapes decoded
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // in document order

  // The member named `name` of an object, or nullptr (also when this is not an object).
  const JsonValue* find(std::string_view name) const;
  bool is_null() const { return type == Type::kNull; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  bool is_array() const { return type == Type::kArray; }
  bool is_object() const { return type == Type::kObject; }
};

// Parses one complete JSON text (surrounding whitespace allowed). Returns nullopt and sets *error
// (if given) to "offset N: what" when the text is not valid JSON, including invalid UTF-8 in strings.
std::optional<JsonValue> parse_json(std::string_view text, std::string* error = nullptr);

}  // namespace ds
