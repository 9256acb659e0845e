// A whole file mapped read-only into memory (mmap), unmapped when the object dies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ds::model {

class MappedFile {
 public:
  // Throws ModelError naming `path` if the file cannot be opened, is not a regular file, or cannot
  // be mapped. An empty file maps to size() == 0 and data() == nullptr.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Page-aligned start of the mapping; valid for the object's lifetime. Never written.
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ds::model
