// legal-extract: batch contract clause extraction. Runs the legal pipeline through the framework's
// engine into SQLite (resumable, one transaction per document), then exports this batch's rows
// from the database to JSONL, CSV and an HTML report.
#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "cli/app.h"
#include "cli/batch_run.h"
#include "cli_options.h"
#include "config/suggest.h"
#include "core/pipeline_loader.h"
#include "core/registry.h"
#include "exports.h"
#include "report.h"
#include "results.h"
#include "sinks/result_fields.h"
#include "summary.h"
#include "taxonomy.h"

namespace ds::legal_extract {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPipelineFile = "legal_extraction.yaml";

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

// --pipeline, else the installed copy next to the program, else the source tree's.
fs::path find_pipeline(const std::string& given) {
  if (!given.empty()) return given;
  std::vector<fs::path> candidates;
  if (fs::path exe = executable_dir(); !exe.empty())
    candidates.push_back(exe / ".." / "share" / "deepseek" / "pipelines" / kPipelineFile);
  candidates.push_back(fs::path(DS_SOURCE_PIPELINES_DIR) / kPipelineFile);
  for (const fs::path& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c.lexically_normal();
  }
  throw UsageError(std::string("cannot find the pipeline ") + kPipelineFile + " (looked in " +
                   candidates.back().parent_path().string() + "); give it with --pipeline FILE");
}

std::string default_db() {
  const char* out = std::getenv("DS_OUT");
  return ((out && *out) ? fs::path(out) : fs::path("out")) / "legal-extract.db";
}

std::string absolute(const std::string& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return (ec ? fs::path(p) : a).lexically_normal().string();
}

const OptionSpec* declared(const Registry& registry, const std::string& stage, const std::string& option) {
  const StageSpec* spec = registry.find_stage(stage);
  if (!spec) return nullptr;
  for (const OptionSpec& o : spec->options)
    if (o.name == option) return &o;
  return nullptr;
}

bool is_legal_stage(const std::string& name) { return name.rfind("legal.", 0) == 0; }

// The clause threshold option of a legal stage: legal.extract's min_confidence, legal.clauses'
// min_score.
const char* threshold_option(const Registry& registry, const std::string& stage) {
  if (!is_legal_stage(stage)) return nullptr;
  for (const char* name : {"min_confidence", "min_score"}) {
    const OptionSpec* o = declared(registry, stage, name);
    if (o && (o->type == OptionType::kFloat || o->type == OptionType::kInt)) return name;
  }
  return nullptr;
}

struct Overrides {
  std::vector<OptionOverride> list;
  std::vector<std::string> warnings;
};

// Command-line settings as option overrides of the stages that take them (so they are validated
// and hashed like YAML), plus the SQLite sink's path and decoded-text storage.
Overrides make_overrides(const ExtractOptions& o, const PipelineConfig& cfg, const Registry& registry,
                         const std::string& db) {
  using Section = OptionOverride::Section;
  Overrides out;
  std::set<std::string> stages;
  for (const StageConfig& s : cfg.stages) stages.insert(s.stage);
  bool path_set = false;
  const bool stage_categories_only = std::none_of(o.categories.begin(), o.categories.end(), [](const std::string& c) {
    return std::find(entity_categories().begin(), entity_categories().end(), c) != entity_categories().end();
  });
  for (const std::string& stage : stages) {
    if (o.min_confidence) {
      if (const char* opt = threshold_option(registry, stage)) {
        out.list.push_back({Section::kStage, stage, opt, *o.min_confidence});
      }
    }
    // A stage filters by taxonomy ids and CUAD names only; a list with entity categories (date,
    // amount, duration) is left to the export's filter, so the stage keeps those entities.
    if (!o.categories.empty() && is_legal_stage(stage) && stage_categories_only) {
      const OptionSpec* spec = declared(registry, stage, "categories");
      if (spec && spec->type == OptionType::kStringList) {
        out.list.push_back({Section::kStage, stage, "categories", o.categories});
      }
    }
    if (!o.lang.empty()) {
      const OptionSpec* spec = declared(registry, stage, "language");
      if (spec && spec->type == OptionType::kEnum &&
          std::find(spec->choices.begin(), spec->choices.end(), o.lang) != spec->choices.end())
        out.list.push_back({Section::kStage, stage, "language", o.lang});
    }
    if (!o.path.empty() && stage == "model.encode") {
      out.list.push_back({Section::kStage, stage, "path", o.path});
      path_set = true;
    }
  }
  if (!o.path.empty() && !path_set)
    out.warnings.push_back("--path " + o.path + " has no effect: the pipeline has no model.encode stage");
  out.list.push_back({Section::kSink, "sqlite", "path", db});
  out.list.push_back({Section::kSink, "sqlite", "store_decoded_text", true});
  return out;
}

// The threshold rows are filtered at: --min-confidence, else the first legal stage's own.
double effective_threshold(const ExtractOptions& o, const PipelineConfig& cfg, const Registry& registry) {
  if (o.min_confidence) return *o.min_confidence;
  for (const StageConfig& s : cfg.stages)
    if (const char* opt = threshold_option(registry, s.stage)) return s.options.get_float(opt);
  return 0.0;
}

void check_categories(const std::vector<std::string>& categories, const legal::Taxonomy& taxonomy) {
  std::vector<std::string> known;
  for (const legal::TaxonomyCategory& c : taxonomy.categories()) known.push_back(c.id);
  for (const std::string& e : entity_categories()) known.push_back(e);
  std::vector<std::string> cuad = taxonomy.cuad_names();
  for (const std::string& c : categories) {
    if (taxonomy.find(c) || !taxonomy.id_of_cuad(c).empty() ||
        std::find(entity_categories().begin(), entity_categories().end(), c) != entity_categories().end())
      continue;
    std::vector<std::string> all = known;
    all.insert(all.end(), cuad.begin(), cuad.end());
    std::string hint = config::did_you_mean(c, all);
    throw UsageError("--categories: '" + c + "' is not a category" + (hint.empty() ? "" : " (" + hint + ")") +
                     "; use taxonomy ids (plugins/legal/taxonomy.tsv), CUAD category names, or date, amount, "
                     "duration");
  }
}

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// Files, folders and globs as the engine's input list, in the order given. A glob that matches
// nothing becomes a failed entry, like a path that does not exist.
std::vector<InputEntry> list_batch(const PipelineConfig& cfg, const std::vector<std::string>& inputs) {
  std::vector<InputEntry> out;
  for (const std::string& in : inputs) {
    std::error_code ec;
    std::vector<std::string> paths;
    if (fs::exists(in, ec) || !has_glob_chars(in)) {
      paths.push_back(in);
    } else {
      glob_t g{};
      int rc = ::glob(in.c_str(), 0, nullptr, &g);
      if (rc == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
      ::globfree(&g);
      if (paths.empty()) {
        out.push_back({in, "[read] no file matches the pattern " + in});
        continue;
      }
    }
    std::vector<InputEntry> listed = list_inputs(input_spec(cfg, paths));
    out.insert(out.end(), listed.begin(), listed.end());
  }
  return out;
}

std::string mb(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / 1e6);
  return buf;
}

void print_summary_text(const BatchSummary& s, const std::map<std::string, std::string>& outputs) {
  std::printf("legal-extract: %lld documents: %lld done, %lld failed", static_cast<long long>(s.documents),
              static_cast<long long>(s.done), static_cast<long long>(s.failed));
  if (s.not_reached) std::printf(", %lld not processed", static_cast<long long>(s.not_reached));
  std::printf(" (%lld processed now, %lld reused) in %.2f s", static_cast<long long>(s.processed_now),
              static_cast<long long>(s.done + s.failed - s.processed_now), s.run_seconds);
  if (s.processed_now > 0)
    std::printf(": %s MB of text, %.3f MB/min, %.1f documents/min", mb(s.processed_text_bytes).c_str(),
                s.text_mb_per_minute(), s.documents_per_minute());
  std::printf("%s\n", s.interrupted ? ", INTERRUPTED" : "");
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < s.failures.size() && i < kShown; ++i)
    std::printf("  failed: %s: [%s] %s\n", s.failures[i].path.c_str(), s.failures[i].stage.c_str(),
                s.failures[i].error.c_str());
  if (s.failures.size() > kShown) std::printf("  ... and %zu more failures\n", s.failures.size() - kShown);
  for (size_t i = 0; i < s.notes.size() && i < kShown; ++i)
    std::printf("  note: %s: %s\n", s.notes[i].first.c_str(), s.notes[i].second.c_str());
  std::string cats;
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [id, c] : s.by_category) order.emplace_back(-c.rows, id);
  std::sort(order.begin(), order.end());
  for (const auto& [neg, id] : order) cats += (cats.empty() ? "" : ", ") + id + " " + std::to_string(-neg);
  std::printf("rows: %lld%s%s%s\n", static_cast<long long>(s.rows), cats.empty() ? "" : " (", cats.c_str(),
              cats.empty() ? "" : ")");
  for (const auto& [kind, path] : outputs) std::printf("%s: %s\n", kind.c_str(), path.c_str());
}

int run(const std::vector<std::string>& args) {
  ExtractOptions o = parse_options(args);
  if (o.help) return std::cout << kHelp, kExitOk;
  if (o.version) return std::cout << "legal-extract " << DS_VERSION << "\n", kExitOk;
  if (o.inputs.empty()) throw UsageError("no INPUT: give contract files, folders or globs (see --help)");
  const legal::Taxonomy& taxonomy = legal::Taxonomy::builtin();
  check_categories(o.categories, taxonomy);

  add_plugin_path(o.plugin_path);
  const fs::path pipeline = find_pipeline(o.pipeline);
  const std::string db = absolute(o.db.empty() ? default_db() : o.db);
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  PipelineConfig cfg;
  Overrides overrides;
  try {
    PipelineConfig plain = load_pipeline(pipeline, registry, host);
    if (std::none_of(plain.sinks.begin(), plain.sinks.end(), [](const SinkConfig& s) { return s.type == "sqlite"; }))
      throw UsageError(pipeline.string() + ": the pipeline has no sqlite sink; legal-extract exports from it");
    overrides = make_overrides(o, plain, registry, db);
    cfg = load_pipeline(pipeline, registry, host, overrides.list);
  } catch (const ConfigErrors& e) {
    for (const ConfigError& err : e.errors()) std::cerr << err.format() << "\n";
    return kExitUsage;
  }
  for (const std::string& w : overrides.warnings) std::cerr << "legal-extract: warning: " << w << "\n";

  RowFilter filter{effective_threshold(o, cfg, registry), o.categories};
  BatchSummary summary;
  summary.pipeline_file = cfg.file.string();
  summary.pipeline_name = cfg.name;
  summary.config_hash = cfg.config_hash;
  summary.db_path = db;
  summary.version = DS_VERSION;
  summary.min_confidence = filter.min_confidence;
  summary.categories = o.categories;

  // Stages and sinks live inside run_batch, so they are gone before `host` unloads plug-in code.
  BatchRun run;
  try {
    run = run_batch(cfg, registry, host, list_batch(cfg, o.inputs), {o.threads, -1, o.progress});
  } catch (const std::exception& e) {
    std::cerr << "legal-extract: error: " << e.what() << "\n";
    return kExitRuntime;
  }
  summary.run_id = run.info.run_id;
  summary.plugins = run.info.plugins;
  summary.started_at = iso8601_utc(run.info.started_unix_ms);
  summary.run_seconds = run.result.summary.seconds;
  summary.interrupted = run.result.interrupted;

  // An interrupted run never read the inputs after the chunk it stopped at: they count as not processed.
  const RunSummary& counts = run.result.summary;
  if (const int64_t never_read = counts.total - (counts.done + counts.failed + counts.skipped); never_read > 0) {
    summary.documents += never_read;
    summary.not_reached += never_read;
  }

  std::map<std::string, std::string> outputs{{"sqlite", db}};
  try {
    ResultReader reader(db, filter, taxonomy);
    std::optional<JsonlExport> jsonl;
    std::optional<CsvExport> csv;
    std::optional<HtmlReport> report;
    if (!o.jsonl.empty()) jsonl.emplace(o.jsonl);
    if (!o.csv.empty()) csv.emplace(o.csv);
    if (!o.report.empty()) report.emplace(o.report);
    for (const DocKey& key : run.keys) {
      ExtractedDocument doc = reader.read(key);
      summary.add(doc);
      if (jsonl) jsonl->add(doc);
      if (csv) csv->add(doc);
      if (report) report->add(doc);
    }
    if (jsonl) jsonl->commit(), outputs["jsonl"] = o.jsonl;
    if (csv) csv->commit(), outputs["csv"] = o.csv;
    if (report) report->commit(summary), outputs["report"] = o.report;
  } catch (const std::exception& e) {
    std::cerr << "legal-extract: error: export: " << e.what() << "\n";
    return kExitRuntime;
  }
  if (o.json)
    std::cout << summary_json(summary, outputs) << "\n";
  else
    print_summary_text(summary, outputs);
  if (summary.interrupted) return kExitInterrupted;
  return summary.failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

}  // namespace ds::legal_extract

int main(int argc, char** argv) {
  using namespace ds::legal_extract;
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "legal-extract: " << e.what() << "\n";
    return ds::kExitUsage;
  } catch (const ds::PluginError& e) {
    std::cerr << "legal-extract: " << e.what() << "\n";
    return ds::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "legal-extract: error: " << e.what() << "\n";
    return ds::kExitRuntime;
  }
}
