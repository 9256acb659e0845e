// Input discovery and reading: turns the `input:` section (paths, globs) into documents with bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ds/document.h"

namespace ds {

struct InputSpec {
  std::vector<std::string> paths;     // files or folders
  std::vector<std::string> include;   // fnmatch(3) globs on the file name; empty = all
  std::vector<std::string> exclude;   // fnmatch(3) globs on the file name
  bool recursive = true;
  bool follow_symlinks = false;
  int64_t max_file_bytes = 64ll << 20;
};

// One input found by the reader. `error` is set for inputs that cannot be listed (a path that does
// not exist, a folder that cannot be opened); those still become failed documents so the
// documents table says why.
struct InputEntry {
  std::string path;
  std::string error;
};

// Lists input files in a stable order (each given path in order; a folder's files sorted by path).
// Never throws for a bad path: it becomes an entry with an error. Explicitly named files are taken
// whatever their name; globs filter files found inside folders.
std::vector<InputEntry> list_inputs(const InputSpec& spec);

// Reads one file into a new document (source.path, size, content_hash, bytes). On failure the
// document is marked failed by the stage "read" with a message naming the path.
Document read_document(const InputEntry& entry, int64_t max_file_bytes);

}  // namespace ds
