#include "io/reader.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/hash.h"

namespace ds {
namespace fs = std::filesystem;

namespace {

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return fnmatch(g.c_str(), name.c_str(), 0) == 0; });
}

bool wanted(const InputSpec& spec, const fs::path& file) {
  std::string name = file.filename().string();
  if (!spec.include.empty() && !matches_any(spec.include, name)) return false;
  return !matches_any(spec.exclude, name);
}

void list_folder(const InputSpec& spec, const fs::path& dir, std::vector<InputEntry>& out) {
  std::vector<InputEntry> found;
  std::error_code ec;
  auto options = fs::directory_options::skip_permission_denied;
  if (spec.follow_symlinks) options |= fs::directory_options::follow_directory_symlink;
  auto add = [&](const fs::directory_entry& e) {
    std::error_code fec;
    bool regular = spec.follow_symlinks ? e.is_regular_file(fec) : (e.is_regular_file(fec) && !e.is_symlink(fec));
    if (regular && wanted(spec, e.path())) found.push_back({e.path().string(), ""});
  };
  if (spec.recursive) {
    fs::recursive_directory_iterator it(dir, options, ec), end;
    if (ec) {
      out.push_back({dir.string(), "[read] cannot open folder " + dir.string() + ": " + ec.message()});
      return;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) {
        out.push_back({it->path().string(), "[read] cannot list " + it->path().string() + ": " + ec.message()});
        ec.clear();
        continue;
      }
      add(*it);
    }
  } else {
    fs::directory_iterator it(dir, options, ec), end;
    if (ec) {
      out.push_back({dir.string(), "[read] cannot open folder " + dir.string() + ": " + ec.message()});
      return;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      add(*it);
    }
  }
  std::sort(found.begin(), found.end(), [](const InputEntry& a, const InputEntry& b) { return a.path < b.path; });
  out.insert(out.end(), found.begin(), found.end());
}

}  // namespace

std::vector<InputEntry> list_inputs(const InputSpec& spec) {
  std::vector<InputEntry> out;
  for (const std::string& p : spec.paths) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      out.push_back({p, "[read] no such file or folder: " + p});
    } else if (fs::is_directory(st)) {
      list_folder(spec, p, out);
    } else {
      out.push_back({p, ""});
    }
  }
  return out;
}

Document read_document(const InputEntry& entry, int64_t max_file_bytes) {
  Document doc;
  doc.source.path = entry.path;
  if (!entry.error.empty()) {
    doc.fail("read", entry.error);
    return doc;
  }
  int fd = ::open(entry.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    doc.fail("read", "[read] cannot open " + entry.path + ": " + std::strerror(errno));
    return doc;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    doc.fail("read", "[read] not a regular file: " + entry.path);
    return doc;
  }
  doc.source.size = static_cast<uint64_t>(st.st_size);
  if (st.st_size > max_file_bytes) {
    ::close(fd);
    doc.fail("read", "[read] " + entry.path + " is " + std::to_string(st.st_size) +
                         " bytes, over input.max_file_bytes (" + std::to_string(max_file_bytes) + ")");
    return doc;
  }
  doc.bytes.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < doc.bytes.size()) {
    ssize_t n = ::read(fd, doc.bytes.data() + got, doc.bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      doc.bytes.clear();
      doc.fail("read", "[read] cannot read " + entry.path + ": " + why);
      return doc;
    }
    if (n == 0) break;  // the file shrank while we read it
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  doc.bytes.resize(got);
  doc.source.size = got;
  doc.source.content_hash = sha256_tagged(doc.bytes);
  return doc;
}

}  // namespace ds
