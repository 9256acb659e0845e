// One opened and validated plug-in library: the Boost.DLL handle, the plug-in's descriptor and its
// stages converted to the framework's StageSpec.
//
// Lifetime: the library stays loaded while any shared_ptr to its PluginLibrary lives; stage
// adapters and registry factories hold one, so plug-in code never runs after an unload.
// Immutable after open, so it may be shared between threads.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "ds/plugin_abi.h"
#include "ds/stage.h"
#include "plugin/plugin_host.h"

namespace ds {

struct PluginStageBinding {
  StageSpec spec;  // spec.name is the registry name, "<plugin>.<stage>"
  decltype(ds_stage_decl::create) create = nullptr;
  decltype(ds_stage_decl::process) process = nullptr;
  decltype(ds_stage_decl::destroy) destroy = nullptr;
};

struct PluginLibrary {
  std::shared_ptr<boost::dll::shared_library> library;
  const ds_plugin_descriptor* descriptor = nullptr;  // lives in the library
  PluginInfo info;
  std::vector<PluginStageBinding> stages;
};

// Loads `file` (with RTLD_NOW, so missing symbols fail here), calls its entry point, checks the ABI
// version on the host's side and validates every descriptor field. Throws PluginError whose
// message names the file: not a loadable library, no entry point, ABI mismatch, bad descriptor.
std::shared_ptr<const PluginLibrary> open_plugin_library(const std::filesystem::path& file);

// True for names the ABI allows for plug-ins, stages and options: [a-z][a-z0-9_]*.
bool valid_plugin_identifier(const std::string& name);

}  // namespace ds
