#include "cli/batch_run.h"

#include <cstdlib>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>

#include "cli/progress.h"

namespace ds {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
  // A second Ctrl-C kills the process the usual way.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

// Passes every call through to `inner` and notes the keys the engine asks about: one has() per
// document of the batch (except repeats of a path), in input order, whether it is then processed
// or skipped as already complete.
class KeyRecordingSink : public Sink {
 public:
  KeyRecordingSink(Sink& inner, std::vector<DocKey>& keys) : inner_(inner), keys_(keys) {}
  void begin_run(const RunInfo& run) override { inner_.begin_run(run); }
  bool has(const DocKey& key) override {
    keys_.push_back(key);
    return inner_.has(key);
  }
  void write(const DocKey& key, const Document& doc) override { inner_.write(key, doc); }
  void end_run(const RunSummary& summary) override { inner_.end_run(summary); }

 private:
  Sink& inner_;
  std::vector<DocKey>& keys_;
};

}  // namespace

InputSpec input_spec(const PipelineConfig& config, const std::vector<std::string>& paths) {
  InputSpec spec;
  spec.paths = paths.empty() ? config.input.get_strings("paths") : paths;
  spec.include = config.input.get_strings("include");
  spec.exclude = config.input.get_strings("exclude");
  spec.recursive = config.input.get_bool("recursive");
  spec.follow_symlinks = config.input.get_bool("follow_symlinks");
  spec.max_file_bytes = config.input.get_int("max_file_bytes");
  return spec;
}

void add_plugin_path(const std::string& dir) {
  if (dir.empty()) return;
  const char* old = std::getenv("DS_PLUGIN_PATH");
  std::string value = dir;
  if (old && *old) value += std::string(":") + old;
  ::setenv("DS_PLUGIN_PATH", value.c_str(), 1);
}

std::string new_run_id() {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffff);
  return std::string(stamp) + "-" + suffix;
}

std::string plugins_summary(const PluginHost& host) {
  std::string out;
  for (const PluginInfo& p : host.loaded()) {
    if (!out.empty()) out += ", ";
    out += p.name + " " + p.version + " (abi " + std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor) + ")";
  }
  return out;
}

BatchRun run_batch(const PipelineConfig& config, const Registry& registry, const PluginHost& host,
                   const std::vector<InputEntry>& inputs, const BatchSettings& settings) {
  const int threads = settings.threads >= 0 ? settings.threads : static_cast<int>(config.run.get_int("threads"));
  const int batch = settings.batch_size > 0 ? settings.batch_size : static_cast<int>(config.run.get_int("batch_size"));
  const ProgressMode mode =
      parse_progress_mode(settings.progress.empty() ? config.run.get_string("progress") : settings.progress);

  BatchRun run;
  RunInfo& info = run.info;
  info.run_id = new_run_id();
  info.pipeline_name = config.name;
  info.pipeline_path = config.file.string();
  info.config_hash = config.config_hash;
  info.config_text = config.resolved_yaml;
  info.version = DS_VERSION;
  info.plugins = plugins_summary(host);
  info.started_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();

  // The caller keeps `host` alive past this call, so plug-in code outlives every stage and sink.
  std::vector<std::unique_ptr<Sink>> sinks;
  std::vector<Sink*> sink_ptrs;
  for (const SinkConfig& sc : config.sinks) {
    sinks.push_back((*registry.sink_factory(sc.type))(sc.options));
    sink_ptrs.push_back(sinks.back().get());
  }
  std::unique_ptr<KeyRecordingSink> recorder;
  if (!sink_ptrs.empty()) {
    recorder = std::make_unique<KeyRecordingSink>(*sink_ptrs[0], run.keys);
    sink_ptrs[0] = recorder.get();
  }
  Engine engine(config, registry, threads, batch);
  Progress progress(mode, stderr);
  g_stop.store(false);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  run.result = engine.run(inputs, sink_ptrs, info, progress, &g_stop);
  return run;
}

}  // namespace ds
