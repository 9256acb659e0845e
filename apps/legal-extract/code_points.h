// A UTF-8 text addressed by Unicode code point, as row offsets are: code point -> byte offset in
// O(1) per lookup after one pass (an index entry every 64 code points), without a table per code
// point (a 50 MB document would need 400 MB for that).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace ds::legal_extract {

class CodePointText {
 public:
  // `text` must outlive this object. Bytes that are not UTF-8 continuation bytes start a code point.
  explicit CodePointText(std::string_view text);

  size_t size() const { return count_; }  // code points
  // Byte offset of code point `cp` (the text's size for cp >= size()).
  size_t byte_at(size_t cp) const;
  // The bytes of code points [begin, end), clamped to the text.
  std::string_view slice(size_t begin, size_t end) const;

 private:
  static constexpr size_t kStep = 64;
  std::string_view text_;
  size_t count_ = 0;
  std::vector<size_t> every_step_;  // byte offset of code point k * kStep
};

}  // namespace ds::legal_extract
