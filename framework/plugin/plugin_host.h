// Finds and loads plug-in shared libraries (through Boost.DLL) and registers their stages.
//
// Search order for a plug-in given by name: the folders of the YAML `plugins:` entries given as
// paths, then each folder of $DS_PLUGIN_PATH (colon-separated), then the build/install location
// next to the executable. A name `legal` matches `libds_legal.so` / `ds_legal.so` / `legal.so`.
// Libraries are never unloaded while the host lives; destroy every stage before the host.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/registry.h"

namespace ds {

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string license;
  std::string description;
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
  std::filesystem::path file;
  std::vector<std::string> stages;  // registry names, e.g. "legal.clauses"
};

class PluginHost {
 public:
  PluginHost();
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads `name_or_path` (a path is resolved against base_dir) and adds its stages to `registry`.
  // Loading the same file twice is a no-op returning the first load's info. Throws PluginError with
  // a message naming the file (and, for version mismatches, both ABI versions).
  const PluginInfo& load(const std::string& name_or_path, const std::filesystem::path& base_dir,
                         Registry& registry);

  // Every plug-in file found on the search path, loaded to read its descriptor. Files that fail
  // to load are returned in `errors` as "file: message".
  std::vector<PluginInfo> discover(std::vector<std::string>* errors);

  // The folders searched for plug-ins given by name, in order.
  std::vector<std::filesystem::path> search_path() const;

  const std::vector<PluginInfo>& loaded() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ds
