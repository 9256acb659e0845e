// The router's complexity features (model/SPEC.md section 7): 12 cheap numbers computed from a
// document's normalized text and its token ids before the encoder runs, so the router can pick a
// computation path. Pure computation: text + ids + the tokenizer's unigram table in, 12 floats out.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ds::model {

constexpr int kComplexityFeatureCount = 12;

// The features in their fixed order; the names are what router files list (a router whose list
// differs is refused). Definitions and units: SPEC.md section 7.
enum class ComplexityFeature {
  kTokens = 0,
  kSentences,
  kMeanSentenceChars,
  kMaxSentenceChars,
  kMeanLogProb,
  kMinLogProb,
  kRareTokenShare,
  kDigitShare,
  kHanShare,
  kClauseMarkers,
  kQuestionMarks,
  kNegations,
};

using ComplexityFeatures = std::array<float, kComplexityFeatureCount>;

// "tokens", "sentences", ... in the enum's order.
const std::array<std::string_view, kComplexityFeatureCount>& complexity_feature_names();

// The tokenizer's unigram model as the features read it: the natural-log probability of every
// piece id (SentencePiece unigram piece scores). Immutable after construction; thread-safe.
class UnigramTable {
 public:
  // `log_probs[id]` for every piece id; NaN (or any non-finite value) for pieces without a
  // probability of their own (control symbols, <unk>, byte-fallback pieces): those read as the
  // table's floor, the lowest finite log-probability, because the tokenizer only emits them for
  // text its vocabulary does not cover. The rare-token bound is the 10th percentile of the finite
  // log-probabilities. An empty table (or one with no finite value) has floor and bound 0.
  explicit UnigramTable(std::vector<float> log_probs);
  UnigramTable() : UnigramTable(std::vector<float>{}) {}

  // The log-probability of `id`; the floor for ids outside the table or without a value.
  float log_prob(int32_t id) const;
  float floor() const { return floor_; }
  float rare_below() const { return rare_below_; }  // a token is rare when its log-prob is below this
  size_t size() const { return log_probs_.size(); }

 private:
  std::vector<float> log_probs_;  // non-finite entries already replaced by the floor
  float floor_ = 0;
  float rare_below_ = 0;
};

// The 12 features of one document. `text` is the normalized UTF-8 text the tokens came from
// (invalid bytes count as one non-space character each); `ids` are its tokens in order. Linear in
// the text and token count; allocates nothing that grows with the input. Thread-safe.
ComplexityFeatures complexity_features(std::string_view text, std::span<const int32_t> ids, const UnigramTable& table);

}  // namespace ds::model
