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

class Registry {
 public:
  // Throws std::invalid_argument if the name is taken.
  void add_stage(StageSpec spec, StageFactory factory);
  void add_sink(SinkSpec spec, SinkFactory factory);

  const StageSpec* find_stage(const std::string& name) const;
  const StageFactory* stage_factory(const std::string& name) const;
  const SinkSpec* find_sink(const std::string& name) const;
  const SinkFactory* sink_factory(const std::string& name) const;

  std::vector<std::string> stage_names() const;
  std::vector<std::string> sink_names() const;

 private:
  struct StageEntry { StageSpec spec; StageFactory factory; };
  struct SinkEntry { SinkSpec spec; SinkFactory factory; };
  std::map<std::string, StageEntry> stages_;
  std::map<std::string, SinkEntry> sinks_;
};

// Registers the framework's own stages (decode, normalize, segment, tokenize) and sinks.
// Called explicitly, once, by whoever builds a Registry (no static initializers).
void register_builtins(Registry& registry);

}  // namespace ds
