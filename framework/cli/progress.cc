#include "cli/progress.h"

#include <unistd.h>

#include <cmath>

namespace ds {

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "bar") return ProgressMode::kBar;
  if (text == "log") return ProgressMode::kLog;
  if (text == "none") return ProgressMode::kNone;
  return ProgressMode::kAuto;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  }
  return buf;
}

Progress::Progress(ProgressMode mode, FILE* out) : mode_(mode), out_(out) {
  if (mode_ == ProgressMode::kAuto) mode_ = ::isatty(::fileno(out_)) ? ProgressMode::kBar : ProgressMode::kLog;
}

void Progress::start(int64_t total) {
  total_ = total;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (mode_ == ProgressMode::kLog) std::fprintf(out_, "[run] %lld documents to process\n", static_cast<long long>(total));
  if (mode_ == ProgressMode::kBar) draw(false);
}

void Progress::update(int64_t finished, int64_t failed, int64_t skipped) {
  finished_ = finished;
  failed_ = failed;
  skipped_ = skipped;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  // A bar redraws at most 10 times a second; log lines come every 5 seconds.
  double interval = mode_ == ProgressMode::kBar ? 0.1 : 5.0;
  if (since >= interval) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (mode_ == ProgressMode::kNone) return;
  draw(true);
}

void Progress::draw(bool final_line) {
  if (mode_ == ProgressMode::kNone) return;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  int64_t processed = finished_ - skipped_;
  double rate = elapsed > 0 ? processed / elapsed : 0;
  double eta = rate > 0 ? (total_ - finished_) / rate : NAN;
  if (mode_ == ProgressMode::kLog) {
    if (final_line && finished_ == 0 && total_ == 0) return;
    std::fprintf(out_, "[run] %lld/%lld documents, %.1f docs/s, %lld failed, %lld skipped, ETA %s\n",
                 static_cast<long long>(finished_), static_cast<long long>(total_), rate,
                 static_cast<long long>(failed_), static_cast<long long>(skipped_),
                 final_line ? "0s" : format_duration(eta).c_str());
    std::fflush(out_);
    return;
  }
  constexpr int kWidth = 30;
  double frac = total_ > 0 ? static_cast<double>(finished_) / total_ : 1.0;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(out_, "\r[%s] %lld/%lld  %.1f docs/s  failed %lld  skipped %lld  ETA %-7s", bar.c_str(),
               static_cast<long long>(finished_), static_cast<long long>(total_), rate,
               static_cast<long long>(failed_), static_cast<long long>(skipped_),
               final_line ? "done" : format_duration(eta).c_str());
  if (final_line) std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace ds
