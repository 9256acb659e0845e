#include "ds/document.h"

#include "ds/stage.h"

namespace ds {

const char* to_string(DocStatus status) {
  switch (status) {
    case DocStatus::kPending: return "pending";
    case DocStatus::kDone: return "done";
    case DocStatus::kFailed: return "failed";
  }
  return "unknown";
}

Span Document::to_text(Span normalized_span) const {
  if (normalized_to_text.empty()) return normalized_span;
  return normalized_to_text.map(normalized_span);
}

Span Document::to_bytes(Span normalized_span) const {
  Span t = to_text(normalized_span);
  if (text_to_bytes.empty()) return t;
  return text_to_bytes.map(t);
}

const char* to_string(Field field) {
  switch (field) {
    case Field::kBytes: return "bytes";
    case Field::kText: return "text";
    case Field::kNormalized: return "normalized";
    case Field::kSegments: return "segments";
    case Field::kTokens: return "tokens";
    case Field::kOutputs: return "outputs";
    case Field::kAnnotations: return "annotations";
  }
  return "unknown";
}

void Stage::process_batch(std::span<Document* const> docs, const std::string& stage_name) {
  for (Document* doc : docs) {
    if (doc->failed()) continue;
    try {
      process(*doc);
    } catch (const std::exception& e) {
      doc->fail(stage_name, e.what());
    } catch (...) {
      doc->fail(stage_name, "unknown exception");
    }
  }
}

}  // namespace ds
