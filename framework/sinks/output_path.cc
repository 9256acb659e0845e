#include "sinks/output_path.h"

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace ds {

void create_parent_folders(const std::string& path, const std::string& prefix) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(prefix + " " + path + ": cannot create folder " + dir.string() + ": " + ec.message());
}

}  // namespace ds
