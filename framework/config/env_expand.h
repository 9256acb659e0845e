// ${VAR} expansion in pipeline string values.
//
// Syntax: `${NAME}` is the variable's value; `${NAME:-default}` is the default when NAME is unset
// or empty (as in POSIX shells); `$$` is one literal `$`. A `$` followed by anything else stays as
// written. NAME is [A-Za-z_][A-Za-z0-9_]*; the default runs to the first `}` and is not expanded.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ds::config {

struct EnvExpansion {
  std::string value;        // the expanded text; meaningful only when error is empty
  std::string error;        // why expansion failed, e.g. "environment variable 'X' is not set ..."
  size_t error_offset = 0;  // byte offset in the input of the failing `${`
  std::string variable;     // the failing variable's name, when known
};

// Returns the variable's value or nullopt when unset. Defaults to std::getenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Expands every reference in `text`; stops at the first error. Thread-safe if `lookup` is.
EnvExpansion expand_env(std::string_view text, const EnvLookup& lookup = {});

}  // namespace ds::config
