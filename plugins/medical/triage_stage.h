// The `medical.triage` stage: one triage level, department and advice per message, from the
// medical model's `triage` and `department` heads and the `red_flag` annotations of
// `medical.redflags`. Rules only raise the model's level (triage.h). Not a diagnosis.
// Options and the annotation's attributes: plugins/medical/README.md.
#pragma once

#include <string>
#include <vector>

#include "departments.h"
#include "ds/plugin.h"
#include "triage.h"

namespace ds::medical {

class TriageStage {
 public:
  static ds::sdk::StageInfo spec();
  explicit TriageStage(const ds::sdk::Config& config);
  void process(ds::sdk::DocumentView& doc, ds::sdk::Output& out);

 private:
  TriageThresholds thresholds_;
  std::string language_;  // auto | zh | en
  std::string number_zh_, number_en_;
  std::string crisis_zh_, crisis_en_;
  std::vector<std::string> crisis_rules_;
  std::string triage_head_, department_head_;
  size_t top_departments_ = 3;
  const Departments& departments_;
};

}  // namespace ds::medical
