// The adaptive-path router at run time (model/SPEC.md section 7): complexity features in, a score
// out, and thresholds `low` / `medium` turning the score into a computation path.
//
// A router is two files next to the model it was trained for: the sidecar `<model>.router.yaml`
// (format, the model's sha256, feature names, paths, thresholds, trade-off and training facts) and,
// for kind `xgboost`, the XGBoost JSON model `<model>.router.json` it names. Trees are evaluated
// here, from the JSON, without the XGBoost library: a prediction costs well under a microsecond,
// where XGBoost's own C API spends tens of microseconds per call on its setup (tests hold the two
// equal). Kind `length` is the baseline: the score is the token count.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/complexity_features.h"

namespace ds::model {

constexpr const char* kRouterFormat = "deepseek-router";
constexpr int kRouterFormatVersion = 1;

enum class RouterKind { kXgboost, kLength };
const char* router_kind_name(RouterKind kind);  // "xgboost" | "length"

struct RouterThresholds {
  double low = 0;     // score < low: the cheapest path
  double medium = 0;  // low <= score < medium: the middle path; score >= medium: the heaviest
};

// Regression trees as XGBoost stores them (gbtree, one output), flattened for evaluation.
class TreeEnsemble {
 public:
  // Parses XGBoost's JSON model text (XGBoosterSaveModel to a .json file, format 1.x): objective
  // reg:logistic, binary:logistic or reg:squarederror, numerical splits only, one output.
  // Throws ModelError(file, <JSON key>, problem) for anything else or any malformed part.
  static TreeEnsemble parse(const std::string& json_text, const std::string& file);

  // The prediction XGBoost gives for one row: base margin + sum of the leaves reached, then the
  // objective's transform (sigmoid for the logistic objectives). A NaN feature follows each
  // split's default direction, as in XGBoost.
  double predict(std::span<const float> features) const;

  int num_features() const { return num_features_; }
  size_t num_trees() const { return roots_.size(); }
  const std::string& objective() const { return objective_; }

 private:
  struct Node {
    int32_t left = -1;  // -1: a leaf
    int32_t right = -1;
    int32_t feature = 0;
    float value = 0;  // split condition (go left when x < value), or the leaf's value
    bool default_left = true;
  };
  std::vector<Node> nodes_;
  std::vector<int32_t> roots_;
  double base_margin_ = 0;
  bool logistic_ = false;
  int num_features_ = 0;
  std::string objective_;
};

// What the sidecar says (the parts the runtime uses; the rest is for people and `router info`).
struct RouterInfo {
  std::string file;                 // the sidecar, as given
  RouterKind kind = RouterKind::kXgboost;
  std::string trees_file;           // kXgboost: the JSON model, resolved against the sidecar's folder
  std::string model_name;           // the model's `name` metadata or file stem
  std::string model_sha256;         // "sha256:<hex>" of the model file it was trained for
  std::string tokenizer;            // the model's tokenizer hash
  std::array<std::string, 3> paths;  // cheapest first, e.g. light, standard, heavy
  RouterThresholds thresholds;
};

class Router {
 public:
  // Loads a sidecar (and its trees). Checks the format and version, that the feature list is
  // exactly complexity_feature_names() in order, three distinct path names, low <= medium, and
  // (xgboost) that the trees read 12 features. Throws ModelError naming the file and key.
  static std::shared_ptr<const Router> load(const std::string& sidecar_path);
  // Builds one from parts (training and tests); `trees` is required for kXgboost.
  Router(RouterInfo info, std::shared_ptr<const TreeEnsemble> trees);

  const RouterInfo& info() const { return info_; }

  // Throws ModelError(sidecar, "key 'model.sha256'", ...) when the router was trained for another
  // model file than the one whose sha256 is `model_sha256` (`model_file` names it in the message).
  void check_model(const std::string& model_sha256, const std::string& model_file) const;

  // The score of one input: the trees' prediction (xgboost) or the token count (length). Thread-safe.
  double score(const ComplexityFeatures& features) const;

  // 0, 1 or 2 (an index into info().paths) for a score under `thresholds`.
  static int choose(double score, const RouterThresholds& thresholds);

 private:
  RouterInfo info_;
  std::shared_ptr<const TreeEnsemble> trees_;
};

}  // namespace ds::model
