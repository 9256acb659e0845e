// Phase 2: every section checked against the registry's declarations, then resolved.
#include <algorithm>
#include <map>
#include <set>

#include "config/option_values.h"
#include "config/pipeline_config.h"
#include "config/resolved_yaml.h"
#include "config/suggest.h"
#include "config/yaml_source.h"
#include "core/hash.h"

namespace ds {

namespace {

using config::CheckContext;
using config::YamlSource;

struct Section {
  YAML::Node key;
  YAML::Node value;
  bool found = false;
};

// Looks a top-level key up by iteration: a const lookup of a missing key gives a node whose Mark()
// throws, and the first occurrence is the one phase 1 checked.
Section find_section(const YAML::Node& root, const std::string& name) {
  for (const auto& kv : root)
    if (kv.first.IsScalar() && kv.first.Scalar() == name) return {kv.first, kv.second, true};
  return {};
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// One `- name` or `- name: {options}` list item, once its shape has been checked.
struct NamedItem {
  std::string name;
  SourceLocation name_where;
  YAML::Node options;  // null or a map
  SourceLocation options_where;
  std::string key_path;  // "stages[2]"
};

// `what` is "stage" or "sink". Returns nullopt after recording why the item has the wrong shape.
std::optional<NamedItem> read_named_item(CheckContext& ctx, const YAML::Node& item, const SourceLocation& list_where,
                                         const std::string& key_path, const std::string& what) {
  const YamlSource& src = ctx.src;
  SourceLocation where = src.at_value(item, list_where);
  const std::string form = "`- " + what + "_name` or `- " + what + "_name: {options}`";
  if (item.IsScalar()) {
    if (item.Scalar().empty()) {
      ctx.errors.push_back({where, key_path, "expected a " + what + " as " + form + ", got an empty string", ""});
      return std::nullopt;
    }
    return NamedItem{item.Scalar(), where, YAML::Node(YAML::NodeType::Null), where, key_path};
  }
  if (!item.IsMap() || item.size() == 0) {
    ctx.errors.push_back({where, key_path, "expected a " + what + " as " + form + ", got " + config::describe(item), ""});
    return std::nullopt;
  }
  if (item.size() > 1) {
    std::vector<std::string> keys;
    bool first_is_null = false;
    for (const auto& kv : item) {
      keys.push_back(kv.first.IsScalar() ? kv.first.Scalar() : config::describe(kv.first));
      if (keys.size() == 1) first_is_null = kv.second.IsNull();
    }
    std::string hint = first_is_null
                           ? "; if the others are options of '" + keys[0] + "', indent them under it"
                           : "; start each " + what + " with its own '- '";
    ctx.errors.push_back({where, key_path,
                          "expected one " + what + " per list item, as " + form + ", but this item has " +
                              std::to_string(keys.size()) + " keys (" + join(keys) + ")" + hint,
                          ""});
    return std::nullopt;
  }
  const auto& kv = *item.begin();
  if (!kv.first.IsScalar()) return std::nullopt;  // reported by the duplicate-key walk
  NamedItem out{kv.first.Scalar(), src.at(kv.first.Mark()), kv.second, {}, key_path};
  out.options_where = src.at_value(kv.second, out.name_where);
  if (!kv.second.IsNull() && !kv.second.IsMap()) {
    ctx.errors.push_back({out.options_where, config::join_key(key_path, out.name),
                          "expected a map of options for " + what + " '" + out.name + "', got " +
                              config::describe(kv.second) + " (write `" + out.name + ": {option: value}`)",
                          ""});
    out.options = YAML::Node(YAML::NodeType::Null);
  }
  return out;
}

// Reads a section that must be a list of named items; null or absent gives an empty list. An item
// with the wrong shape is reported and left as nullopt, so positions still match the YAML list.
std::vector<std::optional<NamedItem>> read_item_list(CheckContext& ctx, const Section& section,
                                                     const std::string& name, const std::string& what) {
  std::vector<std::optional<NamedItem>> items;
  if (!section.found || section.value.IsNull()) return items;
  SourceLocation key_where = ctx.src.at(section.key.Mark());
  if (!section.value.IsSequence()) {
    ctx.errors.push_back({ctx.src.at_value(section.value, key_where), name,
                          "expected a list of " + what + "s, one per '- ' line, got " + config::describe(section.value),
                          ""});
    return items;
  }
  for (const YAML::Node& item : section.value)
    items.push_back(read_named_item(ctx, item, key_where, config::join_index(name, items.size()), what));
  return items;
}

// A map-of-options section (`input:`, `run:`); absent or null gives the defaults.
Options read_section_options(CheckContext& ctx, const YAML::Node& root, const std::string& name,
                             const std::vector<OptionSpec>& specs, const std::string& owner) {
  Section s = find_section(root, name);
  SourceLocation where = s.found ? ctx.src.at(s.key.Mark()) : ctx.src.at(root.Mark());
  YAML::Node options(YAML::NodeType::Null);
  if (s.found && !s.value.IsNull()) {
    if (s.value.IsMap()) {
      options = s.value;
    } else {
      ctx.errors.push_back({ctx.src.at_value(s.value, where), name,
                            "expected a map of " + owner + " options, got " + config::describe(s.value), ""});
    }
  }
  return config::read_options(ctx, options, where, specs, owner, name);
}

// True if a `plugins:` entry looks like the plug-in `name`: the name itself or a library file
// whose name contains it (./build/libds_legal.so).
bool plugin_listed(const std::vector<PluginRef>& plugins, const std::string& name) {
  return std::any_of(plugins.begin(), plugins.end(), [&](const PluginRef& p) {
    return p.name_or_path == name ||
           std::filesystem::path(p.name_or_path).filename().string().find(name) != std::string::npos;
  });
}

std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known, const std::vector<PluginRef>& plugins) {
  size_t dot = name.find('.');
  if (what == "stage" && dot != std::string::npos && dot > 0) {
    std::string plugin = name.substr(0, dot);
    bool any = std::any_of(known.begin(), known.end(), [&](const std::string& k) { return k.rfind(plugin + ".", 0) == 0; });
    if (!any) {
      return "unknown stage '" + name + "': no loaded plug-in provides stages named '" + plugin + ".*' " +
             (plugin_listed(plugins, plugin) ? "('" + plugin + "' is under plugins: but was not loaded)"
                                             : "(is '" + plugin + "' listed under plugins:?)");
    }
  }
  std::string message = "unknown " + what + " '" + name + "'; known " + what + "s: " + join(known);
  if (name.find_first_of(" \t,") != std::string::npos) message += " (write one " + what + " per '- ' item)";
  return message;
}

// A stage that could provide `field`: a later one in this pipeline, else a registered one (built-ins
// first). Returns the parenthesised advice.
std::string provider_advice(const Registry& registry, const std::vector<const StageSpec*>& pipeline, size_t from,
                            Field field) {
  for (size_t j = from + 1; j < pipeline.size(); ++j) {
    const StageSpec* s = pipeline[j];
    if (s && std::find(s->adds.begin(), s->adds.end(), field) != s->adds.end())
      return "(move '" + s->name + "' before it)";
  }
  std::string fallback;
  for (const std::string& name : registry.stage_names()) {
    const StageSpec* s = registry.find_stage(name);
    if (!s || std::find(s->adds.begin(), s->adds.end(), field) == s->adds.end()) continue;
    if (s->provider == "builtin") return "(add '" + name + "' before it)";
    if (fallback.empty()) fallback = name;
  }
  return fallback.empty() ? "(no registered stage adds it)" : "(add '" + fallback + "' before it)";
}

// `specs[i]` is null for an unknown or malformed item; checking stops there.
void check_data_flow(CheckContext& ctx, const Registry& registry, const std::vector<const StageSpec*>& specs,
                     const std::vector<std::optional<NamedItem>>& items) {
  std::set<Field> available = {Field::kBytes};
  for (size_t i = 0; i < specs.size(); ++i) {
    const StageSpec* spec = specs[i];
    // After an unknown stage nobody knows what is available; guessing would only add noise.
    if (!spec) return;
    for (Field f : spec->reads) {
      if (available.count(f)) continue;
      ctx.errors.push_back({items[i]->name_where, items[i]->key_path,
                            "stage '" + spec->name + "' reads '" + to_string(f) + "', which no earlier stage adds " +
                                provider_advice(registry, specs, i, f),
                            ""});
    }
    available.insert(spec->adds.begin(), spec->adds.end());
  }
}

// The stage's own load-time check (Registry::stage_check), given the stages before it. A check that
// throws is reported like a problem, so a stage bug cannot escape as a crash.
void run_stage_check(CheckContext& ctx, const StageCheck& check, const NamedItem& item, const StageConfig& sc,
                     const std::vector<StageConfig>& earlier_configs) {
  std::vector<EarlierStage> earlier;
  for (const StageConfig& e : earlier_configs) earlier.push_back({e.stage, &e.options});
  const std::string base = config::join_key(item.key_path, item.name);
  std::vector<StageProblem> problems;
  try {
    problems = check(sc.options, earlier);
  } catch (const std::exception& e) {
    problems.push_back({"", e.what()});
  }
  for (const StageProblem& p : problems)
    ctx.errors.push_back({item.name_where, p.option.empty() ? base : config::join_key(base, p.option), p.message, ""});
}

void read_stages(CheckContext& ctx, const Registry& registry, PipelineConfig& cfg) {
  const YAML::Node& root = ctx.src.root;
  Section section = find_section(root, "stages");
  const std::string example = " (e.g. stages: [decode, normalize, segment])";
  if (!section.found) {
    ctx.errors.push_back({ctx.src.at(root.Mark()), "stages", "missing 'stages:'; a pipeline needs at least one stage" + example, ""});
    return;
  }
  if (section.value.IsNull() || (section.value.IsSequence() && section.value.size() == 0)) {
    ctx.errors.push_back({ctx.src.at(section.key.Mark()), "stages",
                          "the stages list is empty; a pipeline needs at least one stage" + example, ""});
    return;
  }
  std::vector<std::string> known = registry.stage_names();
  std::vector<std::optional<NamedItem>> items = read_item_list(ctx, section, "stages", "stage");
  std::vector<const StageSpec*> specs;
  std::map<std::string, int> seen;
  for (const std::optional<NamedItem>& parsed : items) {
    specs.push_back(parsed ? registry.find_stage(parsed->name) : nullptr);
    if (!parsed) continue;
    const NamedItem& item = *parsed;
    const StageSpec* spec = specs.back();
    if (!spec) {
      ctx.errors.push_back({item.name_where, item.key_path, unknown_name_message("stage", item.name, known, cfg.plugins),
                            config::did_you_mean(item.name, known)});
      continue;
    }
    StageConfig sc;
    sc.stage = item.name;
    int n = ++seen[item.name];
    sc.instance_name = n == 1 ? item.name : item.name + "#" + std::to_string(n);
    sc.where = item.name_where;
    const size_t errors_before = ctx.errors.size();
    sc.options = config::read_options(ctx, item.options, item.options_where, spec->options,
                                      "stage '" + item.name + "'", config::join_key(item.key_path, item.name));
    const StageCheck* check = registry.stage_check(item.name);
    if (check && ctx.errors.size() == errors_before) run_stage_check(ctx, *check, item, sc, cfg.stages);
    cfg.stages.push_back(std::move(sc));
  }
  check_data_flow(ctx, registry, specs, items);
}

void read_sinks(CheckContext& ctx, const Registry& registry, PipelineConfig& cfg) {
  Section section = find_section(ctx.src.root, "sinks");
  std::vector<std::string> known = registry.sink_names();
  for (const std::optional<NamedItem>& parsed : read_item_list(ctx, section, "sinks", "sink")) {
    if (!parsed) continue;
    const NamedItem& item = *parsed;
    const SinkSpec* spec = registry.find_sink(item.name);
    if (!spec) {
      ctx.errors.push_back({item.name_where, item.key_path, unknown_name_message("sink", item.name, known, cfg.plugins),
                            config::did_you_mean(item.name, known)});
      continue;
    }
    SinkConfig sc;
    sc.type = item.name;
    sc.where = item.name_where;
    sc.options = config::read_options(ctx, item.options, item.options_where, spec->options,
                                      "sink '" + item.name + "'", config::join_key(item.key_path, item.name));
    cfg.sinks.push_back(std::move(sc));
  }
}

// input.paths entries are paths, though declared as a string list: resolve them like kPath values.
void resolve_input_paths(CheckContext& ctx, Options& input) {
  if (!input.has("paths")) return;
  std::vector<std::string> paths = input.get_strings("paths");
  // Non-empty only when the paths came from the file (a default of [] has nothing to point at).
  std::vector<YAML::Node> entries;
  Section s = find_section(ctx.src.root, "input");
  if (s.found && s.value.IsMap()) {
    Section list = find_section(s.value, "paths");
    if (list.found && list.value.IsSequence())
      for (const YAML::Node& item : list.value) entries.push_back(item);
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i].empty()) {
      SourceLocation where = i < entries.size() ? ctx.src.at(entries[i].Mark()) : ctx.src.at(ctx.src.root.Mark());
      ctx.errors.push_back({where, config::join_index("input.paths", i), "expected a path, got an empty string", ""});
      continue;
    }
    paths[i] = config::resolve_path(ctx.base_dir, paths[i]);
  }
  input.set("paths", std::move(paths));
}

}  // namespace

PipelineConfig validate_pipeline(const RawPipeline& raw, const Registry& registry) {
  auto src = std::static_pointer_cast<const YamlSource>(raw.tree);
  if (!src) throw std::invalid_argument("[config.validate] RawPipeline has no parsed tree; use parse_pipeline_file()");

  PipelineConfig cfg;
  cfg.file = raw.file;
  cfg.base_dir = raw.base_dir;
  cfg.name = src->pipeline_name.empty() ? raw.file.stem().string() : src->pipeline_name;
  cfg.plugins = raw.plugins;

  std::vector<ConfigError> errors;
  CheckContext ctx{*src, raw.base_dir, errors};
  try {
    cfg.input = read_section_options(ctx, src->root, "input", input_option_specs(), "input");
    resolve_input_paths(ctx, cfg.input);
    read_stages(ctx, registry, cfg);
    read_sinks(ctx, registry, cfg);
    cfg.run = read_section_options(ctx, src->root, "run", run_option_specs(), "run");
  } catch (const YAML::Exception& e) {
    errors.push_back({src->at(e.mark), "", "unexpected YAML error: " + e.msg, ""});
  }
  if (!errors.empty()) throw ConfigErrors(std::move(errors));

  cfg.resolved_yaml = config::emit_resolved_yaml(cfg, true);
  cfg.config_hash = sha256_tagged(config::emit_processing_yaml(cfg));
  return cfg;
}

}  // namespace ds
