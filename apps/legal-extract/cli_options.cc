#include "cli_options.h"

#include <cmath>

namespace ds::legal_extract {

const char* const kHelp = R"(usage: legal-extract [options] INPUT...

Extracts contract clauses (违约责任 liability for breach, 违约金 liquidated damages, 赔偿 compensation,
payment, term and termination, governing law, dispute resolution, confidentiality ...), parties and
normalized values (amounts, dates, durations, rates) from Chinese and English contracts.

INPUT is a file, a folder (searched recursively for .txt, .md, .docx and .pdf) or a glob such as
'contracts/*.docx'. Text files may be in any common charset (UTF-8, UTF-16, GB18030 ...); a .pdf
needs a text layer (scanned PDFs are reported, not read). Results go to a SQLite database; the
export options write this batch's rows from it. A run killed at any point and started again goes on
where it stopped: documents already in the database (same path, content and settings) are not
processed again, and every export is rewritten whole.

output:
  --db FILE             SQLite results database (default: $DS_OUT/legal-extract.db, else out/legal-extract.db)
  --jsonl FILE          one JSON object per extracted row (row format: plugins/legal/README.md)
  --csv FILE            the same rows as CSV, UTF-8 with a BOM for Excel
  --report FILE         one self-contained HTML report: summary, clause tables, highlighted clause text
  --json                print a machine-readable summary on stdout

extraction:
  --min-confidence X    keep rows with confidence >= X, 0..1 (0 keeps everything, for evaluation;
                        default: the pipeline's clause threshold)
  --categories A,B,...  keep only these categories: taxonomy ids (breach, liquidated, compensation,
                        payment, governing_law, dispute, parties ...; plugins/legal/TAXONOMY.md),
                        CUAD category names, or date, amount, duration
  --lang auto|zh|en     document language (default: the pipeline's, auto = per document)
  --path light|standard|heavy|auto
                        the model's computation path (pipelines with a model.encode stage)

run:
  --threads N           worker threads (default: the pipeline's run.threads; 0 = all cores)
  --pipeline FILE       pipeline to run (default: pipelines/legal_extraction.yaml)
  --progress MODE       auto, bar, log or none (default auto: a bar on a terminal, log lines otherwise)
  --plugin-path DIR     also search DIR for plug-ins (before DS_PLUGIN_PATH)
  -h, --help            show this help
  --version             show the version

exit codes: 0 all documents done, 1 some documents failed (the others are still exported),
            2 usage or configuration error, 3 fatal runtime error, 130 interrupted
)";

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(start, comma - start);
    size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

void check_choice(const std::string& flag, const std::string& value, const std::vector<std::string>& choices) {
  for (const std::string& c : choices)
    if (value == c) return;
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  throw UsageError(flag + " expects one of " + list + ", got '" + value + "'");
}

}  // namespace

ExtractOptions parse_options(const std::vector<std::string>& args) {
  ExtractOptions o;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string s = args[i];
    std::string inline_value;
    bool has_inline = false;
    if (!options_done && s.rfind("--", 0) == 0 && s.find('=') != std::string::npos) {
      inline_value = s.substr(s.find('=') + 1);
      s = s.substr(0, s.find('='));
      has_inline = true;
    }
    auto value = [&]() -> std::string {
      std::string v;
      if (has_inline)
        v = inline_value;
      else if (i + 1 < args.size())
        v = args[++i];
      if (v.empty()) throw UsageError(s + " needs a value");
      return v;
    };
    auto no_value = [&] {
      if (has_inline) throw UsageError(s + " takes no value");
    };
    if (options_done || s.empty() || s[0] != '-' || s == "-") {
      o.inputs.push_back(args[i]);
    } else if (s == "--") {
      options_done = true;
    } else if (s == "-h" || s == "--help") {
      no_value();
      o.help = true;
    } else if (s == "--version") {
      no_value();
      o.version = true;
    } else if (s == "--json") {
      no_value();
      o.json = true;
    } else if (s == "--db") {
      o.db = value();
    } else if (s == "--jsonl") {
      o.jsonl = value();
    } else if (s == "--csv") {
      o.csv = value();
    } else if (s == "--report") {
      o.report = value();
    } else if (s == "--min-confidence") {
      std::string v = value();
      try {
        size_t used = 0;
        double d = std::stod(v, &used);
        if (used != v.size() || !std::isfinite(d) || d < 0 || d > 1) throw std::invalid_argument(v);
        o.min_confidence = d;
      } catch (const std::exception&) {
        throw UsageError("--min-confidence expects a number from 0 to 1, got '" + v + "'");
      }
    } else if (s == "--categories") {
      std::vector<std::string> items = split_list(value());
      if (items.empty()) throw UsageError("--categories expects a comma-separated list, e.g. breach,payment");
      o.categories.insert(o.categories.end(), items.begin(), items.end());
    } else if (s == "--lang") {
      o.lang = value();
      check_choice(s, o.lang, {"auto", "zh", "en"});
    } else if (s == "--path") {
      o.path = value();
      check_choice(s, o.path, {"light", "standard", "heavy", "auto"});
    } else if (s == "--threads") {
      std::string v = value();
      try {
        size_t used = 0;
        int n = std::stoi(v, &used);
        if (used != v.size() || n < 0 || n > 4096) throw std::invalid_argument(v);
        o.threads = n;
      } catch (const std::exception&) {
        throw UsageError("--threads expects an integer from 0 (all cores) to 4096, got '" + v + "'");
      }
    } else if (s == "--pipeline") {
      o.pipeline = value();
    } else if (s == "--progress") {
      o.progress = value();
      check_choice(s, o.progress, {"auto", "bar", "log", "none"});
    } else if (s == "--plugin-path") {
      o.plugin_path = value();
    } else {
      throw UsageError("unknown option '" + s + "'");
    }
  }
  return o;
}

}  // namespace ds::legal_extract
