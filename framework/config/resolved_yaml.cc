#include "config/resolved_yaml.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <yaml-cpp/yaml.h>

#include "config/option_values.h"

namespace ds::config {

namespace {

// Strings that a YAML reader would take as a bool, null or number are quoted to stay strings.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  std::string lower(s.size(), ' ');
  std::transform(s.begin(), s.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* const kWords[] = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"};
  for (const char* w : kWords)
    if (lower == w) return true;
  double d = 0;
  const char* b = s.data() + (s[0] == '+' || s[0] == '-' ? 1 : 0);
  auto res = std::from_chars(b, s.data() + s.size(), d);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (needs_quotes(s)) out << YAML::DoubleQuoted << s;
  else out << s;
}

std::string float_text(double v) {
  std::string s = format_number(v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

void emit_value(YAML::Emitter& out, const OptionValue& v) {
  if (std::holds_alternative<std::monostate>(v)) out << YAML::Null;
  else if (const bool* b = std::get_if<bool>(&v)) out << (*b ? "true" : "false");
  else if (const int64_t* i = std::get_if<int64_t>(&v)) out << std::to_string(*i);
  else if (const double* d = std::get_if<double>(&v)) out << float_text(*d);
  else if (const std::string* s = std::get_if<std::string>(&v)) emit_string(out, *s);
  else if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const std::string& item : *list) emit_string(out, item);
    out << YAML::EndSeq;
  }
}

void emit_options(YAML::Emitter& out, const Options& options) {
  if (options.values().empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    return;
  }
  out << YAML::BeginMap;
  for (const auto& [name, value] : options.values()) {
    out << YAML::Key << name << YAML::Value;
    emit_value(out, value);
  }
  out << YAML::EndMap;
}

template <typename Item, typename NameOf>
void emit_named_list(YAML::Emitter& out, const std::vector<Item>& items, NameOf name_of) {
  if (items.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    return;
  }
  out << YAML::BeginSeq;
  for (const Item& item : items) {
    out << YAML::BeginMap << YAML::Key << name_of(item) << YAML::Value;
    emit_options(out, item.options);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

}  // namespace

namespace {

void emit_processing(YAML::Emitter& out, const PipelineConfig& cfg) {
  out << YAML::Key << "plugins" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const PluginRef& p : cfg.plugins) emit_string(out, p.name_or_path);
  out << YAML::EndSeq;
  out << YAML::Key << "input" << YAML::Value;
  emit_options(out, cfg.input);
  out << YAML::Key << "stages" << YAML::Value;
  emit_named_list(out, cfg.stages, [](const StageConfig& s) { return s.stage; });
}

}  // namespace

std::string emit_resolved_yaml(const PipelineConfig& cfg, bool with_run) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << "1";
  out << YAML::Key << "name" << YAML::Value;
  emit_string(out, cfg.name);
  emit_processing(out, cfg);
  out << YAML::Key << "sinks" << YAML::Value;
  emit_named_list(out, cfg.sinks, [](const SinkConfig& s) { return s.type; });
  if (with_run) {
    out << YAML::Key << "run" << YAML::Value;
    emit_options(out, cfg.run);
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string emit_processing_yaml(const PipelineConfig& cfg) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << "1";
  emit_processing(out, cfg);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace ds::config
