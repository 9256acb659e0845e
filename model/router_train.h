// Training the adaptive-path router (model/SPEC.md section 7): agreement labels from the three
// paths' outputs, an XGBoost model trained through XGBoost's C API, thresholds chosen on
// cross-validated scores under an accuracy-versus-cost trade-off, and the sidecar file's text.
// Pure computation on outputs and features; running the encoder and reading data is the caller's.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/complexity_features.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/router.h"

namespace ds::model {

// A failure inside XGBoost or of the training inputs; the message starts with "[router]".
class RouterTrainError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A label whose decision must not change because of routing (e.g. triage `emergency`): a path
// disagrees when it puts P(label) on the other side of `threshold` than heavy does, and an input is
// *protected* when heavy gives P(label) >= threshold - near.
struct ProtectedLabel {
  std::string head;  // a sequence_classes head
  std::string label;
  double threshold = 0.5;
  double near = 0.15;
};

// When a cheaper path's outputs "agree" with heavy's (per head type; SPEC.md section 7).
struct AgreementSettings {
  std::vector<std::string> heads;      // heads that must agree; empty: every head but mlm (heads with a
                                       // protected label always take part)
  double class_prob_tolerance = 0.1;   // sequence_classes: same argmax and |p - p_heavy| of heavy's top class
  double segment_threshold = 0.5;      // segment_labels: the same labels at or above this, per segment...
  double segment_prob_tolerance = 0.15;  // ...and every probability within this of heavy's...
  double min_segment_share = 1.0;      // ...on at least this share of the segments (documents routed whole)
  double min_cosine = 0.98;            // embedding: cosine with heavy's vector at least this
  double min_tag_share = 0.95;         // token_tags: share of tokens with heavy's argmax at least this
  std::vector<ProtectedLabel> protect;
};

// Throws std::invalid_argument naming the head or label when `settings` name something the model
// does not have, a protected head that is not sequence_classes, or a tolerance out of range.
void check_agreement_settings(const AgreementSettings& settings, const std::vector<HeadDef>& heads);

struct Agreement {
  bool agrees = true;
  bool drops_protected = false;  // a protected label heavy gives (P >= threshold) falls below its threshold
  std::string why;               // when not agreeing: the first head that differs and how
};

// Whether `candidate`'s head outputs agree with `heavy`'s for one input (both from Encoder::encode
// on the same input). Heads missing from either output count as disagreeing.
Agreement outputs_agree(const SequenceOutput& candidate, const SequenceOutput& heavy, const std::vector<HeadDef>& heads,
                        const AgreementSettings& settings);

// Whether heavy's outputs make the input protected under settings.protect.
bool is_protected(const SequenceOutput& heavy, const std::vector<HeadDef>& heads, const AgreementSettings& settings);

// One calibration input.
struct RouterExample {
  ComplexityFeatures features{};
  std::array<bool, 3> agrees{false, false, true};  // per path, cheapest first; heavy agrees with itself
  std::array<bool, 3> drops_protected{};           // per path: Agreement::drops_protected
  bool is_protected = false;
  // The cheapest path whose outputs agree with heavy's: 0, 1 or 2.
  int label() const { return agrees[0] ? 0 : agrees[1] ? 1 : 2; }
  double tokens() const { return features[static_cast<size_t>(ComplexityFeature::kTokens)]; }
};

// The accuracy-versus-cost trade-off (YAML `tradeoff`).
struct TradeOff {
  double max_disagreement = 0.02;            // share of inputs routed to a path that disagrees with heavy
  double protected_max_disagreement = 0.0;   // share of protected inputs routed to a path that drops a
                                             // protected label heavy gives (e.g. misses an emergency)
  double protected_weight = 5.0;             // XGBoost sample weight of a protected input (others 1)
};

// XGBoost settings (YAML `xgboost`) and the cross-validation that picks the thresholds.
struct BoosterParams {
  int rounds = 60;
  int max_depth = 3;
  double eta = 0.15;
  double min_child_weight = 1.0;
  double lambda = 1.0;
  int folds = 5;
  uint64_t seed = 0;
};

// Relative cost per token of each path, heavy = 1: analytic multiply-adds of the projections
// (global and local Q/K/V/O, importance, gate) and the FFN of every layer that runs it.
std::array<double, 3> relative_path_costs(const std::array<PathSpec, 3>& paths, const ModelConfig& config);

struct ThresholdChoice {
  RouterThresholds thresholds;
  std::array<int64_t, 3> routed{};    // inputs per path
  int64_t disagreements = 0;          // routed to a path that disagrees with heavy
  int64_t protected_disagreements = 0;  // routed to a path that drops a protected label heavy gives
  int64_t protected_inputs = 0;
  double relative_cost = 1.0;         // token-weighted cost against always-heavy
};

// Routing of `examples` by `scores` under `thresholds` (score < low: path 0, < medium: 1, else 2).
ThresholdChoice evaluate_thresholds(std::span<const double> scores, std::span<const RouterExample> examples,
                                    const std::array<double, 3>& costs, const RouterThresholds& thresholds);

// The thresholds with the lowest token-weighted cost whose routing of `examples` (scored `scores`)
// keeps disagreements within `tradeoff` (ties: fewer disagreements). Candidates are midpoints
// between consecutive distinct scores, plus `floor` (no input below) and `ceiling` (every input
// below); scores must lie in [floor, ceiling). Always feasible: all-heavy has no disagreement.
ThresholdChoice choose_thresholds(std::span<const double> scores, std::span<const RouterExample> examples,
                                  const std::array<double, 3>& costs, const TradeOff& tradeoff, double floor, double ceiling);

// Trains XGBoost (objective reg:logistic on label/2, so the score is in (0, 1): 0 light, 1 heavy;
// protected inputs weighted) through the C API; returns the model as XGBoost JSON text.
// Deterministic for the same inputs. Throws RouterTrainError with XGBoost's message.
std::string train_xgboost(std::span<const RouterExample> examples, const BoosterParams& params, const TradeOff& tradeoff);

// Out-of-fold scores: params.folds-fold cross-validation (folds from a seeded shuffle), each
// input scored by the model trained without its fold. Fewer than 2 * folds inputs: throws.
std::vector<double> cross_validated_scores(std::span<const RouterExample> examples, const BoosterParams& params,
                                           const TradeOff& tradeoff);

// XGBoost's own predictions for `rows` from a JSON model (the reference TreeEnsemble is held to).
std::vector<float> xgboost_predict(const std::string& json_text, std::span<const ComplexityFeatures> rows);

// Everything the sidecar records.
struct RouterTrainingReport {
  RouterInfo info;           // kind, model name/sha256/tokenizer, paths, thresholds; trees_file as written (a name)
  std::string model_file;    // the model file's name
  std::string data;          // the calibration data as given
  std::string split;         // "" when not filtered
  std::string date;          // ISO 8601
  int64_t inputs = 0;
  std::array<int64_t, 3> labels{};       // inputs per label (cheapest agreeing path)
  std::array<int64_t, 3> agree_counts{};  // inputs on which each path agrees with heavy
  int64_t protected_inputs = 0;
  AgreementSettings agreement;
  TradeOff tradeoff;
  BoosterParams booster;
  std::array<double, 3> costs{};
  ThresholdChoice cross_validated;  // the chosen thresholds on the out-of-fold scores
  ThresholdChoice training;         // the final model on its own training inputs
};

// The sidecar YAML text (format deepseek-router, version 1), commented for people.
std::string router_sidecar_yaml(const RouterTrainingReport& report);

}  // namespace ds::model
