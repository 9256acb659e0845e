// The adaptive-path router (model/SPEC.md section 7): complexity features on hand-written texts,
// the tree walker against XGBoost itself, agreement labels and threshold choice, router files
// (round trip, refusal for another model, broken files), `path: auto` in a pipeline (route
// recorded, outputs of the chosen path, grouping, forcing still works, configuration errors) and
// `deepseek router train`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "config/pipeline_config.h"
#include "core/hash.h"
#include "core/pipeline_loader.h"
#include "core/registry.h"
#include "model/complexity_features.h"
#include "model/encode_stage.h"
#include "model/encoder.h"
#include "model/model_error.h"
#include "model/random_model.h"
#include "model/router.h"
#include "model/router_train.h"
#include "plugin/plugin_host.h"
#include "test_util.h"

namespace ds::test {
namespace {

namespace fs = std::filesystem;
using model::ComplexityFeature;

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

fs::path tokenizer_path() { return source_dir() / "data/models/tokenizer.model"; }
std::string q(const fs::path& p) { return "'" + p.string() + "'"; }
CommandResult deepseek(const std::string& args) { return run_command(q(deepseek_binary()) + " " + args); }

float feature(const model::ComplexityFeatures& f, ComplexityFeature k) { return f[static_cast<size_t>(k)]; }

// Ids 1..11 have log-probabilities -1..-11; id 0 has none (a control piece).
model::UnigramTable small_table() {
  std::vector<float> lp = {std::numeric_limits<float>::quiet_NaN()};
  for (int i = 1; i <= 11; ++i) lp.push_back(static_cast<float>(-i));
  return model::UnigramTable(lp);
}

TEST(RouterFeatures, UnigramTableFloorAndRareBound) {
  model::UnigramTable t = small_table();
  EXPECT_EQ(t.floor(), -11.0f);
  EXPECT_EQ(t.rare_below(), -10.0f);  // rank floor(0.1 * (11 - 1)) = 1 of [-11 .. -1]
  EXPECT_EQ(t.log_prob(0), -11.0f);   // no probability of its own: the floor
  EXPECT_EQ(t.log_prob(3), -3.0f);
  EXPECT_EQ(t.log_prob(99), -11.0f);  // outside the table
  EXPECT_EQ(t.log_prob(-1), -11.0f);
  model::UnigramTable empty;
  EXPECT_EQ(empty.floor(), 0.0f);
  EXPECT_EQ(empty.rare_below(), 0.0f);
}

TEST(RouterFeatures, ShortChineseQuestion) {
  const std::vector<int32_t> ids = {1, 2, 0};
  auto f = model::complexity_features("头痛怎么办", ids, small_table());
  EXPECT_EQ(feature(f, ComplexityFeature::kTokens), 3);
  EXPECT_EQ(feature(f, ComplexityFeature::kSentences), 1);
  EXPECT_EQ(feature(f, ComplexityFeature::kMeanSentenceChars), 5);
  EXPECT_EQ(feature(f, ComplexityFeature::kMaxSentenceChars), 5);
  EXPECT_FLOAT_EQ(feature(f, ComplexityFeature::kMeanLogProb), -14.0f / 3);
  EXPECT_EQ(feature(f, ComplexityFeature::kMinLogProb), -11);
  EXPECT_FLOAT_EQ(feature(f, ComplexityFeature::kRareTokenShare), 1.0f / 3);
  EXPECT_EQ(feature(f, ComplexityFeature::kDigitShare), 0);
  EXPECT_EQ(feature(f, ComplexityFeature::kHanShare), 1);
  EXPECT_EQ(feature(f, ComplexityFeature::kClauseMarkers), 0);
  EXPECT_EQ(feature(f, ComplexityFeature::kQuestionMarks), 0);
  EXPECT_EQ(feature(f, ComplexityFeature::kNegations), 0);
}

TEST(RouterFeatures, EnglishSentencesClausesNegations) {
  const std::vector<int32_t> ids = {1, 1, 5};
  auto f = model::complexity_features("I don't have a fever, but my chest hurts. Is it serious if it doesnt stop?", ids,
                                      small_table());
  EXPECT_EQ(feature(f, ComplexityFeature::kSentences), 2);
  EXPECT_EQ(feature(f, ComplexityFeature::kMeanSentenceChars), 28.5f);  // (32 + 25) / 2
  EXPECT_EQ(feature(f, ComplexityFeature::kMaxSentenceChars), 32);
  EXPECT_FLOAT_EQ(feature(f, ComplexityFeature::kMeanLogProb), -7.0f / 3);
  EXPECT_EQ(feature(f, ComplexityFeature::kMinLogProb), -5);
  EXPECT_EQ(feature(f, ComplexityFeature::kRareTokenShare), 0);
  EXPECT_EQ(feature(f, ComplexityFeature::kDigitShare), 0);
  EXPECT_EQ(feature(f, ComplexityFeature::kHanShare), 0);
  EXPECT_EQ(feature(f, ComplexityFeature::kClauseMarkers), 2);  // "," and "if"
  EXPECT_EQ(feature(f, ComplexityFeature::kQuestionMarks), 1);
  EXPECT_EQ(feature(f, ComplexityFeature::kNegations), 2);  // don't, doesnt
}

TEST(RouterFeatures, ChineseWithNumbersAndMixedScript) {
  auto f = model::complexity_features("如果没有发烧,体温37.5度,不用去医院吗?", {}, small_table());
  EXPECT_EQ(feature(f, ComplexityFeature::kTokens), 0);
  EXPECT_EQ(feature(f, ComplexityFeature::kMeanLogProb), 0);  // no tokens: zero
  EXPECT_EQ(feature(f, ComplexityFeature::kSentences), 1);     // "37.5" does not end a sentence
  EXPECT_EQ(feature(f, ComplexityFeature::kMeanSentenceChars), 21);
  EXPECT_FLOAT_EQ(feature(f, ComplexityFeature::kDigitShare), 3.0f / 22);
  EXPECT_EQ(feature(f, ComplexityFeature::kHanShare), 1);
  EXPECT_EQ(feature(f, ComplexityFeature::kClauseMarkers), 3);  // two commas and 如果
  EXPECT_EQ(feature(f, ComplexityFeature::kQuestionMarks), 1);
  EXPECT_EQ(feature(f, ComplexityFeature::kNegations), 2);  // 没, 不

  auto m = model::complexity_features("宝宝2个月 fever 38.3", {}, small_table());
  EXPECT_EQ(feature(m, ComplexityFeature::kSentences), 1);
  EXPECT_EQ(feature(m, ComplexityFeature::kMaxSentenceChars), 14);
  EXPECT_FLOAT_EQ(feature(m, ComplexityFeature::kDigitShare), 4.0f / 14);
  EXPECT_FLOAT_EQ(feature(m, ComplexityFeature::kHanShare), 4.0f / 9);

  auto lines = model::complexity_features("第一行\n第二行。。 Take 2.5 mg. Then rest", {}, small_table());
  EXPECT_EQ(feature(lines, ComplexityFeature::kSentences), 4);
  EXPECT_EQ(feature(lines, ComplexityFeature::kMaxSentenceChars), 9);  // "Take 2.5 mg" without spaces
}

TEST(RouterFeatures, EveryListedWordCountsAndEmptyTextIsZero) {
  // Binary search over the word lists only finds every word when the lists are sorted.
  auto neg = model::complexity_features(
      "aint arent cannot cant couldnt didnt doesnt dont hadnt hasnt havent isnt neither never no nobody none nor not "
      "nothing nowhere shouldnt wasnt werent without wont wouldnt WON'T can’t",
      {}, small_table());
  EXPECT_EQ(feature(neg, ComplexityFeature::kNegations), 29);
  auto sub = model::complexity_features(
      "after although because before if once since that though unless until when whenever where whereas wherever whether "
      "which while who whom whose",
      {}, small_table());
  EXPECT_EQ(feature(sub, ComplexityFeature::kClauseMarkers), 22);
  auto zh = model::complexity_features("因为不过但是的话时候不管", {}, small_table());
  EXPECT_EQ(feature(zh, ComplexityFeature::kClauseMarkers), 6);
  EXPECT_EQ(feature(zh, ComplexityFeature::kNegations), 2);  // the 不 of 不过 and of 不管
  auto none = model::complexity_features("", {}, small_table());
  for (float v : none) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(model::complexity_feature_names().size(), 12u);
  EXPECT_EQ(model::complexity_feature_names()[0], "tokens");
  EXPECT_EQ(model::complexity_feature_names()[11], "negations");
}

// Synthetic calibration inputs: the label depends on tokens and negations, a few are protected.
std::vector<model::RouterExample> synthetic_examples(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<model::RouterExample> ex(static_cast<size_t>(n));
  for (auto& e : ex) {
    for (float& v : e.features) v = u(rng);
    e.features[0] = std::floor(u(rng) * 60);
    e.features[11] = std::floor(u(rng) * 3);
    const int label = e.features[0] < 15 ? 0 : (e.features[0] < 40 && e.features[11] < 2 ? 1 : 2);
    e.agrees = {label == 0, label <= 1, true};
    e.is_protected = u(rng) < 0.1;
    e.drops_protected = {e.is_protected && label > 0, e.is_protected && label > 1, false};
  }
  return ex;
}

TEST(RouterTrees, WalkerGivesXgboostsOwnPredictions) {
  auto ex = synthetic_examples(300, 1);
  model::BoosterParams params;
  params.rounds = 40;
  params.max_depth = 4;
  const std::string json_text = model::train_xgboost(ex, params, model::TradeOff{});
  model::TreeEnsemble trees = model::TreeEnsemble::parse(json_text, "t.json");
  EXPECT_EQ(trees.num_trees(), 40u);
  EXPECT_EQ(trees.num_features(), 12);
  EXPECT_EQ(trees.objective(), "reg:logistic");
  auto test = synthetic_examples(200, 2);
  std::vector<model::ComplexityFeatures> rows;
  for (const auto& e : test) rows.push_back(e.features);
  rows.back()[0] = std::numeric_limits<float>::quiet_NaN();  // missing values follow default_left
  std::vector<float> want = model::xgboost_predict(json_text, rows);
  ASSERT_EQ(want.size(), rows.size());
  double max_diff = 0;
  for (size_t i = 0; i < rows.size(); ++i) max_diff = std::max(max_diff, std::abs(trees.predict(rows[i]) - want[i]));
  EXPECT_LT(max_diff, 1e-5);
  // The trees learned something: short inputs score low, long ones high.
  model::ComplexityFeatures shortf{}, longf{};
  longf[0] = 55;
  longf[11] = 2;
  EXPECT_LT(trees.predict(shortf), 0.25);
  EXPECT_GT(trees.predict(longf), 0.75);
  // Deterministic: the same inputs train the same model.
  EXPECT_EQ(model::train_xgboost(ex, params, model::TradeOff{}), json_text);
}

TEST(RouterTrees, MalformedModelsAreErrorsNamingTheKey) {
  auto bad = [](const std::string& text) {
    try {
      model::TreeEnsemble::parse(text, "bad.json");
    } catch (const model::ModelError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_CONTAINS(bad("{"), "bad.json: not an XGBoost JSON model");
  EXPECT_CONTAINS(bad("{}"), "key 'learner'");
  auto ex = synthetic_examples(50, 3);
  model::BoosterParams params;
  params.rounds = 2;
  std::string good = model::train_xgboost(ex, params, model::TradeOff{});
  std::string wrong_objective = good;
  wrong_objective.replace(wrong_objective.find("reg:logistic"), 12, "multi:softmax");
  EXPECT_CONTAINS(bad(wrong_objective), "objective 'multi:softmax' is not supported");
  std::string cycle = good;
  cycle.replace(cycle.find("\"left_children\":[") + 17, 1, "0");
  EXPECT_CONTAINS(bad(cycle), "child outside the tree");
}

TEST(RouterTraining, AgreementPerHeadTypeAndProtectedLabels) {
  std::vector<model::HeadDef> heads = {
      {"triage", model::HeadType::kSequenceClasses, {"emergency", "urgent", "routine", "self_care"}, 0},
      {"embed", model::HeadType::kEmbedding, {}, 3}};
  auto out = [](std::vector<float> triage, std::vector<float> embed) {
    model::SequenceOutput o;
    o.heads["triage"] = {{4}, std::move(triage)};
    o.heads["embed"] = {{3}, std::move(embed)};
    return o;
  };
  model::AgreementSettings s;
  s.protect = {{"triage", "emergency", 0.35, 0.15}};
  // log(0.4), log(0.3), ... : heavy says emergency 0.4.
  auto logits = [](double a, double b, double c, double d) {
    return std::vector<float>{float(std::log(a)), float(std::log(b)), float(std::log(c)), float(std::log(d))};
  };
  model::SequenceOutput heavy = out(logits(0.4, 0.3, 0.2, 0.1), {1, 0, 0});
  EXPECT_TRUE(model::is_protected(heavy, heads, s));
  auto same = model::outputs_agree(out(logits(0.42, 0.3, 0.18, 0.1), {0.99f, 0.1f, 0}), heavy, heads, s);
  EXPECT_TRUE(same.agrees) << same.why;
  // Below the emergency threshold: disagrees and drops the protected label.
  auto drop = model::outputs_agree(out(logits(0.34, 0.33, 0.23, 0.1), {1, 0, 0}), heavy, heads, s);
  EXPECT_FALSE(drop.agrees);
  EXPECT_TRUE(drop.drops_protected);
  EXPECT_CONTAINS(drop.why, "p(emergency) 0.340 vs heavy's 0.400 across 0.350");
  // Another argmax; the embedding turned away.
  auto other = model::outputs_agree(out(logits(0.36, 0.44, 0.1, 0.1), {1, 0, 0}), heavy, heads, s);
  EXPECT_FALSE(other.agrees);
  EXPECT_FALSE(other.drops_protected);
  EXPECT_CONTAINS(other.why, "argmax urgent vs heavy's emergency");
  auto turned = model::outputs_agree(out(logits(0.4, 0.3, 0.2, 0.1), {0, 1, 0}), heavy, heads, s);
  EXPECT_FALSE(turned.agrees);
  EXPECT_CONTAINS(turned.why, "embed: cosine 0.000");
  s.heads = {"triage"};  // embed left out
  EXPECT_TRUE(model::outputs_agree(out(logits(0.4, 0.3, 0.2, 0.1), {0, 1, 0}), heavy, heads, s).agrees);
  // Over-triage (a cheaper path raising emergency) disagrees but drops nothing.
  model::SequenceOutput calm = out(logits(0.1, 0.2, 0.3, 0.4), {1, 0, 0});
  EXPECT_FALSE(model::is_protected(calm, heads, s));
  auto raised = model::outputs_agree(out(logits(0.4, 0.1, 0.1, 0.4), {1, 0, 0}), calm, heads, s);
  EXPECT_FALSE(raised.agrees);
  EXPECT_FALSE(raised.drops_protected);

  // segment_labels: per segment; a share of the segments may be allowed to differ.
  std::vector<model::HeadDef> seg_heads = {{"clauses", model::HeadType::kSegmentLabels, {"payment", "breach"}, 0}};
  auto segs = [](std::vector<float> logits) {
    model::SequenceOutput o;
    o.heads["clauses"] = {{static_cast<int64_t>(logits.size() / 2), 2}, std::move(logits)};
    return o;
  };
  model::SequenceOutput seg_heavy = segs({3, -3, -3, 3, 3, 3, -3, -3});
  model::AgreementSettings ss;
  EXPECT_TRUE(model::outputs_agree(segs({2.9f, -3, -3, 3.1f, 3, 3, -3, -3}), seg_heavy, seg_heads, ss).agrees);
  auto one_off = model::outputs_agree(segs({3, -3, -3, 3, 3, -3, -3, -3}), seg_heavy, seg_heads, ss);
  EXPECT_FALSE(one_off.agrees);
  EXPECT_CONTAINS(one_off.why, "clauses: segment 2 label breach differs (0.750 of the segments agree)");
  ss.min_segment_share = 0.75;
  EXPECT_TRUE(model::outputs_agree(segs({3, -3, -3, 3, 3, -3, -3, -3}), seg_heavy, seg_heads, ss).agrees);

  EXPECT_THROW(model::check_agreement_settings({{"nope"}}, heads), std::invalid_argument);
  model::AgreementSettings bad_label;
  bad_label.protect = {{"triage", "critical", 0.3, 0.1}};
  EXPECT_THROW(model::check_agreement_settings(bad_label, heads), std::invalid_argument);
}

TEST(RouterTraining, ThresholdsAreTheCheapestWithinTheTradeOff) {
  // Five inputs of 10 tokens, scored 0.1 .. 0.5. Light agrees on the first two, standard on the
  // first four; the fourth is protected and light would drop its protected label.
  std::vector<model::RouterExample> ex(5);
  for (size_t i = 0; i < ex.size(); ++i) {
    ex[i].features[0] = 10;
    ex[i].agrees = {i < 2, i < 4, true};
  }
  ex[3].is_protected = true;
  ex[3].drops_protected = {true, false, false};
  const std::vector<double> scores = {0.1, 0.2, 0.3, 0.4, 0.5};
  const std::array<double, 3> costs = {0.25, 0.5, 1.0};
  model::TradeOff strict;
  strict.max_disagreement = 0;
  auto c = model::choose_thresholds(scores, ex, costs, strict, 0, 1);
  EXPECT_DOUBLE_EQ(c.thresholds.low, 0.25);
  EXPECT_DOUBLE_EQ(c.thresholds.medium, 0.45);
  EXPECT_EQ(c.routed, (std::array<int64_t, 3>{2, 2, 1}));
  EXPECT_EQ(c.disagreements, 0);
  EXPECT_DOUBLE_EQ(c.relative_cost, (2 * 0.25 + 2 * 0.5 + 1.0) / 5);
  // Allowing one disagreement (20%) but no dropped protected label: the cheapest is to send the
  // fifth input to standard as well, not the fourth to light.
  model::TradeOff loose;
  loose.max_disagreement = 0.2;
  auto d = model::choose_thresholds(scores, ex, costs, loose, 0, 1);
  EXPECT_EQ(d.routed, (std::array<int64_t, 3>{2, 3, 0}));
  EXPECT_EQ(d.disagreements, 1);
  EXPECT_EQ(d.protected_disagreements, 0);
  EXPECT_DOUBLE_EQ(d.thresholds.medium, 1.0);
  // Everything allowed: all light.
  model::TradeOff any;
  any.max_disagreement = 1;
  any.protected_max_disagreement = 1;
  EXPECT_EQ(model::choose_thresholds(scores, ex, costs, any, 0, 1).routed, (std::array<int64_t, 3>{5, 0, 0}));
  // Cross-validation scores every input once, from a model that did not see it.
  auto many = synthetic_examples(60, 4);
  model::BoosterParams params;
  params.rounds = 10;
  auto oof = model::cross_validated_scores(many, params, model::TradeOff{});
  ASSERT_EQ(oof.size(), many.size());
  for (double v : oof) EXPECT_TRUE(v > 0 && v < 1);
  EXPECT_THROW(model::cross_validated_scores(std::span(many).first(7), params, model::TradeOff{}), model::RouterTrainError);
  // Analytic costs: heavy 1, cheaper paths less.
  model::ModelConfig cfg = model::small_test_config();
  model::PathSpec light{0.5, 2, {0}, std::nullopt}, standard{1.0, 4, {}, std::nullopt}, heavy{1.5, 4, {}, std::nullopt};
  auto pc = model::relative_path_costs({light, standard, heavy}, cfg);
  EXPECT_DOUBLE_EQ(pc[2], 1.0);
  EXPECT_LT(pc[0], pc[1]);
  EXPECT_LT(pc[1], 1.0);
}

// A router sidecar's text for a model hash, by hand (kind length unless `trees` is given).
std::string sidecar(const std::string& sha, double low, double medium, const std::string& trees = "") {
  std::string y = "format: deepseek-router\nversion: 1\nkind: " + std::string(trees.empty() ? "length" : "xgboost") + "\n";
  if (!trees.empty()) y += "trees: " + trees + "\n";
  y += "model: {name: m, sha256: '" + sha + "'}\n";
  y += "features: [tokens, sentences, mean_sentence_chars, max_sentence_chars, mean_log_prob, min_log_prob, "
       "rare_token_share, digit_share, han_share, clause_markers, question_marks, negations]\n";
  y += "paths: [light, standard, heavy]\nthresholds: {low: " + std::to_string(low) + ", medium: " + std::to_string(medium) + "}\n";
  return y;
}

std::string load_error(const fs::path& p) {
  try {
    model::Router::load(p.string());
  } catch (const model::ModelError& e) {
    return e.what();
  }
  return "no error";
}

TEST(RouterFiles, RoundTripAndRefusalForAnotherModel) {
  TempDir dir;
  auto ex = synthetic_examples(120, 5);
  model::BoosterParams params;
  params.rounds = 20;
  model::RouterTrainingReport r;
  r.info.kind = model::RouterKind::kXgboost;
  r.info.model_name = "m";
  r.info.model_sha256 = "sha256:" + std::string(64, 'a');
  r.info.tokenizer = "sha256:" + std::string(64, 'b');
  r.info.paths = {"light", "standard", "heavy"};
  r.info.thresholds = {0.3, 0.7};
  r.info.trees_file = "m.router.json";
  r.model_file = "m.safetensors";
  r.inputs = 120;
  r.agreement.protect = {{"triage", "emergency", 0.35, 0.2}};
  const std::string json_text = model::train_xgboost(ex, params, r.tradeoff);
  write_file(dir / "m.router.json", json_text);
  write_file(dir / "m.router.yaml", model::router_sidecar_yaml(r));
  auto router = model::Router::load((dir / "m.router.yaml").string());
  const model::RouterInfo& i = router->info();
  EXPECT_EQ(i.kind, model::RouterKind::kXgboost);
  EXPECT_EQ(i.model_name, "m");
  EXPECT_EQ(i.model_sha256, r.info.model_sha256);
  EXPECT_EQ(i.tokenizer, r.info.tokenizer);
  EXPECT_EQ(i.paths, r.info.paths);
  EXPECT_DOUBLE_EQ(i.thresholds.low, 0.3);
  EXPECT_DOUBLE_EQ(i.thresholds.medium, 0.7);
  EXPECT_EQ(i.trees_file, (dir / "m.router.json").string());
  model::TreeEnsemble trees = model::TreeEnsemble::parse(json_text, "x");
  for (const auto& e : ex) EXPECT_DOUBLE_EQ(router->score(e.features), trees.predict(e.features));
  EXPECT_EQ(model::Router::choose(0.29, i.thresholds), 0);
  EXPECT_EQ(model::Router::choose(0.3, i.thresholds), 1);
  EXPECT_EQ(model::Router::choose(0.7, i.thresholds), 2);

  EXPECT_NO_THROW(router->check_model(r.info.model_sha256, "m.safetensors"));
  try {
    router->check_model("sha256:" + std::string(64, 'c'), "other.safetensors");
    ADD_FAILURE() << "a router for another model was accepted";
  } catch (const model::ModelError& e) {
    EXPECT_CONTAINS(e.what(), (dir / "m.router.yaml").string());
    EXPECT_CONTAINS(e.what(), "trained for model 'm'");
    EXPECT_CONTAINS(e.what(), "not for other.safetensors");
  }

  // A length router scores the token count.
  write_file(dir / "l.yaml", sidecar(r.info.model_sha256, 5, 9));
  auto length = model::Router::load((dir / "l.yaml").string());
  model::ComplexityFeatures f{};
  f[0] = 7;
  EXPECT_EQ(length->score(f), 7);
  EXPECT_EQ(model::Router::choose(length->score(f), length->info().thresholds), 1);
}

TEST(RouterFiles, BrokenFilesAreErrorsNamingTheFile) {
  TempDir dir;
  const std::string sha = "sha256:" + std::string(64, 'a');
  auto check = [&](const std::string& name, const std::string& text, const std::vector<std::string>& expect) {
    SCOPED_TRACE(name);
    write_file(dir / name, text);
    std::string e = load_error(dir / name);
    EXPECT_CONTAINS(e, (dir / name).string());
    for (const std::string& s : expect) EXPECT_CONTAINS(e, s);
  };
  check("yaml.yaml", "format: [unclosed", {"not valid YAML"});
  check("list.yaml", "- a\n- b\n", {"expected a router sidecar"});
  check("format.yaml", "format: other\n", {"key 'format'"});
  std::string s = sidecar(sha, 1, 2);
  check("version.yaml", std::string(s).replace(s.find("version: 1"), 10, "version: 9"), {"version 9 is not supported"});
  check("kind.yaml", std::string(s).replace(s.find("kind: length"), 12, "kind: forest"), {"key 'kind'"});
  check("features.yaml", std::string(s).replace(s.find("[tokens, sentences"), 18, "[sentences, tokens"), {"key 'features'"});
  check("paths.yaml", std::string(s).replace(s.find("[light, standard, heavy]"), 24, "[light, light, heavy]"), {"key 'paths'"});
  check("order.yaml", sidecar(sha, 3, 2), {"key 'thresholds'", "low must not be greater"});
  check("sha.yaml", std::string(s).replace(s.find(sha), sha.size(), "abc"), {"key 'model.sha256'"});
  check("nothresh.yaml", s.substr(0, s.find("thresholds:")), {"key 'thresholds'", "missing"});
  EXPECT_CONTAINS(load_error(dir / "absent.yaml"), "absent.yaml: cannot read the router file");
  // The trees file: missing, or not XGBoost JSON; the message names the trees file.
  write_file(dir / "t1.yaml", sidecar(sha, 0.3, 0.6, "gone.json"));
  std::string e = load_error(dir / "t1.yaml");
  EXPECT_CONTAINS(e, (dir / "gone.json").string());
  EXPECT_CONTAINS(e, "cannot read the router trees");
  write_file(dir / "t2.yaml", sidecar(sha, 0.3, 0.6, "junk.json"));
  write_file(dir / "junk.json", "{\"learner\": 5}");
  EXPECT_CONTAINS(load_error(dir / "t2.yaml"), (dir / "junk.json").string());
}

// --- the model.encode stage with path: auto ---

std::string write_model(const TempDir& dir, const std::string& name = "m.safetensors", uint64_t seed = 1) {
  model::RandomModelSpec spec;
  spec.seed = seed;
  spec.config.vocab_size = 16000;
  spec.tokenizer = sha256_tagged(read_file(tokenizer_path()));
  model::make_random_model(spec).write((dir / name).string());
  return (dir / name).string();
}

std::string pipeline(const std::string& model_options, const fs::path& db = {}) {
  std::string y = "version: 1\nname: m\ninput:\n  include: ['*']\nstages:\n  - decode\n  - normalize\n  - segment\n"
                  "  - tokenize: {model: " + q(tokenizer_path()) + "}\n  - model.encode: {" + model_options + "}\n";
  if (!db.empty()) y += "sinks:\n  - sqlite: {path: " + q(db) + "}\n";
  return y + "run: {threads: 1, batch_size: 8, progress: none}\n";
}

std::string load_errors(const fs::path& yaml) {
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  try {
    load_pipeline(yaml, registry, host);
    return "";
  } catch (const ConfigErrors& e) {
    std::string text;
    for (const ConfigError& err : e.errors()) text += err.format() + "\n";
    return text;
  }
}

void run_pipeline(const fs::path& yaml, std::vector<Document>& docs) {
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  PipelineConfig cfg = load_pipeline(yaml, registry, host);
  std::vector<Document*> ptrs;
  for (Document& d : docs) ptrs.push_back(&d);
  for (const StageConfig& sc : cfg.stages) {
    auto stage = (*registry.stage_factory(sc.stage))(sc.options, StageContext{sc.instance_name, cfg.base_dir, 0});
    std::vector<Document*> live;
    for (Document* d : ptrs)
      if (!d->failed()) live.push_back(d);
    stage->process_batch(live, sc.instance_name);
  }
}

std::vector<Document> question_docs() {
  std::vector<Document> docs;
  for (const char* text :
       {"头痛怎么办", "The Buyer shall pay USD 10,000 within 30 days of delivery. Late payment bears interest.",
        "胸口疼", "甲方向乙方采购设备，总价人民币十万元。乙方应于2024年3月1日前交货，逾期交货的，每日按合同总价的千分之一支付违约金。"}) {
    Document d;
    d.bytes = text;
    docs.push_back(std::move(d));
  }
  return docs;
}

const Annotation* route_of(const Document& d) {
  for (const Annotation& a : d.annotations)
    if (a.label == "route") return &a;
  return nullptr;
}

TEST(RouterStage, AutoRecordsPathAndScoreAndRunsThePathItChose) {
  TempDir dir;
  const std::string m = write_model(dir);
  write_file(dir / "r.yaml", sidecar(sha256_file_tagged(m), 8, 30));
  write_file(dir / "auto.yaml", pipeline("model: " + q(m) + ", path: auto, router: " + q(dir / "r.yaml") +
                                         ", tokenizer: " + q(tokenizer_path())));
  std::vector<Document> docs = question_docs();
  run_pipeline(dir / "auto.yaml", docs);
  model::Encoder enc(model::ModelFile::open(m));
  std::set<std::string> chosen;
  for (Document& d : docs) {
    ASSERT_FALSE(d.failed()) << d.error;
    const Annotation* a = route_of(d);
    ASSERT_NE(a, nullptr);
    const double tokens = static_cast<double>(d.tokens.size());
    const std::string want = tokens < 8 ? "light" : tokens < 30 ? "standard" : "heavy";
    EXPECT_EQ(a->attributes.at("path"), want) << tokens;
    EXPECT_EQ(a->score, tokens);  // a length router's score is the token count
    EXPECT_EQ(a->attributes.at("router"), "r.yaml");
    EXPECT_EQ(a->span.begin, 0u);
    EXPECT_EQ(a->span.end, 0u);
    EXPECT_EQ(a->stage, "model.encode");
    chosen.insert(want);
    // The outputs are the chosen path's.
    std::vector<int32_t> ids;
    for (const Token& t : d.tokens) ids.push_back(t.id);
    model::SequenceInput in{ids, {}};
    model::EncodeRequest req;
    req.path = enc.path(want);
    auto out = enc.encode({&in, 1}, req, nullptr);
    const std::vector<float>& got = d.outputs.at("triage").data;
    ASSERT_EQ(got.size(), out[0].heads.at("triage").data.size());
    for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], out[0].heads.at("triage").data[k], 1e-5);
  }
  EXPECT_EQ(chosen.size(), 3u) << "the documents should span all three paths";

  // The thresholds can be overridden in the YAML: everything light.
  write_file(dir / "low.yaml", pipeline("model: " + q(m) + ", path: auto, router: " + q(dir / "r.yaml") + ", tokenizer: " +
                                        q(tokenizer_path()) + ", low: 1000, medium: 1000"));
  docs = question_docs();
  run_pipeline(dir / "low.yaml", docs);
  for (Document& d : docs) EXPECT_EQ(route_of(d)->attributes.at("path"), "light");

  // Forcing a path still works with a router next to the model, and records no route.
  fs::copy_file(dir / "r.yaml", dir / "m.router.yaml");
  write_file(dir / "heavy.yaml", pipeline("model: " + q(m) + ", path: heavy"));
  docs = question_docs();
  run_pipeline(dir / "heavy.yaml", docs);
  for (Document& d : docs) {
    EXPECT_EQ(route_of(d), nullptr);
    std::vector<int32_t> ids;
    for (const Token& t : d.tokens) ids.push_back(t.id);
    model::SequenceInput in{ids, {}};
    model::EncodeRequest req;
    req.path = enc.path("heavy");
    auto out = enc.encode({&in, 1}, req, nullptr);
    for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(d.outputs.at("triage").data[k], out[0].heads.at("triage").data[k], 1e-5);
  }

  // Defaults: the router next to the model (m.router.yaml) and the tokenizer next to it.
  fs::copy_file(tokenizer_path(), dir / "tokenizer.model");
  write_file(dir / "default.yaml", pipeline("model: " + q(m) + ", path: auto"));
  EXPECT_EQ(load_errors(dir / "default.yaml"), "");
  docs = question_docs();
  run_pipeline(dir / "default.yaml", docs);
  EXPECT_EQ(route_of(docs[0])->attributes.at("router"), "m.router.yaml");
}

TEST(RouterStage, RoutesReachTheSinks) {
  TempDir dir;
  const std::string m = write_model(dir);
  write_file(dir / "r.yaml", sidecar(sha256_file_tagged(m), 8, 30));
  write_file(dir / "in/a.txt", "头痛怎么办\n");
  write_file(dir / "in/b.txt", "The Buyer shall pay USD 10,000 within 30 days of delivery. Late payment bears interest.\n");
  write_file(dir / "p.yaml", pipeline("model: " + q(m) + ", path: auto, router: " + q(dir / "r.yaml") +
                                          ", tokenizer: " + q(tokenizer_path()),
                                      dir / "r.db"));
  auto r = deepseek("run " + q(dir / "p.yaml") + " " + q(dir / "in"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = query(dir / "r.db",
                    "SELECT d.path, a.label, a.attributes FROM annotations a JOIN documents d ON d.id = a.document_id "
                    "ORDER BY d.path");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_CONTAINS(rows[0], "a.txt|route|{\"path\":\"light\",\"router\":\"r.yaml\",\"score\":\"");
  EXPECT_CONTAINS(rows[1], "b.txt|route|{\"path\":\"standard\"");
}

TEST(RouterStage, ConfigurationErrorsNameTheKeyAndFile) {
  TempDir dir;
  const std::string m = write_model(dir);
  const std::string other = write_model(dir, "other.safetensors", 2);
  write_file(dir / "other.txt", "x");
  write_file(dir / "for-other.yaml", sidecar("sha256:" + std::string(64, 'f'), 8, 30));
  write_file(dir / "broken.yaml", "format: deepseek-router\nversion: 1\nkind: length\n");
  write_file(dir / "good.yaml", sidecar(sha256_file_tagged(m), 8, 30));
  const std::string tok = ", tokenizer: " + q(tokenizer_path());
  struct Case {
    std::string options;
    std::vector<std::string> expect;
  };
  std::vector<Case> cases = {
      {"model: " + q(m) + ", path: auto" + tok, {"stages[4].model.encode.path", "path: auto needs a router", "m.router.yaml"}},
      {"model: " + q(m) + ", path: auto, router: " + q(dir / "for-other.yaml") + tok,
       {"stages[4].model.encode.router", "for-other.yaml", "trained for model 'm'", "m.safetensors"}},
      {"model: " + q(m) + ", path: auto, router: " + q(dir / "broken.yaml") + tok,
       {"stages[4].model.encode.router", "broken.yaml", "key 'model'"}},
      {"model: " + q(m) + ", path: auto, router: " + q(dir / "absent.yaml") + tok, {"absent.yaml", "cannot read"}},
      {"model: " + q(m) + ", path: auto, router: " + q(dir / "good.yaml") + ", tokenizer: " + q(dir / "other.txt"),
       {"stages[4].model.encode.tokenizer", "was trained with tokenizer"}},
      {"model: " + q(m) + ", path: auto, router: " + q(dir / "good.yaml"),
       {"stages[4].model.encode.tokenizer", "no tokenizer.model next to"}},
      {"model: " + q(m) + ", path: auto, ffn_ratio: 1.0, router: " + q(dir / "good.yaml") + tok,
       {"stages[4].model.encode.path", "cannot be combined"}},
      {"model: " + q(m) + ", path: auto, low: 50, router: " + q(dir / "good.yaml") + tok,
       {"stages[4].model.encode.low", "low must not be greater than medium"}},
      {"model: " + q(other) + ", path: auto, router: " + q(dir / "good.yaml") + tok,
       {"stages[4].model.encode.router", "not for " + other}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.options);
    write_file(dir / "p.yaml", pipeline(c.options));
    std::string errors = load_errors(dir / "p.yaml");
    ASSERT_FALSE(errors.empty());
    for (const std::string& s : c.expect) EXPECT_CONTAINS(errors, s);
  }
  write_file(dir / "p.yaml", pipeline("model: " + q(m) + ", path: auto, router: " + q(dir / "good.yaml") + tok));
  EXPECT_EQ(load_errors(dir / "p.yaml"), "");
}

TEST(RouterCommand, TrainWritesARouterThePipelineAccepts) {
  TempDir dir;
  const std::string m = write_model(dir);
  std::string jsonl;
  const char* texts[] = {"头痛怎么办", "胸口疼", "sore throat", "can't breathe", "我发烧三天了，吃了退烧药还是不退，怎么办？",
                         "My 2 year old has had a fever of 39.5 for two days and is not drinking, should I worry?",
                         "没有发烧也没有呼吸困难，就是有点鼻塞", "I had chest pain last year, now fine",
                         "怀孕5个月，刷牙牙龈出血正常吗", "crooked teeth", "宝宝2个月 fever 38.3", "中风前兆有哪些表现"};
  int i = 0;
  for (const char* t : texts)
    jsonl += "{\"id\": \"q" + std::to_string(i) + "\", \"text\": \"" + t + "\", \"split\": \"" +
             (i++ % 6 == 5 ? "dev" : "train") + "\"}\n";
  write_file(dir / "q.jsonl", jsonl);
  write_file(dir / "settings.yaml",
             "split: train\nagreement: {heads: [triage], class_prob_tolerance: 0.2}\n"
             "protect: [{head: triage, label: urgent, threshold: 0.35, near: 0.2}]\n"
             "tradeoff: {max_disagreement: 0.1}\nxgboost: {rounds: 5, folds: 2}\n");
  auto r = deepseek("router train --model " + q(m) + " --data " + q(dir / "q.jsonl") + " --config " + q(dir / "settings.yaml") +
                    " --tokenizer " + q(tokenizer_path()) + " --kind both --json --labels " + q(dir / "labels.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["inputs"], 10);  // two of the twelve are dev
  EXPECT_EQ(summary["routers"].size(), 2u);
  EXPECT_TRUE(fs::exists(dir / "m.router.json"));
  EXPECT_TRUE(fs::exists(dir / "m.length-router.yaml"));
  auto router = model::Router::load((dir / "m.router.yaml").string());
  EXPECT_NO_THROW(router->check_model(sha256_file_tagged(m), m));
  EXPECT_EQ(router->info().tokenizer, sha256_tagged(read_file(tokenizer_path())));
  const std::string side = read_file(dir / "m.router.yaml");
  EXPECT_CONTAINS(side, "inputs: 10");
  EXPECT_CONTAINS(side, "max_disagreement: 0.1");
  EXPECT_CONTAINS(side, "{head: triage, label: urgent, threshold: 0.35, near: 0.2}");
  const std::string labels = read_file(dir / "labels.jsonl");
  EXPECT_EQ(std::count(labels.begin(), labels.end(), '\n'), 10);

  fs::copy_file(tokenizer_path(), dir / "tokenizer.model");
  write_file(dir / "p.yaml", pipeline("model: " + q(m) + ", path: auto"));
  EXPECT_EQ(load_errors(dir / "p.yaml"), "");
  auto info = deepseek("router info " + q(dir / "m.router.yaml") + " --model " + q(m));
  EXPECT_EQ(info.exit_code, 0) << info.err;
  EXPECT_CONTAINS(info.out, "xgboost router for model 'm'");

  // Bad inputs: exit code 2 and a message naming the file and line or key.
  write_file(dir / "bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"txt\": \"c\"}\n");
  auto bad = deepseek("router train --model " + q(m) + " --data " + q(dir / "bad.jsonl") + " --tokenizer " + q(tokenizer_path()));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_CONTAINS(bad.err, "bad.jsonl:3: expected an object with a string member \"text\"");
  write_file(dir / "bad-settings.yaml", "tradeoff:\n  max_disagrement: 0.1\n");
  auto typo = deepseek("router train --model " + q(m) + " --data " + q(dir / "q.jsonl") + " --config " +
                       q(dir / "bad-settings.yaml") + " --tokenizer " + q(tokenizer_path()));
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_CONTAINS(typo.err, "bad-settings.yaml:2: key 'tradeoff.max_disagrement': unknown key");
  auto wrong_tok = deepseek("router train --model " + q(m) + " --data " + q(dir / "q.jsonl") + " --tokenizer " +
                            q(dir / "settings.yaml"));
  EXPECT_EQ(wrong_tok.exit_code, 2);
  EXPECT_CONTAINS(wrong_tok.err, "was trained with tokenizer");
  auto bad_info = deepseek("router info " + q(dir / "m.router.yaml") + " --model " + q(tokenizer_path()));
  EXPECT_EQ(bad_info.exit_code, 2);
  EXPECT_CONTAINS(bad_info.err, "trained for model 'm'");
}

}  // namespace
}  // namespace ds::test
