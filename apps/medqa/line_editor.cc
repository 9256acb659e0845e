#include "line_editor.h"

#include <fcntl.h>
#include <histedit.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "question.h"

namespace ds::medqa {

namespace fs = std::filesystem;

namespace {

bool storable(const std::string& entry) {
  return !entry.empty() && entry.size() <= kMaxHistoryBytes && entry.find('\n') == std::string::npos &&
         entry.find('\r') == std::string::npos && valid_utf8(entry);
}

// Writes `entries` to `file` through a temporary file renamed over it: a crash leaves the old
// file or the new one, never half of either.
void rewrite_history(const fs::path& file, const std::vector<std::string>& entries) {
  const fs::path tmp = file.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    for (const std::string& e : entries) out << e << '\n';
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) fs::remove(tmp, ec);
}

}  // namespace

fs::path default_history_file() {
  if (const char* env = std::getenv("DS_MEDQA_HISTORY")) return env;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return fs::path(state) / "deepseek" / "medqa_history";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".local" / "state" / "deepseek" / "medqa_history";
  return {};
}

std::vector<std::string> load_history(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file, std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    // A line cut by a crash mid-append has no newline: it is the last one and is still whole
    // text or invalid UTF-8, which storable() drops.
    if (storable(line)) out.push_back(line);
  }
  if (out.size() > kMaxHistory) out.erase(out.begin(), out.end() - kMaxHistory);
  return out;
}

struct LineEditor::Impl {
  EditLine* el = nullptr;
  History* hist = nullptr;
  HistEvent ev{};
  std::string prompt;
  bool cancelled = false;

  static char* prompt_of(EditLine* el) {
    Impl* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    return self ? self->prompt.data() : const_cast<char*>("> ");
  }
  // Bound to Ctrl-C: ends el_gets as if Enter was pressed, marking the line cancelled.
  static unsigned char cancel(EditLine* el, int) {
    Impl* self = nullptr;
    el_get(el, EL_CLIENTDATA, &self);
    if (self) self->cancelled = true;
    return CC_NEWLINE;
  }
};

LineEditor::LineEditor(fs::path history_file) : impl_(std::make_unique<Impl>()), file_(std::move(history_file)) {
  Impl& m = *impl_;
  m.hist = history_init();
  ::history(m.hist, &m.ev, H_SETSIZE, static_cast<int>(kMaxHistory));
  ::history(m.hist, &m.ev, H_SETUNIQUE, 1);
  m.el = el_init("medqa", stdin, stdout, stderr);
  el_set(m.el, EL_CLIENTDATA, &m);
  el_set(m.el, EL_EDITOR, "emacs");
  el_set(m.el, EL_PROMPT, &Impl::prompt_of);
  el_set(m.el, EL_HIST, ::history, m.hist);
  // The terminal's own restore-on-signal handling (SIGTERM, SIGHUP, window resizes).
  el_set(m.el, EL_SIGNAL, 1);
  // While a line is edited Ctrl-C is a key, not SIGINT: it cancels the line.
  el_set(m.el, EL_SETTY, "-d", "-isig", nullptr);
  el_set(m.el, EL_ADDFN, "medqa-cancel", "cancel the line", &Impl::cancel);
  el_set(m.el, EL_BIND, "^C", "medqa-cancel", nullptr);
  el_source(m.el, nullptr);  // ~/.editrc, as other editline programs

  if (!file_.empty()) {
    std::error_code ec;
    fs::create_directories(file_.parent_path(), ec);
    entries_ = load_history(file_);
    std::error_code size_ec;
    const auto size = fs::file_size(file_, size_ec);
    if (!size_ec && size > 2 * kMaxHistory * 64) rewrite_history(file_, entries_);
  }
  for (const std::string& e : entries_) ::history(m.hist, &m.ev, H_ENTER, e.c_str());
}

LineEditor::~LineEditor() {
  if (impl_->el) el_end(impl_->el);
  if (impl_->hist) history_end(impl_->hist);
}

LineEditor::Result LineEditor::read(const std::string& prompt, std::string& line) {
  Impl& m = *impl_;
  m.prompt = prompt;
  m.cancelled = false;
  int count = 0;
  const char* got = el_gets(m.el, &count);
  if (m.cancelled) {
    line.clear();
    return Result::kCancelled;
  }
  if (!got || count <= 0) return Result::kEof;
  line.assign(got, static_cast<size_t>(count));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return Result::kLine;
}

bool LineEditor::remember(const std::string& entry) {
  if (!storable(entry) || (!entries_.empty() && entries_.back() == entry)) return false;
  entries_.push_back(entry);
  if (entries_.size() > kMaxHistory) entries_.erase(entries_.begin());
  ::history(impl_->hist, &impl_->ev, H_ENTER, entry.c_str());
  if (!file_.empty()) {
    const int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // One write of the whole entry and its newline: O_APPEND keeps concurrent sessions' entries
      // from interleaving within a line.
      const std::string record = entry + "\n";
      [[maybe_unused]] ssize_t n = ::write(fd, record.data(), record.size());
      ::close(fd);
    }
  }
  return true;
}

}  // namespace ds::medqa
