// legal.extract: clauses and entities from the legal model's outputs (model.encode with
// data/models/legal-small.safetensors must run first).
//
// Reads the tensors `clauses` [segments, taxonomy ids], `cuad` [segments, 41 CUAD categories] and
// `tags` [tokens, BIO labels]; labels are matched by name, so the plug-in never depends on the
// order of a model's head labels. Per label, segments whose calibrated probability reaches `join`
// merge with their neighbours into one clause; others at or above `min_confidence` stand alone.
// English documents take CUAD rows from the `cuad` head (category = the id it maps to) and add
// `clauses` rows for what CUAD does not cover; Chinese documents use the `clauses` head only (the
// `cuad` head was trained on English), with `cuad` set where one CUAD category stands for the id.
#pragma once

#include <string>
#include <vector>

#include "calibration.h"
#include "ds/plugin.h"
#include "taxonomy.h"

namespace ds::legal {

class ExtractStage {
 public:
  static ds::sdk::StageInfo spec();
  explicit ExtractStage(const ds::sdk::Config& config);
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out);

 private:
  struct Row {
    std::string category, cuad, head, number;
    size_t begin = 0, end = 0, first_segment = 0, last_segment = 0;
    double confidence = 0.0;
  };
  bool wanted(const Row& row) const;
  std::vector<Row> clause_rows(std::string_view normalized, const ds::sdk::TensorView& t,
                               const std::vector<ds::sdk::SegmentView>& segs, const std::vector<bool>& has_tokens,
                               const std::string& head, bool is_cuad, bool chinese) const;

  double min_confidence_;
  double join_;
  std::vector<std::string> categories_;
  std::string language_;
  Calibration calibration_;
  const Taxonomy& taxonomy_;
};

}  // namespace ds::legal
