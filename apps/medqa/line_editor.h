// Interactive line input for medqa with editing and history, on libedit (BSD-licensed editline;
// Debian libedit-dev). Ctrl-C at the prompt cancels the line being typed (the terminal does not
// send SIGINT while a line is edited); Ctrl-D on an empty line is the end of input.
//
// The history file holds one entry per line. It is never rewritten in place: each accepted entry
// is appended with one write(2) on an O_APPEND descriptor, and trimming to kMaxHistory entries
// (at start, when the file has grown past twice that) writes a temporary file and renames it over
// the old one. Entries with a newline, invalid UTF-8 or over kMaxHistoryBytes are not stored.
// Not thread-safe: one LineEditor per process, used from one thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ds::medqa {

constexpr size_t kMaxHistory = 1000;
constexpr size_t kMaxHistoryBytes = 4096;

// $DS_MEDQA_HISTORY when set (empty: no history file), else $XDG_STATE_HOME/deepseek/medqa_history,
// else ~/.local/state/deepseek/medqa_history; empty when none can be named.
std::filesystem::path default_history_file();

// Reads a history file: its valid entries, the last kMaxHistory. A missing file is empty.
std::vector<std::string> load_history(const std::filesystem::path& file);

class LineEditor {
 public:
  enum class Result { kLine, kEof, kCancelled };

  // Reads the terminal on stdin, echoes on stdout. `history_file` empty: history in memory only.
  explicit LineEditor(std::filesystem::path history_file);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // Shows `prompt` and reads one line (without its newline) into `line`.
  Result read(const std::string& prompt, std::string& line);

  // Adds `entry` to the history (memory and file) unless it is empty, repeats the last entry, or
  // cannot be stored (see above). Returns whether it was added.
  bool remember(const std::string& entry);

  const std::vector<std::string>& history() const { return entries_; }
  const std::filesystem::path& history_file() const { return file_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::filesystem::path file_;
  std::vector<std::string> entries_;
};

}  // namespace ds::medqa
