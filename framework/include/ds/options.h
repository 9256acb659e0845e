// Declared stage options and their resolved values.
//
// A stage (or sink, or the reader) declares each option it takes with a type, a default, a doc line
// and limits. The YAML validator checks user values against these declarations before anything
// runs; stages then read resolved values through `Options`, which never fails for a declared name.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace ds {

enum class OptionType { kBool, kInt, kFloat, kString, kPath, kEnum, kStringList };

const char* to_string(OptionType type);

// kPath values are resolved against the YAML file's folder; kStringList holds kString items.
using OptionValue = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<std::string>>;

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::kString;
  std::string doc;
  std::optional<OptionValue> default_value;  // nullopt: the option is required
  std::optional<double> min;                 // kInt, kFloat: inclusive bounds
  std::optional<double> max;
  std::vector<std::string> choices;          // kEnum

  bool required() const { return !default_value.has_value(); }
};

// Convenience constructors, so declarations read as one line each.
OptionSpec opt_bool(std::string name, bool def, std::string doc);
OptionSpec opt_int(std::string name, std::optional<int64_t> def, std::string doc,
                   std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
OptionSpec opt_float(std::string name, std::optional<double> def, std::string doc,
                     std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt);
OptionSpec opt_string(std::string name, std::optional<std::string> def, std::string doc);
OptionSpec opt_path(std::string name, std::optional<std::string> def, std::string doc);
OptionSpec opt_enum(std::string name, std::string def, std::vector<std::string> choices, std::string doc);
OptionSpec opt_strings(std::string name, std::vector<std::string> def, std::string doc);

// Resolved option values of one stage instance (defaults filled in). Thread-safe to read.
class Options {
 public:
  Options() = default;
  void set(const std::string& name, OptionValue value);
  bool has(const std::string& name) const;

  // Throw std::logic_error if the option was not declared with a matching type: a programming error.
  bool get_bool(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;  // accepts an int value too
  const std::string& get_string(const std::string& name) const;  // kString, kPath, kEnum
  const std::vector<std::string>& get_strings(const std::string& name) const;

  const std::vector<std::pair<std::string, OptionValue>>& values() const { return values_; }

 private:
  const OptionValue& find(const std::string& name) const;
  std::vector<std::pair<std::string, OptionValue>> values_;  // declaration order
};

}  // namespace ds
