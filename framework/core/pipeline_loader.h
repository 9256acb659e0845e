// Loads a pipeline file end to end: parse, load the plug-ins it names, validate against the
// registry. Plug-in load failures are reported as configuration errors at the `plugins:` entry.
#pragma once

#include <filesystem>

#include "config/pipeline_config.h"
#include "plugin/plugin_host.h"

namespace ds {

// Throws ConfigErrors. `registry` must already hold the built-ins; plug-in stages are added to it.
PipelineConfig load_pipeline(const std::filesystem::path& file, Registry& registry, PluginHost& host);

}  // namespace ds
