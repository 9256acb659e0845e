#include "cli/app.h"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/batch_run.h"
#include "cli/eval_command.h"
#include "cli/model_command.h"
#include "cli/progress.h"
#include "cli/router_command.h"
#include "core/engine.h"
#include "core/pipeline_loader.h"
#include "core/registry.h"
#include "sinks/json_writer.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMainHelp = R"(usage: deepseek [--version] [--help] <command> [<args>]

Runs YAML-configured document pipelines: decode, normalize, segment, tokenize, the Deepseek
encoder and plug-in post-processors, with results in SQLite, JSONL and CSV.

commands:
  run PIPELINE [INPUT...]   run a pipeline over its inputs (or the INPUT files/folders given)
  validate PIPELINE         check a pipeline file without running it
  config PIPELINE           print the pipeline fully resolved, defaults included
  plugins                   list the plug-ins found, with their versions, ABI and stages
  stages                    list the registered stages and sinks with their options
  model info FILE           validate a model file and describe it (config, paths, heads, precisions)
  eval legal --gold G --pred P
                            score extracted clauses against gold spans (CUAD metrics)
  eval triage --gold G --pred P
                            score triage levels (accuracy, under-/over-triage, confusion)
  router train --model M --data D
                            train the adaptive-path router (path: auto) for a model
  router info ROUTER        describe a router file

exit codes: 0 all documents done, 1 some documents failed, 2 usage or configuration error,
            3 fatal runtime error, 130 interrupted

Run 'deepseek <command> --help' for a command's options.
)";

constexpr const char* kRunHelp = R"(usage: deepseek run PIPELINE [INPUT...] [options]

Runs PIPELINE over the inputs named in its `input:` section, or over the INPUT files and folders
given here instead. Documents already completed in every sink (same path, content and resolved
configuration) are skipped, so an interrupted run resumes where it stopped.

options:
  --threads N        worker threads (default: the pipeline's run.threads; 0 = all cores)
  --batch-size N     documents per batch (default: the pipeline's run.batch_size)
  --progress MODE    auto, bar, log or none (default: auto: a bar on a terminal, log lines otherwise)
  --json             print the run summary as JSON on stdout
  --plugin-path DIR  also search DIR for plug-ins (before DS_PLUGIN_PATH)
  -h, --help         show this help
)";

constexpr const char* kValidateHelp = R"(usage: deepseek validate PIPELINE [--json]

Checks PIPELINE (YAML syntax, plug-ins, stages, options, types, ranges, data flow) without running
it. Prints every error with file:line:column. Exit code 0 if valid, 2 otherwise.
)";

constexpr const char* kConfigHelp = R"(usage: deepseek config PIPELINE

Prints PIPELINE fully resolved: every option with its value or default, paths made absolute,
environment variables expanded, and the configuration hash that keys results.
)";

constexpr const char* kPluginsHelp = R"(usage: deepseek plugins [--json] [--plugin-path DIR]

Lists the plug-ins found on the search path (--plugin-path, DS_PLUGIN_PATH, the build and install
folders) with name, version, ABI version, file and stages. Exit code 2 if any plug-in file failed to load.
)";

constexpr const char* kStagesHelp = R"(usage: deepseek stages [--json] [--plugin PLUGIN...]

Lists the built-in stages and sinks (and those of the named plug-ins) with their options: name,
type, default and meaning.
)";

struct Args {
  std::vector<std::string> positional;
  bool help = false;
  bool json = false;
  int threads = -1;
  int batch_size = -1;
  std::string progress;
  std::vector<std::string> plugins;
  std::string plugin_path;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

int parse_int_arg(const std::string& flag, const std::string& value) {
  try {
    size_t used = 0;
    int v = std::stoi(value, &used);
    if (used != value.size() || v < 0) throw std::invalid_argument(value);
    return v;
  } catch (const std::exception&) {
    throw UsageError(flag + " expects a non-negative integer, got '" + value + "'");
  }
}

Args parse_args(int argc, char** argv, int first) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (i + 1 >= argc) throw UsageError(flag + " needs a value");
      return argv[++i];
    };
    if (s == "-h" || s == "--help") a.help = true;
    else if (s == "--json") a.json = true;
    else if (s == "--threads") a.threads = parse_int_arg(s, value(s));
    else if (s == "--batch-size") a.batch_size = parse_int_arg(s, value(s));
    else if (s == "--progress") {
      a.progress = value(s);
      if (a.progress != "auto" && a.progress != "bar" && a.progress != "log" && a.progress != "none")
        throw UsageError("--progress expects auto, bar, log or none, got '" + a.progress + "'");
    } else if (s == "--plugin") a.plugins.push_back(value(s));
    else if (s == "--plugin-path") a.plugin_path = value(s);
    else if (s.size() > 1 && s[0] == '-') throw UsageError("unknown option '" + s + "'");
    else a.positional.push_back(s);
  }
  return a;
}

void print_config_errors(const ConfigErrors& e) {
  for (const ConfigError& err : e.errors()) std::cerr << err.format() << "\n";
  std::cerr << e.errors().size() << (e.errors().size() == 1 ? " error" : " errors") << "\n";
}

int cmd_validate(const Args& a) {
  if (a.help) return std::cout << kValidateHelp, kExitOk;
  if (a.positional.size() != 1) throw UsageError("validate takes exactly one PIPELINE file");
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  try {
    PipelineConfig cfg = load_pipeline(a.positional[0], registry, host);
    if (a.json) {
      JsonWriter w;
      w.begin_object();
      w.key("valid").value(true);
      w.key("pipeline").value(cfg.name);
      w.key("stages").value(static_cast<int64_t>(cfg.stages.size()));
      w.key("sinks").value(static_cast<int64_t>(cfg.sinks.size()));
      w.key("config_hash").value(cfg.config_hash);
      w.end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << a.positional[0] << ": ok: pipeline '" << cfg.name << "', " << cfg.stages.size() << " stages, "
                << cfg.sinks.size() << " sinks\n";
    }
    return kExitOk;
  } catch (const ConfigErrors& e) {
    if (a.json) {
      JsonWriter w;
      w.begin_object();
      w.key("valid").value(false);
      w.key("errors").begin_array();
      for (const ConfigError& err : e.errors()) {
        w.begin_object();
        w.key("file").value(err.where.file);
        w.key("line").value(static_cast<int64_t>(err.where.line));
        w.key("column").value(static_cast<int64_t>(err.where.column));
        w.key("key").value(err.key_path);
        w.key("message").value(err.message);
        w.key("suggestion").value(err.suggestion);
        w.end_object();
      }
      w.end_array();
      w.end_object();
      std::cout << w.str() << "\n";
    }
    print_config_errors(e);
    return kExitUsage;
  }
}

int cmd_config(const Args& a) {
  if (a.help) return std::cout << kConfigHelp, kExitOk;
  if (a.positional.size() != 1) throw UsageError("config takes exactly one PIPELINE file");
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  try {
    PipelineConfig cfg = load_pipeline(a.positional[0], registry, host);
    std::cout << "# " << cfg.file.string() << "\n# config_hash: " << cfg.config_hash << "\n" << cfg.resolved_yaml;
    if (!cfg.resolved_yaml.empty() && cfg.resolved_yaml.back() != '\n') std::cout << "\n";
    return kExitOk;
  } catch (const ConfigErrors& e) {
    print_config_errors(e);
    return kExitUsage;
  }
}

const char* field_list(const std::vector<Field>& fields, std::string& buf) {
  buf.clear();
  for (Field f : fields) {
    if (!buf.empty()) buf += ", ";
    buf += to_string(f);
  }
  if (buf.empty()) buf = "-";
  return buf.c_str();
}

std::string value_text(const OptionValue& v) {
  if (std::holds_alternative<std::monostate>(v)) return "~";
  if (auto b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto d = std::get_if<double>(&v)) {
    std::ostringstream ss;
    ss << *d;
    return ss.str();
  }
  if (auto s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
  std::string out = "[";
  for (const auto& s : std::get<std::vector<std::string>>(v)) out += (out.size() > 1 ? ", \"" : "\"") + s + "\"";
  return out + "]";
}

void write_options_json(JsonWriter& w, const std::vector<OptionSpec>& options) {
  w.key("options").begin_array();
  for (const OptionSpec& o : options) {
    w.begin_object();
    w.key("name").value(o.name);
    w.key("type").value(to_string(o.type));
    w.key("required").value(o.required());
    if (o.default_value) w.key("default").value(value_text(*o.default_value));
    w.key("doc").value(o.doc);
    if (!o.choices.empty()) {
      w.key("choices").begin_array();
      for (const auto& c : o.choices) w.value(c);
      w.end_array();
    }
    w.end_object();
  }
  w.end_array();
}

void print_options(const std::vector<OptionSpec>& options) {
  for (const OptionSpec& o : options) {
    std::string type = to_string(o.type);
    if (o.type == OptionType::kEnum) {
      type.clear();
      for (const auto& c : o.choices) type += (type.empty() ? "" : "|") + c;
    }
    std::cout << "    " << o.name << " (" << type << ", "
              << (o.required() ? std::string("required") : "default " + value_text(*o.default_value)) << "): " << o.doc
              << "\n";
  }
}

int cmd_stages(const Args& a) {
  if (a.help) return std::cout << kStagesHelp, kExitOk;
  add_plugin_path(a.plugin_path);
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  for (const auto& p : a.plugins) host.load(p, fs::current_path(), registry);
  if (a.json) {
    JsonWriter w;
    w.begin_object();
    w.key("stages").begin_array();
    for (const auto& name : registry.stage_names()) {
      const StageSpec* s = registry.find_stage(name);
      w.begin_object();
      w.key("name").value(s->name);
      w.key("provider").value(s->provider);
      w.key("doc").value(s->doc);
      w.key("reads").begin_array();
      for (Field f : s->reads) w.value(to_string(f));
      w.end_array();
      w.key("adds").begin_array();
      for (Field f : s->adds) w.value(to_string(f));
      w.end_array();
      write_options_json(w, s->options);
      w.end_object();
    }
    w.end_array();
    w.key("sinks").begin_array();
    for (const auto& name : registry.sink_names()) {
      const SinkSpec* s = registry.find_sink(name);
      w.begin_object();
      w.key("name").value(s->name);
      w.key("doc").value(s->doc);
      write_options_json(w, s->options);
      w.end_object();
    }
    w.end_array();
    w.end_object();
    std::cout << w.str() << "\n";
    return kExitOk;
  }
  std::string buf;
  std::cout << "stages:\n";
  for (const auto& name : registry.stage_names()) {
    const StageSpec* s = registry.find_stage(name);
    std::cout << "  " << s->name << " [" << s->provider << "]: " << s->doc << "\n";
    std::cout << "    reads: " << field_list(s->reads, buf);
    std::cout << "; adds: " << field_list(s->adds, buf) << "\n";
    print_options(s->options);
  }
  std::cout << "sinks:\n";
  for (const auto& name : registry.sink_names()) {
    const SinkSpec* s = registry.find_sink(name);
    std::cout << "  " << s->name << ": " << s->doc << "\n";
    print_options(s->options);
  }
  return kExitOk;
}

int cmd_plugins(const Args& a) {
  if (a.help) return std::cout << kPluginsHelp, kExitOk;
  add_plugin_path(a.plugin_path);
  PluginHost host;
  std::vector<std::string> errors;
  std::vector<PluginInfo> found = host.discover(&errors);
  if (a.json) {
    JsonWriter w;
    w.begin_object();
    w.key("plugins").begin_array();
    for (const PluginInfo& p : found) {
      w.begin_object();
      w.key("name").value(p.name);
      w.key("version").value(p.version);
      w.key("abi").value(std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor));
      w.key("license").value(p.license);
      w.key("description").value(p.description);
      w.key("file").value(p.file.string());
      w.key("stages").begin_array();
      for (const auto& s : p.stages) w.value(s);
      w.end_array();
      w.end_object();
    }
    w.end_array();
    w.key("errors").begin_array();
    for (const auto& e : errors) w.value(e);
    w.end_array();
    w.key("search_path").begin_array();
    for (const auto& d : host.search_path()) w.value(d.string());
    w.end_array();
    w.end_object();
    std::cout << w.str() << "\n";
  } else {
    if (found.empty()) std::cout << "no plug-ins found\n";
    for (const PluginInfo& p : found) {
      std::cout << p.name << " " << p.version << "  (ABI " << p.abi_major << "." << p.abi_minor << ", " << p.license
                << ")  " << p.file.string() << "\n";
      if (!p.description.empty()) std::cout << "  " << p.description << "\n";
      for (const auto& s : p.stages) std::cout << "  stage " << s << "\n";
    }
    std::cout << "search path:";
    for (const auto& d : host.search_path()) std::cout << " " << d.string();
    std::cout << "\n";
    for (const auto& e : errors) std::cerr << "error: " << e << "\n";
  }
  return errors.empty() ? kExitOk : kExitUsage;
}

void print_summary_json(const PipelineConfig& cfg, const RunInfo& info, const RunResult& r) {
  JsonWriter w;
  w.begin_object();
  w.key("pipeline").value(cfg.name);
  w.key("run_id").value(info.run_id);
  w.key("config_hash").value(info.config_hash);
  w.key("total").value(r.summary.total);
  w.key("done").value(r.summary.done);
  w.key("failed").value(r.summary.failed);
  w.key("skipped").value(r.summary.skipped);
  w.key("seconds").value(r.summary.seconds);
  w.key("interrupted").value(r.interrupted);
  w.key("failures").begin_array();
  for (const Failure& f : r.failures) {
    w.begin_object();
    w.key("path").value(f.path);
    w.key("stage").value(f.stage);
    w.key("error").value(f.error);
    w.end_object();
  }
  w.end_array();
  w.key("stage_ms").begin_object();
  for (const auto& [name, ms] : r.stage_ms) w.key(name).value(ms);
  w.end_object();
  w.key("outputs").begin_array();
  for (const SinkConfig& s : cfg.sinks) {
    w.begin_object();
    w.key("type").value(s.type);
    w.key("path").value(s.options.has("path") ? s.options.get_string("path") : "");
    w.end_object();
  }
  w.end_array();
  w.end_object();
  std::cout << w.str() << "\n";
}

void print_summary_text(const PipelineConfig& cfg, const RunResult& r) {
  const RunSummary& s = r.summary;
  double rate = s.seconds > 0 ? (s.done + s.failed) / s.seconds : 0;
  std::printf("%s: %lld documents: %lld done, %lld failed, %lld skipped (already complete) in %.2f s (%.1f docs/s)%s\n",
              cfg.name.c_str(), static_cast<long long>(s.total), static_cast<long long>(s.done),
              static_cast<long long>(s.failed), static_cast<long long>(s.skipped), s.seconds, rate,
              r.interrupted ? ", INTERRUPTED" : "");
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < r.failures.size() && i < kShown; ++i)
    std::printf("  failed: %s: [%s] %s\n", r.failures[i].path.c_str(), r.failures[i].stage.c_str(),
                r.failures[i].error.c_str());
  if (r.failures.size() > kShown) std::printf("  ... and %zu more failures (see the documents table)\n", r.failures.size() - kShown);
  for (const SinkConfig& sc : cfg.sinks)
    if (sc.options.has("path")) std::printf("results (%s): %s\n", sc.type.c_str(), sc.options.get_string("path").c_str());
}

int cmd_run(const Args& a) {
  if (a.help) return std::cout << kRunHelp, kExitOk;
  if (a.positional.empty()) throw UsageError("run needs a PIPELINE file");
  add_plugin_path(a.plugin_path);
  Registry registry;
  register_builtins(registry);
  PluginHost host;
  PipelineConfig cfg;
  try {
    cfg = load_pipeline(a.positional[0], registry, host);
  } catch (const ConfigErrors& e) {
    print_config_errors(e);
    return kExitUsage;
  }

  InputSpec spec = input_spec(cfg, std::vector<std::string>(a.positional.begin() + 1, a.positional.end()));
  if (spec.paths.empty()) throw UsageError("no inputs: give INPUT paths or set input.paths in " + a.positional[0]);
  BatchSettings settings{a.threads, a.batch_size, a.progress};

  // Stages and sinks are destroyed before `host`, so plug-in code outlives every plug-in object.
  BatchRun run;
  try {
    run = run_batch(cfg, registry, host, list_inputs(spec), settings);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitRuntime;
  }
  const RunResult& result = run.result;
  if (a.json) print_summary_json(cfg, run.info, result);
  else print_summary_text(cfg, result);
  if (result.interrupted) return kExitInterrupted;
  return result.summary.failed > 0 ? kExitSomeFailed : kExitOk;
}

// The main help with the extra commands listed after the built-in ones.
std::string main_help(const std::vector<ExtraCommand>& extra) {
  std::string help = kMainHelp;
  std::string lines;
  for (const ExtraCommand& c : extra) lines += c.help + (c.help.empty() || c.help.back() == '\n' ? "" : "\n");
  const size_t at = help.find("\nexit codes:");
  if (at != std::string::npos) help.insert(at, lines);
  return help;
}

}  // namespace

int run_cli(int argc, char** argv, const std::vector<ExtraCommand>& extra) {
  try {
    if (argc < 2) {
      std::cerr << main_help(extra);
      return kExitUsage;
    }
    std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") return std::cout << main_help(extra), kExitOk;
    for (const ExtraCommand& c : extra)
      if (cmd == c.name) return c.run(std::vector<std::string>(argv + 2, argv + argc));
    if (cmd == "--version" || cmd == "version") {
      std::cout << "deepseek " << DS_VERSION << "\n";
      return kExitOk;
    }
    // eval has options of its own, so it parses its arguments itself.
    if (cmd == "eval") return run_eval_command(std::vector<std::string>(argv + 2, argv + argc));
    if (cmd == "router") return run_router_command(std::vector<std::string>(argv + 2, argv + argc));
    Args a = parse_args(argc, argv, 2);
    if (cmd == "run") return cmd_run(a);
    if (cmd == "validate") return cmd_validate(a);
    if (cmd == "config") return cmd_config(a);
    if (cmd == "plugins") return cmd_plugins(a);
    if (cmd == "stages") return cmd_stages(a);
    if (cmd == "model") return run_model_command(a.positional, a.json, a.help);
    throw UsageError("unknown command '" + cmd + "' (see deepseek --help)");
  } catch (const UsageError& e) {
    std::cerr << "deepseek: " << e.what() << "\n";
    return kExitUsage;
  } catch (const PluginError& e) {
    std::cerr << "deepseek: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "deepseek: error: " << e.what() << "\n";
    return kExitRuntime;
  }
}

}  // namespace ds
