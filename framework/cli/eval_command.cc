#include "cli/eval_command.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "cli/legal_eval.h"
#include "cli/triage_eval.h"

namespace ds {

namespace {

using nlohmann::ordered_json;

constexpr int kEvalOk = 0;
constexpr int kEvalInternal = 1;
constexpr int kEvalUsage = 2;

constexpr const char* kEvalHelp = R"(usage: deepseek eval legal --gold FILE --pred FILE [options]
       deepseek eval triage --gold FILE --pred FILE [--split NAME] [--json]   (see eval triage --help)

Scores extracted contract clauses against gold spans, the CUAD way. A prediction (one JSONL row
per extracted item: document, category and/or cuad, start, end in code points, confidence) matches
a gold span of the same document and category key when their Jaccard overlap is at least 0.5; each
gold span is matched at most once, most confident prediction first. Reports, per category and
averaged (macro over categories with enough gold spans, and micro): precision, recall and F1 at a
confidence threshold, AUPR and precision at 80% recall. Gold is JSONL with one object per document
({"id", "labels": {KEY: {"clauses": [{"start", "end"}]}}}); either file may be gzip-compressed.
A prediction belongs to the gold document whose id is its file name without folders and extensions.
Definitions: plugins/legal/EVAL.md.

options:
  --gold FILE           gold annotations (required)
  --pred FILE           predictions (required)
  --split NAME          keep only the gold documents whose "split" member is NAME (e.g. dev)
  --ids FILE            keep only the gold documents listed in FILE (one id per line)
  --categories A,B      score only these gold keys (CUAD names or taxonomy ids)
  --min-gold N          categories with fewer gold spans stay out of macro and micro (default 5)
  --min-confidence X    confidence threshold for precision, recall and F1 (default 0.5)
  --jaccard X           overlap a match needs, 0 < X <= 1 (default 0.5)
  --json                print one JSON object instead of the table
  -h, --help            show this help

exit codes: 0 scored, 2 usage error or bad input (a malformed row is named by file:line),
            1 internal error
)";

class EvalUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EvalArgs {
  bool help = false;
  bool json = false;
  std::string task;
  std::string gold;
  std::string pred;
  std::string ids;
  eval::GoldFilter filter;
  eval::EvalSettings settings;
};

double parse_fraction(const std::string& flag, const std::string& value, bool zero_ok) {
  try {
    size_t used = 0;
    double v = std::stod(value, &used);
    if (used != value.size() || !(v <= 1) || (zero_ok ? v < 0 : v <= 0)) throw std::invalid_argument(value);
    return v;
  } catch (const std::exception&) {
    throw EvalUsageError(flag + " expects a number in " + (zero_ok ? "[0, 1]" : "(0, 1]") + ", got '" + value + "'");
  }
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

EvalArgs parse_eval_args(const std::vector<std::string>& args) {
  EvalArgs a;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string s = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (s.rfind("--", 0) == 0 && s.find('=') != std::string::npos) {
      inline_value = s.substr(s.find('=') + 1);
      s = s.substr(0, s.find('='));
      has_inline = true;
    }
    auto value = [&]() -> std::string {
      if (has_inline) return inline_value;
      if (i + 1 >= args.size()) throw EvalUsageError(s + " needs a value");
      return args[++i];
    };
    if (s == "-h" || s == "--help") a.help = true;
    else if (s == "--json") a.json = true;
    else if (s == "--gold") a.gold = value();
    else if (s == "--pred") a.pred = value();
    else if (s == "--split") a.filter.split = value();
    else if (s == "--ids") a.ids = value();
    else if (s == "--categories") {
      a.settings.categories = split_list(value());
      if (a.settings.categories.empty()) throw EvalUsageError("--categories needs at least one name");
    } else if (s == "--min-gold") {
      std::string v = value();
      try {
        size_t used = 0;
        long long n = std::stoll(v, &used);
        if (used != v.size() || n < 0) throw std::invalid_argument(v);
        a.settings.min_gold = n;
      } catch (const std::exception&) {
        throw EvalUsageError("--min-gold expects a non-negative integer, got '" + v + "'");
      }
    } else if (s == "--min-confidence") a.settings.min_confidence = parse_fraction(s, value(), true);
    else if (s == "--jaccard") a.settings.jaccard = parse_fraction(s, value(), false);
    else if (s.size() > 1 && s[0] == '-') throw EvalUsageError("unknown option '" + s + "'");
    else if (a.task.empty()) a.task = s;
    else throw EvalUsageError("unexpected argument '" + s + "'");
  }
  return a;
}

ordered_json metrics_json(const eval::Metrics& m) {
  return {{"gold", m.gold},
          {"predicted", m.predicted},
          {"predicted_at_threshold", m.predicted_at_threshold},
          {"true_positives", m.true_positives},
          {"precision", m.precision},
          {"recall", m.recall},
          {"f1", m.f1},
          {"aupr", m.aupr},
          {"p_at_80r", m.p_at_80r}};
}

ordered_json report_json(const EvalArgs& a, const eval::EvalReport& r) {
  ordered_json j;
  j["task"] = "legal";
  j["gold"] = a.gold;
  j["pred"] = a.pred;
  j["settings"] = {{"jaccard", a.settings.jaccard},
                   {"min_confidence", a.settings.min_confidence},
                   {"min_gold", a.settings.min_gold},
                   {"split", a.filter.split.empty() ? ordered_json(nullptr) : ordered_json(a.filter.split)},
                   {"ids", a.ids.empty() ? ordered_json(nullptr) : ordered_json(a.ids)},
                   {"categories", a.settings.categories}};
  j["documents"] = {{"gold", r.gold_documents},
                    {"without_predictions", r.documents_without_predictions}};
  j["predictions"] = {{"rows", r.predictions},
                      {"unknown_document", r.unknown_document_predictions},
                      {"unknown_documents", r.unknown_documents},
                      {"unknown_category", r.unknown_category_predictions}};
  ordered_json cats = ordered_json::array();
  for (const eval::CategoryResult& c : r.categories) {
    ordered_json o = {{"key", c.key}, {"averaged", c.averaged}};
    o.update(metrics_json(c.metrics));
    cats.push_back(o);
  }
  j["categories"] = cats;
  j["macro"] = metrics_json(r.macro);
  j["macro"]["categories"] = r.averaged_categories;
  j["micro"] = metrics_json(r.micro);
  return j;
}

// Display width of a UTF-8 string in code points (good enough for the ASCII category names).
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void print_row(std::ostringstream& out, const std::string& name, size_t name_width, const eval::Metrics& m,
               const char* mark) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%6lld %6lld %6lld %6lld  %6.3f %6.3f %6.3f  %6.3f %6.3f%s\n",
                static_cast<long long>(m.gold), static_cast<long long>(m.predicted),
                static_cast<long long>(m.predicted_at_threshold), static_cast<long long>(m.true_positives),
                m.precision, m.recall, m.f1, m.aupr, m.p_at_80r, mark);
  out << name << std::string(name_width + 2 - std::min(width(name), name_width), ' ') << buf;
}

void print_report(const EvalArgs& a, const eval::EvalReport& r) {
  std::ostringstream out;
  char buf[256];
  out << "gold: " << a.gold << " (" << r.gold_documents << " documents";
  if (!a.filter.split.empty()) out << ", split " << a.filter.split;
  if (!a.ids.empty()) out << ", ids from " << a.ids;
  out << ")\n";
  out << "pred: " << a.pred << " (" << r.predictions << " rows; " << r.documents_without_predictions
      << " gold documents without predictions)\n";
  if (r.unknown_document_predictions > 0) {
    out << "warning: " << r.unknown_document_predictions << " predictions for " << r.unknown_documents.size()
        << " documents not in the gold set were ignored:";
    for (size_t i = 0; i < r.unknown_documents.size() && i < 5; ++i) out << " " << r.unknown_documents[i];
    if (r.unknown_documents.size() > 5) out << " ...";
    out << "\n";
  }
  if (r.unknown_category_predictions > 0)
    out << "warning: " << r.unknown_category_predictions
        << " predictions on gold documents name no gold category key (neither category nor cuad)\n";
  std::snprintf(buf, sizeof buf,
                "match: Jaccard >= %.2f, each gold span once, most confident first; P/R/F1 at confidence >= %.2f\n\n",
                a.settings.jaccard, a.settings.min_confidence);
  out << buf;

  size_t name_width = 8;
  for (const auto& c : r.categories) name_width = std::max(name_width, width(c.key));
  std::string macro_name = "macro (" + std::to_string(r.averaged_categories) + " categories)";
  name_width = std::max(name_width, width(macro_name));
  out << "category" << std::string(name_width + 2 - 8, ' ')
      << "  gold   pred pred@t     tp       P      R     F1    AUPR  P@80R\n";
  bool any_left_out = false;
  for (const auto& c : r.categories) {
    any_left_out |= !c.averaged;
    print_row(out, c.key, name_width, c.metrics, c.averaged ? "" : "  *");
  }
  out << std::string(name_width + 2 + 70, '-') << "\n";
  print_row(out, macro_name, name_width, r.macro, "");
  print_row(out, "micro", name_width, r.micro, "");
  if (any_left_out)
    out << "* fewer than " << std::max<int64_t>(a.settings.min_gold, 1)
        << " gold spans: not in macro or micro\n";
  out << "macro: counts summed, P/R/F1/AUPR/P@80R averaged over categories; micro: predictions and gold spans pooled\n";
  std::cout << out.str();
}

int run(const std::vector<std::string>& args) {
  EvalArgs a = parse_eval_args(args);
  if (a.help) return std::cout << kEvalHelp, kEvalOk;
  if (a.task.empty()) throw EvalUsageError("eval needs a task: 'legal' (see deepseek eval --help)");
  if (a.task != "legal") throw EvalUsageError("unknown eval task '" + a.task + "' (known: legal, triage)");
  if (a.gold.empty()) throw EvalUsageError("eval legal needs --gold FILE");
  if (a.pred.empty()) throw EvalUsageError("eval legal needs --pred FILE");

  if (!a.ids.empty()) a.filter.ids = eval::load_id_list(a.ids);
  eval::GoldSet gold = eval::load_gold(a.gold, a.filter);
  if (gold.ids.empty()) {
    std::string why = a.filter.split.empty() && a.ids.empty() ? "" : " after --split/--ids";
    throw EvalUsageError(a.gold + ": no gold documents" + why);
  }
  std::vector<eval::Prediction> preds = eval::load_predictions(a.pred);
  eval::EvalReport report;
  try {
    report = eval::evaluate(gold, preds, a.settings);
  } catch (const std::invalid_argument& e) {
    throw EvalUsageError(std::string("--categories: ") + e.what());
  }
  if (a.json) std::cout << report_json(a, report).dump(2, ' ', false, ordered_json::error_handler_t::replace) << "\n";
  else print_report(a, report);
  return kEvalOk;
}

}  // namespace

int run_eval_command(const std::vector<std::string>& args) {
  // Triage scoring has options of its own.
  if (!args.empty() && args[0] == "triage")
    return eval::run_triage_eval_command(std::vector<std::string>(args.begin() + 1, args.end()));
  try {
    return run(args);
  } catch (const EvalUsageError& e) {
    std::cerr << "deepseek eval: " << e.what() << "\n";
    return kEvalUsage;
  } catch (const eval::EvalInputError& e) {
    std::cerr << "deepseek eval: " << e.what() << "\n";
    return kEvalUsage;
  } catch (const std::exception& e) {
    std::cerr << "deepseek eval: internal error: " << e.what() << "\n";
    return kEvalInternal;
  }
}

}  // namespace ds
