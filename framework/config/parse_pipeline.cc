// Phase 1: read the file, parse YAML, check the top-level structure and the `plugins:` list.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/option_values.h"
#include "config/pipeline_config.h"
#include "config/suggest.h"
#include "config/yaml_source.h"

namespace ds {

namespace {

namespace fs = std::filesystem;
using config::YamlSource;

constexpr uintmax_t kMaxPipelineBytes = 16u << 20;

const std::vector<std::string>& top_level_keys() {
  static const std::vector<std::string> keys = {"version", "name", "plugins", "input", "stages", "sinks", "run"};
  return keys;
}

[[noreturn]] void fail_file(const std::string& file, const std::string& message) {
  throw ConfigErrors({{{file, 0, 0}, "", message, ""}});
}

std::string read_text(const fs::path& file, const std::string& shown) {
  std::error_code ec;
  fs::file_status st = fs::status(file, ec);
  if (ec || !fs::exists(st)) {
    fail_file(shown, ec && ec != std::errc::no_such_file_or_directory
                         ? "cannot read the pipeline file: " + ec.message()
                         : "cannot read the pipeline file: no such file");
  }
  if (fs::is_directory(st)) fail_file(shown, "cannot read the pipeline file: it is a directory, not a YAML file");
  uintmax_t size = fs::file_size(file, ec);
  if (!ec && size > kMaxPipelineBytes) {
    fail_file(shown, "the pipeline file is " + std::to_string(size) + " bytes; a pipeline file is at most " +
                         std::to_string(kMaxPipelineBytes) + " bytes");
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) fail_file(shown, std::string("cannot read the pipeline file: ") + (errno ? std::strerror(errno) : "open failed"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail_file(shown, "cannot read the pipeline file: read error");
  return ss.str();
}

// Checks `version`, `name`, `plugins` and unknown keys of the root map.
void check_top_level(YamlSource& src, std::vector<PluginRef>& plugins, std::vector<ConfigError>& errors) {
  config::CheckContext ctx{src, {}, errors};
  for (const auto& kv : src.root) {
    const YAML::Node& key = kv.first;
    const YAML::Node& value = kv.second;
    if (!key.IsScalar()) continue;  // reported by the duplicate-key walk
    const std::string& name = key.Scalar();
    SourceLocation key_where = src.at(key.Mark());
    SourceLocation value_where = src.at_value(value, key_where);

    if (name == "version") {
      std::optional<std::string> text;
      if (value.IsScalar()) text = config::expand_scalar(ctx, value, name);
      else errors.push_back({value_where, name, "expected version 1, got " + config::describe(value), ""});
      if (text && *text != "1") {
        errors.push_back({value_where, name, "unsupported version '" + *text + "'; this framework reads version 1", ""});
      }
    } else if (name == "name") {
      if (!value.IsScalar()) {
        errors.push_back({value_where, name, "expected the pipeline's name (a string), got " + config::describe(value), ""});
      } else if (std::optional<std::string> text = config::expand_scalar(ctx, value, name)) {
        if (text->empty()) errors.push_back({value_where, name, "the pipeline's name is empty", ""});
        else src.pipeline_name = *text;
      }
    } else if (name == "plugins") {
      if (value.IsNull()) continue;
      if (!value.IsSequence()) {
        std::string hint = value.IsScalar() ? " (write a list, e.g. [\"" + value.Scalar() + "\"])" : "";
        errors.push_back({value_where, name,
                          "expected a list of plug-in names or paths, got " + config::describe(value) + hint, ""});
        continue;
      }
      size_t i = 0;
      for (const YAML::Node& item : value) {
        std::string path = config::join_index(name, i++);
        SourceLocation where = src.at_value(item, value_where);
        if (!item.IsScalar()) {
          errors.push_back({where, path, "expected a plug-in name or path, got " + config::describe(item), ""});
          continue;
        }
        std::optional<std::string> text = config::expand_scalar(ctx, item, path);
        if (!text) continue;
        if (text->empty()) {
          errors.push_back({where, path, "expected a plug-in name or path, got an empty string", ""});
          continue;
        }
        plugins.push_back({*text, where});
      }
    } else if (std::find(top_level_keys().begin(), top_level_keys().end(), name) == top_level_keys().end()) {
      std::string keys;
      for (const std::string& k : top_level_keys()) keys += (keys.empty() ? "" : ", ") + k;
      errors.push_back({key_where, name, "unknown top-level key '" + name + "'; a pipeline has: " + keys,
                        config::did_you_mean(name, top_level_keys())});
    }
  }
}

// yaml-cpp reports a tab in indentation as a structural error; say what is really wrong.
std::string tab_hint(const std::string& text, int error_line) {
  int line = 0;
  bool at_line_start = true;
  for (char c : text) {
    if (line > error_line) break;
    if (c == '\n') {
      ++line;
      at_line_start = true;
    } else if (at_line_start && c == '\t') {
      return " (a tab is used for indentation; YAML allows only spaces)";
    } else if (c != ' ') {
      at_line_start = false;
    }
  }
  return "";
}

}  // namespace

RawPipeline parse_pipeline_file(const fs::path& file) {
  auto src = std::make_shared<YamlSource>();
  src->file = file.string();
  src->text = read_text(file, src->file);

  std::vector<ConfigError> errors;
  if (size_t nul = src->text.find('\0'); nul != std::string::npos) {
    int line = 1 + static_cast<int>(std::count(src->text.begin(), src->text.begin() + nul, '\n'));
    size_t line_start = src->text.rfind('\n', nul);
    int column = static_cast<int>(nul - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
    throw ConfigErrors({{{src->file, line, column}, "",
                         "not valid YAML: the file contains NUL bytes (a pipeline file is UTF-8 text)", ""}});
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(src->text);
  } catch (const YAML::Exception& e) {
    SourceLocation where = src->at(e.mark);
    throw ConfigErrors({{where, "", "not valid YAML: " + e.msg + tab_hint(src->text, e.mark.line), ""}});
  }
  if (docs.empty() || (docs.size() == 1 && docs[0].IsNull())) {
    bool blank = src->text.find_first_not_of(" \t\r\n") == std::string::npos;
    throw ConfigErrors({{{src->file, 1, 1}, "",
                         std::string(blank ? "the file is empty" : "the file holds no YAML values (only comments?)") +
                             "; a pipeline is a map with at least a 'stages:' list",
                         ""}});
  }
  if (docs.size() > 1) {
    errors.push_back({src->at(docs[1].Mark()), "",
                      "expected one YAML document, found " + std::to_string(docs.size()) +
                          " (remove the '---' separator)",
                      ""});
  }
  src->root = docs[0];
  if (!src->root.IsMap()) {
    errors.push_back({src->at(src->root.Mark()), "",
                      "expected a map of pipeline sections (version, name, plugins, input, stages, sinks, run), got " +
                          config::describe(src->root),
                      ""});
    throw ConfigErrors(std::move(errors));
  }

  RawPipeline raw;
  try {
    config::check_duplicate_keys(*src, errors);
    check_top_level(*src, raw.plugins, errors);
  } catch (const YAML::Exception& e) {
    errors.push_back({src->at(e.mark), "", "unexpected YAML error: " + e.msg, ""});
  }
  if (!errors.empty()) throw ConfigErrors(std::move(errors));

  std::error_code ec;
  fs::path absolute = fs::absolute(file, ec);
  raw.file = (ec ? file : absolute).lexically_normal();
  raw.base_dir = raw.file.parent_path();
  raw.text = src->text;
  raw.tree = std::move(src);
  return raw;
}

}  // namespace ds
