// Checking YAML option maps against declared OptionSpecs, and turning values into OptionValues.
//
// Internal to framework/config. Every function records problems in `errors` and carries on, so
// one pass over a file reports everything; none throws for bad input.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/yaml_source.h"
#include "ds/options.h"

namespace ds::config {

struct CheckContext {
  const YamlSource& src;
  std::filesystem::path base_dir;  // relative kPath values resolve against it
  std::vector<ConfigError>& errors;
};

// The scalar's text with ${VAR} references expanded, or nullopt after recording an error at the
// failing reference.
std::optional<std::string> expand_scalar(CheckContext& ctx, const YAML::Node& scalar, const std::string& key_path);

// One value checked against `spec`: type (after expansion), range, choices; kPath made absolute.
// `key_where` locates the key, used when the value itself is empty.
std::optional<OptionValue> read_option_value(CheckContext& ctx, const YAML::Node& value, const OptionSpec& spec,
                                             const std::string& key_path, const SourceLocation& key_where);

// A whole options map (or null for "no options"): unknown names (with suggestions), missing
// required options (reported at `map_where`), each value. Returns every declared option in
// declaration order, defaults filled in; a failed or missing value is left as std::monostate.
// `owner` names the map's owner in messages, e.g. "stage 'segment'".
Options read_options(CheckContext& ctx, const YAML::Node& map, const SourceLocation& map_where,
                     const std::vector<OptionSpec>& specs, const std::string& owner, const std::string& key_path);

// "an integer in [1, 4096]", "true or false", "one of: a, b", "a list of strings", ...
std::string expected_text(const OptionSpec& spec);

// Shortest text that reads back as the same double; integral values print without a fraction.
std::string format_number(double value);

// `value` made absolute against `base_dir` and lexically normal.
std::string resolve_path(const std::filesystem::path& base_dir, const std::string& value);

}  // namespace ds::config
