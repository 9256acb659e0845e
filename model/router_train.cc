#include "model/router_train.h"

#include <xgboost/c_api.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>

namespace ds::model {

namespace {

// Every XGBoost call returns 0 or -1; the message is per thread in XGBGetLastError().
#define DS_XGB_CHECK(call)                                                                            \
  do {                                                                                                \
    if ((call) != 0) throw RouterTrainError(std::string("[router] XGBoost: ") + #call + ": " + XGBGetLastError()); \
  } while (0)

// Owns an XGBoost handle.
template <typename H, int (*Free)(H)>
class Handle {
 public:
  Handle() = default;
  ~Handle() {
    if (h_) Free(h_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  H* out() { return &h_; }
  H get() const { return h_; }

 private:
  H h_ = nullptr;
};
using DMatrix = Handle<DMatrixHandle, XGDMatrixFree>;
using Booster = Handle<BoosterHandle, XGBoosterFree>;

std::vector<double> softmax(std::span<const float> logits) {
  std::vector<double> p(logits.size());
  if (logits.empty()) return p;
  const double m = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(static_cast<double>(logits[i]) - m);
  for (double& v : p) v /= sum;
  return p;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

size_t argmax(std::span<const double> v) { return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

size_t label_index(const HeadDef& h, const std::string& label) {
  return static_cast<size_t>(std::find(h.labels.begin(), h.labels.end(), label) - h.labels.begin());
}

// Whether head `h` takes part in agreement: listed (or no list), or carrying a protected label.
bool counts(const HeadDef& h, const AgreementSettings& s) {
  if (h.type == HeadType::kMlm) return false;
  for (const ProtectedLabel& p : s.protect)
    if (p.head == h.name) return true;
  return s.heads.empty() || std::find(s.heads.begin(), s.heads.end(), h.name) != s.heads.end();
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

void check_agreement_settings(const AgreementSettings& s, const std::vector<HeadDef>& heads) {
  auto find = [&](const std::string& name) -> const HeadDef* {
    for (const HeadDef& h : heads)
      if (h.name == name) return &h;
    return nullptr;
  };
  std::string known;
  for (const HeadDef& h : heads)
    if (h.type != HeadType::kMlm) known += (known.empty() ? "" : ", ") + h.name;
  for (const std::string& name : s.heads) {
    const HeadDef* h = find(name);
    if (!h || h->type == HeadType::kMlm)
      throw std::invalid_argument("agreement.heads: the model has no head '" + name + "' (it has: " + known + ")");
  }
  auto in01 = [](double v) { return v >= 0 && v <= 1; };
  if (!in01(s.class_prob_tolerance) || !in01(s.segment_threshold) || !in01(s.segment_prob_tolerance) ||
      !in01(s.min_segment_share) ||
      !(s.min_cosine >= -1 && s.min_cosine <= 1) || !in01(s.min_tag_share))
    throw std::invalid_argument("agreement: tolerances, thresholds and shares must lie in [0, 1] (min_cosine in [-1, 1])");
  for (const ProtectedLabel& p : s.protect) {
    const HeadDef* h = find(p.head);
    if (!h || h->type != HeadType::kSequenceClasses)
      throw std::invalid_argument("protect: '" + p.head + "' is not a sequence_classes head of the model (it has: " + known + ")");
    if (label_index(*h, p.label) == h->labels.size())
      throw std::invalid_argument("protect: head '" + p.head + "' has no label '" + p.label + "'");
    if (!in01(p.threshold) || !in01(p.near))
      throw std::invalid_argument("protect: threshold and near must lie in [0, 1]");
  }
}

Agreement outputs_agree(const SequenceOutput& cand, const SequenceOutput& heavy, const std::vector<HeadDef>& heads,
                        const AgreementSettings& s) {
  // Every head is checked (a protected label may be dropped on a head after a disagreeing one);
  // `why` keeps the first difference.
  Agreement result;
  auto disagree = [&](std::string why) {
    result.agrees = false;
    if (result.why.empty()) result.why = std::move(why);
  };
  for (const HeadDef& h : heads) {
    if (!counts(h, s)) continue;
    auto ci = cand.heads.find(h.name), hi = heavy.heads.find(h.name);
    if (ci == cand.heads.end() || hi == heavy.heads.end() || ci->second.data.size() != hi->second.data.size()) {
      disagree(h.name + ": output missing or of another shape");
      continue;
    }
    const std::vector<float>& c = ci->second.data;
    const std::vector<float>& v = hi->second.data;
    switch (h.type) {
      case HeadType::kSequenceClasses: {
        std::vector<double> pc = softmax(c), pv = softmax(v);
        if (pv.empty()) break;
        // Protected labels first: dropping one is the disagreement that matters most.
        for (const ProtectedLabel& p : s.protect) {
          if (p.head != h.name) continue;
          const size_t k = label_index(h, p.label);
          if (k < pv.size() && (pc[k] >= p.threshold) != (pv[k] >= p.threshold)) {
            result.agrees = false;
            result.drops_protected |= pv[k] >= p.threshold;
            if (result.why.empty())
              result.why = h.name + ": p(" + p.label + ") " + fmt(pc[k]) + " vs heavy's " + fmt(pv[k]) + " across " + fmt(p.threshold);
          }
        }
        const size_t top = argmax(pv), ctop = argmax(pc);
        if (top != ctop) disagree(h.name + ": argmax " + h.labels[ctop] + " vs heavy's " + h.labels[top]);
        else if (std::abs(pc[top] - pv[top]) > s.class_prob_tolerance)
          disagree(h.name + ": p(" + h.labels[top] + ") " + fmt(pc[top]) + " vs heavy's " + fmt(pv[top]));
        break;
      }
      case HeadType::kSegmentLabels: {
        const size_t C = h.labels.size();
        if (C == 0 || v.empty()) break;
        const size_t S = v.size() / C;
        size_t same = 0;
        std::string first;  // the first segment that differs, and how
        for (size_t seg = 0; seg < S; ++seg) {
          std::string diff;
          for (size_t k = 0; k < C && diff.empty(); ++k) {
            const size_t i = seg * C + k;
            const double a = sigmoid(c[i]), b = sigmoid(v[i]);
            if ((a >= s.segment_threshold) != (b >= s.segment_threshold))
              diff = h.name + ": segment " + std::to_string(seg) + " label " + h.labels[k] + " differs";
            else if (std::abs(a - b) > s.segment_prob_tolerance)
              diff = h.name + ": segment " + std::to_string(seg) + " p(" + h.labels[k] + ") " + fmt(a) + " vs heavy's " + fmt(b);
          }
          if (diff.empty()) ++same;
          else if (first.empty()) first = diff;
        }
        const double share = static_cast<double>(same) / static_cast<double>(S);
        if (share < s.min_segment_share)
          disagree(first + (S > 1 ? " (" + fmt(share) + " of the segments agree)" : ""));
        break;
      }
      case HeadType::kEmbedding: {
        double dot = 0, na = 0, nb = 0;
        for (size_t i = 0; i < v.size(); ++i) {
          dot += static_cast<double>(c[i]) * v[i];
          na += static_cast<double>(c[i]) * c[i];
          nb += static_cast<double>(v[i]) * v[i];
        }
        const double cos = na == 0 && nb == 0 ? 1.0 : (na == 0 || nb == 0 ? 0.0 : dot / std::sqrt(na * nb));
        if (cos < s.min_cosine) disagree(h.name + ": cosine " + fmt(cos) + " with heavy's");
        break;
      }
      case HeadType::kTokenTags: {
        const size_t C = h.labels.size();
        if (C == 0 || v.empty()) break;
        const size_t T = v.size() / C;
        size_t same = 0;
        for (size_t t = 0; t < T; ++t) {
          auto a = std::span(c).subspan(t * C, C), b = std::span(v).subspan(t * C, C);
          same += std::max_element(a.begin(), a.end()) - a.begin() == std::max_element(b.begin(), b.end()) - b.begin();
        }
        const double share = static_cast<double>(same) / static_cast<double>(T);
        if (share < s.min_tag_share) disagree(h.name + ": " + fmt(share) + " of the tokens tagged as heavy tags them");
        break;
      }
      case HeadType::kMlm:
        break;
    }
  }
  return result;
}

bool is_protected(const SequenceOutput& heavy, const std::vector<HeadDef>& heads, const AgreementSettings& s) {
  for (const ProtectedLabel& p : s.protect) {
    for (const HeadDef& h : heads) {
      if (h.name != p.head) continue;
      auto it = heavy.heads.find(h.name);
      if (it == heavy.heads.end()) continue;
      std::vector<double> pv = softmax(it->second.data);
      const size_t k = label_index(h, p.label);
      if (k < pv.size() && pv[k] >= p.threshold - p.near) return true;
    }
  }
  return false;
}

std::array<double, 3> relative_path_costs(const std::array<PathSpec, 3>& paths, const ModelConfig& c) {
  std::array<double, 3> macs{};
  for (size_t i = 0; i < 3; ++i) {
    const PathSpec& p = paths[i];
    const double D = c.d_model, dh = c.head_dim;
    const double hg = p.attn_heads, hl = path_local_heads(p, c), f = path_ffn_units(p, c);
    for (int l = 0; l < c.n_layers; ++l) {
      macs[i] += D * 4 * hg * dh + D * 4 * hl * dh + 3 * D;
      if (std::find(p.skip_ffn_layers.begin(), p.skip_ffn_layers.end(), l) == p.skip_ffn_layers.end()) macs[i] += 2 * D * f;
    }
  }
  std::array<double, 3> out{};
  for (size_t i = 0; i < 3; ++i) out[i] = macs[2] > 0 ? macs[i] / macs[2] : 1.0;
  return out;
}

ThresholdChoice evaluate_thresholds(std::span<const double> scores, std::span<const RouterExample> ex,
                                    const std::array<double, 3>& costs, const RouterThresholds& t) {
  ThresholdChoice r;
  r.thresholds = t;
  double cost = 0, heavy = 0;
  for (size_t i = 0; i < ex.size(); ++i) {
    const int p = Router::choose(scores[i], t);
    ++r.routed[static_cast<size_t>(p)];
    const bool bad = !ex[i].agrees[static_cast<size_t>(p)];
    r.disagreements += bad;
    r.protected_inputs += ex[i].is_protected;
    r.protected_disagreements += ex[i].drops_protected[static_cast<size_t>(p)];
    const double w = std::max(1.0, ex[i].tokens());
    cost += w * costs[static_cast<size_t>(p)];
    heavy += w * costs[2];
  }
  r.relative_cost = heavy > 0 ? cost / heavy : 1.0;
  return r;
}

ThresholdChoice choose_thresholds(std::span<const double> scores, std::span<const RouterExample> ex,
                                  const std::array<double, 3>& costs, const TradeOff& tradeoff, double floor, double ceiling) {
  const size_t n = ex.size();
  if (scores.size() != n) throw RouterTrainError("[router] choose_thresholds: one score per example is needed");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Prefix sums in score order: disagreements and dropped protected labels on paths 0 and 1, and
  // token weights.
  std::vector<int64_t> d0(n + 1), d1(n + 1), p0(n + 1), p1(n + 1);
  std::vector<double> w(n + 1);
  int64_t protected_inputs = 0;
  for (size_t k = 0; k < n; ++k) {
    const RouterExample& e = ex[order[k]];
    d0[k + 1] = d0[k] + !e.agrees[0];
    d1[k + 1] = d1[k] + !e.agrees[1];
    p0[k + 1] = p0[k] + e.drops_protected[0];
    p1[k + 1] = p1[k] + e.drops_protected[1];
    w[k + 1] = w[k] + std::max(1.0, e.tokens());
    protected_inputs += e.is_protected;
  }
  // Cut positions: where the score changes (equal scores always route alike), plus both ends.
  std::vector<size_t> cuts = {0};
  for (size_t k = 1; k < n; ++k)
    if (scores[order[k]] > scores[order[k - 1]]) cuts.push_back(k);
  if (n > 0) cuts.push_back(n);
  auto threshold_at = [&](size_t k) {
    if (k == 0) return floor;
    if (k == n) return ceiling;
    return 0.5 * (scores[order[k - 1]] + scores[order[k]]);
  };
  const auto max_bad = static_cast<int64_t>(std::floor(tradeoff.max_disagreement * static_cast<double>(n) + 1e-9));
  const auto max_protected_bad =
      static_cast<int64_t>(std::floor(tradeoff.protected_max_disagreement * static_cast<double>(protected_inputs) + 1e-9));
  double best_cost = INFINITY;
  int64_t best_bad = 0;
  size_t best_a = 0, best_b = 0;
  for (size_t ia = 0; ia < cuts.size(); ++ia) {
    const size_t a = cuts[ia];
    for (size_t ib = ia; ib < cuts.size(); ++ib) {
      const size_t b = cuts[ib];
      const int64_t bad = d0[a] + d1[b] - d1[a];
      const int64_t pbad = p0[a] + p1[b] - p1[a];
      if (bad > max_bad || pbad > max_protected_bad) continue;
      const double cost = costs[0] * w[a] + costs[1] * (w[b] - w[a]) + costs[2] * (w[n] - w[b]);
      if (cost < best_cost - 1e-9 || (std::abs(cost - best_cost) <= 1e-9 && bad < best_bad)) {
        best_cost = cost;
        best_bad = bad;
        best_a = a;
        best_b = b;
      }
    }
  }
  if (n == 0) return evaluate_thresholds(scores, ex, costs, {floor, floor});
  return evaluate_thresholds(scores, ex, costs, {threshold_at(best_a), threshold_at(best_b)});
}

std::string train_xgboost(std::span<const RouterExample> ex, const BoosterParams& params, const TradeOff& tradeoff) {
  if (ex.empty()) throw RouterTrainError("[router] no training inputs");
  const auto n = static_cast<bst_ulong>(ex.size());
  std::vector<float> x, y, weight;
  x.reserve(ex.size() * kComplexityFeatureCount);
  for (const RouterExample& e : ex) {
    x.insert(x.end(), e.features.begin(), e.features.end());
    y.push_back(static_cast<float>(e.label()) / 2.0f);
    weight.push_back(e.is_protected ? static_cast<float>(tradeoff.protected_weight) : 1.0f);
  }
  DMatrix d;
  DS_XGB_CHECK(XGDMatrixCreateFromMat(x.data(), n, kComplexityFeatureCount, NAN, d.out()));
  DS_XGB_CHECK(XGDMatrixSetFloatInfo(d.get(), "label", y.data(), n));
  DS_XGB_CHECK(XGDMatrixSetFloatInfo(d.get(), "weight", weight.data(), n));
  Booster b;
  DMatrixHandle dm = d.get();
  DS_XGB_CHECK(XGBoosterCreate(&dm, 1, b.out()));
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"objective", "reg:logistic"},
      {"tree_method", "exact"},
      {"max_depth", std::to_string(params.max_depth)},
      {"eta", std::to_string(params.eta)},
      {"min_child_weight", std::to_string(params.min_child_weight)},
      {"lambda", std::to_string(params.lambda)},
      {"base_score", "0.5"},
      {"seed", std::to_string(params.seed)},
      {"nthread", "1"},
      {"verbosity", "0"},
  };
  for (const auto& [k, v] : settings) DS_XGB_CHECK(XGBoosterSetParam(b.get(), k.c_str(), v.c_str()));
  for (int it = 0; it < params.rounds; ++it) DS_XGB_CHECK(XGBoosterUpdateOneIter(b.get(), it, d.get()));
  bst_ulong len = 0;
  const char* raw = nullptr;
  DS_XGB_CHECK(XGBoosterSaveModelToBuffer(b.get(), R"({"format": "json"})", &len, &raw));
  return std::string(raw, len);  // the buffer belongs to the booster: copied before it is freed
}

std::vector<double> cross_validated_scores(std::span<const RouterExample> ex, const BoosterParams& params,
                                           const TradeOff& tradeoff) {
  const size_t folds = static_cast<size_t>(std::max(2, params.folds));
  if (ex.size() < 2 * folds)
    throw RouterTrainError("[router] " + std::to_string(ex.size()) + " calibration inputs are too few for " +
                           std::to_string(folds) + "-fold cross-validation (at least " + std::to_string(2 * folds) + ")");
  std::vector<size_t> order(ex.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(params.seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);  // portable shuffle
  std::vector<size_t> fold_of(ex.size());
  for (size_t k = 0; k < order.size(); ++k) fold_of[order[k]] = k % folds;
  std::vector<double> scores(ex.size());
  for (size_t f = 0; f < folds; ++f) {
    std::vector<RouterExample> train;
    for (size_t i = 0; i < ex.size(); ++i)
      if (fold_of[i] != f) train.push_back(ex[i]);
    const std::string json_text = train_xgboost(train, params, tradeoff);
    TreeEnsemble trees = TreeEnsemble::parse(json_text, "cross-validation fold " + std::to_string(f));
    for (size_t i = 0; i < ex.size(); ++i)
      if (fold_of[i] == f) scores[i] = trees.predict(ex[i].features);
  }
  return scores;
}

std::vector<float> xgboost_predict(const std::string& json_text, std::span<const ComplexityFeatures> rows) {
  Booster b;
  DS_XGB_CHECK(XGBoosterCreate(nullptr, 0, b.out()));
  DS_XGB_CHECK(XGBoosterLoadModelFromBuffer(b.get(), json_text.data(), json_text.size()));
  DS_XGB_CHECK(XGBoosterSetParam(b.get(), "nthread", "1"));
  std::vector<float> x;
  for (const ComplexityFeatures& r : rows) x.insert(x.end(), r.begin(), r.end());
  DMatrix d;
  DS_XGB_CHECK(XGDMatrixCreateFromMat(x.data(), rows.size(), kComplexityFeatureCount, NAN, d.out()));
  const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  DS_XGB_CHECK(XGBoosterPredictFromDMatrix(b.get(), d.get(), config, &shape, &dim, &out));
  return std::vector<float>(out, out + rows.size());
}

std::string router_sidecar_yaml(const RouterTrainingReport& r) {
  const RouterInfo& i = r.info;
  YAML::Emitter y;
  y.SetDoublePrecision(6);
  y << YAML::Comment("Adaptive-path router for " + r.model_file + " (model/SPEC.md section 7), written by `deepseek router train`.");
  y << YAML::Newline << YAML::Comment("A router trained for one model file is refused for any other (model.sha256).");
  y << YAML::BeginMap;
  y << YAML::Key << "format" << YAML::Value << kRouterFormat;
  y << YAML::Key << "version" << YAML::Value << kRouterFormatVersion;
  y << YAML::Key << "kind" << YAML::Value << router_kind_name(i.kind);
  if (i.kind == RouterKind::kXgboost) y << YAML::Key << "trees" << YAML::Value << i.trees_file;
  y << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << i.model_name;
  y << YAML::Key << "file" << YAML::Value << r.model_file;
  y << YAML::Key << "sha256" << YAML::Value << i.model_sha256;
  y << YAML::Key << "tokenizer" << YAML::Value << i.tokenizer;
  y << YAML::EndMap;
  y << YAML::Key << "features" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (auto n : complexity_feature_names()) y << std::string(n);
  y << YAML::EndSeq;
  y << YAML::Key << "paths" << YAML::Value << YAML::Flow << YAML::BeginSeq << i.paths[0] << i.paths[1] << i.paths[2]
    << YAML::EndSeq;
  y << YAML::Key << "score" << YAML::Value
    << (i.kind == RouterKind::kXgboost ? "XGBoost reg:logistic on label/2: 0 = light suffices .. 1 = needs heavy"
                                       : "the token count");
  y << YAML::Key << "thresholds" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "low" << YAML::Value
    << i.thresholds.low << YAML::Key << "medium" << YAML::Value << i.thresholds.medium << YAML::EndMap;
  y << YAML::Key << "tradeoff" << YAML::Value << YAML::Flow << YAML::BeginMap;
  y << YAML::Key << "max_disagreement" << YAML::Value << r.tradeoff.max_disagreement;
  y << YAML::Key << "protected_max_disagreement" << YAML::Value << r.tradeoff.protected_max_disagreement;
  y << YAML::Key << "protected_weight" << YAML::Value << r.tradeoff.protected_weight << YAML::EndMap;
  const AgreementSettings& a = r.agreement;
  y << YAML::Key << "agreement" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "heads" << YAML::Value << YAML::Flow << a.heads;
  y << YAML::Key << "class_prob_tolerance" << YAML::Value << a.class_prob_tolerance;
  y << YAML::Key << "segment_threshold" << YAML::Value << a.segment_threshold;
  y << YAML::Key << "segment_prob_tolerance" << YAML::Value << a.segment_prob_tolerance;
  y << YAML::Key << "min_segment_share" << YAML::Value << a.min_segment_share;
  y << YAML::Key << "min_cosine" << YAML::Value << a.min_cosine;
  y << YAML::Key << "min_tag_share" << YAML::Value << a.min_tag_share;
  y << YAML::Key << "protect" << YAML::Value << YAML::BeginSeq;
  for (const ProtectedLabel& p : a.protect)
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "head" << YAML::Value << p.head << YAML::Key << "label"
      << YAML::Value << p.label << YAML::Key << "threshold" << YAML::Value << p.threshold << YAML::Key << "near"
      << YAML::Value << p.near << YAML::EndMap;
  y << YAML::EndSeq << YAML::EndMap;
  auto choice = [&](const char* key, const ThresholdChoice& c) {
    y << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap;
    y << YAML::Key << "low" << YAML::Value << c.thresholds.low << YAML::Key << "medium" << YAML::Value << c.thresholds.medium;
    y << YAML::Key << "routed" << YAML::Value << YAML::Flow << YAML::BeginSeq << c.routed[0] << c.routed[1] << c.routed[2]
      << YAML::EndSeq;
    y << YAML::Key << "disagreements" << YAML::Value << c.disagreements;
    y << YAML::Key << "protected_disagreements" << YAML::Value << c.protected_disagreements;
    y << YAML::Key << "relative_cost" << YAML::Value << c.relative_cost << YAML::EndMap;
  };
  y << YAML::Key << "training" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "date" << YAML::Value << r.date;
  y << YAML::Key << "data" << YAML::Value << r.data;
  y << YAML::Key << "split" << YAML::Value << r.split;
  y << YAML::Key << "inputs" << YAML::Value << r.inputs;
  y << YAML::Key << "labels" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (size_t k = 0; k < 3; ++k) y << YAML::Key << i.paths[k] << YAML::Value << r.labels[k];
  y << YAML::EndMap;
  y << YAML::Key << "agree_with_heavy" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (size_t k = 0; k < 2; ++k) y << YAML::Key << i.paths[k] << YAML::Value << r.agree_counts[k];
  y << YAML::EndMap;
  y << YAML::Key << "protected_inputs" << YAML::Value << r.protected_inputs;
  y << YAML::Key << "path_costs" << YAML::Value << YAML::Flow << YAML::BeginSeq << r.costs[0] << r.costs[1] << r.costs[2]
    << YAML::EndSeq;
  if (i.kind == RouterKind::kXgboost) {
    y << YAML::Key << "xgboost" << YAML::Value << YAML::Flow << YAML::BeginMap;
    y << YAML::Key << "objective" << YAML::Value << "reg:logistic";
    y << YAML::Key << "rounds" << YAML::Value << r.booster.rounds << YAML::Key << "max_depth" << YAML::Value
      << r.booster.max_depth << YAML::Key << "eta" << YAML::Value << r.booster.eta;
    y << YAML::Key << "min_child_weight" << YAML::Value << r.booster.min_child_weight << YAML::Key << "lambda"
      << YAML::Value << r.booster.lambda << YAML::Key << "seed" << YAML::Value << r.booster.seed << YAML::EndMap;
  }
  y << YAML::Key << "folds" << YAML::Value << r.booster.folds;
  choice("cross_validated", r.cross_validated);
  choice("on_training_inputs", r.training);
  y << YAML::EndMap;
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace ds::model
