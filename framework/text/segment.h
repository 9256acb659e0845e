// Sentence and contract-clause segmentation of normalized text.
//
// ICU's sentence rules give the base boundaries; on top of them a line that starts with contract
// numbering (第一条, 一、, (一), 1., 1.1, (a), (i), Article 5, Section 2.3 ...) starts a new segment
// that carries the numbering, and Chinese semicolons end a segment when clauses are on.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ds/document.h"

namespace ds {

struct SegmentOptions {
  std::string language = "auto";  // "auto", "zh" or "en": sentence rules and semicolon handling
  bool clauses = true;            // contract numbering and splitting at Chinese semicolons
  size_t max_segment_bytes = 2000;  // longer segments are split at clause separators / whitespace
};

// A numbering marker found at the start of a line.
struct Numbering {
  size_t length = 0;       // bytes of the marker including its delimiter ("1." -> 2); 0: no marker
  std::string number;      // as written, without a trailing "." or "、": "第一条", "1.1", "(a)", "Article 5"
  int level = 0;           // 1: top (第一条, 一、, 1., Article 5), 2: (一), (1), 1.1; 3: (a), 1.1.1; 4: (i)
  bool always_heading = false;  // 第一章, 第一节, Chapter 2, Part I, Schedule A ...
};

// Matches a numbering marker at the start of `line` (which starts at a non-space character).
// `previous_letter` is the last lowercase letter marker seen ('h' makes "(i)" a letter, not a roman
// numeral); pass 0 when unknown.
Numbering match_numbering(std::string_view line, char previous_letter = 0);

// Holds one ICU sentence iterator, created once and reused for every text. Not thread-safe: use one
// Segmenter per thread (a Stage instance is per worker).
class Segmenter {
 public:
  // Throws std::runtime_error("[segment] ...") for an unknown language or an ICU failure.
  explicit Segmenter(SegmentOptions options);
  ~Segmenter();
  Segmenter(const Segmenter&) = delete;
  Segmenter& operator=(const Segmenter&) = delete;

  // Segments of `normalized` (UTF-8): spans are byte offsets, trimmed of whitespace, never empty,
  // in order, not overlapping, at most max_segment_bytes long (unless one character is longer), and
  // together they cover every non-whitespace character. kind is "sentence", "clause" or "heading".
  std::vector<Segment> segment(std::string_view normalized);

 private:
  SegmentOptions options_;
  struct Iterator;  // wraps the ICU sentence BreakIterator, keeping ICU out of this header
  std::unique_ptr<Iterator> sentences_;
};

// Convenience: a fresh Segmenter for one call.
std::vector<Segment> segment_text(std::string_view normalized, const SegmentOptions& options);

}  // namespace ds
