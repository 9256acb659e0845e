#include "sinks/append_file.h"

#include "sinks/output_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace ds {

AppendFile::AppendFile(std::string path, std::string prefix) : path_(std::move(path)), prefix_(std::move(prefix)) {}

AppendFile::~AppendFile() { close(); }

void AppendFile::fail(const std::string& call, int err) const {
  throw std::runtime_error(prefix_ + " " + path_ + ": " + call + ": " + std::strerror(err));
}

void AppendFile::open_fd() {
  create_parent_folders(path_, prefix_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("open", errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("fstat", errno);
  if (!S_ISREG(st.st_mode)) {
    close();
    throw std::runtime_error(prefix_ + " " + path_ + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

std::string AppendFile::open_and_read() {
  close();
  open_fd();
  std::string data(size_, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::pread(fd_, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  size_ = got;
  return data;
}

void AppendFile::truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) fail("ftruncate", errno);
  size_ = size;
  sync();
}

void AppendFile::append(std::string_view bytes, bool sync_after) {
  if (fd_ < 0) throw std::logic_error(prefix_ + " " + path_ + ": append before open");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      // Best effort: a torn record must not stay behind (the next open would cut it anyway).
      [[maybe_unused]] int rc = ::ftruncate(fd_, static_cast<off_t>(size_));
      fail("write", err);
    }
    done += static_cast<size_t>(n);
  }
  size_ += bytes.size();
  if (sync_after) sync();
}

void AppendFile::sync() {
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) fail("fdatasync", errno);
}

void AppendFile::replace(std::string_view bytes) {
  std::string tmp = path_ + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open " + tmp, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("write " + tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("fsync " + tmp, err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail("rename " + tmp, err);
  }
  // The rename itself must be durable before we append to the new file.
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  close();
  open_fd();
}

void AppendFile::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace ds
