// `deepseek eval triage`: scoring triage levels (emergency, urgent, routine, self_care) against gold
// labels, the way symptom-checker audits report them: accuracy, under- and over-triage rates,
// emergency recall, the 4x4 confusion matrix, the same collapsed to three levels (emergency /
// non-emergency care / self-care), and department accuracy where the gold names one. Definitions:
// plugins/medical/README.md ("Evaluating triage").
//
// Single-threaded, no global state: safe to call from several threads on different inputs.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ds::eval {

// The levels, most urgent first; the index is the row/column of the confusion matrices.
inline const std::array<const char*, 4> kTriageLevels = {"emergency", "urgent", "routine", "self_care"};
// Three levels: emergency / care (urgent or routine: see a clinician) / self_care.
inline const std::array<const char*, 3> kTriageLevels3 = {"emergency", "care", "self_care"};

// Index in kTriageLevels, -1 for anything else.
int triage_index(const std::string& level);
// 0 emergency, 1 urgent or routine, 2 self_care; -1 for anything else.
int triage_index3(const std::string& level);

struct TriageRow {
  std::string id;
  std::string triage;      // a level id ("" for a prediction row that is a refusal or failure)
  std::string department;  // "" when absent
  std::string error;       // prediction rows only: medqa's `error` code for a refused or failed line
  size_t line = 0;
};

// Reads gold JSONL: `id` (string) and `triage` (a level id) required, `department` optional; rows
// whose `split` differs from `split` are skipped when `split` is not empty. Throws EvalInputError
// (legal_eval.h) naming file and line for a malformed row or a repeated id.
std::vector<TriageRow> load_triage_gold(const std::filesystem::path& file, const std::string& split = "");

// Reads prediction JSONL (`medqa --batch --json`): `id` (string or integer) and `triage`, or
// `error` for a line medqa refused; `department` optional. Throws EvalInputError for a malformed row.
std::vector<TriageRow> load_triage_pred(const std::filesystem::path& file);

struct TriageReport {
  int64_t gold = 0;                         // gold rows kept
  int64_t scored = 0;                       // gold rows with a level predicted
  std::vector<std::string> missing;         // gold ids without a prediction row
  std::vector<std::string> errors;          // gold ids whose prediction is a refusal or failure
  std::vector<std::string> extra;           // prediction ids not in the (filtered) gold set
  std::vector<std::string> duplicates;      // prediction ids seen more than once (the first counts)
  int64_t confusion[4][4] = {};             // [gold][pred] over scored rows, kTriageLevels order
  int64_t confusion3[3][3] = {};            // the same on three levels
  double accuracy = 0, under_triage = 0, over_triage = 0;     // fractions of scored rows
  double accuracy3 = 0, under_triage3 = 0, over_triage3 = 0;  // on three levels
  double emergency_recall = 0;     // gold emergencies predicted emergency / gold emergencies scored
  double emergency_precision = 0;  // predicted emergencies that are gold emergencies
  std::array<double, 4> recall{}, precision{};  // per level (0 when the denominator is 0)
  int64_t department_gold = 0;     // scored rows whose gold and prediction both name a department
  int64_t department_correct = 0;
  double department_accuracy = 0;
};

// Matches predictions to gold by id and scores them. Under-triage: the prediction is less urgent
// than the gold level; over-triage: more urgent. Rates are over scored rows (0 when none).
TriageReport evaluate_triage(const std::vector<TriageRow>& gold, const std::vector<TriageRow>& pred);

// The command: `deepseek eval triage --gold FILE --pred FILE [--split NAME] [--json]` (`args` are
// the words after "triage"). Returns 0 scored, 2 usage error or bad input, 1 internal error.
int run_triage_eval_command(const std::vector<std::string>& args);

}  // namespace ds::eval
