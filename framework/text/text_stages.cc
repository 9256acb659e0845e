#include "text/text_stages.h"

#include <filesystem>
#include <memory>
#include <stdexcept>

#include "core/registry.h"
#include "io/extract.h"
#include "text/decode.h"
#include "text/normalize.h"
#include "text/segment.h"

namespace ds {
namespace {

class DecodeStage : public Stage {
 public:
  explicit DecodeStage(DecodeOptions options) : options_(std::move(options)) {}

  void process(Document& doc) override {
    SourceFormat format = source_format(doc.source.path);
    if (format != SourceFormat::kText) {
      extract(doc, format);
      return;
    }
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
  // .docx and .pdf: the extracted text is the document's source (see io/extract.h), so the offset
  // map is the identity and the charset names the format. The charset options do not apply.
  static void extract(Document& doc, SourceFormat format) {
    Extraction x = extract_text(format, doc.bytes);
    std::string().swap(doc.bytes);
    if (!x.ok()) {
      std::string name = std::filesystem::path(doc.source.path).filename().string();
      if (name.rfind("~$", 0) == 0) x.error += " (a Word lock file, left while the document is open: exclude '~$*')";
      throw std::runtime_error("[decode] " + x.error);
    }
    doc.text = std::move(x.text);
    doc.text_to_bytes = OffsetMap::identity(doc.text.size());
    doc.charset = format_name(format);
    for (std::string& w : x.warnings) doc.warnings.push_back("[decode] " + std::move(w));
  }

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
  decode.doc = "detects the charset and decodes the raw bytes to UTF-8 text with an offset map to the bytes; "
               ".docx and .pdf files have their text extracted instead (charset 'docx' / 'pdf', offsets into it)";
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
