// The registry of stages and sinks a pipeline may name: built-ins registered explicitly at start-up
// and stages contributed by plug-ins. Not thread-safe for writes; fill it before running.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ds/stage.h"
#include "sinks/sink.h"

namespace ds {

struct SinkSpec {
  std::string name;  // "sqlite", "jsonl", "csv"
  std::string doc;
  std::vector<OptionSpec> options;
};

// What a load-time check sees of a stage placed earlier in the same pipeline.
struct EarlierStage {
  std::string stage;       // registry name, e.g. "tokenize"
  const Options* options;  // its resolved options
};

// A problem found by a load-time check: the option it concerns ("" for the stage as a whole).
struct StageProblem {
  std::string option;
  std::string message;
};

// Optional check run by the pipeline validator once a stage's options resolved without error, so
// problems only the stage can see (a model file that does not load, a tokenizer that does not
// match the model) are configuration errors with the YAML location, found before anything runs.
using StageCheck =
    std::function<std::vector<StageProblem>(const Options& options, const std::vector<EarlierStage>& earlier)>;

class Registry {
 public:
  // Throws std::invalid_argument if the name is taken. `check` may be empty.
  void add_stage(StageSpec spec, StageFactory factory, StageCheck check = {});
  void add_sink(SinkSpec spec, SinkFactory factory);

  const StageSpec* find_stage(const std::string& name) const;
  const StageFactory* stage_factory(const std::string& name) const;
  const StageCheck* stage_check(const std::string& name) const;  // null if none
  const SinkSpec* find_sink(const std::string& name) const;
  const SinkFactory* sink_factory(const std::string& name) const;

  std::vector<std::string> stage_names() const;
  std::vector<std::string> sink_names() const;

 private:
  struct StageEntry { StageSpec spec; StageFactory factory; StageCheck check; };
  struct SinkEntry { SinkSpec spec; SinkFactory factory; };
  std::map<std::string, StageEntry> stages_;
  std::map<std::string, SinkEntry> sinks_;
};

// Registers the framework's own stages (decode, normalize, segment, tokenize, model.encode) and sinks.
// Called explicitly, once, by whoever builds a Registry (no static initializers).
void register_builtins(Registry& registry);

}  // namespace ds
