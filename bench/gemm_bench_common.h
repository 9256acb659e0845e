// What ds_gemm_bench and ds_quant_gemm_bench share: their common command-line options, the thread
// pools per thread count, and how a timed sample is sized.
#pragma once

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/cpu/thread_pool.h"

namespace ds::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct GemmBenchOptions {
  bool json = false;
  int samples = 5;
  double min_s = 0.020;                     // --min-ms, in seconds
  std::vector<int> ms;                      // --m: the M values
  std::vector<std::pair<int, int>> shapes;  // --shapes: N x K
  std::vector<int> threads = {1, 2};
};

// Parses --json, --samples N, --min-ms X, --m LIST, --shapes NxK,... and --threads LIST into `o`
// (which holds the defaults), plus the flags in `flags` (each sets its bool when given). Returns
// whether --m was given. --help prints the usage line and exits 0; an unknown argument, a missing
// value or a bad shape prints why on stderr and exits 2.
bool parse_gemm_bench_options(int argc, char** argv, GemmBenchOptions& o,
                              std::initializer_list<std::pair<const char*, bool*>> flags = {});

// One pool per thread count t > 1 in `threads`, at index t; null elsewhere (1 thread: no pool).
std::vector<std::unique_ptr<kernels::ThreadPool>> make_pools(const std::vector<int>& threads);

// How many calls make a sample last >= min_s: starting from `reps`, times `reps` calls of call()
// and grows the count until they do.
template <class Call>
int calibrate_reps(Call&& call, int reps, double min_s) {
  for (;;) {
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) call();
    const double sec = seconds_since(t0);
    if (sec >= min_s) return reps;
    reps = sec <= 0 ? reps * 16 : std::max(reps + 1, int(reps * std::min(16.0, 1.2 * min_s / sec)));
  }
}

}  // namespace ds::bench
