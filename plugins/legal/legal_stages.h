// The legal plug-in's stages (keyword baselines until the trained clause head is available):
//   legal.clauses  classifies clause and heading segments by their heading keywords;
//   legal.amounts  finds money amounts and normalizes them to {value, currency}.
#pragma once

#include <string>

#include "clause_keywords.h"
#include "ds/plugin.h"

namespace ds::legal {

class ClausesStage {
 public:
  static ds::sdk::StageInfo spec();
  explicit ClausesStage(const ds::sdk::Config& config);
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out);

 private:
  double min_score_;
  Language language_;
};

class AmountsStage {
 public:
  static ds::sdk::StageInfo spec();
  explicit AmountsStage(const ds::sdk::Config& config);
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out);

 private:
  std::string yen_sign_;
};

}  // namespace ds::legal
