#include "core/registry.h"

#include <stdexcept>

namespace ds {

void Registry::add_stage(StageSpec spec, StageFactory factory, StageCheck check) {
  std::string name = spec.name;
  if (stages_.count(name)) throw std::invalid_argument("stage '" + name + "' is already registered");
  stages_.emplace(name, StageEntry{std::move(spec), std::move(factory), std::move(check)});
}

void Registry::add_sink(SinkSpec spec, SinkFactory factory) {
  std::string name = spec.name;
  if (sinks_.count(name)) throw std::invalid_argument("sink '" + name + "' is already registered");
  sinks_.emplace(name, SinkEntry{std::move(spec), std::move(factory)});
}

const StageSpec* Registry::find_stage(const std::string& name) const {
  auto it = stages_.find(name);
  return it == stages_.end() ? nullptr : &it->second.spec;
}

const StageFactory* Registry::stage_factory(const std::string& name) const {
  auto it = stages_.find(name);
  return it == stages_.end() ? nullptr : &it->second.factory;
}

const StageCheck* Registry::stage_check(const std::string& name) const {
  auto it = stages_.find(name);
  return it == stages_.end() || !it->second.check ? nullptr : &it->second.check;
}

const SinkSpec* Registry::find_sink(const std::string& name) const {
  auto it = sinks_.find(name);
  return it == sinks_.end() ? nullptr : &it->second.spec;
}

const SinkFactory* Registry::sink_factory(const std::string& name) const {
  auto it = sinks_.find(name);
  return it == sinks_.end() ? nullptr : &it->second.factory;
}

std::vector<std::string> Registry::stage_names() const {
  std::vector<std::string> names;
  for (const auto& [n, _] : stages_) names.push_back(n);
  return names;
}

std::vector<std::string> Registry::sink_names() const {
  std::vector<std::string> names;
  for (const auto& [n, _] : sinks_) names.push_back(n);
  return names;
}

}  // namespace ds
