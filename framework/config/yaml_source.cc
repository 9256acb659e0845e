#include "config/yaml_source.h"

#include <map>

namespace ds::config {

SourceLocation YamlSource::at(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.line < 0) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

SourceLocation YamlSource::at_value(const YAML::Node& value, const SourceLocation& key_where) const {
  if (!value.IsDefined() || value.IsNull()) return key_where;
  SourceLocation loc = at(value.Mark());
  return loc.line > 0 ? loc : key_where;
}

SourceLocation YamlSource::at_text(const YAML::Mark& scalar_mark, const std::string& needle) const {
  SourceLocation loc = at(scalar_mark);
  if (loc.line == 0 || scalar_mark.pos < 0 || static_cast<size_t>(scalar_mark.pos) >= text.size()) return loc;
  size_t start = static_cast<size_t>(scalar_mark.pos);
  size_t eol = text.find('\n', start);
  size_t found = text.find(needle, start);
  if (found == std::string::npos || (eol != std::string::npos && found > eol)) return loc;
  loc.column += static_cast<int>(found - start);
  return loc;
}

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "an empty value";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  const std::string& s = node.Scalar();
  if (s.empty()) return "an empty string";
  return "'" + s + "'";
}

bool scalar_key(const YAML::Node& key) { return key.IsScalar(); }

std::string join_key(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string join_index(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kMaxNodes = 200000;

struct DuplicateWalk {
  const YamlSource& src;
  std::vector<ConfigError>& errors;
  size_t visited = 0;
  bool stopped = false;

  void walk(const YAML::Node& node, const std::string& path, int depth) {
    if (stopped) return;
    if (++visited > kMaxNodes || depth > kMaxDepth) {
      // A self-referencing alias makes the path as deep as the limit; the start of it is enough.
      std::string shown = path.size() > 60 ? path.substr(0, 60) + "..." : path;
      errors.push_back({src.at(node.Mark()), shown,
                        "the document nests too deeply or expands (through aliases) to too many values", ""});
      stopped = true;
      return;
    }
    if (node.IsSequence()) {
      size_t i = 0;
      for (const YAML::Node& item : node) walk(item, join_index(path, i++), depth + 1);
    } else if (node.IsMap()) {
      std::map<std::string, int> first_line;
      for (const auto& kv : node) {
        const YAML::Node& key = kv.first;
        if (!scalar_key(key)) {
          errors.push_back({src.at(key.Mark()), path, "keys must be plain names, got " + describe(key) + " as a key", ""});
          continue;
        }
        std::string child = join_key(path, key.Scalar());
        SourceLocation where = src.at(key.Mark());
        auto [it, inserted] = first_line.emplace(key.Scalar(), where.line);
        if (!inserted) {
          errors.push_back({where, child,
                            "duplicate key '" + key.Scalar() + "' (first given at line " + std::to_string(it->second) +
                                "; YAML keeps only one of them)",
                            ""});
        }
        walk(kv.second, child, depth + 1);
      }
    }
  }
};

}  // namespace

void check_duplicate_keys(const YamlSource& src, std::vector<ConfigError>& errors) {
  DuplicateWalk w{src, errors};
  w.walk(src.root, "", 0);
}

}  // namespace ds::config
