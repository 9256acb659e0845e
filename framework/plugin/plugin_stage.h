// The adapter that turns a plug-in's C stage into a ds::Stage, and the registration of a loaded
// plug-in's stages in a Registry.
#pragma once

#include <memory>

#include "core/registry.h"
#include "plugin/plugin_library.h"

namespace ds {

// Creates an instance of stage `index` of `library` from resolved options (declared options that
// `options` lacks get their defaults). The stage keeps the library loaded while it lives. Throws
// std::runtime_error "[<plugin>.<stage>] message" if a required option is missing or the
// plug-in's create fails.
//
// process() passes the document to the plug-in as a ds_doc view (no copies of the text); an error
// status from the plug-in discards what that call added and throws "[<plugin>.<stage>] message",
// so the engine marks that one document failed.
std::unique_ptr<Stage> make_plugin_stage(std::shared_ptr<const PluginLibrary> library, size_t index,
                                         const Options& options, const StageContext& context);

// The registry factory of one plug-in stage. A named type, so the host can tell which library a
// registered stage came from (std::function::target<PluginStageFactory>()).
struct PluginStageFactory {
  std::shared_ptr<const PluginLibrary> library;
  size_t index = 0;
  std::unique_ptr<Stage> operator()(const Options& options, const StageContext& context) const {
    return make_plugin_stage(library, index, options, context);
  }
};

// Adds every stage of `library` to `registry`, or none: throws PluginError naming the file and
// the stage if a name is already registered.
void register_plugin_stages(const std::shared_ptr<const PluginLibrary>& library, Registry& registry);

}  // namespace ds
