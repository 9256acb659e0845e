// Reading a sink's options with its declared defaults, so a sink built from a partly filled Options
// (tests, programmatic use) behaves like one built from a validated YAML config.
#pragma once

#include <stdexcept>
#include <string>

#include "ds/options.h"

namespace ds::sink_options {

inline bool get_bool(const Options& o, const std::string& name, bool def) { return o.has(name) ? o.get_bool(name) : def; }

inline std::string get_string(const Options& o, const std::string& name, const std::string& def) {
  return o.has(name) ? o.get_string(name) : def;
}

// Throws std::invalid_argument("[sink.<area>] option 'path' is required") when missing or empty.
inline std::string required_path(const Options& o, const std::string& area) {
  if (!o.has("path") || o.get_string("path").empty())
    throw std::invalid_argument("[sink." + area + "] option 'path' is required");
  return o.get_string("path");
}

}  // namespace ds::sink_options
