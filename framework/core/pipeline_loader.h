// Loads a pipeline file end to end: parse, load the plug-ins it names, validate against the
// registry. Plug-in load failures are reported as configuration errors at the `plugins:` entry.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "plugin/plugin_host.h"

namespace ds {

// One option value set from outside the file (typically a command-line flag), applied to the
// parsed YAML before validation, exactly as if the file had said it: the value is checked against
// the option's declaration (type, range, choices), the stage's load-time check runs with it, and
// it is part of the resolved config and so of the config hash (a stage override changes which
// results are reused; a sink override does not, since sinks are outside the hash).
struct OptionOverride {
  enum class Section { kStage, kSink };
  Section section = Section::kStage;
  std::string name;    // registry name of the stage or sink type; every instance of it is changed
  std::string option;  // the declared option name
  OptionValue value;   // bool, int64_t, double, string (paths: absolute) or list of strings; strings are
                       // taken literally (no ${VAR} expansion)
};

// Throws ConfigErrors. `registry` must already hold the built-ins; plug-in stages are added to it.
// `overrides` naming a stage or sink the file does not use are ignored (the caller can tell from
// the returned config); one naming an undeclared option is reported like a misspelt YAML key.
PipelineConfig load_pipeline(const std::filesystem::path& file, Registry& registry, PluginHost& host,
                             const std::vector<OptionOverride>& overrides = {});

}  // namespace ds
