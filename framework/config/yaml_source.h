// The pipeline file as parsed: text, display name and yaml-cpp tree, with helpers that turn
// yaml-cpp positions into SourceLocations and describe nodes for error messages.
//
// Internal to framework/config. yaml-cpp never throws out of these helpers when given nodes that
// came from iterating a loaded tree (no lookups of missing keys happen here).
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/pipeline_config.h"

namespace ds::config {

// What RawPipeline::tree points to.
struct YamlSource {
  std::string file;  // as shown in errors: the path as the caller gave it
  std::string text;  // the whole file
  YAML::Node root;   // a map (phase 1 guarantees it)
  std::string pipeline_name;  // `name:` after ${VAR} expansion; empty when not given

  // 1-based location of a 0-based yaml-cpp mark; line 0 for a null mark.
  SourceLocation at(const YAML::Mark& mark) const;
  // Where a value is: its own mark, or `key_where` when the value is null (yaml-cpp then marks the
  // next token, often on a later line).
  SourceLocation at_value(const YAML::Node& value, const SourceLocation& key_where) const;
  // The location of `needle` inside the scalar that starts at `scalar_mark`, when it lies on the
  // same line (quoting and escapes make offsets unreliable otherwise); else the scalar's location.
  SourceLocation at_text(const YAML::Mark& scalar_mark, const std::string& needle) const;
};

// "'abc'", "an empty value", "a list", "a map" (for "expected ..., got ...").
std::string describe(const YAML::Node& node);

// True for a plain scalar key (the only kind pipeline files use).
bool scalar_key(const YAML::Node& key);

// Appends one error per repeated key in any map of the tree, at the repeat, naming the first's line.
// Also reports non-scalar keys and nesting deeper than a config file can sensibly need.
void check_duplicate_keys(const YamlSource& src, std::vector<ConfigError>& errors);

// "a.b", "a[2]" path building.
std::string join_key(const std::string& parent, const std::string& key);
std::string join_index(const std::string& parent, size_t index);

}  // namespace ds::config
