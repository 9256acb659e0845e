#include "output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace ds::legal_extract {

namespace fs = std::filesystem;

namespace {

// Removes "<name>.tmp-<pid>" files left in `dir` by processes that no longer run (a killed export).
void remove_stale_temporaries(const fs::path& dir, const std::string& name) {
  const std::string prefix = name + ".tmp-";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir.empty() ? fs::path(".") : dir, ec)) {
    const std::string file = e.path().filename().string();
    if (file.size() <= prefix.size() || file.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = file.substr(prefix.size());
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    fs::remove(e.path(), rm);
  }
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  fs::path parent = fs::path(path_).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) fail("create folder " + parent.string(), ec.value());
  remove_stale_temporaries(parent, fs::path(path_).filename().string());
  tmp_ = path_ + ".tmp-" + std::to_string(::getpid());
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) fail("open " + tmp_, errno);
}

OutputFile::~OutputFile() {
  if (file_) {
    std::fclose(file_);
    ::unlink(tmp_.c_str());
  }
}

void OutputFile::fail(const std::string& what, int err) const {
  throw std::runtime_error("[legal-extract] " + path_ + ": " + what + ": " + std::strerror(err));
}

void OutputFile::write(std::string_view bytes) {
  if (!file_) throw std::logic_error("[legal-extract] write after commit: " + path_);
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) fail("write " + tmp_, errno);
}

void OutputFile::flush() {
  if (file_ && std::fflush(file_) != 0) fail("write " + tmp_, errno);
}

void OutputFile::append_file(const std::string& path) {
  FILE* in = std::fopen(path.c_str(), "rb");
  if (!in) fail("open " + path, errno);
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) write(std::string_view(buf, n));
  bool bad = std::ferror(in);
  std::fclose(in);
  if (bad) fail("read " + path, EIO);
}

void OutputFile::commit() {
  if (!file_) throw std::logic_error("[legal-extract] commit twice: " + path_);
  if (std::fflush(file_) != 0) fail("write " + tmp_, errno);
  if (::fsync(::fileno(file_)) != 0) fail("fsync " + tmp_, errno);
  FILE* f = file_;
  file_ = nullptr;
  if (std::fclose(f) != 0) {
    ::unlink(tmp_.c_str());
    fail("close " + tmp_, errno);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    fail("rename " + tmp_, err);
  }
  fs::path dir = fs::path(path_).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace ds::legal_extract
