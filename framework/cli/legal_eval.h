// Scoring extracted contract clauses against gold spans, the CUAD way: span matching by Jaccard
// overlap, then precision/recall/F1 at a confidence threshold, AUPR and precision at 80% recall, per
// category and averaged. The definitions are written down in plugins/legal/EVAL.md.
//
// Everything here is single-threaded and keeps no global state: the functions are safe to call from
// several threads on different inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::eval {

// A half-open range [start, end) of Unicode code points in a document's text.
struct Span {
  int64_t start = 0;
  int64_t end = 0;
};

// |a ∩ b| / |a ∪ b| over code points; 0 when the union is empty.
double jaccard(Span a, Span b);

// A malformed input file: `file` and `line` (1-based, 0 when the whole file is at fault) say where.
// what() is "FILE:LINE: message" (or "FILE: message").
class EvalInputError : public std::runtime_error {
 public:
  EvalInputError(std::string file, size_t line, const std::string& message);
  const std::string& file() const { return file_; }
  size_t line() const { return line_; }

 private:
  std::string file_;
  size_t line_;
};

// Gold spans by document id, then by category key (a CUAD category name or a unified taxonomy id).
// Identical spans under one document and key are kept once. A key whose clauses are all missing
// (start -1) or empty is still known, with no spans.
struct GoldSet {
  std::vector<std::string> ids;  // documents in file order
  std::map<std::string, std::map<std::string, std::vector<Span>>> spans;
  std::set<std::string> keys;  // every category key seen in any kept document
};

// Which gold documents to keep. Empty `split` / no `ids` keep all.
struct GoldFilter {
  std::string split;                        // keep documents whose "split" member equals this
  std::optional<std::set<std::string>> ids;  // keep only these ids
};

// Reads gold JSONL (gzip-compressed or plain; the content decides, not the name). Throws
// EvalInputError for an unreadable file or a malformed row; skips blank lines.
GoldSet load_gold(const std::filesystem::path& file, const GoldFilter& filter = {});

// Reads an id list: one id per line; blank lines and lines starting with '#' are skipped.
std::set<std::string> load_id_list(const std::filesystem::path& file);

// One extracted item from a predictions file.
struct Prediction {
  std::string doc_id;    // document_id(document)
  std::string category;  // unified taxonomy id ("" if absent)
  std::string cuad;      // CUAD category name ("" if absent)
  Span span;
  double confidence = 0;
  size_t line = 0;  // 1-based line in its file
};

// The gold id a prediction's "document" path stands for: the file name without its folders and
// without its extension; a compression extension (.gz, .bz2, .xz, .zst) and the one before it are
// both removed. "in/cuad-0003.txt.gz" -> "cuad-0003", "设备采购合同.txt" -> "设备采购合同",
// "v1.2.txt" -> "v1.2".
std::string document_id(const std::string& document);

// Reads prediction JSONL (gzip or plain). Each row needs "document" (string), "start" and "end"
// (integers, 0 <= start <= end), "confidence" (number in [0, 1]) and at least one of "category" and
// "cuad" (strings); other members are ignored. Throws EvalInputError naming file and line.
std::vector<Prediction> load_predictions(const std::filesystem::path& file);

struct EvalSettings {
  double jaccard = 0.5;         // a prediction matches a gold span when their Jaccard >= this
  double min_confidence = 0.5;  // P/R/F1 count predictions with confidence >= this
  int64_t min_gold = 5;         // categories with fewer gold spans are left out of macro and micro
  std::vector<std::string> categories;  // evaluate only these keys (empty: every gold key)
};

struct Metrics {
  int64_t gold = 0;                    // gold spans
  int64_t predicted = 0;               // predictions at any confidence
  int64_t predicted_at_threshold = 0;  // predictions with confidence >= min_confidence
  int64_t true_positives = 0;          // of those, matched to a gold span
  double precision = 0;                // at min_confidence; 0 when nothing is predicted
  double recall = 0;                   // at min_confidence; 0 when there is no gold span
  double f1 = 0;
  double aupr = 0;       // average precision over the confidence ranking (see average_precision)
  double p_at_80r = 0;   // precision_at_recall(..., 0.8)
};

struct CategoryResult {
  std::string key;
  Metrics metrics;
  bool averaged = false;  // gold >= max(min_gold, 1): part of macro and micro
};

struct EvalReport {
  std::vector<CategoryResult> categories;  // sorted by key
  Metrics macro;  // counts summed, rates averaged over the `averaged` categories
  Metrics micro;  // every prediction and gold span of the `averaged` categories pooled
  int64_t averaged_categories = 0;
  int64_t gold_documents = 0;
  int64_t documents_without_predictions = 0;
  int64_t predictions = 0;                  // rows read
  int64_t unknown_document_predictions = 0;  // rows whose document is not in the gold set (ignored)
  std::vector<std::string> unknown_documents;  // their document ids, sorted, each once
  int64_t unknown_category_predictions = 0;  // rows on gold documents matching no gold key at all
};

// Scores `predictions` against `gold`. Throws std::invalid_argument for a key in
// settings.categories that is not a gold key.
EvalReport evaluate(const GoldSet& gold, const std::vector<Prediction>& predictions, const EvalSettings& settings);

// One prediction in a ranking: its confidence and whether it matched a gold span.
struct Ranked {
  double confidence = 0;
  bool hit = false;
};

// Average precision of a ranking against `n_gold` gold spans: sum over the distinct confidence
// values t, from high to low, of (R(t) - R(t_prev)) * P(t), where P and R count the predictions
// with confidence >= t and R(first) starts from 0. Gold spans never predicted lower the recall
// reached and so the area. 0 when n_gold is 0 or the ranking is empty.
double average_precision(std::vector<Ranked> ranking, int64_t n_gold);

// The best P(t) over the distinct confidence values t with R(t) >= min_recall; 0 if none reaches it.
double precision_at_recall(std::vector<Ranked> ranking, int64_t n_gold, double min_recall);

}  // namespace ds::eval
