// An append-only result file (JSONL, CSV) with the few operations that make it crash-safe:
// read it whole, cut a torn tail, append a record with one write(2) on an O_APPEND descriptor,
// sync, and replace the contents atomically (temp file + fsync + rename) when compacting.
//
// Errors throw std::runtime_error "<prefix> <path>: <call>: <strerror>", e.g.
// "[sink.jsonl] /ro/out.jsonl: open: Permission denied". Not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ds {

class AppendFile {
 public:
  // `prefix` names the area for error messages, e.g. "[sink.csv]". Opens nothing yet.
  AppendFile(std::string path, std::string prefix);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Opens (creating it, mode 0644) and returns the current contents.
  std::string open_and_read();
  // Cuts the file to `size` bytes and makes that durable.
  void truncate(uint64_t size);
  // Appends `bytes` with one write(2) (continuing only after a short write). On failure the file is
  // cut back to its previous size, so no partial record stays, and the call throws.
  // `sync`: fdatasync afterwards.
  void append(std::string_view bytes, bool sync);
  // Replaces the whole contents atomically; a crash leaves either the old or the new file.
  void replace(std::string_view bytes);
  void sync();
  void close();

  bool is_open() const { return fd_ >= 0; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& call, int err) const;
  void open_fd();

  std::string path_;
  std::string prefix_;
  int fd_ = -1;
  uint64_t size_ = 0;  // our view of the file size; we are the only appender
};

}  // namespace ds
