// Helpers shared by the test binaries: temporary folders, file I/O, running the CLI.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ds::test {

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);

// The built `deepseek` CLI, the source tree and the build tree.
std::filesystem::path deepseek_binary();

// Rows of a read-only SQL query on a SQLite file, each row's columns joined by '|' (NULL as "NULL");
// a failing open or prepare is a test failure.
std::vector<std::string> query(const std::filesystem::path& db, const std::string& sql);

// Starts `/bin/sh -c <command_line>`, SIGKILLs it after `delay_ms` and reaps it; returns whether it
// was still running when killed. The command should `exec` the program, so the kill reaches it.
bool run_and_kill(const std::string& command_line, int delay_ms);
std::filesystem::path source_dir();
std::filesystem::path binary_dir();

}  // namespace ds::test
