// ds_quant_gemm_bench: gemm_quant on FP16 / INT8 / INT4 weights against gemm_packed on FP32 weights,
// measured in the same run, on the encoder's shapes (backbone-small: D = 256, F = 768 / 1152; a
// 384-wide model: F = 1536), M = 1 (GEMV) to 512, 1 and 2 threads. At M = 1 it also times the design
// gemm_quant did not take (activations quantized to INT8 + maddubs, int8_dot_gemv_avx2.cc) and
// reports that design's error.
//
// Cells: GFLOP/s = 2MNK / time, the ratio to FP32 gemm_packed, and the effective weight bandwidth
// (bytes the matrix occupies / time). Every cell is the median of --samples samples of >= --min-ms.
// Default: weights hot in cache (one matrix). --cold cycles through copies of the matrix totalling
// >= 128 MiB per format, so every call reads its weights from DRAM (the L3 is 32 MiB), for M = 1, 8.
//
//   ds_quant_gemm_bench [--json] [--cold] [--samples N] [--min-ms X] [--m 1,8] [--shapes 768x256]
//                       [--threads 1,2]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gemm_bench_common.h"
#include "int8_dot_gemv.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/thread_pool.h"
#include "model/quantize.h"

namespace {

using ds::bench::Clock;
using ds::bench::seconds_since;
namespace dk = ds::kernels;

struct Options : ds::bench::GemmBenchOptions {
  bool cold = false;  // --cold
  Options() {
    ms = {1, 8, 128, 512};
    shapes = {{256, 256}, {768, 256}, {256, 768}, {1152, 256}, {256, 1152}, {384, 384}, {1536, 384}, {384, 1536}};
  }
};

// One timed function: fn(copy) with calls cycling through `copies` weight copies (1 when hot).
struct Timed {
  std::function<void(int)> fn;
  int copies = 1;
  int next = 0;
  int reps = 1;
  std::vector<double> samples;
  void call() {
    fn(next);
    next = next + 1 == copies ? 0 : next + 1;
  }
};

// Median seconds per call of each entry. Each is calibrated so one sample lasts >= min_s; then the
// samples are taken round-robin (one of each entry per round), so a burst of load from another
// process on this shared host hits every entry of a row alike and the ratios stay fair.
std::vector<double> median_seconds(std::vector<Timed>& ts, const Options& o) {
  for (Timed& t : ts) {
    t.call();  // warm caches and thread pools
    t.reps = ds::bench::calibrate_reps([&t] { t.call(); }, t.reps, o.min_s);
  }
  for (int i = 0; i < o.samples; ++i) {
    for (Timed& t : ts) {
      const auto t0 = Clock::now();
      for (int r = 0; r < t.reps; ++r) t.call();
      t.samples.push_back(seconds_since(t0) / t.reps);
    }
  }
  std::vector<double> med;
  for (Timed& t : ts) {
    std::sort(t.samples.begin(), t.samples.end());
    med.push_back(t.samples[t.samples.size() / 2]);
  }
  return med;
}

std::vector<uint16_t> to_half(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  dk::fp32_to_fp16(v.data(), h.data(), v.size());
  return h;
}

// One format's matrices: `copies` of them (cold) or one (hot).
struct Contender {
  std::string name;
  size_t bytes = 0;  // one copy, as stored (panel padding and scales included)
  std::vector<dk::PackedMatrix> fp32;
  std::vector<dk::QuantMatrix> quant;
};

int copies_for(size_t bytes, const Options& o) {
  if (!o.cold) return 1;
  return int(std::max<size_t>(2, ((size_t(128) << 20) + bytes - 1) / bytes));
}

struct Cell {
  double gflops = 0, gbytes = 0;
};

struct Row {
  int M, N, K, threads;
  std::vector<Cell> cells;                                  // per contender
  double alt_gflops = -1, alt_gbytes = -1, alt_error = -1;  // M = 1 only
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const bool ms_given = ds::bench::parse_gemm_bench_options(argc, argv, o, {{"--cold", &o.cold}});
  if (o.cold && !ms_given) o.ms = {1, 8};
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const auto pools = ds::bench::make_pools(o.threads);

  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::string> names;
  std::vector<Row> rows;
  for (auto [N, K] : o.shapes) {
    std::vector<float> W(size_t(N) * K);
    for (auto& x : W) x = dist(rng);
    std::vector<Contender> cs;
    {
      Contender c{"fp32", 0, {}, {}};
      const size_t panels = size_t(N + dk::PackedMatrix::kPanel - 1) / dk::PackedMatrix::kPanel;
      c.bytes = panels * dk::PackedMatrix::kPanel * size_t(K) * 4;
      for (int i = 0, n = copies_for(c.bytes, o); i < n; ++i) c.fp32.push_back(dk::pack_weights(W.data(), N, K));
      cs.push_back(std::move(c));
    }
    {
      const std::vector<uint16_t> h = to_half(W);
      Contender c{"fp16", 0, {}, {}};
      c.quant.push_back(dk::pack_fp16_weights(h.data(), N, K));
      c.bytes = c.quant[0].bytes();
      for (int i = 1, n = copies_for(c.bytes, o); i < n; ++i) c.quant.push_back(dk::pack_fp16_weights(h.data(), N, K));
      cs.push_back(std::move(c));
    }
    // W quantized as a model file stores it (model/quantize.h).
    const ds::model::Int8Matrix s8 = ds::model::quantize_int8(W.data(), N, K);
    {
      Contender c{"int8", 0, {}, {}};
      c.quant.push_back(dk::pack_int8_weights(s8.q.data(), s8.scale.data(), N, K));
      c.bytes = c.quant[0].bytes();
      for (int i = 1, n = copies_for(c.bytes, o); i < n; ++i)
        c.quant.push_back(dk::pack_int8_weights(s8.q.data(), s8.scale.data(), N, K));
      cs.push_back(std::move(c));
    }
    for (int G : {32, 64, 128}) {
      Contender c{"int4 g" + std::to_string(G), 0, {}, {}};
      if (K % G != 0) {  // not a valid INT4 layout: an empty column
        cs.push_back(std::move(c));
        continue;
      }
      const ds::model::Int4Matrix s4 = ds::model::quantize_int4(W.data(), N, K, G);
      c.quant.push_back(dk::pack_int4_weights(s4.packed.data(), s4.scale.data(), N, K, G));
      c.bytes = c.quant[0].bytes();
      for (int i = 1, n = copies_for(c.bytes, o); i < n; ++i)
        c.quant.push_back(dk::pack_int4_weights(s4.packed.data(), s4.scale.data(), N, K, G));
      cs.push_back(std::move(c));
    }
    if (names.empty())
      for (const Contender& c : cs) names.push_back(c.name);

    // The activation-quantizing INT8 GEMV, on the same codes, in its own 4-row x 32-column blocks.
    const bool alt = avx2 && N % 4 == 0 && K % 32 == 0;
    std::vector<int8_t> alt_w;
    std::vector<float> alt_scale(static_cast<size_t>(N));
    int alt_copies = 1;
    if (alt) {
      alt_copies = copies_for(size_t(N) * K + size_t(N) * 4, o);
      alt_w.resize(size_t(N) * K * size_t(alt_copies));
      for (int n = 0; n < N; ++n)
        for (int k = 0; k < K; ++k)
          alt_w[((size_t(n / 4) * (K / 32) + k / 32) * 128) + size_t(n % 4) * 32 + k % 32] = s8.q[size_t(n) * K + k];
      for (int c = 1; c < alt_copies; ++c)
        std::copy(alt_w.begin(), alt_w.begin() + ptrdiff_t(size_t(N) * K),
                  alt_w.begin() + ptrdiff_t(size_t(c) * N * K));
      dk::fp16_to_fp32(s8.scale.data(), alt_scale.data(), alt_scale.size());
    }

    const int max_m = *std::max_element(o.ms.begin(), o.ms.end());
    std::vector<float> A(size_t(max_m) * K), C(size_t(max_m) * N);
    for (auto& x : A) x = dist(rng);
    for (int M : o.ms) {
      for (int t : o.threads) {
        dk::ThreadPool* pool = pools[size_t(t)].get();
        const double flops = 2.0 * M * N * K;
        Row r{M, N, K, t, {}};
        std::vector<Timed> ts;
        std::vector<int> slot(cs.size(), -1);  // contender -> entry of ts
        for (size_t ci = 0; ci < cs.size(); ++ci) {
          const Contender& c = cs[ci];
          if (c.fp32.empty() && c.quant.empty()) continue;
          slot[ci] = int(ts.size());
          Timed tm;
          tm.copies = int(c.fp32.empty() ? c.quant.size() : c.fp32.size());
          tm.fn = [&c, &A, &C, M, N, K, pool](int i) {
            if (!c.fp32.empty())
              dk::gemm_packed(M, N, K, A.data(), K, c.fp32[size_t(i)], C.data(), N, false, pool);
            else
              dk::gemm_quant(M, N, K, A.data(), K, c.quant[size_t(i)], C.data(), N, false, pool);
          };
          ts.push_back(std::move(tm));
        }
        const bool with_alt = M == 1 && t == 1 && alt;
        std::vector<int8_t> xq(static_cast<size_t>(K));
        std::vector<float> xs(size_t(K / 32)), y(static_cast<size_t>(N)), exact(static_cast<size_t>(N));
        if (with_alt) {
          Timed tm;
          tm.copies = alt_copies;
          tm.fn = [&](int i) {
            ds::bench::int8_dot_gemv(N, K, A.data(), alt_w.data() + size_t(i) * N * K, alt_scale.data(), y.data(),
                                     xq.data(), xs.data());
          };
          ts.push_back(std::move(tm));
        }
        const std::vector<double> sec = median_seconds(ts, o);
        for (size_t ci = 0; ci < cs.size(); ++ci) {
          if (slot[ci] < 0)
            r.cells.push_back({-1, -1});
          else
            r.cells.push_back(
                {flops / sec[size_t(slot[ci])] / 1e9, double(cs[ci].bytes) / sec[size_t(slot[ci])] / 1e9});
        }
        if (with_alt) {
          r.alt_gflops = flops / sec.back() / 1e9;
          r.alt_gbytes = (double(N) * K + 4.0 * N) / sec.back() / 1e9;
          // Its error against gemm_quant's (exact weights, FP32 activations), relative to the largest output.
          dk::gemm_quant(1, N, K, A.data(), K, cs[2].quant[0], exact.data(), N, false, nullptr);
          double diff = 0, scale = 0;
          for (int n = 0; n < N; ++n) {
            diff = std::max(diff, std::fabs(double(y[size_t(n)]) - exact[size_t(n)]));
            scale = std::max(scale, std::fabs(double(exact[size_t(n)])));
          }
          r.alt_error = diff / std::max(scale, 1e-30);
        }
        rows.push_back(r);
      }
    }
  }

  if (o.json) {
    std::printf(
        "{\n  \"isa\": \"%s\",\n  \"cold\": %s,\n  \"samples\": %d,\n  \"min_sample_ms\": %.1f,\n  \"results\": [\n",
        dk::isa(), o.cold ? "true" : "false", o.samples, o.min_s * 1e3);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf("    {\"M\": %d, \"N\": %d, \"K\": %d, \"threads\": %d", r.M, r.N, r.K, r.threads);
      for (size_t c = 0; c < r.cells.size(); ++c)
        if (r.cells[c].gflops >= 0)
          std::printf(", \"%s\": {\"gflops\": %.2f, \"weight_gbps\": %.2f}", names[c].c_str(), r.cells[c].gflops,
                      r.cells[c].gbytes);
      if (r.alt_gflops >= 0)
        std::printf(", \"int8_act_quant\": {\"gflops\": %.2f, \"weight_gbps\": %.2f, \"max_rel_error\": %.2e}",
                    r.alt_gflops, r.alt_gbytes, r.alt_error);
      std::printf("}%s\n", i + 1 < rows.size() ? "," : "");
    }
    std::printf("  ]\n}\n");
    return 0;
  }

  std::printf("ISA: %s; weights %s; median of %d samples of >= %.0f ms\n\n", dk::isa(),
              o.cold ? "cold (>= 128 MiB of copies per format, cycled)" : "hot in cache", o.samples, o.min_s * 1e3);
  std::printf("GFLOP/s = 2MNK / time (ratio to fp32 gemm_packed in the same run)\n\n| M | N x K | T |");
  for (const auto& n : names) std::printf(" %s |", n.c_str());
  std::printf(" int8 act-quant (alt) | alt error |\n|---:|---|---:|");
  for (size_t i = 0; i < names.size(); ++i) std::printf("---:|");
  std::printf("---:|---:|\n");
  for (const Row& r : rows) {
    std::printf("| %d | %dx%d | %d |", r.M, r.N, r.K, r.threads);
    for (size_t c = 0; c < r.cells.size(); ++c) {
      if (r.cells[c].gflops < 0)
        std::printf(" - |");
      else if (c == 0)
        std::printf(" %.1f |", r.cells[c].gflops);
      else
        std::printf(" %.1f (%.2f) |", r.cells[c].gflops, r.cells[c].gflops / r.cells[0].gflops);
    }
    if (r.alt_gflops >= 0)
      std::printf(" %.1f (%.2f) | %.1e |\n", r.alt_gflops, r.alt_gflops / r.cells[0].gflops, r.alt_error);
    else
      std::printf(" - | - |\n");
  }
  std::printf("\nEffective weight bandwidth, GB/s = bytes of the stored matrix / time\n\n| M | N x K | T |");
  for (const auto& n : names) std::printf(" %s |", n.c_str());
  std::printf("\n|---:|---|---:|");
  for (size_t i = 0; i < names.size(); ++i) std::printf("---:|");
  std::printf("\n");
  for (const Row& r : rows) {
    std::printf("| %d | %dx%d | %d |", r.M, r.N, r.K, r.threads);
    for (const Cell& c : r.cells) c.gbytes < 0 ? std::printf(" - |") : std::printf(" %.1f |", c.gbytes);
    std::printf("\n");
  }
  return 0;
}
