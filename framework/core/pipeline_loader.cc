#include "core/pipeline_loader.h"

#include <yaml-cpp/yaml.h>

#include "config/option_values.h"
#include "config/yaml_source.h"

namespace ds {

namespace {

// The value as a YAML node that reads back as the same OptionValue. `$` is doubled so that the
// validator's ${VAR} expansion gives the string back unchanged.
YAML::Node to_yaml(const OptionValue& value) {
  auto literal = [](const std::string& s) {
    std::string out;
    for (char c : s) out += c == '$' ? std::string("$$") : std::string(1, c);
    return YAML::Node(out);
  };
  if (const bool* b = std::get_if<bool>(&value)) return YAML::Node(*b ? "true" : "false");
  if (const int64_t* i = std::get_if<int64_t>(&value)) return YAML::Node(std::to_string(*i));
  if (const double* d = std::get_if<double>(&value)) return YAML::Node(config::format_number(*d));
  if (const std::string* s = std::get_if<std::string>(&value)) return literal(*s);
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const std::string& item : *list) seq.push_back(literal(item));
    return seq;
  }
  return YAML::Node(YAML::NodeType::Null);
}

// Sets `option` on every item of the `section` list named `name` (`- name` or `- name: {...}`).
// Items of another shape are left for the validator to report.
void apply_override(YAML::Node root, const std::string& section, const OptionOverride& o) {
  YAML::Node list;
  for (auto kv : root)
    if (kv.first.IsScalar() && kv.first.Scalar() == section) list = kv.second;
  if (!list.IsDefined() || !list.IsSequence()) return;
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node item = list[i];
    if (item.IsScalar() && item.Scalar() == o.name) {
      YAML::Node options(YAML::NodeType::Map);
      options[o.option] = to_yaml(o.value);
      YAML::Node replacement(YAML::NodeType::Map);
      replacement[o.name] = options;
      list[i] = replacement;
    } else if (item.IsMap() && item.size() == 1) {
      auto kv = *item.begin();
      if (!kv.first.IsScalar() || kv.first.Scalar() != o.name) continue;
      YAML::Node options = kv.second;
      if (options.IsNull()) {
        YAML::Node fresh(YAML::NodeType::Map);
        fresh[o.option] = to_yaml(o.value);
        item[o.name] = fresh;
      } else if (options.IsMap()) {
        options[o.option] = to_yaml(o.value);
      }
    }
  }
}

}  // namespace

PipelineConfig load_pipeline(const std::filesystem::path& file, Registry& registry, PluginHost& host,
                             const std::vector<OptionOverride>& overrides) {
  RawPipeline raw = parse_pipeline_file(file);
  std::vector<ConfigError> errors;
  for (const PluginRef& ref : raw.plugins) {
    try {
      host.load(ref.name_or_path, raw.base_dir, registry);
    } catch (const std::exception& e) {
      errors.push_back({ref.where, "plugins", e.what(), ""});
    }
  }
  if (!errors.empty()) throw ConfigErrors(std::move(errors));
  if (!overrides.empty()) {
    // The tree is this call's own (just parsed); a YAML::Node copy refers to the same nodes.
    auto src = std::static_pointer_cast<const config::YamlSource>(raw.tree);
    YAML::Node root = src->root;
    try {
      for (const OptionOverride& o : overrides)
        apply_override(root, o.section == OptionOverride::Section::kStage ? "stages" : "sinks", o);
    } catch (const YAML::Exception& e) {
      throw ConfigErrors({{{src->file, 0, 0}, "", "cannot apply a command-line option: " + e.msg, ""}});
    }
  }
  return validate_pipeline(raw, registry);
}

}  // namespace ds
