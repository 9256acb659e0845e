#include "cli/triage_eval.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/legal_eval.h"

namespace ds::eval {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

constexpr const char* kHelp = R"(usage: deepseek eval triage --gold FILE --pred FILE [options]

Scores triage levels (emergency, urgent, routine, self_care) against gold labels, matched by id:
accuracy, under-triage (predicted less urgent than gold) and over-triage (more urgent) rates,
emergency recall and precision, per-level recall and precision, the 4x4 confusion matrix, the same
collapsed to three levels (emergency / care = urgent or routine / self_care), and department
accuracy where the gold row has a department. Gold is JSONL with "id", "triage" and optionally
"department" and "split" (data/medical/triage/questions.jsonl works as is); predictions are the
output of `medqa --batch FILE --json` ("id", "triage", "department"; rows with "error" are lines
medqa refused). Definitions: plugins/medical/README.md ("Evaluating triage").

options:
  --gold FILE           gold labels (required)
  --pred FILE           predictions (required)
  --split NAME          keep only the gold rows whose "split" is NAME (e.g. dev)
  --json                print one JSON object instead of the table
  -h, --help            show this help

exit codes: 0 scored, 2 usage error or bad input (a malformed row is named by file:line),
            1 internal error
)";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename Fn>
void for_each_row(const fs::path& file, Fn&& fn) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw EvalInputError(file.string(), 0, "is a folder, not a JSONL file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw EvalInputError(file.string(), 0, "cannot open");
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    json row = json::parse(line, nullptr, false);
    if (row.is_discarded()) throw EvalInputError(file.string(), number, "invalid JSON");
    if (!row.is_object()) throw EvalInputError(file.string(), number, "a row must be a JSON object");
    fn(number, row);
  }
}

std::string id_of(const json& row, const fs::path& file, size_t line) {
  auto it = row.find("id");
  if (it == row.end()) throw EvalInputError(file.string(), line, "missing \"id\"");
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  throw EvalInputError(file.string(), line, "\"id\" must be a string or an integer");
}

std::string optional_string(const json& row, const char* name, const fs::path& file, size_t line) {
  auto it = row.find(name);
  if (it == row.end() || it->is_null()) return "";
  if (!it->is_string()) throw EvalInputError(file.string(), line, std::string("\"") + name + "\" must be a string");
  return it->get<std::string>();
}

std::string level_of(const json& row, const fs::path& file, size_t line) {
  const std::string level = optional_string(row, "triage", file, line);
  if (level.empty()) throw EvalInputError(file.string(), line, "missing \"triage\"");
  if (triage_index(level) < 0)
    throw EvalInputError(file.string(), line,
                         "\"triage\" must be emergency, urgent, routine or self_care, got '" + level + "'");
  return level;
}

double ratio(int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; }

ordered_json matrix_json(const int64_t* m, size_t n, const char* const* names) {
  ordered_json rows = ordered_json::object();
  for (size_t g = 0; g < n; ++g) {
    ordered_json row = ordered_json::object();
    for (size_t p = 0; p < n; ++p) row[names[p]] = m[g * n + p];
    rows[names[g]] = row;
  }
  return rows;
}

ordered_json ids_json(const std::vector<std::string>& ids) { return ids; }

ordered_json report_json(const std::string& gold, const std::string& pred, const std::string& split,
                         const TriageReport& r) {
  ordered_json j;
  j["task"] = "triage";
  j["gold"] = gold;
  j["pred"] = pred;
  j["split"] = split.empty() ? ordered_json(nullptr) : ordered_json(split);
  j["rows"] = {{"gold", r.gold}, {"scored", r.scored}, {"missing", r.missing.size()},
               {"errors", r.errors.size()}, {"extra", r.extra.size()}, {"duplicates", r.duplicates.size()}};
  j["accuracy"] = r.accuracy;
  j["under_triage"] = r.under_triage;
  j["over_triage"] = r.over_triage;
  j["emergency_recall"] = r.emergency_recall;
  j["emergency_precision"] = r.emergency_precision;
  ordered_json levels = ordered_json::object();
  for (size_t i = 0; i < 4; ++i) {
    int64_t gold_n = 0;
    for (size_t p = 0; p < 4; ++p) gold_n += r.confusion[i][p];
    levels[kTriageLevels[i]] = {{"gold", gold_n}, {"recall", r.recall[i]}, {"precision", r.precision[i]}};
  }
  j["levels"] = levels;
  j["confusion"] = matrix_json(&r.confusion[0][0], 4, kTriageLevels.data());
  j["three_level"] = {{"accuracy", r.accuracy3},
                      {"under_triage", r.under_triage3},
                      {"over_triage", r.over_triage3},
                      {"confusion", matrix_json(&r.confusion3[0][0], 3, kTriageLevels3.data())}};
  j["department"] = {{"scored", r.department_gold},
                     {"correct", r.department_correct},
                     {"accuracy", r.department_gold > 0 ? ordered_json(r.department_accuracy) : ordered_json(nullptr)}};
  j["missing_ids"] = ids_json(r.missing);
  j["error_ids"] = ids_json(r.errors);
  j["extra_ids"] = ids_json(r.extra);
  j["duplicate_ids"] = ids_json(r.duplicates);
  return j;
}

void print_ids(std::ostream& out, const char* what, const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  out << "warning: " << ids.size() << " " << what << ":";
  for (size_t i = 0; i < ids.size() && i < 8; ++i) out << " " << ids[i];
  if (ids.size() > 8) out << " ...";
  out << "\n";
}

void print_matrix(std::ostream& out, const int64_t* m, size_t n, const char* const* names) {
  char buf[64];
  out << "  gold \\ pred ";
  for (size_t p = 0; p < n; ++p) std::snprintf(buf, sizeof buf, "%10s", names[p]), out << buf;
  out << "\n";
  for (size_t g = 0; g < n; ++g) {
    std::snprintf(buf, sizeof buf, "  %-11s ", names[g]);
    out << buf;
    for (size_t p = 0; p < n; ++p) std::snprintf(buf, sizeof buf, "%10lld", static_cast<long long>(m[g * n + p])), out << buf;
    out << "\n";
  }
}

void print_report(std::ostream& out, const std::string& gold, const std::string& pred, const std::string& split,
                  const TriageReport& r) {
  char buf[256];
  out << "gold: " << gold << " (" << r.gold << " rows" << (split.empty() ? "" : ", split " + split) << ")\n";
  out << "pred: " << pred << " (" << r.scored << " gold rows scored)\n";
  print_ids(out, "gold ids without a prediction", r.missing);
  print_ids(out, "gold ids whose line medqa refused or failed", r.errors);
  print_ids(out, "prediction ids not in the gold set (ignored)", r.extra);
  print_ids(out, "prediction ids repeated (the first counts)", r.duplicates);
  std::snprintf(buf, sizeof buf,
                "\nfour levels:  accuracy %.3f  under-triage %.3f  over-triage %.3f  emergency recall %.3f  "
                "emergency precision %.3f\n",
                r.accuracy, r.under_triage, r.over_triage, r.emergency_recall, r.emergency_precision);
  out << buf;
  out << "  per level:  ";
  for (size_t i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%s R %.3f P %.3f%s", kTriageLevels[i], r.recall[i], r.precision[i], i < 3 ? "; " : "\n");
    out << buf;
  }
  print_matrix(out, &r.confusion[0][0], 4, kTriageLevels.data());
  std::snprintf(buf, sizeof buf, "\nthree levels: accuracy %.3f  under-triage %.3f  over-triage %.3f\n", r.accuracy3,
                r.under_triage3, r.over_triage3);
  out << buf;
  print_matrix(out, &r.confusion3[0][0], 3, kTriageLevels3.data());
  if (r.department_gold > 0) {
    std::snprintf(buf, sizeof buf, "\ndepartment:   accuracy %.3f (%lld of %lld)\n", r.department_accuracy,
                  static_cast<long long>(r.department_correct), static_cast<long long>(r.department_gold));
    out << buf;
  }
  out << "under-triage: predicted less urgent than gold; over-triage: more urgent; rates over scored rows "
         "(care = urgent or routine)\n";
}

}  // namespace

int triage_index(const std::string& level) {
  for (size_t i = 0; i < kTriageLevels.size(); ++i)
    if (level == kTriageLevels[i]) return static_cast<int>(i);
  return -1;
}

int triage_index3(const std::string& level) {
  const int i = triage_index(level);
  return i < 0 ? -1 : i == 0 ? 0 : i == 3 ? 2 : 1;
}

std::vector<TriageRow> load_triage_gold(const fs::path& file, const std::string& split) {
  std::vector<TriageRow> out;
  std::set<std::string> seen;
  for_each_row(file, [&](size_t line, const json& row) {
    if (!split.empty() && optional_string(row, "split", file, line) != split) return;
    TriageRow r;
    r.line = line;
    r.id = id_of(row, file, line);
    r.triage = level_of(row, file, line);
    r.department = optional_string(row, "department", file, line);
    if (!seen.insert(r.id).second) throw EvalInputError(file.string(), line, "id '" + r.id + "' repeated");
    out.push_back(std::move(r));
  });
  return out;
}

std::vector<TriageRow> load_triage_pred(const fs::path& file) {
  std::vector<TriageRow> out;
  for_each_row(file, [&](size_t line, const json& row) {
    TriageRow r;
    r.line = line;
    r.id = id_of(row, file, line);
    r.error = optional_string(row, "error", file, line);
    if (r.error.empty()) {
      r.triage = level_of(row, file, line);
      r.department = optional_string(row, "department", file, line);
    }
    out.push_back(std::move(r));
  });
  return out;
}

TriageReport evaluate_triage(const std::vector<TriageRow>& gold, const std::vector<TriageRow>& pred) {
  TriageReport r;
  std::map<std::string, const TriageRow*> by_id;
  std::set<std::string> gold_ids;
  for (const TriageRow& g : gold) gold_ids.insert(g.id);
  std::set<std::string> duplicates;
  for (const TriageRow& p : pred) {
    if (!by_id.emplace(p.id, &p).second) duplicates.insert(p.id);
    if (!gold_ids.count(p.id) && (r.extra.empty() || r.extra.back() != p.id)) r.extra.push_back(p.id);
  }
  r.duplicates.assign(duplicates.begin(), duplicates.end());
  int64_t correct = 0, under = 0, over = 0, correct3 = 0, under3 = 0, over3 = 0;
  for (const TriageRow& g : gold) {
    ++r.gold;
    auto it = by_id.find(g.id);
    if (it == by_id.end()) {
      r.missing.push_back(g.id);
      continue;
    }
    const TriageRow& p = *it->second;
    if (!p.error.empty()) {
      r.errors.push_back(g.id);
      continue;
    }
    ++r.scored;
    const int gi = triage_index(g.triage), pi = triage_index(p.triage);
    ++r.confusion[gi][pi];
    correct += gi == pi;
    under += pi > gi;  // a larger index is less urgent
    over += pi < gi;
    const int g3 = triage_index3(g.triage), p3 = triage_index3(p.triage);
    ++r.confusion3[g3][p3];
    correct3 += g3 == p3;
    under3 += p3 > g3;
    over3 += p3 < g3;
    if (!g.department.empty() && !p.department.empty()) {
      ++r.department_gold;
      r.department_correct += g.department == p.department;
    }
  }
  r.accuracy = ratio(correct, r.scored);
  r.under_triage = ratio(under, r.scored);
  r.over_triage = ratio(over, r.scored);
  r.accuracy3 = ratio(correct3, r.scored);
  r.under_triage3 = ratio(under3, r.scored);
  r.over_triage3 = ratio(over3, r.scored);
  for (size_t i = 0; i < 4; ++i) {
    int64_t row = 0, col = 0;
    for (size_t k = 0; k < 4; ++k) row += r.confusion[i][k], col += r.confusion[k][i];
    r.recall[i] = ratio(r.confusion[i][i], row);
    r.precision[i] = ratio(r.confusion[i][i], col);
  }
  r.emergency_recall = r.recall[0];
  r.emergency_precision = r.precision[0];
  r.department_accuracy = ratio(r.department_correct, r.department_gold);
  return r;
}

int run_triage_eval_command(const std::vector<std::string>& args) {
  try {
    std::string gold, pred, split;
    bool json_out = false;
    for (size_t i = 0; i < args.size(); ++i) {
      std::string s = args[i], inline_value;
      bool has_inline = false;
      if (s.rfind("--", 0) == 0 && s.find('=') != std::string::npos) {
        inline_value = s.substr(s.find('=') + 1);
        s = s.substr(0, s.find('='));
        has_inline = true;
      }
      auto value = [&]() -> std::string {
        if (has_inline) return inline_value;
        if (i + 1 >= args.size()) throw UsageError(s + " needs a value");
        return args[++i];
      };
      if (s == "-h" || s == "--help") return std::cout << kHelp, 0;
      if (s == "--json") json_out = true;
      else if (s == "--gold") gold = value();
      else if (s == "--pred") pred = value();
      else if (s == "--split") split = value();
      else if (s.size() > 1 && s[0] == '-') throw UsageError("unknown option '" + s + "' (see deepseek eval triage --help)");
      else throw UsageError("unexpected argument '" + s + "'");
    }
    if (gold.empty()) throw UsageError("eval triage needs --gold FILE");
    if (pred.empty()) throw UsageError("eval triage needs --pred FILE");
    std::vector<TriageRow> g = load_triage_gold(gold, split);
    if (g.empty()) throw UsageError(gold + ": no gold rows" + (split.empty() ? "" : " in split '" + split + "'"));
    std::vector<TriageRow> p = load_triage_pred(pred);
    // Predictions for the gold file's other splits are expected (medqa ran on the whole file): set
    // aside, not reported as extra.
    size_t other_split = 0;
    if (!split.empty()) {
      std::set<std::string> kept, all;
      for (const TriageRow& row : g) kept.insert(row.id);
      for (const TriageRow& row : load_triage_gold(gold)) all.insert(row.id);
      std::vector<TriageRow> in_split;
      for (TriageRow& row : p) {
        if (!kept.count(row.id) && all.count(row.id)) ++other_split;
        else in_split.push_back(std::move(row));
      }
      p.swap(in_split);
    }
    TriageReport r = evaluate_triage(g, p);
    if (other_split > 0 && !json_out)
      std::cout << "note: " << other_split << " predictions for gold rows outside split " << split << " set aside\n";
    if (json_out) std::cout << report_json(gold, pred, split, r).dump(2) << "\n";
    else print_report(std::cout, gold, pred, split, r);
    return 0;
  } catch (const UsageError& e) {
    std::cerr << "deepseek eval: " << e.what() << "\n";
    return 2;
  } catch (const EvalInputError& e) {
    std::cerr << "deepseek eval: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "deepseek eval: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ds::eval
