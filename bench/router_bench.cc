// The adaptive-path router on the medical triage questions (bench/RESULTS.md, "Adaptive inference
// router"): for each mode (always heavy / standard / light, `path: auto` with the XGBoost router,
// `path: auto` with the token-count baseline router) it runs the medqa pipeline in-process on every
// question of one split, one question at a time as the console does, and reports the share of
// questions per path, mean and p99 latency of the model.encode stage (routing included) and of the
// whole pipeline, triage accuracy and emergency recall (final level, and the model's own level).
// It also times the complexity features against a light forward pass, and one probe question
// (default 头痛怎么办) under auto against heavy.
//
//   build/release/bench/ds_router_bench --model data/models/medical-small.safetensors \
//       --router data/models/medical-small.router.yaml --length-router data/models/medical-small.length-router.yaml
#include <xgboost/c_api.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/pipeline_loader.h"
#include "core/registry.h"
#include "ds/document.h"
#include "ds/stage.h"
#include "model/complexity_features.h"
#include "model/encoder.h"
#include "model/router.h"
#include "plugin/plugin_host.h"
#include "tokenize/tokenizer.h"

namespace {

namespace fs = std::filesystem;
namespace model = ds::model;
using Clock = std::chrono::steady_clock;
using nlohmann::ordered_json;

constexpr const char* kHelp = R"(usage: ds_router_bench --model FILE --router FILE [options]

options:
  --model FILE          the medical model (.safetensors) (required)
  --router FILE         its XGBoost router sidecar (<model>.router.yaml) (required)
  --length-router FILE  the token-count baseline router (<model>.length-router.yaml); optional
  --also NAME=FILE      one more router to run as mode NAME (repeatable), e.g. another trade-off
  --tokenizer FILE      default data/models/tokenizer.model
  --pipeline FILE       default bench/router_triage.yaml (the triage stages of pipelines/medical_qa.yaml)
  --questions FILE      default data/medical/triage/questions.jsonl
  --split NAME          default dev
  --rounds N            timing rounds per question and mode (median taken), default 5
  --probe TEXT          the simple question timed alone, default 头痛怎么办
  --json FILE           also write the results as JSON
)";

struct Question {
  std::string id, text, gold, department;
};

struct Mode {
  std::string name;    // heavy, standard, light, auto, auto-length
  std::string path;    // model.encode path
  std::string router;  // for auto
};

// One pipeline's stages, created as the engine creates them (worker 0).
class Runner {
 public:
  Runner(const fs::path& pipeline, const Mode& mode, const std::string& model, const std::string& tokenizer) {
    ds::register_builtins(registry_);
    using Section = ds::OptionOverride::Section;
    std::vector<ds::OptionOverride> o = {{Section::kStage, "model.encode", "model", model},
                                         {Section::kStage, "model.encode", "path", mode.path},
                                         {Section::kStage, "model.encode", "threads", int64_t{1}}};
    if (!mode.router.empty()) {
      o.push_back({Section::kStage, "model.encode", "router", mode.router});
      o.push_back({Section::kStage, "model.encode", "tokenizer", tokenizer});
    }
    config_ = ds::load_pipeline(pipeline, registry_, host_, o);
    for (const ds::StageConfig& sc : config_.stages) {
      stages_.push_back((*registry_.stage_factory(sc.stage))(sc.options, ds::StageContext{sc.instance_name, config_.base_dir, 0}));
      names_.push_back(sc.instance_name);
      is_model_.push_back(sc.stage == "model.encode");
    }
  }

  struct Result {
    ds::Document doc;
    double total_ms = 0, model_ms = 0;
  };

  Result run(const std::string& text) {
    Result r;
    r.doc.source.path = "question";
    r.doc.bytes = text;
    ds::Document* one = &r.doc;
    for (size_t s = 0; s < stages_.size() && !r.doc.failed(); ++s) {
      const auto t0 = Clock::now();
      stages_[s]->process_batch({&one, 1}, names_[s]);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      r.total_ms += ms;
      if (is_model_[s]) r.model_ms += ms;
    }
    return r;
  }

 private:
  ds::PluginHost host_;
  ds::Registry registry_;
  ds::PipelineConfig config_;
  std::vector<std::unique_ptr<ds::Stage>> stages_;
  std::vector<std::string> names_;
  std::vector<bool> is_model_;
};

std::string attribute(const ds::Document& d, const std::string& label, const std::string& key) {
  for (const ds::Annotation& a : d.annotations)
    if (a.label == label) {
      auto it = a.attributes.find(key);
      return it == a.attributes.end() ? "" : it->second;
    }
  return "";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t k = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(k, v.size() - 1)];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

template <typename F>
double time_us(int iterations, F&& f) {
  const auto t0 = Clock::now();
  for (int i = 0; i < iterations; ++i) f();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, router, length_router, json_out;
  std::vector<std::pair<std::string, std::string>> also;
  std::string tokenizer = "data/models/tokenizer.model", pipeline = "bench/router_triage.yaml";
  std::string questions_file = "data/medical/triage/questions.jsonl", split = "dev", probe = "头痛怎么办";
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model = value();
    else if (a == "--router") router = value();
    else if (a == "--length-router") length_router = value();
    else if (a == "--also") {
      const std::string v = value();
      if (v.find('=') == std::string::npos) {
        std::cerr << "--also expects NAME=FILE\n";
        return 2;
      }
      also.emplace_back(v.substr(0, v.find('=')), fs::absolute(v.substr(v.find('=') + 1)).lexically_normal().string());
    }
    else if (a == "--tokenizer") tokenizer = value();
    else if (a == "--pipeline") pipeline = value();
    else if (a == "--questions") questions_file = value();
    else if (a == "--split") split = value();
    else if (a == "--rounds") rounds = std::max(1, std::stoi(value()));
    else if (a == "--probe") probe = value();
    else if (a == "--json") json_out = value();
    else {
      std::cerr << kHelp;
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (model.empty() || router.empty()) {
    std::cerr << kHelp;
    return 2;
  }
  auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  model = absolute(model);
  router = absolute(router);
  tokenizer = absolute(tokenizer);
  if (!length_router.empty()) length_router = absolute(length_router);

  std::vector<Question> questions;
  {
    std::ifstream in(questions_file);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto j = ordered_json::parse(line);
      if (!split.empty() && j.value("split", "") != split) continue;
      questions.push_back({j["id"], j["text"], j["triage"], j["department"]});
    }
  }
  if (questions.empty()) {
    std::cerr << "no questions in " << questions_file << " with split " << split << "\n";
    return 2;
  }

  std::vector<Mode> modes = {{"heavy", "heavy", ""}, {"standard", "standard", ""}, {"light", "light", ""}, {"auto", "auto", router}};
  if (!length_router.empty()) modes.push_back({"auto-length", "auto", length_router});
  for (const auto& [name, file] : also) modes.push_back({name, "auto", file});
  std::vector<std::unique_ptr<Runner>> runners;
  try {
    for (const Mode& m : modes) runners.push_back(std::make_unique<Runner>(pipeline, m, model, tokenizer));
  } catch (const ds::ConfigErrors& e) {
    for (const auto& err : e.errors()) std::cerr << err.format() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }

  // Rounds over questions over modes, interleaved, so drift in the machine's load hits every mode alike.
  const size_t M = modes.size(), Q = questions.size();
  std::vector<std::vector<std::vector<double>>> model_ms(M, std::vector<std::vector<double>>(Q)), total_ms = model_ms;
  std::vector<std::vector<std::string>> level(M, std::vector<std::string>(Q)), model_level = level, path = level,
                                        department = level;
  for (int r = 0; r < rounds; ++r) {
    for (size_t q = 0; q < Q; ++q)
      for (size_t m = 0; m < M; ++m) {
        auto res = runners[m]->run(questions[q].text);
        if (res.doc.failed()) {
          std::cerr << modes[m].name << " " << questions[q].id << ": " << res.doc.error << "\n";
          return 3;
        }
        model_ms[m][q].push_back(res.model_ms);
        total_ms[m][q].push_back(res.total_ms);
        level[m][q] = attribute(res.doc, "triage", "level");
        model_level[m][q] = attribute(res.doc, "triage", "model_level");
        department[m][q] = attribute(res.doc, "triage", "department");
        const std::string p = attribute(res.doc, "route", "path");
        path[m][q] = p.empty() ? modes[m].path : p;
      }
    std::fprintf(stderr, "round %d/%d done\n", r + 1, rounds);
  }

  ordered_json out;
  out["model"] = model;
  out["router"] = router;
  out["length_router"] = length_router;
  out["questions"] = Q;
  out["split"] = split;
  out["rounds"] = rounds;
  out["modes"] = ordered_json::array();
  size_t gold_emergency = 0;
  for (const Question& qq : questions) gold_emergency += qq.gold == "emergency";
  double heavy_model_mean = 0;
  std::printf("%zu %s questions (%zu emergencies), %d rounds, medians per question\n\n", Q, split.c_str(), gold_emergency, rounds);
  std::printf("| mode | light / standard / heavy | model.encode mean ms | p99 ms | vs heavy | pipeline mean ms | p99 ms | "
              "triage acc | emergency recall | model-only acc | model-only emerg. recall | department acc | level = heavy's |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t m = 0; m < M; ++m) {
    std::vector<double> mm, tm;
    std::map<std::string, int> share;
    int correct = 0, model_correct = 0, emerg = 0, model_emerg = 0, dept = 0, same_as_heavy = 0;
    for (size_t q = 0; q < Q; ++q) {
      mm.push_back(median(model_ms[m][q]));
      tm.push_back(median(total_ms[m][q]));
      ++share[path[m][q]];
      correct += level[m][q] == questions[q].gold;
      model_correct += model_level[m][q] == questions[q].gold;
      dept += department[m][q] == questions[q].department;
      same_as_heavy += level[m][q] == level[0][q];
      if (questions[q].gold == "emergency") {
        emerg += level[m][q] == "emergency";
        model_emerg += model_level[m][q] == "emergency";
      }
    }
    if (m == 0) heavy_model_mean = mean(mm);
    auto pct = [&](const char* p) { return 100.0 * share[p] / static_cast<double>(Q); };
    const double acc = static_cast<double>(correct) / Q, macc = static_cast<double>(model_correct) / Q;
    const double rec = gold_emergency ? static_cast<double>(emerg) / gold_emergency : 0;
    const double mrec = gold_emergency ? static_cast<double>(model_emerg) / gold_emergency : 0;
    const double dacc = static_cast<double>(dept) / Q, same = static_cast<double>(same_as_heavy) / Q;
    std::printf("| %s | %.0f%% / %.0f%% / %.0f%% | %.3f | %.3f | %.2fx | %.3f | %.3f | %.1f%% | %.1f%% (%d/%zu) | %.1f%% | %.1f%% | %.1f%% | %.1f%% |\n",
                modes[m].name.c_str(), pct("light"), pct("standard"), pct("heavy"), mean(mm), percentile(mm, 0.99),
                heavy_model_mean / mean(mm), mean(tm), percentile(tm, 0.99), 100 * acc, 100 * rec, emerg, gold_emergency,
                100 * macc, 100 * mrec, 100 * dacc, 100 * same);
    out["modes"].push_back({{"mode", modes[m].name},
                            {"share", {{"light", pct("light")}, {"standard", pct("standard")}, {"heavy", pct("heavy")}}},
                            {"model_encode_ms", {{"mean", mean(mm)}, {"p99", percentile(mm, 0.99)}}},
                            {"pipeline_ms", {{"mean", mean(tm)}, {"p99", percentile(tm, 0.99)}}},
                            {"speedup_vs_heavy", heavy_model_mean / mean(mm)},
                            {"triage_accuracy", acc},
                            {"emergency_recall", rec},
                            {"model_only_triage_accuracy", macc},
                            {"model_only_emergency_recall", mrec},
                            {"department_accuracy", dacc},
                            {"final_level_same_as_heavy", same}});
  }

  // The probe question alone, many times: auto against heavy (model.encode stage, routing included).
  {
    const int n = 300;
    std::vector<double> heavy, light, autom;
    std::string probe_path;
    for (int i = 0; i < n; ++i) {
      heavy.push_back(runners[0]->run(probe).model_ms);
      light.push_back(runners[2]->run(probe).model_ms);
      auto r = runners[3]->run(probe);
      autom.push_back(r.model_ms);
      probe_path = attribute(r.doc, "route", "path");
    }
    std::printf("\nprobe %s: routed to %s; model.encode median %.3f ms (auto) vs %.3f ms (heavy): %.2fx faster "
                "(light forced: %.3f ms, %.2fx)\n",
                probe.c_str(), probe_path.c_str(), median(autom), median(heavy), median(heavy) / median(autom),
                median(light), median(heavy) / median(light));
    out["probe"] = {{"text", probe},          {"path", probe_path},
                    {"auto_ms", median(autom)}, {"heavy_ms", median(heavy)},
                    {"light_ms", median(light)}, {"speedup", median(heavy) / median(autom)}};
  }

  // The features' cost against a light forward pass, per question (direct calls, one thread).
  {
    ds::Tokenizer tok(tokenizer);
    model::UnigramTable table(tok.unigram_log_probs());
    auto r = model::Router::load(router);
    model::Encoder enc(model::ModelFile::open(model));
    model::EncodeRequest light;
    light.path = enc.path("light");
    light.hidden = false;
    std::vector<double> feat_us, tree_us, light_us, xgb_us;
    double max_diff = 0;
    BoosterHandle booster = nullptr;
    if (XGBoosterCreate(nullptr, 0, &booster) != 0 || XGBoosterLoadModel(booster, r->info().trees_file.c_str()) != 0 ||
        XGBoosterSetParam(booster, "nthread", "1") != 0) {
      std::cerr << "XGBoost cannot load " << r->info().trees_file << ": " << XGBGetLastError() << "\n";
      booster = nullptr;
    }
    for (const Question& qq : questions) {
      std::vector<ds::Token> tokens;
      tok.encode(qq.text, 0, tokens);
      std::vector<int32_t> ids;
      for (const auto& t : tokens) ids.push_back(t.id);
      model::ComplexityFeatures f{};
      feat_us.push_back(time_us(2000, [&] { f = model::complexity_features(qq.text, ids, table); }));
      volatile double sink = 0;
      tree_us.push_back(time_us(2000, [&] { sink = sink + r->score(f); }));
      if (booster) {
        // XGBoost's in-place prediction of the same row, as a runtime built on its C API would call it.
        char array[256];
        std::snprintf(array, sizeof array,
                      R"({"data": [%llu, true], "shape": [1, 12], "typestr": "<f4", "version": 3})",
                      static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(f.data())));
        const char* config =
            R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false, "missing": NaN, "cache_id": 0})";
        const bst_ulong* shape = nullptr;
        bst_ulong dim = 0;
        const float* pred = nullptr;
        xgb_us.push_back(time_us(200, [&] { XGBoosterPredictFromDense(booster, array, config, nullptr, &shape, &dim, &pred); }));
        max_diff = std::max(max_diff, std::abs(static_cast<double>(pred[0]) - r->score(f)));
      }
      model::SequenceInput in{ids, {}};
      light_us.push_back(time_us(20, [&] { enc.encode({&in, 1}, light, nullptr); }));
    }
    std::vector<double> ratio;
    size_t worst = 0;
    for (size_t i = 0; i < feat_us.size(); ++i) {
      ratio.push_back(feat_us[i] / light_us[i]);
      if (ratio[i] > ratio[worst]) worst = i;
    }
    std::printf("features: mean %.2f us per question, trees %.2f us; light forward mean %.1f us; features / light: mean %.3f%%, max %.3f%%\n",
                mean(feat_us), mean(tree_us), mean(light_us), 100 * mean(ratio), 100 * percentile(ratio, 1.0));
    std::printf("  largest ratio: %s (%zu bytes): features %.2f us, light forward %.1f us\n", questions[worst].id.c_str(),
                questions[worst].text.size(), feat_us[worst], light_us[worst]);
    std::printf("XGBoost C API (XGBoosterPredictFromDense, 1 thread): mean %.1f us per question; largest difference to ours %.2g\n",
                mean(xgb_us), max_diff);
    if (booster) XGBoosterFree(booster);
    out["features"] = {{"features_us", mean(feat_us)},
                       {"trees_us", mean(tree_us)},
                       {"xgboost_c_api_us", mean(xgb_us)},
                       {"light_forward_us", mean(light_us)},
                       {"ratio_mean", mean(ratio)},
                       {"ratio_max", percentile(ratio, 1.0)}};
  }
  if (!json_out.empty()) std::ofstream(json_out) << out.dump(2) << "\n";
  return 0;
}
