// The legal plug-in's stages (keyword and pattern baselines until the trained clause head is
// available):
//   legal.clauses       classifies clause and heading segments by their heading keywords;
//   legal.amounts       finds money amounts in figures and normalizes them to {value, currency};
//   legal.values        annotates money, dates, durations, rates and parties with normalized values;
//   legal.completeness  one document-level checklist of the Civil Code Art. 470 elements.
#pragma once

#include <string>
#include <vector>

#include "clause_keywords.h"
#include "ds/plugin.h"
#include "normalize_date.h"

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

// Stateless after construction; see README.md for the attributes of each annotation.
class ValuesStage {
 public:
  static ds::sdk::StageInfo spec();
  explicit ValuesStage(const ds::sdk::Config& config);  // throws std::invalid_argument on a bad option
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out);

 private:
  Language language_;
  std::string yen_sign_;
  bool money_ = true, dates_ = true, durations_ = true, rates_ = true, parties_ = true;
  AnchorDates anchors_;  // from the anchor_dates option; they win over dates found in the document
};

class CompletenessStage {
 public:
  static ds::sdk::StageInfo spec();
  explicit CompletenessStage(const ds::sdk::Config& config);
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out);

 private:
  Language language_;
  double min_label_score_;
};

}  // namespace ds::legal
