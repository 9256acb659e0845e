#include "plugin/plugin_host.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <system_error>

#include <boost/dll/runtime_symbol_info.hpp>

#include "plugin/plugin_library.h"
#include "plugin/plugin_stage.h"

namespace ds {
namespace fs = std::filesystem;

namespace {

bool is_explicit_path(const std::string& s) {
  return s.find('/') != std::string::npos || (s.size() > 3 && s.compare(s.size() - 3, 3, ".so") == 0);
}

std::vector<std::string> file_candidates(const std::string& name) {
  return {"ds_" + name + ".so", "libds_" + name + ".so", name + ".so"};
}

fs::path normal_absolute(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  return (ec ? p : abs).lexically_normal();
}

// The identity of a file for "loaded twice?" checks: symlinks and "../" resolved.
fs::path identity(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::canonical(p, ec);
  return ec ? normal_absolute(p) : c;
}

bool is_regular(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

fs::path executable_dir() {
  try {
    return fs::path(boost::dll::program_location().parent_path().string());
  } catch (const std::exception&) {
    return {};
  }
}

// True if every stage of `lib` is in `registry`, registered from the file `id` (by this or another
// host): loading that file again is then a no-op.
bool registered_from(const PluginLibrary& lib, const fs::path& id, const Registry& registry) {
  for (const PluginStageBinding& b : lib.stages) {
    const StageFactory* f = registry.stage_factory(b.spec.name);
    const PluginStageFactory* pf = f ? f->target<PluginStageFactory>() : nullptr;
    if (!pf || identity(pf->library->info.file) != id) return false;
  }
  return true;
}

}  // namespace

struct PluginHost::Impl {
  // Every library opened (for load or discover), by identity. Never unloaded while the host lives.
  std::map<fs::path, std::shared_ptr<const PluginLibrary>> opened;
  std::vector<PluginInfo> loaded;
  std::vector<fs::path> explicit_dirs;  // folders of plug-ins loaded by path, searched first

  std::shared_ptr<const PluginLibrary> open(const fs::path& file) {
    fs::path id = identity(file);
    auto it = opened.find(id);
    if (it != opened.end()) return it->second;
    auto lib = open_plugin_library(normal_absolute(file));
    opened.emplace(id, lib);
    return lib;
  }

  fs::path find_by_name(const std::string& name, const std::vector<fs::path>& dirs) const {
    for (const fs::path& d : dirs)
      for (const std::string& candidate : file_candidates(name))
        if (is_regular(d / candidate)) return d / candidate;
    std::string names, folders;
    for (const std::string& c : file_candidates(name)) names += (names.empty() ? "" : ", ") + c;
    for (const fs::path& d : dirs) folders += (folders.empty() ? "" : ", ") + d.string();
    throw PluginError("[plugin.load] plugin '" + name + "' not found: looked for " + names + " in " + folders +
                      " (set DS_PLUGIN_PATH or give a path)");
  }
};

PluginHost::PluginHost() : impl_(std::make_unique<Impl>()) {}
PluginHost::~PluginHost() = default;

std::vector<fs::path> PluginHost::search_path() const {
  std::vector<fs::path> dirs = impl_->explicit_dirs;
  if (const char* env = std::getenv("DS_PLUGIN_PATH")) {
    std::string value = env;
    size_t start = 0;
    while (start <= value.size()) {
      size_t colon = value.find(':', start);
      if (colon == std::string::npos) colon = value.size();
      if (colon > start) dirs.emplace_back(value.substr(start, colon - start));
      start = colon + 1;
    }
  }
  dirs.emplace_back(DS_PLUGIN_BUILD_DIR);
  dirs.emplace_back(DS_PLUGIN_INSTALL_DIR);
  fs::path exe = executable_dir();
  if (!exe.empty()) {
    dirs.push_back(exe / ".." / "plugins");
    dirs.push_back(exe / ".." / "lib" / "deepseek" / "plugins");
  }
  std::vector<fs::path> unique;
  for (const fs::path& d : dirs) {
    fs::path n = normal_absolute(d);
    if (std::find(unique.begin(), unique.end(), n) == unique.end()) unique.push_back(n);
  }
  return unique;
}

const PluginInfo& PluginHost::load(const std::string& name_or_path, const fs::path& base_dir, Registry& registry) {
  fs::path file;
  const bool by_path = is_explicit_path(name_or_path);
  if (by_path) {
    fs::path p(name_or_path);
    if (p.is_relative()) p = (base_dir.empty() ? fs::current_path() : base_dir) / p;
    file = normal_absolute(p);
    if (!is_regular(file)) throw PluginError("[plugin.load] plugin file " + file.string() + " not found");
  } else {
    if (!valid_plugin_identifier(name_or_path))
      throw PluginError("[plugin.load] '" + name_or_path + "' is neither a plug-in name ([a-z][a-z0-9_]*) nor a path");
    file = impl_->find_by_name(name_or_path, search_path());
  }

  std::shared_ptr<const PluginLibrary> lib = impl_->open(file);
  const fs::path id = identity(lib->info.file);
  if (!registered_from(*lib, id, registry)) register_plugin_stages(lib, registry);
  auto same_file = [&](const PluginInfo& i) { return identity(i.file) == id; };
  if (std::none_of(impl_->loaded.begin(), impl_->loaded.end(), same_file)) impl_->loaded.push_back(lib->info);
  if (by_path) {
    fs::path dir = lib->info.file.parent_path();
    if (std::find(impl_->explicit_dirs.begin(), impl_->explicit_dirs.end(), dir) == impl_->explicit_dirs.end())
      impl_->explicit_dirs.push_back(dir);
  }
  return lib->info;
}

std::vector<PluginInfo> PluginHost::discover(std::vector<std::string>* errors) {
  std::vector<PluginInfo> found;
  std::vector<fs::path> seen;
  for (const fs::path& dir : search_path()) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so" && is_regular(entry.path())) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      fs::path id = identity(f);
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      try {
        found.push_back(impl_->open(f)->info);
      } catch (const std::exception& e) {
        if (errors) errors->push_back(f.string() + ": " + e.what());
      }
    }
  }
  return found;
}

const std::vector<PluginInfo>& PluginHost::loaded() const { return impl_->loaded; }

}  // namespace ds
