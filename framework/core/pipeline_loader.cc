#include "core/pipeline_loader.h"

namespace ds {

PipelineConfig load_pipeline(const std::filesystem::path& file, Registry& registry, PluginHost& host) {
  RawPipeline raw = parse_pipeline_file(file);
  std::vector<ConfigError> errors;
  for (const PluginRef& ref : raw.plugins) {
    try {
      host.load(ref.name_or_path, raw.base_dir, registry);
    } catch (const std::exception& e) {
      errors.push_back({ref.where, "plugins", e.what(), ""});
    }
  }
  if (!errors.empty()) throw ConfigErrors(std::move(errors));
  return validate_pipeline(raw, registry);
}

}  // namespace ds
