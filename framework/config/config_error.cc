#include <algorithm>

#include "config/pipeline_config.h"

namespace ds {

std::string ConfigError::format() const {
  std::string out = where.file;
  if (where.line > 0) out += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  if (!suggestion.empty()) out += " (" + suggestion + ")";
  return out;
}

namespace {

// Sorts in place and returns the same vector, so the constructor can sort before building what().
std::vector<ConfigError>& sort_by_position(std::vector<ConfigError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
  return errors;
}

std::string joined(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) {
    if (!out.empty()) out += "\n";
    out += e.format();
  }
  return out.empty() ? "[config] invalid pipeline" : out;
}

}  // namespace

ConfigErrors::ConfigErrors(std::vector<ConfigError> errors)
    : std::runtime_error(joined(sort_by_position(errors))), errors_(std::move(errors)) {}

}  // namespace ds
