// Running a loaded pipeline over a list of inputs: what `deepseek run` and the batch apps
// (legal-extract) share, so they resume, stop and record runs the same way.
#pragma once

#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "core/engine.h"
#include "io/reader.h"
#include "plugin/plugin_host.h"
#include "sinks/sink.h"

namespace ds {

// Settings that override the pipeline's `run:` section for one run.
struct BatchSettings {
  int threads = -1;      // < 0: the pipeline's run.threads (0 there means all cores)
  int batch_size = -1;   // <= 0: the pipeline's run.batch_size
  std::string progress;  // "auto" | "bar" | "log" | "none"; empty: the pipeline's run.progress
};

struct BatchRun {
  RunInfo info;      // the run as recorded by the sinks (run id, config hash, plug-ins ...)
  RunResult result;  // counts, failures, stage times, interrupted
  // The key of every document of this batch, in input order: the ones processed now and the ones
  // already complete from an earlier run alike (a repeated path is listed once). Empty when the
  // pipeline has no sinks.
  std::vector<DocKey> keys;
};

// The pipeline's `input:` section as an InputSpec; `paths`, when not empty, replace input.paths.
InputSpec input_spec(const PipelineConfig& config, const std::vector<std::string>& paths);

// Builds the pipeline's sinks and engine and runs `inputs` through them, with a progress display on
// stderr. SIGINT/SIGTERM stop the run after the documents in flight are written
// (result.interrupted); a second signal ends the process the usual way. Throws std::runtime_error
// when a sink or stage cannot start or a sink cannot write (what was committed stays committed).
// Call from the main thread, once at a time.
BatchRun run_batch(const PipelineConfig& config, const Registry& registry, const PluginHost& host,
                   const std::vector<InputEntry>& inputs, const BatchSettings& settings);

// "20261128T120000Z-1a2b3c": UTC time and 24 random bits.
std::string new_run_id();

// Puts `dir` (a --plugin-path value; nothing when empty) in front of DS_PLUGIN_PATH, where the
// plug-in host looks first.
void add_plugin_path(const std::string& dir);

// "legal 0.1.0 (abi 1.1), medical 0.1.0 (abi 1.1)": the loaded plug-ins, as runs record them.
std::string plugins_summary(const PluginHost& host);

}  // namespace ds
