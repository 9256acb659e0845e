#include "model/router.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "model/model_error.h"

namespace ds::model {

namespace {

using nlohmann::json;

std::string read_text(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path, "", "cannot read the " + what + " (" + std::string(std::strerror(errno)) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// XGBoost writes numbers of its parameters as strings ("5E-1").
double number_of(const json& v, const std::string& file, const std::string& key) {
  try {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      size_t used = 0;
      const std::string s = v.get<std::string>();
      double d = std::stod(s, &used);
      if (used == s.size()) return d;
    }
  } catch (const std::exception&) {
  }
  throw ModelError(file, "key '" + key + "'", "expected a number, got " + v.dump());
}

const json& member(const json& obj, const char* name, const std::string& file, const std::string& where) {
  if (!obj.is_object() || !obj.contains(name))
    throw ModelError(file, "key '" + where + (where.empty() ? "" : ".") + name + "'", "missing");
  return obj.at(name);
}

template <typename T>
std::vector<T> array_of(const json& obj, const char* name, const std::string& file, const std::string& where) {
  const json& a = member(obj, name, file, where);
  if (!a.is_array()) throw ModelError(file, "key '" + where + "." + name + "'", "expected an array");
  std::vector<T> out;
  out.reserve(a.size());
  for (const json& v : a) {
    if (!v.is_number()) throw ModelError(file, "key '" + where + "." + name + "'", "expected numbers");
    out.push_back(v.get<T>());
  }
  return out;
}

YAML::Node yaml_member(const YAML::Node& map, const char* key, const std::string& file) {
  YAML::Node n = map[key];
  if (!n) throw ModelError(file, std::string("key '") + key + "'", "missing");
  return n;
}

template <typename T>
T yaml_as(const YAML::Node& n, const std::string& file, const std::string& key, const char* expected) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw ModelError(file, "key '" + key + "'", std::string("expected ") + expected);
  }
}

}  // namespace

const char* router_kind_name(RouterKind kind) { return kind == RouterKind::kXgboost ? "xgboost" : "length"; }

TreeEnsemble TreeEnsemble::parse(const std::string& json_text, const std::string& file) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw ModelError(file, "", std::string("not an XGBoost JSON model: ") + e.what());
  }
  const json& learner = member(j, "learner", file, "");
  const json& param = member(learner, "learner_model_param", file, "learner");
  TreeEnsemble t;
  t.num_features_ = static_cast<int>(number_of(member(param, "num_feature", file, "learner.learner_model_param"), file,
                                               "learner.learner_model_param.num_feature"));
  if (param.contains("num_class") && number_of(param["num_class"], file, "learner.learner_model_param.num_class") > 1)
    throw ModelError(file, "key 'learner.learner_model_param.num_class'", "a router has one output, not classes");
  const double base_score =
      number_of(member(param, "base_score", file, "learner.learner_model_param"), file, "learner.learner_model_param.base_score");
  const json& objective = member(learner, "objective", file, "learner");
  t.objective_ = member(objective, "name", file, "learner.objective").get<std::string>();
  if (t.objective_ == "reg:logistic" || t.objective_ == "binary:logistic") {
    if (!(base_score > 0 && base_score < 1))
      throw ModelError(file, "key 'learner.learner_model_param.base_score'", "must be in (0, 1) for " + t.objective_);
    t.logistic_ = true;
    t.base_margin_ = std::log(base_score / (1 - base_score));
  } else if (t.objective_ == "reg:squarederror") {
    t.base_margin_ = base_score;
  } else {
    throw ModelError(file, "key 'learner.objective.name'",
                     "objective '" + t.objective_ + "' is not supported (reg:logistic, binary:logistic, reg:squarederror)");
  }
  const json& booster = member(learner, "gradient_booster", file, "learner");
  if (member(booster, "name", file, "learner.gradient_booster") != "gbtree")
    throw ModelError(file, "key 'learner.gradient_booster.name'", "only gbtree boosters are supported");
  const json& trees = member(member(booster, "model", file, "learner.gradient_booster"), "trees", file,
                             "learner.gradient_booster.model");
  if (!trees.is_array()) throw ModelError(file, "key 'learner.gradient_booster.model.trees'", "expected an array");
  for (size_t ti = 0; ti < trees.size(); ++ti) {
    const std::string where = "learner.gradient_booster.model.trees[" + std::to_string(ti) + "]";
    const json& tree = trees[ti];
    auto left = array_of<int64_t>(tree, "left_children", file, where);
    auto right = array_of<int64_t>(tree, "right_children", file, where);
    auto index = array_of<int64_t>(tree, "split_indices", file, where);
    auto cond = array_of<double>(tree, "split_conditions", file, where);
    auto dleft = array_of<int64_t>(tree, "default_left", file, where);
    const size_t n = left.size();
    if (n == 0 || right.size() != n || index.size() != n || cond.size() != n || dleft.size() != n)
      throw ModelError(file, "key '" + where + "'", "node arrays are empty or of different lengths");
    if (tree.contains("split_type"))
      for (const json& s : tree["split_type"])
        if (!s.is_number() || s.get<int>() != 0)
          throw ModelError(file, "key '" + where + ".split_type'", "categorical splits are not supported");
    const auto base = static_cast<int32_t>(t.nodes_.size());
    for (size_t i = 0; i < n; ++i) {
      Node node;
      const bool leaf = left[i] == -1;
      if (leaf != (right[i] == -1))
        throw ModelError(file, "key '" + where + "'", "node " + std::to_string(i) + " has one child");
      if (!leaf) {
        // Children come after their parent, so every walk ends.
        for (int64_t c : {left[i], right[i]})
          if (c <= static_cast<int64_t>(i) || c >= static_cast<int64_t>(n))
            throw ModelError(file, "key '" + where + "'", "node " + std::to_string(i) + " has a child outside the tree");
        if (index[i] < 0 || index[i] >= t.num_features_)
          throw ModelError(file, "key '" + where + ".split_indices'", "feature " + std::to_string(index[i]) +
                                                                            " outside [0, " + std::to_string(t.num_features_) + ")");
        node.left = base + static_cast<int32_t>(left[i]);
        node.right = base + static_cast<int32_t>(right[i]);
        node.feature = static_cast<int32_t>(index[i]);
      }
      node.value = static_cast<float>(cond[i]);
      node.default_left = dleft[i] != 0;
      t.nodes_.push_back(node);
    }
    t.roots_.push_back(base);
  }
  return t;
}

double TreeEnsemble::predict(std::span<const float> features) const {
  double margin = base_margin_;
  for (int32_t root : roots_) {
    const Node* n = &nodes_[static_cast<size_t>(root)];
    while (n->left >= 0) {
      const float x = static_cast<size_t>(n->feature) < features.size() ? features[static_cast<size_t>(n->feature)] : NAN;
      const bool go_left = std::isnan(x) ? n->default_left : x < n->value;
      n = &nodes_[static_cast<size_t>(go_left ? n->left : n->right)];
    }
    margin += n->value;
  }
  // XGBoost sums leaves in float; the difference to double is far below any threshold's resolution.
  return logistic_ ? 1.0 / (1.0 + std::exp(-margin)) : margin;
}

Router::Router(RouterInfo info, std::shared_ptr<const TreeEnsemble> trees) : info_(std::move(info)), trees_(std::move(trees)) {
  if (info_.kind == RouterKind::kXgboost && !trees_) throw ModelError(info_.file, "", "an xgboost router needs its trees");
}

std::shared_ptr<const Router> Router::load(const std::string& sidecar_path) {
  const std::string& f = sidecar_path;
  const std::string text = read_text(f, "router file");
  YAML::Node y;
  try {
    y = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ModelError(f, "", "not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (!y.IsMap()) throw ModelError(f, "", "expected a router sidecar (a YAML mapping with format: deepseek-router)");
  if (yaml_as<std::string>(yaml_member(y, "format", f), f, "format", "a string") != kRouterFormat)
    throw ModelError(f, "key 'format'", std::string("expected '") + kRouterFormat + "'");
  const int version = yaml_as<int>(yaml_member(y, "version", f), f, "version", "an integer");
  if (version != kRouterFormatVersion)
    throw ModelError(f, "key 'version'", "version " + std::to_string(version) + " is not supported (this program reads " +
                                             std::to_string(kRouterFormatVersion) + ")");
  RouterInfo info;
  info.file = f;
  const std::string kind = yaml_as<std::string>(yaml_member(y, "kind", f), f, "kind", "a string");
  if (kind == "xgboost") info.kind = RouterKind::kXgboost;
  else if (kind == "length") info.kind = RouterKind::kLength;
  else throw ModelError(f, "key 'kind'", "expected xgboost or length, got '" + kind + "'");

  YAML::Node model = yaml_member(y, "model", f);
  info.model_name = yaml_as<std::string>(model["name"], f, "model.name", "a string");
  info.model_sha256 = yaml_as<std::string>(model["sha256"], f, "model.sha256", "a string \"sha256:<hex>\"");
  if (info.model_sha256.rfind("sha256:", 0) != 0 || info.model_sha256.size() != 7 + 64)
    throw ModelError(f, "key 'model.sha256'", "expected \"sha256:<64 hex digits>\"");
  if (model["tokenizer"]) info.tokenizer = yaml_as<std::string>(model["tokenizer"], f, "model.tokenizer", "a string");

  auto features = yaml_as<std::vector<std::string>>(yaml_member(y, "features", f), f, "features", "a list of names");
  const auto& want = complexity_feature_names();
  bool same = features.size() == want.size();
  for (size_t i = 0; same && i < want.size(); ++i) same = features[i] == want[i];
  if (!same) {
    std::string w;
    for (auto n : want) w += (w.empty() ? "" : ", ") + std::string(n);
    throw ModelError(f, "key 'features'", "this program computes exactly [" + w + "] in that order");
  }
  auto paths = yaml_as<std::vector<std::string>>(yaml_member(y, "paths", f), f, "paths", "a list of three path names");
  if (paths.size() != 3 || std::set<std::string>(paths.begin(), paths.end()).size() != 3)
    throw ModelError(f, "key 'paths'", "expected three distinct path names, cheapest first");
  std::copy(paths.begin(), paths.end(), info.paths.begin());
  YAML::Node th = yaml_member(y, "thresholds", f);
  info.thresholds.low = yaml_as<double>(yaml_member(th, "low", f), f, "thresholds.low", "a number");
  info.thresholds.medium = yaml_as<double>(yaml_member(th, "medium", f), f, "thresholds.medium", "a number");
  if (!(info.thresholds.low <= info.thresholds.medium))
    throw ModelError(f, "key 'thresholds'", "low must not be greater than medium");

  std::shared_ptr<const TreeEnsemble> trees;
  if (info.kind == RouterKind::kXgboost) {
    const std::string name = yaml_as<std::string>(yaml_member(y, "trees", f), f, "trees", "a file name");
    std::filesystem::path p(name);
    if (p.is_relative()) p = std::filesystem::path(f).parent_path() / p;
    info.trees_file = p.string();
    trees = std::make_shared<const TreeEnsemble>(TreeEnsemble::parse(read_text(info.trees_file, "router trees"), info.trees_file));
    if (trees->num_features() != kComplexityFeatureCount)
      throw ModelError(info.trees_file, "key 'learner.learner_model_param.num_feature'",
                       "the trees read " + std::to_string(trees->num_features()) + " features, the router computes " +
                           std::to_string(kComplexityFeatureCount));
  }
  return std::make_shared<const Router>(std::move(info), std::move(trees));
}

void Router::check_model(const std::string& model_sha256, const std::string& model_file) const {
  if (model_sha256 == info_.model_sha256) return;
  throw ModelError(info_.file, "key 'model.sha256'",
                   "this router was trained for model '" + info_.model_name + "' (" + info_.model_sha256 + "), not for " +
                       model_file + " (" + model_sha256 + "); train one for it with `deepseek router train`");
}

double Router::score(const ComplexityFeatures& features) const {
  if (info_.kind == RouterKind::kLength) return features[static_cast<size_t>(ComplexityFeature::kTokens)];
  return trees_->predict(features);
}

int Router::choose(double score, const RouterThresholds& t) {
  if (score < t.low) return 0;
  if (score < t.medium) return 1;
  return 2;
}

}  // namespace ds::model
