// Pipeline configuration: YAML files parsed, validated against the registry and resolved.
//
// Loading has two phases, because plug-ins named in the YAML add stages that the rest of the file
// may use:
//   1. parse_pipeline_file(): YAML syntax, top-level keys, the `plugins:` list.
//   2. validate_pipeline(): every input/run/stage/sink option against its declaration, the data
//      flow between stages, defaults filled in, paths resolved, ${ENV} expanded.
// Each phase reports all of its errors together in one ConfigErrors exception.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/registry.h"
#include "ds/options.h"

namespace ds {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
};

struct ConfigError {
  SourceLocation where;
  std::string key_path;    // e.g. "stages[2].normalize.form"
  std::string message;     // what is wrong and what was expected
  std::string suggestion;  // e.g. "did you mean 'segment'?"; may be empty

  // "file:line:column: key_path: message (did you mean ...)"
  std::string format() const;
};

class ConfigErrors : public std::runtime_error {
 public:
  explicit ConfigErrors(std::vector<ConfigError> errors);
  const std::vector<ConfigError>& errors() const { return errors_; }

 private:
  std::vector<ConfigError> errors_;
};

struct PluginRef {
  std::string name_or_path;  // as written; a path is resolved against the YAML's folder
  SourceLocation where;
};

struct StageConfig {
  std::string stage;          // registry name
  std::string instance_name;  // unique in the pipeline: the stage name, "#2" appended for repeats
  Options options;            // resolved, defaults filled in
  SourceLocation where;
};

struct SinkConfig {
  std::string type;  // registry sink name
  Options options;
  SourceLocation where;
};

// Phase 1 output: the parsed document, not yet checked against stage declarations.
struct RawPipeline {
  std::filesystem::path file;      // absolute
  std::filesystem::path base_dir;  // the file's folder, absolute
  std::string text;                // file contents
  std::vector<PluginRef> plugins;
  // The parsed YAML tree is kept behind an opaque pointer so yaml-cpp stays out of this header.
  std::shared_ptr<const void> tree;
};

struct PipelineConfig {
  std::filesystem::path file;
  std::filesystem::path base_dir;
  std::string name;                 // `name:`, or the file's stem
  std::vector<PluginRef> plugins;
  Options input;                    // see input_option_specs()
  std::vector<StageConfig> stages;
  std::vector<SinkConfig> sinks;
  Options run;                      // see run_option_specs()
  std::string resolved_yaml;        // every option with its resolved value, for `deepseek config`
  std::string config_hash;          // "sha256:<hex>" of emit_processing_yaml (plugins, input, stages)
};

// The `input:` section: paths, include/exclude globs, recursion, size limit, encoding override.
const std::vector<OptionSpec>& input_option_specs();
// The `run:` section: threads, batch size.
const std::vector<OptionSpec>& run_option_specs();

// Phase 1. Throws ConfigErrors (file unreadable, not YAML, wrong top-level structure).
RawPipeline parse_pipeline_file(const std::filesystem::path& file);

// Phase 2. Throws ConfigErrors with every problem found.
PipelineConfig validate_pipeline(const RawPipeline& raw, const Registry& registry);

}  // namespace ds
