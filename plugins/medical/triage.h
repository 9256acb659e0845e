// The triage decision of the medical plug-in as plain code: model probabilities and red-flag
// levels in, one level, department and advice out. No SDK types, so tests compile it directly
// (tests/medical_triage_test.cc); triage_stage.cc reads the document and calls it.
//
// Safety rules (data/medical/triage/levels.md, DOMAIN.md §3.5): the final level is the maximum of
// the model's level and every fired red flag's level, so rules can only raise it, never lower it;
// the model's own level leans up through thresholds (an emergency probability at or above
// `emergency_threshold` is an emergency even when another level has more probability).
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ds::medical {

// Ordered: a greater level is more urgent. The ids are the labels of the model's `triage` head.
enum class TriageLevel { kSelfCare = 0, kRoutine = 1, kUrgent = 2, kEmergency = 3 };
constexpr size_t kTriageLevels = 4;

std::string_view triage_level_name(TriageLevel level);  // "self_care" | "routine" | "urgent" | "emergency"
std::optional<TriageLevel> parse_triage_level(std::string_view name);
// Every level, most urgent first (the order results are shown in).
const std::array<TriageLevel, kTriageLevels>& levels_most_urgent_first();

// Probabilities per level, indexed by the enum's value.
using LevelProbs = std::array<double, kTriageLevels>;

struct TriageThresholds {
  // P(emergency) at or above this makes the model's level emergency.
  double emergency = 0.35;
  // P(emergency) + P(urgent) at or above this makes the model's level at least urgent.
  double urgent = 0.5;
};

// The model's level from its probabilities: the most probable level (a tie goes to the more
// urgent one), raised by the thresholds. Never lower than the most probable level.
TriageLevel model_level(const LevelProbs& probs, const TriageThresholds& thresholds);

// Softmax of logits in double precision (max-subtracted, so large logits do not overflow). An
// empty input gives an empty output; a non-finite logit gives an all-NaN output.
std::vector<double> softmax(std::span<const float> logits);

// One fired red-flag rule as the triage sees it.
struct FiredRule {
  std::string id;
  TriageLevel level = TriageLevel::kEmergency;
};

struct TriageOutcome {
  TriageLevel level = TriageLevel::kSelfCare;        // final: max(model level, every rule's level)
  TriageLevel model_level = TriageLevel::kSelfCare;  // from the model alone
  std::vector<std::string> raised_by;  // rules at the final level when it is above the model's, in input order
};

// Combines the model's level with the fired rules. Rules only raise.
TriageOutcome combine(TriageLevel model, const std::vector<FiredRule>& rules);

// The language answers are written in, from the text's script: "zh" when CJK ideographs make up
// most of the words (an ideograph counts as a word, four Latin letters as one; mixed
// "宝宝2个月 fever 38.3" is zh, "I took 20 tablets of 对乙酰氨基酚 an hour ago" en), else "en".
std::string detect_language(std::string_view text);

// The one-line advice for a level, in "zh" or "en". `number` is the emergency number (used for
// emergency), `department` the department's display name (used for urgent and routine).
std::string advice(TriageLevel level, std::string_view language, std::string_view number, std::string_view department);

}  // namespace ds::medical
