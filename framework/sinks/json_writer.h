// A tiny streaming JSON writer that always produces valid JSON, whatever bytes it is given.
//
// Strings are written as UTF-8: valid sequences pass through unchanged, control characters, '"' and
// '\' are escaped, and every byte that is not part of a valid UTF-8 sequence becomes U+FFFD.
// Numbers that are not finite (NaN, inf) are written as null. Not thread-safe; one writer per output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ds {

// `bytes` with each byte that does not belong to a valid UTF-8 sequence (overlong forms, surrogates
// and code points above U+10FFFF included) replaced by U+FFFD. Valid input is returned unchanged.
std::string sanitize_utf8(std::string_view bytes);

// Appends `bytes` as a quoted JSON string literal to `out` (sanitized as above).
void append_json_string(std::string& out, std::string_view bytes);

// Appends the shortest decimal that reads back as `value`, or "null" if it is not finite.
void append_json_number(std::string& out, double value);

// Builds one JSON text. Calls must nest properly (begin/end pairs, key() before each value inside an
// object); misuse is a programming error and throws std::logic_error.
//
//   JsonWriter w;
//   w.begin_object().key("path").value("a.txt").key("n").value(int64_t{3}).end_object();
//   w.str();  // {"path":"a.txt","n":3}
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(int64_t number);
  JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }
  JsonWriter& value(uint64_t number);
  JsonWriter& value(double number);
  JsonWriter& value(bool flag);
  JsonWriter& null();

  // The text so far; complete once every begin_* has its end_*.
  const std::string& str() const { return out_; }
  // Moves the text out and resets the writer.
  std::string take();

 private:
  void before_value();

  std::string out_;
  // One entry per open container: true for an object. `has_items_` tells whether a comma is due.
  std::vector<bool> is_object_;
  std::vector<bool> has_items_;
  bool after_key_ = false;
};

}  // namespace ds
