#include "ds/options.h"

#include <algorithm>

namespace ds {

const char* to_string(OptionType type) {
  switch (type) {
    case OptionType::kBool: return "bool";
    case OptionType::kInt: return "integer";
    case OptionType::kFloat: return "number";
    case OptionType::kString: return "string";
    case OptionType::kPath: return "path";
    case OptionType::kEnum: return "one of the listed values";
    case OptionType::kStringList: return "list of strings";
  }
  return "unknown";
}

OptionSpec opt_bool(std::string name, bool def, std::string doc) {
  return {std::move(name), OptionType::kBool, std::move(doc), OptionValue(def), {}, {}, {}};
}

OptionSpec opt_int(std::string name, std::optional<int64_t> def, std::string doc, std::optional<double> min,
                   std::optional<double> max) {
  OptionSpec s{std::move(name), OptionType::kInt, std::move(doc), {}, min, max, {}};
  if (def) s.default_value = OptionValue(*def);
  return s;
}

OptionSpec opt_float(std::string name, std::optional<double> def, std::string doc, std::optional<double> min,
                     std::optional<double> max) {
  OptionSpec s{std::move(name), OptionType::kFloat, std::move(doc), {}, min, max, {}};
  if (def) s.default_value = OptionValue(*def);
  return s;
}

OptionSpec opt_string(std::string name, std::optional<std::string> def, std::string doc) {
  OptionSpec s{std::move(name), OptionType::kString, std::move(doc), {}, {}, {}, {}};
  if (def) s.default_value = OptionValue(*def);
  return s;
}

OptionSpec opt_path(std::string name, std::optional<std::string> def, std::string doc) {
  OptionSpec s{std::move(name), OptionType::kPath, std::move(doc), {}, {}, {}, {}};
  if (def) s.default_value = OptionValue(*def);
  return s;
}

OptionSpec opt_enum(std::string name, std::string def, std::vector<std::string> choices, std::string doc) {
  return {std::move(name), OptionType::kEnum, std::move(doc), OptionValue(std::move(def)), {}, {}, std::move(choices)};
}

OptionSpec opt_strings(std::string name, std::vector<std::string> def, std::string doc) {
  return {std::move(name), OptionType::kStringList, std::move(doc), OptionValue(std::move(def)), {}, {}, {}};
}

void Options::set(const std::string& name, OptionValue value) {
  for (auto& [n, v] : values_) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  values_.emplace_back(name, std::move(value));
}

bool Options::has(const std::string& name) const {
  return std::any_of(values_.begin(), values_.end(), [&](const auto& p) {
    return p.first == name && !std::holds_alternative<std::monostate>(p.second);
  });
}

const OptionValue& Options::find(const std::string& name) const {
  for (const auto& [n, v] : values_)
    if (n == name) return v;
  throw std::logic_error("option '" + name + "' was not declared");
}

bool Options::get_bool(const std::string& name) const {
  const auto& v = find(name);
  if (auto p = std::get_if<bool>(&v)) return *p;
  throw std::logic_error("option '" + name + "' is not a bool");
}

int64_t Options::get_int(const std::string& name) const {
  const auto& v = find(name);
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  throw std::logic_error("option '" + name + "' is not an integer");
}

double Options::get_float(const std::string& name) const {
  const auto& v = find(name);
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  throw std::logic_error("option '" + name + "' is not a number");
}

const std::string& Options::get_string(const std::string& name) const {
  const auto& v = find(name);
  if (auto p = std::get_if<std::string>(&v)) return *p;
  throw std::logic_error("option '" + name + "' is not a string");
}

const std::vector<std::string>& Options::get_strings(const std::string& name) const {
  const auto& v = find(name);
  if (auto p = std::get_if<std::vector<std::string>>(&v)) return *p;
  throw std::logic_error("option '" + name + "' is not a list of strings");
}

}  // namespace ds
