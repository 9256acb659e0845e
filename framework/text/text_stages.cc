#include "text/text_stages.h"

#include <memory>
#include <stdexcept>

#include "core/registry.h"
#include "text/decode.h"
#include "text/normalize.h"
#include "text/segment.h"

namespace ds {
namespace {

class DecodeStage : public Stage {
 public:
  explicit DecodeStage(DecodeOptions options) : options_(std::move(options)) {}

  void process(Document& doc) override {
    DecodeOptions options = options_;
    // A charset the reader already knows (configured per input) beats the stage's option.
    if (!doc.charset.empty()) options.encoding = doc.charset;
    DecodeResult r = decode_bytes(doc.bytes, options);
    doc.text = std::move(r.text);
    doc.text_to_bytes = std::move(r.text_to_bytes);
    doc.charset = std::move(r.charset);
    for (std::string& w : r.warnings) doc.warnings.push_back(std::move(w));
    std::string().swap(doc.bytes);  // the raw bytes are not needed any more
  }

 private:
  DecodeOptions options_;
};

class NormalizeStage : public Stage {
 public:
  explicit NormalizeStage(bool nfkc) : nfkc_(nfkc) {}

  void process(Document& doc) override {
    NormalizeResult r = nfkc_ ? normalize_nfkc(doc.text) : normalize_none(doc.text);
    doc.normalized = std::move(r.normalized);
    doc.normalized_to_text = std::move(r.normalized_to_text);
  }

 private:
  bool nfkc_;
};

class SegmentStage : public Stage {
 public:
  explicit SegmentStage(SegmentOptions options) : segmenter_(std::move(options)) {}

  void process(Document& doc) override { doc.segments = segmenter_.segment(doc.normalized); }

 private:
  Segmenter segmenter_;
};

}  // namespace

void register_text_stages(Registry& registry) {
  StageSpec decode;
  decode.name = "decode";
  decode.doc = "detects the charset and decodes the raw bytes to UTF-8 text with an offset map to the bytes";
  decode.options = {
      opt_string("encoding", std::string("auto"),
                 "'auto' (BOM, UTF-8, then detection) or a charset name such as GB18030, Big5, UTF-16LE"),
      opt_int("min_confidence", 30, "least detector confidence (0-100) accepted when guessing the charset", 0, 100),
      opt_enum("on_error", "replace", {"fail", "replace"},
               "undecodable bytes: fail the document, or replace them by U+FFFD with a warning"),
  };
  decode.reads = {Field::kBytes};
  decode.adds = {Field::kText};
  registry.add_stage(decode, [](const Options& o, const StageContext&) -> std::unique_ptr<Stage> {
    DecodeOptions options;
    options.encoding = o.get_string("encoding");
    options.min_confidence = static_cast<int>(o.get_int("min_confidence"));
    options.on_error = o.get_string("on_error");
    return std::make_unique<DecodeStage>(std::move(options));
  });

  StageSpec normalize;
  normalize.name = "normalize";
  normalize.doc = "Unicode NFKC normalization (full-width forms, ligatures) with an exact offset map";
  normalize.options = {opt_enum("form", "nfkc", {"nfkc", "none"}, "normalization form; 'none' copies the text")};
  normalize.reads = {Field::kText};
  normalize.adds = {Field::kNormalized};
  registry.add_stage(normalize, [](const Options& o, const StageContext&) -> std::unique_ptr<Stage> {
    return std::make_unique<NormalizeStage>(o.get_string("form") == "nfkc");
  });

  StageSpec segment;
  segment.name = "segment";
  segment.doc = "sentence and contract-clause segmentation (numbering such as 第一条, 1.1, (a), Article 5)";
  segment.options = {
      opt_enum("language", "auto", {"auto", "zh", "en"}, "sentence rules; zh also ends segments at semicolons"),
      opt_bool("clauses", true, "detect contract numbering and split Chinese clauses at semicolons"),
      opt_int("max_segment_bytes", 2000, "longer segments are split at clause separators or whitespace", 100, 100000),
  };
  segment.reads = {Field::kNormalized};
  segment.adds = {Field::kSegments};
  registry.add_stage(segment, [](const Options& o, const StageContext&) -> std::unique_ptr<Stage> {
    SegmentOptions options;
    options.language = o.get_string("language");
    options.clauses = o.get_bool("clauses");
    options.max_segment_bytes = static_cast<size_t>(o.get_int("max_segment_bytes"));
    return std::make_unique<SegmentStage>(std::move(options));
  });
}

}  // namespace ds
