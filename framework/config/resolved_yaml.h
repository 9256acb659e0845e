// The resolved pipeline as YAML text: what `deepseek config` prints and what the config hash covers.
#pragma once

#include <string>

#include "config/pipeline_config.h"

namespace ds::config {

// Deterministic YAML of `cfg`: version, name, plugins (as written), input, stages and sinks with
// every declared option in declaration order, and `run:` when `with_run` is true. Strings that
// would read back as another type are quoted; floats always show a fraction or exponent.
std::string emit_resolved_yaml(const PipelineConfig& cfg, bool with_run);

// What decides a document's results: plugins, input options and stages. The config hash is taken
// over this, so renaming the pipeline, moving its outputs or changing `run:` does not redo work.
std::string emit_processing_yaml(const PipelineConfig& cfg);

}  // namespace ds::config
