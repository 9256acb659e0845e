// See gemm_bench_common.h.
#include "gemm_bench_common.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ds::bench {
namespace {

std::vector<int> parse_ints(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    p = std::strchr(p, ',');
    if (!p) break;
    ++p;
  }
  return v;
}

std::vector<std::pair<int, int>> parse_shapes(const std::string& s) {
  std::vector<std::pair<int, int>> shapes;
  for (size_t p = 0; p < s.size();) {
    size_t q = s.find(',', p);
    if (q == std::string::npos) q = s.size();
    const std::string item = s.substr(p, q - p);
    const size_t x = item.find('x');
    if (x == std::string::npos) {
      std::fprintf(stderr, "bad shape %s (want NxK)\n", item.c_str());
      std::exit(2);
    }
    shapes.emplace_back(std::atoi(item.c_str()), std::atoi(item.c_str() + x + 1));
    p = q + 1;
  }
  return shapes;
}

}  // namespace

bool parse_gemm_bench_options(int argc, char** argv, GemmBenchOptions& o,
                              std::initializer_list<std::pair<const char*, bool*>> flags) {
  bool ms_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    bool* flag = nullptr;
    for (const auto& [name, value] : flags)
      if (a == name) flag = value;
    if (flag) {
      *flag = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--samples") {
      o.samples = std::max(1, std::atoi(next()));
    } else if (a == "--min-ms") {
      o.min_s = std::atof(next()) / 1000.0;
    } else if (a == "--m") {
      o.ms = parse_ints(next());
      ms_given = true;
    } else if (a == "--threads") {
      o.threads = parse_ints(next());
    } else if (a == "--shapes") {
      o.shapes = parse_shapes(next());
    } else {
      std::string usage = "usage: " + std::string(argv[0]) + " [--json]";
      for (const auto& f : flags) usage += std::string(" [") + f.first + "]";
      usage += " [--samples N] [--min-ms X] [--m LIST] [--shapes NxK,...] [--threads LIST]\n";
      std::fputs(usage.c_str(), stderr);
      std::exit(a == "--help" ? 0 : 2);
    }
  }
  return ms_given;
}

std::vector<std::unique_ptr<kernels::ThreadPool>> make_pools(const std::vector<int>& threads) {
  const int max_threads = *std::max_element(threads.begin(), threads.end());
  std::vector<std::unique_ptr<kernels::ThreadPool>> pools(size_t(max_threads) + 1);
  for (int t : threads)
    if (t > 1) pools[size_t(t)] = std::make_unique<kernels::ThreadPool>(t);
  return pools;
}

}  // namespace ds::bench
