#pragma once
// Sinks create the folders their output files live in, like `mkdir -p`:
// users point `path:` at a fresh results folder and expect it to appear.
#include <string>

namespace ds {

// Creates every missing parent folder of `path`. Throws std::runtime_error
// "<prefix> <path>: cannot create folder <dir>: <reason>" on failure.
void create_parent_folders(const std::string& path, const std::string& prefix);

}  // namespace ds
