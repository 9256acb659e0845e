#include "config/env_expand.h"

#include <cctype>
#include <cstdlib>

namespace ds::config {

namespace {

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

}  // namespace

EnvExpansion expand_env(std::string_view text, const EnvLookup& lookup) {
  const EnvLookup& get = lookup ? lookup : EnvLookup(process_env);
  EnvExpansion r;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      r.value += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      r.value += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      r.value += c;
      ++i;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      r.error = "unterminated '${' (write '$$' for a literal '$')";
      r.error_offset = i;
      return r;
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    std::optional<std::string_view> fallback;
    size_t sep = body.find(":-");
    std::string_view name = body.substr(0, sep);
    if (sep != std::string_view::npos) fallback = body.substr(sep + 2);
    if (!valid_name(name)) {
      r.error = "invalid variable reference '${" + std::string(body) +
                "}': names use letters, digits and '_' (write '$$' for a literal '$')";
      r.error_offset = i;
      return r;
    }
    std::optional<std::string> value = get(std::string(name));
    if (value && (value->empty() && fallback)) value.reset();
    if (value) {
      r.value += *value;
    } else if (fallback) {
      r.value += *fallback;
    } else {
      r.error = "environment variable '" + std::string(name) + "' is not set (set it, or write '${" +
                std::string(name) + ":-default}')";
      r.error_offset = i;
      r.variable = std::string(name);
      return r;
    }
    i = close + 1;
  }
  return r;
}

}  // namespace ds::config
