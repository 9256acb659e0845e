// ds_gemm_bench: this machine's FP32 FMA peak, then gemm_nt / gemm_packed (ours) against OpenBLAS
// cblas_sgemm (and cblas_sgemv at M = 1) on encoder shapes, 1 and 2 threads, in one run.
//
// Every cell is the median of --samples samples; each sample repeats the call until it lasts at
// least --min-ms (20 ms by default), as docs/PERF-ANCHORS.md does. Weights stay hot in cache between
// calls, so M = 1 is a best case. DS_KERNELS=portable benchmarks the portable kernels instead.
//
//   ds_gemm_bench [--json] [--samples N] [--min-ms X] [--m 1,8,32] [--shapes 384x384,1536x384]
//                 [--threads 1,2]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "fma_peak.h"
#include "gemm_bench_common.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace {

using ds::bench::Clock;
using ds::bench::seconds_since;

struct Options : ds::bench::GemmBenchOptions {
  Options() {
    ms = {1, 8, 32, 128, 512};
    shapes = {{384, 384}, {1152, 384}, {1536, 384}, {384, 1536}, {576, 576}};
  }
};

// Median seconds per call of fn: calibrate a repeat count so one sample lasts >= min_s.
double median_seconds(const std::function<void()>& fn, const Options& o) {
  fn();  // warm caches and thread pools
  const int reps = ds::bench::calibrate_reps(fn, 1, o.min_s);
  std::vector<double> s;
  for (int i = 0; i < o.samples; ++i) {
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) fn();
    s.push_back(seconds_since(t0) / reps);
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

struct Peak {
  double median = 0, best = 0;
};

// GFLOP/s of the FMA loop on `threads` threads at once. The host is shared, and contention only
// ever makes a sample slower, so the best sample is the machine's peak; the median is reported too.
Peak fma_peak(int threads, const Options& o) {
  const int64_t iters = 20'000'000;  // 3.84 GFLOP per thread: about 40 ms at the expected peak
  std::vector<double> g;
  const int samples = std::max(9, o.samples);
  for (int s = 0; s < samples; ++s) {
    std::vector<std::thread> ts;
    std::vector<float> sink(static_cast<size_t>(threads));
    const auto t0 = Clock::now();
    for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { sink[size_t(t)] = ds::bench::fma_chains(iters); });
    for (auto& t : ts) t.join();
    const double sec = seconds_since(t0);
    if (sink[0] == 12345.0f) std::puts("");  // uses the result
    g.push_back(double(iters) * 12 * 16 * threads / sec / 1e9);
  }
  std::sort(g.begin(), g.end());
  return {g[g.size() / 2], g.back()};
}

struct Row {
  int M, N, K, threads;
  double peak, ours, packed, blas, gemv;  // GFLOP/s; gemv < 0 when not measured
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  ds::bench::parse_gemm_bench_options(argc, argv, o);
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "this benchmark measures the AVX2 FMA peak and needs an AVX2 + FMA CPU\n");
    return 1;
  }
  const int max_threads = *std::max_element(o.threads.begin(), o.threads.end());
  std::vector<Peak> peaks(static_cast<size_t>(max_threads) + 1);
  for (int t : o.threads) peaks[size_t(t)] = fma_peak(t, o);

  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<Row> rows;
  const auto pools = ds::bench::make_pools(o.threads);

  for (auto [N, K] : o.shapes) {
    const int max_m = *std::max_element(o.ms.begin(), o.ms.end());
    std::vector<float> A(size_t(max_m) * K), B(size_t(N) * K), C(size_t(max_m) * N), C2(size_t(max_m) * N);
    for (auto& x : A) x = dist(rng);
    for (auto& x : B) x = dist(rng);
    const ds::kernels::PackedMatrix P = ds::kernels::pack_weights(B.data(), N, K);
    for (int M : o.ms) {
      for (int t : o.threads) {
        ds::kernels::ThreadPool* pool = pools[size_t(t)].get();
        const double flops = 2.0 * M * N * K;
        Row r{M, N, K, t, peaks[size_t(t)].best, 0, 0, 0, -1};
        r.ours = flops / median_seconds(
                             [&] {
                               ds::kernels::gemm_nt(M, N, K, A.data(), K, B.data(), K, C.data(), N, false, pool);
                             },
                             o) / 1e9;
        r.packed = flops / median_seconds(
                               [&] {
                                 ds::kernels::gemm_packed(M, N, K, A.data(), K, P, C.data(), N, false, pool);
                               },
                               o) / 1e9;
        openblas_set_num_threads(t);
        r.blas = flops / median_seconds(
                             [&] {
                               cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A.data(), K,
                                           B.data(), K, 0.0f, C2.data(), N);
                             },
                             o) / 1e9;
        if (M == 1) {
          r.gemv = flops / median_seconds(
                               [&] {
                                 cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, B.data(), K, A.data(), 1, 0.0f,
                                             C2.data(), 1);
                               },
                               o) / 1e9;
        }
        // A wrong kernel would make every number meaningless: compare the last outputs once.
        double worst = 0.0;
        for (size_t i = 0; i < size_t(M) * N; ++i)
          worst = std::max(worst, double(std::fabs(C[i] - C2[i])) / (1.0 + std::fabs(C2[i])));
        if (worst > 1e-3) std::fprintf(stderr, "WARNING: M=%d N=%d K=%d ours differs from OpenBLAS by %g\n", M, N, K, worst);
        rows.push_back(r);
        // OpenBLAS's pthread workers spin for a while after a call; let them go to sleep so they
        // do not steal a core from the next measurement.
        if (t > 1) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  // Again at the end: another process on the shared host may have held a core during the first
  // measurement; keep the better of the two.
  for (int t : o.threads) {
    const Peak again = fma_peak(t, o);
    Peak& p = peaks[size_t(t)];
    if (again.best > p.best) p = again;
  }
  for (Row& r : rows) r.peak = peaks[size_t(r.threads)].best;

  if (o.json) {
    std::printf("{\n  \"isa\": \"%s\",\n  \"samples\": %d,\n  \"min_sample_ms\": %.1f,\n  \"fma_peak_gflops\": {", ds::kernels::isa(),
                o.samples, o.min_s * 1e3);
    bool first = true;
    for (int t : o.threads) {
      std::printf("%s\"%d\": {\"median\": %.1f, \"best\": %.1f}", first ? "" : ", ", t, peaks[size_t(t)].median,
                  peaks[size_t(t)].best);
      first = false;
    }
    std::printf("},\n  \"results\": [\n");
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf("    {\"M\": %d, \"N\": %d, \"K\": %d, \"threads\": %d, \"ours_gemm_nt\": %.2f, \"ours_gemm_packed\": %.2f, "
                  "\"openblas_sgemm\": %.2f",
                  r.M, r.N, r.K, r.threads, r.ours, r.packed, r.blas);
      if (r.gemv >= 0) std::printf(", \"openblas_sgemv\": %.2f", r.gemv);
      std::printf("}%s\n", i + 1 < rows.size() ? "," : "");
    }
    std::printf("  ]\n}\n");
    return 0;
  }

  std::printf("ISA: %s; median of %d samples of >= %.0f ms; GFLOP/s = 2MNK / time\n\n", ds::kernels::isa(), o.samples,
              o.min_s * 1e3);
  std::printf("| threads | FMA peak, median (GFLOP/s) | FMA peak, best = the %% peak base |\n|---:|---:|---:|\n");
  for (int t : o.threads) std::printf("| %d | %.1f | %.1f |\n", t, peaks[size_t(t)].median, peaks[size_t(t)].best);
  std::printf("\n| M | N x K | T | gemm_nt | %% peak | gemm_packed | %% peak | OpenBLAS sgemm | sgemv | "
              "nt / BLAS | packed / BLAS |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    const double best_blas = std::max(r.blas, r.gemv);
    char gemv[32] = "-";
    if (r.gemv >= 0) std::snprintf(gemv, sizeof gemv, "%.1f", r.gemv);
    std::printf("| %d | %dx%d | %d | %.1f | %.0f%% | %.1f | %.0f%% | %.1f | %s | %.2f | %.2f |\n", r.M, r.N, r.K, r.threads,
                r.ours, 100 * r.ours / r.peak, r.packed, 100 * r.packed / r.peak, r.blas, gemv, r.ours / best_blas,
                r.packed / best_blas);
  }
  std::printf("\nBLAS = the faster of OpenBLAS sgemm and (at M = 1) sgemv.\n");
  return 0;
}
