// An export file written whole or not at all: bytes go to "<path>.tmp-<pid>", and commit() syncs
// and renames it over `path`, so a crash (or an error) leaves the previous file, or none, never half
// a file; the next run writes it again and removes temporaries that killed processes left. Two
// processes writing the same file each write their own temporary; the last rename wins. Not
// thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace ds::legal_extract {

class OutputFile {
 public:
  // Creates the temporary file (and missing parent folders). Throws std::runtime_error
  // "[legal-extract] <path>: <what>: <reason>".
  explicit OutputFile(std::string path);
  // Without commit(), removes the temporary file.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::string_view bytes);
  // Appends the whole contents of the file at `path` (used to assemble the report). Throws on error.
  void append_file(const std::string& path);
  // Flushes, fsyncs, renames over the final path and syncs its folder. Throws on error.
  void commit();

  // Pushes buffered bytes to the temporary file, e.g. before reading it back. Throws on error.
  void flush();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err) const;

  std::string path_;
  std::string tmp_;
  FILE* file_ = nullptr;
};

}  // namespace ds::legal_extract
