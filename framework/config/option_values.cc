#include "config/option_values.h"

#include <charconv>
#include <cmath>

#include "config/env_expand.h"
#include "config/suggest.h"

namespace ds::config {

std::string format_number(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<int64_t>(value));
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

std::string resolve_path(const std::filesystem::path& base_dir, const std::string& value) {
  std::filesystem::path p(value);
  if (p.is_relative()) p = base_dir / p;
  return p.lexically_normal().string();
}

namespace {

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string range_text(const OptionSpec& spec) {
  if (spec.min && spec.max) return " in [" + format_number(*spec.min) + ", " + format_number(*spec.max) + "]";
  if (spec.min) return " >= " + format_number(*spec.min);
  if (spec.max) return " <= " + format_number(*spec.max);
  return "";
}

bool in_range(const OptionSpec& spec, double v) {
  return !(spec.min && v < *spec.min) && !(spec.max && v > *spec.max);
}

std::optional<int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  int64_t v = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_float(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::string expected_text(const OptionSpec& spec) {
  switch (spec.type) {
    case OptionType::kBool: return "true or false";
    case OptionType::kInt: return "an integer" + range_text(spec);
    case OptionType::kFloat: return "a number" + range_text(spec);
    case OptionType::kString: return "a string";
    case OptionType::kPath: return "a path";
    case OptionType::kEnum: return "one of: " + join(spec.choices, ", ");
    case OptionType::kStringList: return "a list of strings";
  }
  return "a value";
}

std::optional<std::string> expand_scalar(CheckContext& ctx, const YAML::Node& scalar, const std::string& key_path) {
  const std::string& raw = scalar.Scalar();
  EnvExpansion e = expand_env(raw);
  if (e.error.empty()) return std::move(e.value);
  std::string needle = raw.substr(e.error_offset, e.variable.empty() ? 2 : e.variable.size() + 2);
  ctx.errors.push_back({ctx.src.at_text(scalar.Mark(), needle), key_path, e.error, ""});
  return std::nullopt;
}

std::optional<OptionValue> read_option_value(CheckContext& ctx, const YAML::Node& value, const OptionSpec& spec,
                                             const std::string& key_path, const SourceLocation& key_where) {
  SourceLocation where = ctx.src.at_value(value, key_where);
  auto fail = [&](std::string message, std::string suggestion = "") -> std::optional<OptionValue> {
    ctx.errors.push_back({where, key_path, std::move(message), std::move(suggestion)});
    return std::nullopt;
  };

  if (spec.type == OptionType::kStringList) {
    if (value.IsScalar()) {
      return fail("expected a list of strings, got " + describe(value) + " (write a list, e.g. [\"" +
                  value.Scalar() + "\"])");
    }
    if (!value.IsSequence()) return fail("expected a list of strings, got " + describe(value));
    std::vector<std::string> items;
    bool ok = true;
    size_t i = 0;
    for (const YAML::Node& item : value) {
      std::string item_path = join_index(key_path, i++);
      if (!item.IsScalar()) {
        ctx.errors.push_back({ctx.src.at_value(item, where), item_path, "expected a string, got " + describe(item), ""});
        ok = false;
        continue;
      }
      std::optional<std::string> s = expand_scalar(ctx, item, item_path);
      if (!s) {
        ok = false;
        continue;
      }
      items.push_back(std::move(*s));
    }
    if (!ok) return std::nullopt;
    return OptionValue(std::move(items));
  }

  if (!value.IsScalar()) return fail("expected " + expected_text(spec) + ", got " + describe(value));
  std::optional<std::string> text = expand_scalar(ctx, value, key_path);
  if (!text) return std::nullopt;
  const std::string& s = *text;
  const std::string got = "'" + s + "'";

  switch (spec.type) {
    case OptionType::kBool:
      if (s == "true") return OptionValue(true);
      if (s == "false") return OptionValue(false);
      return fail("expected true or false, got " + got);
    case OptionType::kInt: {
      std::optional<int64_t> v = parse_int(s);
      if (!v) return fail("expected " + expected_text(spec) + ", got " + got);
      if (!in_range(spec, static_cast<double>(*v))) return fail("expected " + expected_text(spec) + ", got " + s);
      return OptionValue(*v);
    }
    case OptionType::kFloat: {
      std::optional<double> v = parse_float(s);
      if (!v) return fail("expected " + expected_text(spec) + ", got " + got);
      if (!in_range(spec, *v)) return fail("expected " + expected_text(spec) + ", got " + s);
      return OptionValue(*v);
    }
    case OptionType::kString:
      return OptionValue(s);
    case OptionType::kPath:
      // An empty path stays empty: "no file", as a stage's own empty default means.
      return OptionValue(s.empty() ? s : resolve_path(ctx.base_dir, s));
    case OptionType::kEnum:
      for (const std::string& c : spec.choices)
        if (c == s) return OptionValue(s);
      return fail("expected " + expected_text(spec) + "; got " + got, did_you_mean(s, spec.choices));
    case OptionType::kStringList:
      break;
  }
  return fail("[config.options] option type not handled");
}

Options read_options(CheckContext& ctx, const YAML::Node& map, const SourceLocation& map_where,
                     const std::vector<OptionSpec>& specs, const std::string& owner, const std::string& key_path) {
  Options out;
  std::vector<std::string> names;
  for (const OptionSpec& spec : specs) names.push_back(spec.name);
  // Node handles, not pointers: a map iterator yields its key/value pair by value.
  std::vector<std::optional<YAML::Node>> given(specs.size());
  std::vector<YAML::Node> keys(specs.size());

  if (map.IsMap()) {
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) continue;  // reported by the duplicate-key walk
      const std::string& name = kv.first.Scalar();
      size_t idx = 0;
      while (idx < specs.size() && specs[idx].name != name) ++idx;
      if (idx == specs.size()) {
        std::string message = "unknown option '" + name + "' for " + owner;
        message += names.empty() ? " (it takes no options)" : "; it takes: " + join(names, ", ");
        ctx.errors.push_back({ctx.src.at(kv.first.Mark()), join_key(key_path, name), message, did_you_mean(name, names)});
        continue;
      }
      if (given[idx]) continue;  // a duplicate key, reported by the duplicate-key walk
      given[idx] = kv.second;
      keys[idx] = kv.first;
    }
  }

  for (size_t i = 0; i < specs.size(); ++i) {
    const OptionSpec& spec = specs[i];
    std::string path = join_key(key_path, spec.name);
    if (given[i]) {
      std::optional<OptionValue> v = read_option_value(ctx, *given[i], spec, path, ctx.src.at(keys[i].Mark()));
      out.set(spec.name, v ? std::move(*v) : OptionValue{});
      continue;
    }
    if (spec.required()) {
      std::string message = "missing required option '" + spec.name + "' for " + owner + " (" + expected_text(spec);
      message += spec.doc.empty() ? ")" : ": " + spec.doc + ")";
      ctx.errors.push_back({map_where, path, message, ""});
      out.set(spec.name, OptionValue{});
      continue;
    }
    OptionValue def = *spec.default_value;
    if (spec.type == OptionType::kPath) {
      if (const std::string* s = std::get_if<std::string>(&def); s && !s->empty()) def = resolve_path(ctx.base_dir, *s);
    }
    out.set(spec.name, std::move(def));
  }
  return out;
}

}  // namespace ds::config
