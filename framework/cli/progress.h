// Progress reporting for batch runs: a redrawn bar on a terminal, plain log lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ds {

enum class ProgressMode { kAuto, kBar, kLog, kNone };

ProgressMode parse_progress_mode(const std::string& text);  // "auto"|"bar"|"log"|"none"

// Not thread-safe: call from the engine's main thread.
class Progress {
 public:
  // kAuto picks kBar when `out` is a terminal, kLog otherwise.
  Progress(ProgressMode mode, FILE* out = stderr);

  void start(int64_t total);
  // Called after each finished document (done, failed or skipped).
  void update(int64_t finished, int64_t failed, int64_t skipped);
  void finish();

 private:
  void draw(bool final_line);

  ProgressMode mode_;
  FILE* out_;
  int64_t total_ = 0;
  int64_t finished_ = 0;
  int64_t failed_ = 0;
  int64_t skipped_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// Formats seconds as "1h02m", "3m05s" or "42s".
std::string format_duration(double seconds);

}  // namespace ds
