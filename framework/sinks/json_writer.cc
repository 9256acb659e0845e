#include "sinks/json_writer.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace ds {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// The UTF-8 sequence starting at s[i]: its length, or, when invalid, the length of its maximal
// valid prefix (at least 1), which becomes one U+FFFD as the Unicode standard recommends.
struct Step {
  size_t length;
  bool valid;
};

Step utf8_step(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return {1, true};
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return {1, false};
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) return {k, false};
    unsigned char b = byte(i + k);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return {k, false};
  }
  return {len, true};
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    Step step = utf8_step(bytes, i);
    if (step.valid) out.append(bytes.substr(i, step.length));
    else out += kReplacement;
    i += step.length;
  }
  return out;
}

void append_json_string(std::string& out, std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < bytes.size();) {
    Step step = utf8_step(bytes, i);
    if (!step.valid) {
      out += kReplacement;
      i += step.length;
      continue;
    }
    if (step.length > 1) {
      out.append(bytes.substr(i, step.length));
      i += step.length;
      continue;
    }
    char c = bytes[i++];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

void JsonWriter::before_value() {
  if (is_object_.empty()) {
    if (!out_.empty()) throw std::logic_error("[json.writer] a second top-level value");
    return;
  }
  if (is_object_.back()) {
    if (!after_key_) throw std::logic_error("[json.writer] value inside an object without key()");
    after_key_ = false;
    return;
  }
  if (has_items_.back()) out_ += ',';
  has_items_.back() = true;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  is_object_.push_back(true);
  has_items_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  if (is_object_.empty() || !is_object_.back() || after_key_)
    throw std::logic_error("[json.writer] end_object() without a matching begin_object()");
  out_ += '}';
  is_object_.pop_back();
  has_items_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  is_object_.push_back(false);
  has_items_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  if (is_object_.empty() || is_object_.back())
    throw std::logic_error("[json.writer] end_array() without a matching begin_array()");
  out_ += ']';
  is_object_.pop_back();
  has_items_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (is_object_.empty() || !is_object_.back() || after_key_)
    throw std::logic_error("[json.writer] key() outside an object");
  if (has_items_.back()) out_ += ',';
  has_items_.back() = true;
  append_json_string(out_, name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  before_value();
  append_json_string(out_, text);
  return *this;
}

JsonWriter& JsonWriter::value(int64_t number) {
  before_value();
  out_ += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t number) {
  before_value();
  out_ += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(double number) {
  before_value();
  append_json_number(out_, number);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  before_value();
  out_ += flag ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

std::string JsonWriter::take() {
  std::string out = std::move(out_);
  out_.clear();
  is_object_.clear();
  has_items_.clear();
  after_key_ = false;
  return out;
}

}  // namespace ds
