// A loaded medqa pipeline that answers one question at a time, in-process: the stages of the
// pipeline file are created once (the model is loaded once) and run on an in-memory document per
// question, as the engine would run them, without a reader or sinks.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/pipeline_config.h"
#include "core/pipeline_loader.h"
#include "core/registry.h"
#include "ds/document.h"
#include "ds/stage.h"
#include "plugin/plugin_host.h"

namespace ds::medqa {

struct SessionSettings {
  std::filesystem::path pipeline;  // the YAML file
  std::string model;               // non-empty: replaces model.encode's `model` (made absolute)
  std::string path;                // non-empty: replaces model.encode's `path`
  std::string lang;                // auto | zh | en: the `language` of the answering stages
  std::string kb;                  // non-empty: replaces medical.answer's `kb` (made absolute)
};

struct Answered {
  Document doc;                                         // the question's document after every stage
  double latency_ms = 0;                                // all stages, wall clock
  std::vector<std::pair<std::string, double>> stage_ms;  // per stage instance, in pipeline order
};

class Session {
 public:
  // Loads the pipeline and starts its stages. Throws ConfigErrors for a pipeline or override that
  // does not validate (a model file that does not load included), std::runtime_error for a stage
  // that cannot start, PluginError for a plug-in that does not load.
  explicit Session(SessionSettings settings);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs every stage on a document holding `question` (UTF-8 bytes). Never throws for a problem
  // of the question: a stage failure marks the document failed (doc.failed(), doc.error).
  Answered ask(const std::string& question, const std::string& name = "question");

  // Switches model.encode's computation path: reloads the pipeline with the new override and
  // starts new stages (the model file stays loaded). Throws ConfigErrors, leaving the session as
  // it was, for a path the model does not define.
  void set_path(const std::string& path);

  // Switches the answers' language (auto | zh | en) the same way; throws ConfigErrors, leaving the
  // session as it was, for a value the stages refuse.
  void set_lang(const std::string& lang);
  const std::string& lang() const { return settings_.lang; }

  // The computation path in use: model.encode's `path` option, or "default" when it is empty
  // (the model's default path); "" when the pipeline has no model.encode stage.
  std::string path() const;

  // A resolved stage option as text ("" when the pipeline has no such stage or option).
  std::string option_text(const std::string& stage, const std::string& option) const;

  const PipelineConfig& config() const { return config_; }

 private:
  std::vector<OptionOverride> overrides(const std::string& path) const;
  void start(const std::string& path);

  SessionSettings settings_;
  // Declaration order is destruction order reversed: stages go before the registry and the host
  // whose plug-in code they run.
  PluginHost host_;
  Registry registry_;
  PipelineConfig config_;
  std::vector<std::unique_ptr<Stage>> stages_;
};

}  // namespace ds::medqa
