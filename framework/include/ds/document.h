// The document model: what flows through a pipeline, one object per input file.
//
// Each stage reads some fields and fills others (see stage.h, `Field`). Offsets are byte offsets
// into UTF-8 strings: spans of segments, tokens and annotations refer to `normalized`, and
// `normalized_to_text` / `text_to_bytes` map them back to the decoded text and the original bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ds/offset_map.h"

namespace ds {

struct Source {
  std::string path;          // as found by the reader (absolute or relative to the cwd)
  uint64_t size = 0;         // bytes on disk
  std::string content_hash;  // "sha256:<hex>" of the raw bytes, empty if the file was unreadable
};

struct Segment {
  Span span;             // in `normalized`
  std::string kind;      // "sentence", "clause", "heading"
  std::string number;    // contract numbering as written, e.g. "第一条", "1.1", "(a)"; may be empty
  int level = 0;         // nesting depth of the numbering (0: none, 1: top, 2: sub ...)
};

struct Token {
  int32_t id = 0;
  Span span;  // in `normalized`; byte-fallback pieces of one character share that character's span
};

// A named model output, row-major FP32.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::vector<std::string> labels;  // names of the last dimension's entries (a head's labels), or empty
};

struct Annotation {
  std::string label;
  Span span;  // in `normalized`
  double score = 1.0;
  std::map<std::string, std::string> attributes;
  std::string stage;  // the stage instance that added it
};

enum class DocStatus { kPending, kDone, kFailed };

const char* to_string(DocStatus status);

struct Document {
  Source source;
  std::string bytes;  // raw file contents; released after decoding

  std::string charset;     // detected or configured, e.g. "UTF-8", "GB18030", "UTF-16LE"
  std::string text;        // decoded text, UTF-8
  OffsetMap text_to_bytes; // text offsets -> original byte offsets

  std::string normalized;       // NFKC text, UTF-8
  OffsetMap normalized_to_text; // normalized offsets -> text offsets

  std::vector<Segment> segments;
  std::vector<Token> tokens;
  std::map<std::string, Tensor> outputs;
  std::vector<Annotation> annotations;
  std::vector<std::string> warnings;  // non-fatal problems, e.g. undecodable bytes replaced

  DocStatus status = DocStatus::kPending;
  std::string failed_stage;  // set when status == kFailed
  std::string error;         // message, when status == kFailed
  std::map<std::string, double> timings_ms;  // per stage instance

  bool failed() const { return status == DocStatus::kFailed; }
  void fail(std::string stage, std::string message) {
    status = DocStatus::kFailed;
    failed_stage = std::move(stage);
    error = std::move(message);
  }

  // A span of `normalized` mapped to the decoded text / to the original bytes.
  Span to_text(Span normalized_span) const;
  Span to_bytes(Span normalized_span) const;
};

}  // namespace ds
