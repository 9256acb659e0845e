#include "code_points.h"

#include <algorithm>

namespace ds::legal_extract {

namespace {
bool starts_code_point(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }
}  // namespace

CodePointText::CodePointText(std::string_view text) : text_(text) {
  every_step_.reserve(text.size() / kStep + 1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (!starts_code_point(text[i])) continue;
    if (count_ % kStep == 0) every_step_.push_back(i);
    ++count_;
  }
}

size_t CodePointText::byte_at(size_t cp) const {
  if (cp >= count_) return text_.size();
  size_t byte = every_step_[cp / kStep];
  for (size_t left = cp % kStep; left > 0; --left) {
    ++byte;
    while (byte < text_.size() && !starts_code_point(text_[byte])) ++byte;
  }
  return byte;
}

std::string_view CodePointText::slice(size_t begin, size_t end) const {
  if (end <= begin) return {};
  size_t b = byte_at(begin);
  return text_.substr(b, byte_at(end) - b);
}

}  // namespace ds::legal_extract
