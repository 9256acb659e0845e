// Plug-in SDK (header-only, C++20): declaring a stage's options and reading their resolved values.
//
// Part of the SDK that plug-in authors include through "ds/plugin.h". Nothing here needs the
// framework library: a plug-in links against nothing but the C and C++ runtimes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "ds/plugin_abi.h"

namespace ds::sdk {

// One declared option. Built with the option_* helpers below; copied into the descriptor.
struct OptionDecl {
  std::string name;
  ds_option_type type = DS_OPTION_STRING;
  std::string doc;
  bool has_default = false;  // false: the user must set it
  bool default_bool = false;
  int64_t default_int = 0;
  double default_float = 0.0;
  std::string default_string;             // STRING, PATH, ENUM
  std::vector<std::string> default_list;  // STRING_LIST
  std::optional<double> min;              // INT, FLOAT: inclusive
  std::optional<double> max;
  std::vector<std::string> choices;       // ENUM
};

namespace detail {
inline OptionDecl declare(std::string name, ds_option_type type, std::string doc) {
  OptionDecl d;
  d.name = std::move(name);
  d.type = type;
  d.doc = std::move(doc);
  return d;
}
}  // namespace detail

inline OptionDecl option_bool(std::string name, bool def, std::string doc) {
  OptionDecl d = detail::declare(std::move(name), DS_OPTION_BOOL, std::move(doc));
  d.has_default = true;
  d.default_bool = def;
  return d;
}

inline OptionDecl option_int(std::string name, std::optional<int64_t> def, std::string doc,
                             std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt) {
  OptionDecl d = detail::declare(std::move(name), DS_OPTION_INT, std::move(doc));
  d.has_default = def.has_value();
  d.default_int = def.value_or(0);
  d.min = min;
  d.max = max;
  return d;
}

inline OptionDecl option_float(std::string name, std::optional<double> def, std::string doc,
                               std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt) {
  OptionDecl d = detail::declare(std::move(name), DS_OPTION_FLOAT, std::move(doc));
  d.has_default = def.has_value();
  d.default_float = def.value_or(0.0);
  d.min = min;
  d.max = max;
  return d;
}

inline OptionDecl option_string(std::string name, std::optional<std::string> def, std::string doc) {
  OptionDecl d = detail::declare(std::move(name), DS_OPTION_STRING, std::move(doc));
  d.has_default = def.has_value();
  d.default_string = def.value_or("");
  return d;
}

inline OptionDecl option_path(std::string name, std::optional<std::string> def, std::string doc) {
  OptionDecl d = option_string(std::move(name), std::move(def), std::move(doc));
  d.type = DS_OPTION_PATH;
  return d;
}

inline OptionDecl option_enum(std::string name, std::string def, std::vector<std::string> choices, std::string doc) {
  OptionDecl d = detail::declare(std::move(name), DS_OPTION_ENUM, std::move(doc));
  d.has_default = true;
  d.default_string = std::move(def);
  d.choices = std::move(choices);
  return d;
}

inline OptionDecl option_strings(std::string name, std::vector<std::string> def, std::string doc) {
  OptionDecl d = detail::declare(std::move(name), DS_OPTION_STRING_LIST, std::move(doc));
  d.has_default = true;
  d.default_list = std::move(def);
  return d;
}

namespace detail {

// Element `i` of a host or plug-in array whose elements start with struct_size (the stride), so
// that a newer peer's longer structs are walked correctly.
template <class T>
const T* element_at(const T* base, size_t i) {
  size_t stride = base->struct_size;
  if (stride < sizeof(T)) throw std::runtime_error("[sdk.abi] struct_size smaller than this SDK's struct");
  return reinterpret_cast<const T*>(reinterpret_cast<const char*>(base) + i * stride);
}

inline std::string to_string(ds_str s) { return s.len ? std::string(s.ptr, s.len) : std::string(); }

}  // namespace detail

// The resolved options of one stage instance (every declared option, defaults filled in by the
// host) plus where the instance runs. Owns copies; safe to keep. Getters throw
// std::invalid_argument for an undeclared name or a wrong type.
class Config {
 public:
  Config() = default;

  explicit Config(const ds_create_args* args) {
    if (!args) return;
    instance_name_ = detail::to_string(args->instance_name);
    base_dir_ = detail::to_string(args->base_dir);
    worker_ = args->worker;
    for (size_t i = 0; i < args->option_count; ++i) {
      const ds_option_value* v = detail::element_at(args->options, i);
      Value value;
      switch (v->type) {
        case DS_OPTION_BOOL: value = v->bool_value != 0; break;
        case DS_OPTION_INT: value = v->int_value; break;
        case DS_OPTION_FLOAT: value = v->float_value; break;
        case DS_OPTION_STRING_LIST: {
          std::vector<std::string> items;
          for (size_t k = 0; k < v->list_count; ++k) items.push_back(detail::to_string(v->list[k]));
          value = std::move(items);
          break;
        }
        default: value = detail::to_string(v->string_value); break;
      }
      values_[detail::to_string(v->name)] = std::move(value);
    }
  }

  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }

  bool get_bool(std::string_view name) const { return get<bool>(name, "bool"); }
  int64_t get_int(std::string_view name) const { return get<int64_t>(name, "int"); }
  double get_float(std::string_view name) const {
    const Value& v = find(name);
    if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    return get<double>(name, "float");
  }
  const std::string& get_string(std::string_view name) const { return get<std::string>(name, "string"); }
  const std::vector<std::string>& get_strings(std::string_view name) const {
    return get<std::vector<std::string>>(name, "string list");
  }

  const std::string& instance_name() const { return instance_name_; }
  const std::string& base_dir() const { return base_dir_; }
  int worker() const { return worker_; }

  // For tests of a stage class without a host.
  void set(std::string name, bool v) { values_[std::move(name)] = v; }
  void set(std::string name, int64_t v) { values_[std::move(name)] = v; }
  void set(std::string name, double v) { values_[std::move(name)] = v; }
  void set(std::string name, std::string v) { values_[std::move(name)] = std::move(v); }

 private:
  using Value = std::variant<bool, int64_t, double, std::string, std::vector<std::string>>;

  const Value& find(std::string_view name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw std::invalid_argument("[sdk.options] no option '" + std::string(name) + "'");
    return it->second;
  }

  template <class T>
  const T& get(std::string_view name, const char* type) const {
    const T* v = std::get_if<T>(&find(name));
    if (!v) throw std::invalid_argument("[sdk.options] option '" + std::string(name) + "' is not a " + type);
    return *v;
  }

  std::map<std::string, Value, std::less<>> values_;
  std::string instance_name_;
  std::string base_dir_;
  int worker_ = 0;
};

}  // namespace ds::sdk
