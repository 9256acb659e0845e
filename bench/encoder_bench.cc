// ds_encoder_bench: the whole Deepseek encoder on this machine. One run measures
//
//   1. forward tokens/s per path x T x batch (the model's own Encoder::encode, hidden states out;
//      batch 8 at T = 8192, about 20-40 s a call, only with --full);
//   2. the global-attention channel alone at long T: top-k (k = --k and the path's default) against
//      dense (k >= T), analytic FLOPs and measured time, at kernel level ("core": importance,
//      selection, attention over the selected keys) and through the model ("channel": plus the
//      Q/K/V/O projections and RoPE, model::global_channel);
//   3. the whole-forward FLOP and time saving of top-k against dense at those T;
//   4. peak memory of a T = 8192 forward, each configuration in a fresh process (--only);
//   5. where the time of one forward goes: the layer's ops re-run one by one with the model's
//      weights and kernels, each timed (--breakdown).
// The default run takes about 8 minutes on 2 cores. Tables in markdown on stdout (progress on
// stderr), or JSON with --json / --json-out.
//
// The model is a random FP32 model built in memory and written to a temporary file (or --model
// FILE), loaded through ModelFile like a real one. Default: V=16000 D=384 L=6 H=12 dh=32 F=1536,
// max_len 8192 (T <= 8192 is one piece: no windows), window 64; paths
//   light    ffn_ratio 0.5, 4 heads, top_k = config's {fraction 0.25, min 256}
//   standard ffn_ratio 1.0, 8 heads, top_k = config's
//   heavy    ffn_ratio 1.5, 12 heads, top_k {fraction 0.5, min 512}
// (MODEL.md section 3's head counts; no FFN layer skipped).
//
// Analytic FLOPs (2 per multiply-add; elementwise ops, softmax, norms and RoPE not counted), per
// layer and sequence of T tokens, hg/hl global/local heads of size dh, f FFN units:
//   projections  2 T D (4 hg dh + 4 hl dh) + 2 T D (importance) + 4 T D (gate)
//   global attn  4 T nk dh hg          (QK^T and AV: T nk dh multiply-adds each, per head; nk = min(k, T))
//   local attn   4 dh hl sum_i |{j : |i - j| <= w, 0 <= j < T}|
//   FFN          4 T D f               (up and down), unless the path skips the layer
// Key selection adds about T + k log2 k comparisons (nth_element + sort of the winners) per layer:
// reported beside the FLOPs, not in them.
//
//   ds_encoder_bench [--json] [--json-out FILE] [--model FILE] [--write-model FILE] [--precision P[:G]]
//                    [--samples N] [--min-ms X]
//                    [--threads N] [--paths light,standard,heavy] [--T 128,512,2048,8192]
//                    [--batch 1,8] [--attn-T 2048,8192] [--k 1024] [--full]
//                    [--skip forward,attention,topk,memory,breakdown] [--only PATH:T:B[:K|dense]]
//                    [--breakdown PATH:T:B,...]   (default standard:128:1,standard:128:8,standard:8192:1)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "fma_peak.h"
#include "kernels/cpu/kernels.h"
#include "kernels/cpu/thread_pool.h"
#include "model/encoder.h"
#include "model/encoder_weights.h"
#include "model/forward.h"
#include "model/model_file.h"
#include "model/random_model.h"

namespace {

using Clock = std::chrono::steady_clock;
using ds::model::Encoder;
using ds::model::ModelConfig;
using ds::model::PathSpec;
using ds::model::TopKSpec;

struct Options {
  bool json = false;
  std::string json_out;     // also write the JSON here (with the markdown on stdout)
  std::string model;        // load this file instead of the random model
  std::string write_model;  // write the random model here and exit
  std::string precision = "fp32";  // of the random model's matrices: fp32, fp16, int8, int4[:G] (G = 32 default)
  int samples = 5;
  double min_s = 0.2;   // one sample repeats the call until it lasts this long
  double long_s = 1.0;  // calls longer than this get at most 3 samples
  int threads = 2;
  std::vector<std::string> paths = {"light", "standard", "heavy"};
  std::vector<int> ts = {128, 512, 2048, 8192};
  std::vector<int> batches = {1, 8};
  std::vector<int> attn_ts = {2048, 8192};
  int k = 1024;
  bool full = false;  // also batch 8 at T = 8192 (about 20 s a call)
  std::set<std::string> skip;
  std::string only;
  std::vector<std::string> breakdown = {"standard:128:1", "standard:128:8", "standard:8192:1"};
};

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: %s [--json] [--json-out FILE] [--model FILE] [--write-model FILE] [--precision P[:G]] "
               "[--samples N] [--min-ms X] [--threads N]\n"
               "       [--paths LIST] [--T LIST] [--batch LIST] [--attn-T LIST] [--k K] [--full]\n"
               "       [--skip forward,attention,topk,memory,breakdown] [--only PATH:T:B[:K|dense]]\n"
               "       [--breakdown PATH:T:B,...]\n",
               argv0);
  std::exit(code);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  size_t p = 0;
  for (;;) {
    const size_t q = s.find(sep, p);
    v.push_back(s.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) return v;
    p = q + 1;
  }
}

std::vector<int> parse_ints(const std::string& s) {
  std::vector<int> v;
  for (const std::string& x : split(s, ',')) v.push_back(std::atoi(x.c_str()));
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0], 2);
      return argv[++i];
    };
    if (a == "--json")
      o.json = true;
    else if (a == "--json-out")
      o.json_out = next();
    else if (a == "--model")
      o.model = next();
    else if (a == "--write-model")
      o.write_model = next();
    else if (a == "--precision")
      o.precision = next();
    else if (a == "--samples")
      o.samples = std::max(1, std::atoi(next().c_str()));
    else if (a == "--min-ms")
      o.min_s = std::atof(next().c_str()) / 1000.0;
    else if (a == "--threads")
      o.threads = std::max(1, std::atoi(next().c_str()));
    else if (a == "--paths")
      o.paths = split(next(), ',');
    else if (a == "--T")
      o.ts = parse_ints(next());
    else if (a == "--batch")
      o.batches = parse_ints(next());
    else if (a == "--attn-T")
      o.attn_ts = parse_ints(next());
    else if (a == "--k")
      o.k = std::max(1, std::atoi(next().c_str()));
    else if (a == "--full")
      o.full = true;
    else if (a == "--skip")
      for (const std::string& s : split(next(), ',')) o.skip.insert(s);
    else if (a == "--only")
      o.only = next();
    else if (a == "--breakdown")
      o.breakdown = split(next(), ',');
    else if (a == "--help")
      usage(argv[0], 0);
    else
      usage(argv[0], 2);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// The benchmark model.

ModelConfig bench_config() {
  ModelConfig c;
  c.vocab_size = 16000;
  c.d_model = 384;
  c.n_layers = 6;
  c.n_heads = 12;
  c.n_local_heads = 6;
  c.head_dim = 32;
  c.ffn_dim = 1536;
  c.ffn_max_dim = 2304;
  c.rms_eps = 1e-6;
  c.rope_theta = 10000.0;
  c.max_len = 8192;
  c.window_overlap = 512;
  c.window = 64;
  c.top_k.kind = TopKSpec::Kind::kFraction;
  c.top_k.fraction = 0.25;
  c.top_k.min = 256;
  c.pad_id = 0;
  c.default_path = "standard";
  return c;
}

ds::model::RandomModelSpec bench_model_spec() {
  ds::model::RandomModelSpec spec;
  spec.config = bench_config();
  spec.paths_json =
      R"({"light":{"ffn_ratio":0.5,"attn_heads":4,"skip_ffn_layers":[],"top_k":null},)"
      R"("standard":{"ffn_ratio":1.0,"attn_heads":8,"skip_ffn_layers":[],"top_k":null},)"
      R"("heavy":{"ffn_ratio":1.5,"attn_heads":12,"skip_ffn_layers":[],"top_k":{"fraction":0.5,"min":512}}})";
  spec.heads_json = "[]";  // the encoder body only, as the ONNX Runtime / PyTorch references run it
  spec.seed = 7;
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Timing.

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Timing {
  double median = 0;  // seconds per call
  double best = 0;
  int samples = 0;
  int reps = 0;  // calls per sample
};

// One warm-up call, then samples of `reps` calls each lasting >= min_s; calls of >= long_s get at
// most 3 samples, and from 4 long_s on the warm-up call counts as one of them (every forward
// allocates its buffers afresh, so the first call is no colder than the others).
Timing time_call(const std::function<void()>& fn, const Options& o) {
  auto t0 = Clock::now();
  fn();
  const double first = seconds_since(t0);
  Timing t;
  t.samples = first >= o.long_s ? std::min(o.samples, 3) : o.samples;
  t.reps = first >= o.min_s ? 1 : std::max(1, int(std::ceil(o.min_s / std::max(first, 1e-6))));
  std::vector<double> s;
  if (first >= 4 * o.long_s) s.push_back(first);
  for (int i = int(s.size()); i < t.samples; ++i) {
    t0 = Clock::now();
    for (int r = 0; r < t.reps; ++r) fn();
    s.push_back(seconds_since(t0) / t.reps);
  }
  std::sort(s.begin(), s.end());
  t.median = s[s.size() / 2];
  t.best = s.front();
  return t;
}

// Best and median GFLOP/s of the FMA loop on `threads` threads (bench/fma_peak.h).
std::pair<double, double> fma_peak(int threads) {
  const int64_t iters = 20'000'000;
  std::vector<double> g;
  for (int s = 0; s < 9; ++s) {
    std::vector<std::thread> ts;
    std::vector<float> sink(static_cast<size_t>(threads));
    const auto t0 = Clock::now();
    for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { sink[size_t(t)] = ds::bench::fma_chains(iters); });
    for (auto& t : ts) t.join();
    const double sec = seconds_since(t0);
    if (sink[0] == 12345.0f) std::puts("");
    g.push_back(double(iters) * 12 * 16 * threads / sec / 1e9);
  }
  std::sort(g.begin(), g.end());
  return {g.back(), g[g.size() / 2]};
}

// ---------------------------------------------------------------------------------------------
// Memory (kB) from /proc/self/status.

long status_kb(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  const size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') v = std::atol(line + n + 1);
  std::fclose(f);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Analytic FLOPs.

struct Flops {
  double proj = 0, global_attn = 0, local_attn = 0, ffn = 0;
  double total() const { return proj + global_attn + local_attn + ffn; }
};

double local_keys(int64_t T, int64_t w) {
  double n = 0;
  for (int64_t i = 0; i < T; ++i) n += double(std::min(T - 1, i + w) - std::max<int64_t>(0, i - w) + 1);
  return n;
}

// One sequence of T tokens through every layer of `path` with key budget k.
Flops forward_flops(const ModelConfig& c, const PathSpec& p, int64_t T, int64_t k) {
  const double D = c.d_model, dh = c.head_dim, hg = p.attn_heads, hl = ds::model::path_local_heads(p, c);
  const double f = ds::model::path_ffn_units(p, c), t = double(T), nk = double(std::min(std::max<int64_t>(k, 1), T));
  Flops one;
  one.proj = 2 * t * D * (4 * hg * dh + 4 * hl * dh) + 2 * t * D + 4 * t * D;
  one.global_attn = 4 * t * nk * dh * hg;
  one.local_attn = 4 * dh * hl * local_keys(T, c.window);
  Flops all;
  for (int l = 0; l < c.n_layers; ++l) {
    all.proj += one.proj;
    all.global_attn += one.global_attn;
    all.local_attn += one.local_attn;
    if (std::find(p.skip_ffn_layers.begin(), p.skip_ffn_layers.end(), l) == p.skip_ffn_layers.end())
      all.ffn += 4 * t * D * f;
  }
  return all;
}

// ---------------------------------------------------------------------------------------------
// The runs.

struct Bench {
  const Options& o;
  std::shared_ptr<const ds::model::ModelFile> file;
  std::unique_ptr<Encoder> enc;
  ds::kernels::ThreadPool* pool;

  TopKSpec path_top_k(const PathSpec& p) const { return p.top_k ? *p.top_k : enc->config().top_k; }

  // Keys each query attends to: the resolved budget of `override` or the path's spec, capped at T
  // (k >= T is dense).
  int64_t budget(const PathSpec& p, const std::optional<TopKSpec>& override, int T) const {
    return std::min<int64_t>((override ? *override : path_top_k(p)).resolve(T), T);
  }

  std::vector<std::vector<int32_t>> make_ids(int T, int B) const {
    std::mt19937 rng(uint32_t(1000 + T * 16 + B));
    std::uniform_int_distribution<int32_t> id(1, enc->config().vocab_size - 1);
    std::vector<std::vector<int32_t>> ids(static_cast<size_t>(B), std::vector<int32_t>(static_cast<size_t>(T)));
    for (auto& seq : ids)
      for (auto& x : seq) x = id(rng);
    return ids;
  }

  std::function<void()> forward_fn(const std::string& path, int T, int B, const std::optional<TopKSpec>& top_k,
                                   std::vector<std::vector<int32_t>>& ids,
                                   std::vector<ds::model::SequenceInput>& batch) const {
    ids = make_ids(T, B);
    batch.clear();
    for (auto& seq : ids) batch.push_back({seq, {}});
    ds::model::EncodeRequest req;
    req.path = enc->path(path);
    req.top_k = top_k;
    return [this, req, &batch] {
      auto out = enc->encode(batch, req, pool);
      if (out.empty() || out[0].hidden.data.empty()) std::abort();
    };
  }
};

struct ForwardRow {
  std::string path;
  int T, B;
  int64_t k;
  std::string k_kind;  // "default", "fixed", "dense"
  Flops flops;         // per call (all sequences)
  Timing t;
};

struct AttnRow {
  std::string path;
  int hg, T;
  int64_t k;
  std::string k_kind;
  double flops;       // QK^T + AV
  double select_ops;  // comparisons, T + k log2 k (0 when dense)
  double select_ms, core_ms, channel_ms;
};

struct MemRow {
  std::string path;
  int T, B;
  int64_t k;
  std::string k_kind;
  long rss_before_kb = -1, hwm_kb = -1, maxrss_kb = -1;
  double seconds = 0;
};

std::optional<TopKSpec> k_override(const std::string& kind, int k) {
  if (kind == "dense") return TopKSpec::dense();
  if (kind == "fixed") {
    TopKSpec s;
    s.kind = TopKSpec::Kind::kFixed;
    s.fixed = k;
    return s;
  }
  return std::nullopt;
}

// --only PATH:T:B[:K|dense]: one forward in this (fresh) process; prints one JSON line with memory.
int run_only(Bench& b, const Options& o) {
  const std::vector<std::string> f = split(o.only, ':');
  if (f.size() < 3) usage("ds_encoder_bench", 2);
  const std::string path = f[0];
  const int T = std::atoi(f[1].c_str()), B = std::atoi(f[2].c_str());
  std::string kind = "default";
  int k = 0;
  if (f.size() > 3) {
    kind = f[3] == "dense" ? "dense" : "fixed";
    k = std::atoi(f[3].c_str());
  }
  const std::optional<TopKSpec> ov = k_override(kind, k);
  std::vector<std::vector<int32_t>> ids;
  std::vector<ds::model::SequenceInput> batch;
  auto fn = b.forward_fn(path, T, B, ov, ids, batch);
  const long before = status_kb("VmRSS");
  Options one = o;
  one.samples = std::min(o.samples, 2);
  one.min_s = 0;
  const Timing t = time_call(fn, one);
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "{\"path\": \"%s\", \"T\": %d, \"B\": %d, \"k\": %lld, \"k_kind\": \"%s\", \"rss_before_kb\": %ld, "
      "\"hwm_kb\": %ld, \"maxrss_kb\": %ld, \"rss_anon_kb\": %ld, \"rss_file_kb\": %ld, \"seconds\": %.4f}\n",
      path.c_str(), T, B, (long long)b.budget(b.enc->path(path), ov, T), kind.c_str(), before, status_kb("VmHWM"),
      long(ru.ru_maxrss), status_kb("RssAnon"), status_kb("RssFile"), t.median);
  return 0;
}

// Runs this program again with --only in a fresh process and parses its line.
MemRow measure_memory(const Options& o, const std::string& model_path, const std::string& path, int T, int B,
                      const std::string& kind) {
  MemRow r{path, T, B, 0, kind};
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return r;
  exe[n] = 0;
  std::string spec = path + ":" + std::to_string(T) + ":" + std::to_string(B);
  if (kind == "dense")
    spec += ":dense";
  else if (kind == "fixed")
    spec += ":" + std::to_string(o.k);
  const std::string cmd = std::string("'") + exe + "' --model '" + model_path + "' --threads " +
                          std::to_string(o.threads) + " --samples 1 --only " + spec;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char line[1024] = {0};
  std::string all;
  while (std::fgets(line, sizeof line, p)) all += line;
  pclose(p);
  auto num = [&](const char* key) -> double {
    const std::string k = std::string("\"") + key + "\": ";
    const size_t at = all.find(k);
    return at == std::string::npos ? -1 : std::atof(all.c_str() + at + k.size());
  };
  r.k = int64_t(num("k"));
  r.rss_before_kb = long(num("rss_before_kb"));
  r.hwm_kb = long(num("hwm_kb"));
  r.maxrss_kb = long(num("maxrss_kb"));
  r.seconds = num("seconds");
  return r;
}

float log_sigmoid(float s) {
  const double x = s;
  return static_cast<float>(x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)));
}

// --breakdown: the forward pass of model/forward.cc and model/attention.cc re-run op by op with the
// model's own weights (EncoderWeights, Linear::apply) and kernels, each op timed, to show where the
// time of one forward goes. Ops follow the model's order; the only difference is that the global
// and local attention tasks run as two parallel_for calls instead of one.
struct OpTime {
  std::string name;
  double seconds = 0;  // per forward, summed over layers
  double flops = 0;
};

std::vector<OpTime> op_breakdown(const Bench& b, const std::string& path, int T, int B, int reps) {
  const ModelConfig& c = b.enc->config();
  const PathSpec& p = b.enc->path(path);
  ds::model::EncoderWeights w(*b.file);
  const int D = c.d_model, dh = c.head_dim, hg = p.attn_heads, hl = ds::model::path_local_heads(p, c);
  const int f = ds::model::path_ffn_units(p, c), gw = hg * dh, lw = hl * dh, M = T * B, window = c.window;
  const int64_t kk = b.path_top_k(p).resolve(T);
  const size_t rows = static_cast<size_t>(M);
  auto buf = [&](size_t n) { return std::vector<float>(n); };
  std::vector<float> h = buf(rows * D), u = buf(rows * D), scores = buf(rows), bias = buf(rows);
  std::vector<float> gq = buf(rows * gw), gk = buf(rows * gw), gv = buf(rows * gw), ga = buf(rows * gw);
  std::vector<float> lq = buf(rows * lw), lk = buf(rows * lw), lv = buf(rows * lw), la = buf(rows * lw);
  std::vector<float> og = buf(rows * D), ol = buf(rows * D), gate = buf(rows * 2), ffn = buf(rows * size_t(f));
  std::vector<int32_t> pos(rows);
  for (size_t r = 0; r < rows; ++r) pos[r] = int32_t(r % size_t(T));
  const std::vector<std::vector<int32_t>> ids = b.make_ids(T, B);
  std::vector<std::vector<int32_t>> keys(static_cast<size_t>(B));
  ds::kernels::ThreadPool* pool = b.pool;
  auto pfor = [&](size_t n, const std::function<void(size_t, size_t)>& body) {
    if (pool && n > 1)
      pool->parallel_for(n, body);
    else
      body(0, n);
  };

  std::vector<OpTime> ops;
  std::map<std::string, size_t> index;
  auto timed = [&](const std::string& name, double flops, const std::function<void()>& fn) {
    const auto t0 = Clock::now();
    fn();
    const double s = seconds_since(t0);
    auto it = index.find(name);
    if (it == index.end()) {
      it = index.emplace(name, ops.size()).first;
      ops.push_back({name, 0, 0});
    }
    ops[it->second].seconds += s;
    ops[it->second].flops += flops;
  };
  const float eps = float(c.rms_eps);
  const double m = M;
  const float* inv_freq = w.inv_freq.data();
  for (int rep = 0; rep <= reps; ++rep) {
    if (rep == 1) ops.clear(), index.clear();  // rep 0 warms up
    timed("buffers (allocate + zero, as run_forward)", 0, [&] {
      std::vector<float> tmp(rows * (4 * D + 4 * size_t(gw) + 4 * size_t(lw) + 2 + size_t(f) + 2));
      if (tmp[0] != 0) std::abort();
    });
    timed("embedding gather", 0, [&] {
      for (int s = 0; s < B; ++s)
        for (int i = 0; i < T; ++i) w.embed.gather(ids[size_t(s)][size_t(i)], h.data() + (size_t(s) * T + i) * D);
    });
    for (int l = 0; l < c.n_layers; ++l) {
      const ds::model::LayerWeights& L = w.layers[size_t(l)];
      timed("rmsnorm x2", 0, [&] { ds::model::rmsnorm_rows(h.data(), L.attn_norm.data(), u.data(), M, D, eps, pool); });
      timed("importance + key selection", 2 * m * D, [&] {
        ds::kernels::gemm_nt(M, 1, D, u.data(), D, L.importance_w.data(), D, scores.data(), 1, false, pool);
        for (size_t r = 0; r < rows; ++r) bias[r] = log_sigmoid(scores[r] + L.importance_b.data()[0]);
        for (int s = 0; s < B; ++s) {
          auto& ks = keys[size_t(s)];
          if (kk >= T) {
            ks.resize(size_t(T));
            std::iota(ks.begin(), ks.end(), 0);
          } else {
            std::vector<float> tmp(scores.begin() + s * T, scores.begin() + (s + 1) * T);
            tmp[0] = std::numeric_limits<float>::infinity();
            ks.resize(size_t(kk));
            ds::kernels::top_k(tmp.data(), T, int(kk), ks.data());
          }
        }
      });
      timed("global Q/K/V projections", 3 * 2 * m * D * gw, [&] {
        L.global_q.apply(M, u.data(), D, gq.data(), gw, gw, D, false, pool);
        L.global_k.apply(M, u.data(), D, gk.data(), gw, gw, D, false, pool);
        L.global_v.apply(M, u.data(), D, gv.data(), gw, gw, D, false, pool);
      });
      timed("local Q/K/V projections", 3 * 2 * m * D * lw, [&] {
        L.local_q.apply(M, u.data(), D, lq.data(), lw, lw, D, false, pool);
        L.local_k.apply(M, u.data(), D, lk.data(), lw, lw, D, false, pool);
        L.local_v.apply(M, u.data(), D, lv.data(), lw, lw, D, false, pool);
      });
      timed("global attention (RoPE + attention_keys)", 4.0 * m * double(std::min<int64_t>(kk, T)) * dh * hg, [&] {
        pfor(size_t(B) * hg, [&](size_t tb, size_t te) {
          for (size_t t = tb; t < te; ++t) {
            const size_t s = t / size_t(hg), head = t % size_t(hg), off = s * T * gw + head * dh;
            ds::kernels::rope(gq.data() + off, T, dh, gw, pos.data() + s * T, inv_freq);
            ds::kernels::rope(gk.data() + off, T, dh, gw, pos.data() + s * T, inv_freq);
            const auto& ks = keys[s];
            ds::kernels::attention_keys(T, dh, gq.data() + off, gw, gk.data() + off, gw, gv.data() + off, gw, ks.data(),
                                        int(ks.size()), bias.data() + s * T, ga.data() + off, gw);
          }
        });
      });
      timed("local attention (RoPE + attention_local)", 4.0 * dh * hl * local_keys(T, window) * B, [&] {
        pfor(size_t(B) * hl, [&](size_t tb, size_t te) {
          for (size_t t = tb; t < te; ++t) {
            const size_t s = t / size_t(hl), head = t % size_t(hl), off = s * T * lw + head * dh;
            ds::kernels::rope(lq.data() + off, T, dh, lw, pos.data() + s * T, inv_freq);
            ds::kernels::rope(lk.data() + off, T, dh, lw, pos.data() + s * T, inv_freq);
            ds::kernels::attention_local(T, dh, window, lq.data() + off, lw, lk.data() + off, lw, lv.data() + off, lw,
                                         la.data() + off, lw);
          }
        });
      });
      timed("O projections (global + local)", 2 * m * D * (gw + lw), [&] {
        L.global_o.apply(M, ga.data(), gw, og.data(), D, D, gw, false, pool);
        L.local_o.apply(M, la.data(), lw, ol.data(), D, D, lw, false, pool);
      });
      timed("gate + mix", 4 * m * D, [&] {
        ds::kernels::gemm_nt(M, 2, D, u.data(), D, L.gate_w.data(), D, gate.data(), 2, false, pool);
        const float b0 = L.gate_b.data()[0], b1 = L.gate_b.data()[1];
        pfor(rows, [&](size_t rb, size_t re) {
          for (size_t r = rb; r < re; ++r) {
            const float g0 = 1.0f / (1.0f + std::exp(-(gate[2 * r] + b0))),
                        g1 = 1.0f / (1.0f + std::exp(-(gate[2 * r + 1] + b1)));
            for (int d = 0; d < D; ++d) h[r * D + d] += g0 * og[r * D + d] + g1 * ol[r * D + d];
          }
        });
      });
      if (std::find(p.skip_ffn_layers.begin(), p.skip_ffn_layers.end(), l) != p.skip_ffn_layers.end()) continue;
      timed("rmsnorm x2", 0, [&] { ds::model::rmsnorm_rows(h.data(), L.ffn_norm.data(), u.data(), M, D, eps, pool); });
      timed("FFN up", 2 * m * D * f, [&] { L.up.apply(M, u.data(), D, ffn.data(), f, f, D, false, pool); });
      timed("GELU", 0, [&] {
        pfor(rows, [&](size_t rb, size_t re) { ds::kernels::gelu(ffn.data() + rb * f, (re - rb) * size_t(f)); });
      });
      timed("FFN down", 2 * m * D * f, [&] { L.down.apply(M, ffn.data(), f, h.data(), D, D, f, true, pool); });
      // Keep the residual stream bounded over repetitions (the values do not matter for timing).
      if (l == c.n_layers - 1) ds::model::rmsnorm_rows(h.data(), w.final_norm.data(), h.data(), M, D, eps, pool);
    }
  }
  for (OpTime& op : ops) {
    op.seconds /= reps;
    op.flops /= reps;
  }
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  ds::model::RandomModelSpec spec = bench_model_spec();
  {
    // Every weight matrix (the embedding included) in one storage precision, e.g. "int4:64".
    const std::vector<std::string> p = split(o.precision, ':');
    const std::optional<ds::model::Precision> prec = ds::model::parse_precision(p[0]);
    if (!prec) usage(argv[0], 2);
    spec.precision = *prec;
    spec.int4_group_size = p.size() > 1 ? std::atoi(p[1].c_str()) : 32;
  }

  if (!o.write_model.empty()) {
    ds::model::make_random_model(spec).write(o.write_model);
    std::fprintf(stderr, "wrote %s\n", o.write_model.c_str());
    return 0;
  }

  // The random model goes through a file so that it loads exactly like a real one (mapped, packed).
  std::string model_path = o.model, temp_path;
  if (model_path.empty()) {
    char tmpl[] = "/tmp/ds_encoder_bench_XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) {
      std::perror("mkstemp");
      return 1;
    }
    close(fd);
    temp_path = model_path = tmpl;
    ds::model::make_random_model(spec).write(model_path);
  }
  struct Cleanup {
    std::string p;
    ~Cleanup() {
      if (!p.empty()) std::remove(p.c_str());
    }
  } cleanup{temp_path};

  std::unique_ptr<ds::kernels::ThreadPool> pool_owner;
  if (o.threads > 1) pool_owner = std::make_unique<ds::kernels::ThreadPool>(o.threads);
  Bench b{o, ds::model::ModelFile::open(model_path), nullptr, pool_owner.get()};
  b.enc = std::make_unique<Encoder>(b.file);
  const ModelConfig& c = b.enc->config();

  if (!o.only.empty()) return run_only(b, o);

  const bool have_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  std::pair<double, double> peak{0, 0};
  if (have_fma) peak = fma_peak(o.threads);
  auto log = [&](const char* fmt, auto... args) {
    std::fprintf(stderr, fmt, args...);
    std::fflush(stderr);
  };
  log("model %s: V=%d D=%d L=%d H=%d dh=%d F=%d max_len=%d window=%d; ISA %s, %d threads; FMA peak %.1f GFLOP/s\n",
      o.model.empty() ? "random" : o.model.c_str(), c.vocab_size, c.d_model, c.n_layers, c.n_heads, c.head_dim,
      c.ffn_dim, c.max_len, c.window, ds::kernels::isa(), o.threads, peak.first);

  // Forward results keyed by (path, T, B, kind) so the top-k section can reuse the grid.
  std::map<std::tuple<std::string, int, int, std::string>, ForwardRow> cache;
  auto forward = [&](const std::string& path, int T, int B, const std::string& kind) -> const ForwardRow& {
    auto key = std::make_tuple(path, T, B, kind);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    const PathSpec& p = b.enc->path(path);
    const std::optional<TopKSpec> ov = k_override(kind, o.k);
    ForwardRow r{path, T, B, b.budget(p, ov, T), kind, {}, {}};
    const Flops one = forward_flops(c, p, T, r.k);
    r.flops = {one.proj * B, one.global_attn * B, one.local_attn * B, one.ffn * B};
    std::vector<std::vector<int32_t>> ids;
    std::vector<ds::model::SequenceInput> batch;
    auto fn = b.forward_fn(path, T, B, ov, ids, batch);
    r.t = time_call(fn, o);
    log("  forward %-8s T=%-5d B=%d k=%-5lld %s: %.2f ms (%d x %d)\n", path.c_str(), T, B, (long long)r.k, kind.c_str(),
        r.t.median * 1e3, r.t.samples, r.t.reps);
    return cache.emplace(key, r).first->second;
  };

  // 1. Forward grid.
  std::vector<ForwardRow> grid;
  std::vector<std::string> skipped;
  if (!o.skip.count("forward")) {
    for (const std::string& path : o.paths)
      for (int T : o.ts)
        for (int B : o.batches) {
          if (B > 1 && T >= 8192 && !o.full) {
            skipped.push_back(path + " T=" + std::to_string(T) + " B=" + std::to_string(B));
            continue;
          }
          grid.push_back(forward(path, T, B, "default"));
        }
  }

  // 2. Global attention alone: core (kernels, as model/attention.cc calls them) and channel (model).
  std::vector<AttnRow> attn;
  if (!o.skip.count("attention")) {
    ds::model::EncoderWeights weights(*b.file);
    const int D = c.d_model, dh = c.head_dim;
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int T : o.attn_ts) {
      const size_t t_rows = static_cast<size_t>(T);
      std::vector<float> u(t_rows * D), w_imp(static_cast<size_t>(D)), scores(t_rows), key_bias(t_rows), tmp;
      for (float& x : u) x = nd(rng);
      for (float& x : w_imp) x = nd(rng) * 2.5f / std::sqrt(float(D));
      for (const std::string& path : o.paths) {
        const PathSpec& p = b.enc->path(path);
        const int hg = p.attn_heads, gw = hg * dh;
        std::vector<float> q(size_t(T) * gw), k(size_t(T) * gw), v(size_t(T) * gw), out(size_t(T) * gw);
        for (float& x : q) x = nd(rng);
        for (float& x : k) x = nd(rng);
        for (float& x : v) x = nd(rng);
        std::vector<std::pair<std::string, int64_t>> ks = {{"dense", T}, {"fixed", o.k}};
        const int64_t def = b.path_top_k(p).resolve(T);
        if (def != o.k && def < T) ks.push_back({"default", def});
        std::vector<int32_t> keys;
        for (auto [kind, kk] : ks) {
          if (kk > T) kk = T;
          auto select = [&] {
            ds::kernels::gemm_nt(T, 1, D, u.data(), D, w_imp.data(), D, scores.data(), 1, false, b.pool);
            for (int i = 0; i < T; ++i) key_bias[size_t(i)] = log_sigmoid(scores[size_t(i)] + 0.5f);
            if (kk >= T) {
              keys.resize(size_t(T));
              std::iota(keys.begin(), keys.end(), 0);
            } else {
              tmp.assign(scores.begin(), scores.end());
              tmp[0] = std::numeric_limits<float>::infinity();
              keys.resize(size_t(kk));
              ds::kernels::top_k(tmp.data(), T, int(kk), keys.data());
            }
          };
          auto core = [&] {
            select();
            auto heads = [&](size_t hb, size_t he) {
              for (size_t h = hb; h < he; ++h)
                ds::kernels::attention_keys(T, dh, q.data() + h * dh, gw, k.data() + h * dh, gw, v.data() + h * dh, gw,
                                            keys.data(), int(keys.size()), key_bias.data(), out.data() + h * dh, gw);
            };
            if (b.pool)
              b.pool->parallel_for(size_t(hg), heads);
            else
              heads(0, size_t(hg));
          };
          auto channel = [&] {
            auto r = ds::model::global_channel(weights, c, 0, u.data(), T, hg, kk, b.pool);
            if (r.empty()) std::abort();
          };
          AttnRow r{path,
                    hg,
                    T,
                    kk,
                    kind,
                    4.0 * T * double(kk) * dh * hg,
                    kk >= T ? 0.0 : T + double(kk) * std::log2(double(kk)),
                    0,
                    0,
                    0};
          r.select_ms = time_call(select, o).median * 1e3;
          r.core_ms = time_call(core, o).median * 1e3;
          r.channel_ms = time_call(channel, o).median * 1e3;
          log("  attention %-8s hg=%-2d T=%-5d k=%-5lld: select %.2f ms, core %.2f ms, channel %.2f ms\n", path.c_str(),
              hg, T, (long long)kk, r.select_ms, r.core_ms, r.channel_ms);
          attn.push_back(r);
        }
      }
    }
  }

  // 3. Whole forward, top-k against dense.
  std::vector<ForwardRow> topk;
  if (!o.skip.count("topk")) {
    for (const std::string& path : o.paths)
      for (int T : o.attn_ts) {
        topk.push_back(forward(path, T, 1, "dense"));
        topk.push_back(forward(path, T, 1, "fixed"));
        const PathSpec& p = b.enc->path(path);
        const int64_t def = b.path_top_k(p).resolve(T);
        if (def != o.k && def < T) topk.push_back(forward(path, T, 1, "default"));
      }
  }

  // 4. Peak memory at T = 8192, one fresh process per row.
  std::vector<MemRow> mem;
  if (!o.skip.count("memory")) {
    const int T = 8192;
    for (const std::string& path : o.paths) {
      mem.push_back(measure_memory(o, model_path, path, T, 1, "default"));
      log("  memory %s T=%d: peak %ld kB\n", path.c_str(), T, mem.back().hwm_kb);
    }
    mem.push_back(measure_memory(o, model_path, "standard", T, 1, "dense"));
    mem.push_back(measure_memory(o, model_path, "standard", 2048, 1, "default"));
    log("  memory done\n");
  }

  // 5. Where the time of one forward goes.
  struct Breakdown {
    std::string path;
    int T, B;
    double forward_s;
    std::vector<OpTime> ops;
  };
  std::vector<Breakdown> breakdowns;
  if (!o.skip.count("breakdown")) {
    for (const std::string& item : o.breakdown) {
      const std::vector<std::string> f = split(item, ':');
      if (f.size() != 3) usage(argv[0], 2);
      const int T = std::atoi(f[1].c_str()), B = std::atoi(f[2].c_str());
      const int reps = std::max(1, 40 * 128 / (T * B));
      const double fwd = forward(f[0], T, B, "default").t.median;
      breakdowns.push_back({f[0], T, B, fwd, op_breakdown(b, f[0], T, B, reps)});
      log("  breakdown %s done\n", item.c_str());
    }
  }

  const auto again = have_fma ? fma_peak(o.threads) : std::make_pair(0.0, 0.0);
  if (again.first > peak.first) peak = again;

  // ---- Output.
  auto path_of = [&](const std::string& name) -> const PathSpec& { return b.enc->path(name); };
  auto dense_row = [&](const std::vector<ForwardRow>& rows, const ForwardRow& r) -> const ForwardRow* {
    for (const ForwardRow& d : rows)
      if (d.path == r.path && d.T == r.T && d.B == r.B && d.k_kind == "dense") return &d;
    return nullptr;
  };
  auto dense_attn = [&](const AttnRow& r) -> const AttnRow* {
    for (const AttnRow& d : attn)
      if (d.path == r.path && d.T == r.T && d.k_kind == "dense") return &d;
    return nullptr;
  };

  // JSON to `jf`: stdout with --json, a file with --json-out.
  auto write_json = [&](FILE* jf) {
    std::fprintf(
        jf,
        "{\n  \"isa\": \"%s\",\n  \"threads\": %d,\n  \"samples\": %d,\n  \"fma_peak_gflops\": {\"best\": %.1f, "
        "\"median\": %.1f},\n",
        ds::kernels::isa(), o.threads, o.samples, peak.first, peak.second);
    std::fprintf(
        jf,
        "  \"model\": {\"file\": \"%s\", \"vocab_size\": %d, \"d_model\": %d, \"n_layers\": %d, \"n_heads\": %d, "
        "\"head_dim\": %d, \"ffn_dim\": %d, \"max_len\": %d, \"window\": %d, \"parameters\": %lld},\n",
        o.model.empty() ? "random" : o.model.c_str(), c.vocab_size, c.d_model, c.n_layers, c.n_heads, c.head_dim,
        c.ffn_dim, c.max_len, c.window, (long long)b.file->parameter_count());
    auto fwd_json = [&](const char* name, const std::vector<ForwardRow>& rows) {
      std::fprintf(jf, "  \"%s\": [\n", name);
      for (size_t i = 0; i < rows.size(); ++i) {
        const ForwardRow& r = rows[i];
        std::fprintf(
            jf,
            "    {\"path\": \"%s\", \"T\": %d, \"batch\": %d, \"k\": %lld, \"k_kind\": \"%s\", \"gflop\": %.3f, "
            "\"gflop_global_attn\": %.3f, \"gflop_local_attn\": %.3f, \"gflop_proj\": %.3f, \"gflop_ffn\": %.3f, "
            "\"median_ms\": %.3f, \"best_ms\": %.3f, \"samples\": %d, \"reps\": %d, \"tokens_per_s\": %.1f, "
            "\"gflops\": %.1f}%s\n",
            r.path.c_str(), r.T, r.B, (long long)r.k, r.k_kind.c_str(), r.flops.total() / 1e9,
            r.flops.global_attn / 1e9, r.flops.local_attn / 1e9, r.flops.proj / 1e9, r.flops.ffn / 1e9,
            r.t.median * 1e3, r.t.best * 1e3, r.t.samples, r.t.reps, double(r.T) * r.B / r.t.median,
            r.flops.total() / r.t.median / 1e9, i + 1 < rows.size() ? "," : "");
      }
      std::fprintf(jf, "  ],\n");
    };
    fwd_json("forward", grid);
    std::fprintf(jf, "  \"forward_skipped\": [");
    for (size_t i = 0; i < skipped.size(); ++i) std::fprintf(jf, "%s\"%s\"", i ? ", " : "", skipped[i].c_str());
    std::fprintf(jf, "],\n  \"global_attention\": [\n");
    for (size_t i = 0; i < attn.size(); ++i) {
      const AttnRow& r = attn[i];
      std::fprintf(jf,
                   "    {\"path\": \"%s\", \"heads\": %d, \"T\": %d, \"k\": %lld, \"k_kind\": \"%s\", \"gflop\": %.3f, "
                   "\"select_comparisons\": %.0f, \"select_ms\": %.3f, \"core_ms\": %.3f, \"channel_ms\": %.3f}%s\n",
                   r.path.c_str(), r.hg, r.T, (long long)r.k, r.k_kind.c_str(), r.flops / 1e9, r.select_ops,
                   r.select_ms, r.core_ms, r.channel_ms, i + 1 < attn.size() ? "," : "");
    }
    std::fprintf(jf, "  ],\n");
    fwd_json("topk_forward", topk);
    std::fprintf(jf, "  \"breakdown\": [\n");
    for (size_t i = 0; i < breakdowns.size(); ++i) {
      const Breakdown& bd = breakdowns[i];
      std::fprintf(jf, "    {\"path\": \"%s\", \"T\": %d, \"batch\": %d, \"forward_ms\": %.3f, \"ops\": [",
                   bd.path.c_str(), bd.T, bd.B, bd.forward_s * 1e3);
      for (size_t j = 0; j < bd.ops.size(); ++j)
        std::fprintf(jf, "%s{\"op\": \"%s\", \"ms\": %.4f, \"gflop\": %.4f}", j ? ", " : "", bd.ops[j].name.c_str(),
                     bd.ops[j].seconds * 1e3, bd.ops[j].flops / 1e9);
      std::fprintf(jf, "]}%s\n", i + 1 < breakdowns.size() ? "," : "");
    }
    std::fprintf(jf, "  ],\n");
    std::fprintf(jf, "  \"memory\": [\n");
    for (size_t i = 0; i < mem.size(); ++i) {
      const MemRow& r = mem[i];
      std::fprintf(
          jf,
          "    {\"path\": \"%s\", \"T\": %d, \"batch\": %d, \"k\": %lld, \"k_kind\": \"%s\", \"rss_before_kb\": %ld, "
          "\"vm_hwm_kb\": %ld, \"ru_maxrss_kb\": %ld, \"seconds\": %.3f}%s\n",
          r.path.c_str(), r.T, r.B, (long long)r.k, r.k_kind.c_str(), r.rss_before_kb, r.hwm_kb, r.maxrss_kb, r.seconds,
          i + 1 < mem.size() ? "," : "");
    }
    std::fprintf(jf, "  ]\n}\n");
  };
  if (!o.json_out.empty()) {
    FILE* jf = std::fopen(o.json_out.c_str(), "w");
    if (!jf) {
      std::perror(o.json_out.c_str());
      return 1;
    }
    write_json(jf);
    std::fclose(jf);
  }
  if (o.json) {
    write_json(stdout);
    return 0;
  }

  std::printf(
      "Model: %s, V=%d D=%d L=%d H=%d dh=%d F=%d, %lld parameters, max_len %d, window %d. ISA %s, %d threads.\n",
      o.model.empty() ? "random FP32" : o.model.c_str(), c.vocab_size, c.d_model, c.n_layers, c.n_heads, c.head_dim,
      c.ffn_dim, (long long)b.file->parameter_count(), c.max_len, c.window, ds::kernels::isa(), o.threads);
  std::printf("FMA peak, %d threads, same run: best %.1f GFLOP/s (median %.1f); %% peak uses the best.\n", o.threads,
              peak.first, peak.second);
  std::printf("Paths:");
  for (const std::string& name : o.paths) {
    const PathSpec& p = path_of(name);
    std::printf(" %s (ffn %d units, %d+%d heads, top_k %s);", name.c_str(), ds::model::path_ffn_units(p, c),
                p.attn_heads, ds::model::path_local_heads(p, c), b.path_top_k(p).text().c_str());
  }
  std::printf(
      "\nMedian of up to %d samples (3 when a call takes >= %.1f s, the warm-up call being one of them from "
      "%.1f s on); GFLOP = analytic forward FLOPs.\n\n",
      o.samples, o.long_s, 4 * o.long_s);

  if (!grid.empty()) {
    std::printf(
        "### Forward pass\n\n| path | T | batch | k | GFLOP/call | median ms | tokens/s | GFLOP/s | %% peak |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const ForwardRow& r : grid)
      std::printf("| %s | %d | %d | %s | %.2f | %.1f | %.0f | %.1f | %.0f%% |\n", r.path.c_str(), r.T, r.B,
                  r.k >= r.T ? "dense" : std::to_string(r.k).c_str(), r.flops.total() / 1e9, r.t.median * 1e3,
                  double(r.T) * r.B / r.t.median, r.flops.total() / r.t.median / 1e9,
                  peak.first > 0 ? 100 * r.flops.total() / r.t.median / 1e9 / peak.first : 0.0);
    if (!skipped.empty()) {
      std::printf("\nSkipped (about 20 s per call; --full runs them):");
      for (const std::string& s : skipped) std::printf(" %s;", s.c_str());
      std::printf("\n");
    }
    std::printf("\n");
  }

  if (!attn.empty()) {
    std::printf(
        "### Global attention channel alone, one layer, batch 1\n\n"
        "core = importance + key selection + attention over the selected keys (all global heads); "
        "channel = model::global_channel (core + Q/K/V/O projections and RoPE).\n\n"
        "| path (heads) | T | k | attn GFLOP | FLOPs vs dense | selection ms | core ms | core GFLOP/s | "
        "core speed-up | channel ms | channel speed-up |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const AttnRow& r : attn) {
      const AttnRow* d = dense_attn(r);
      std::printf(
          "| %s (%d) | %d | %s | %.2f | %s | %.2f | %.1f | %.1f | %s | %.1f | %s |\n", r.path.c_str(), r.hg, r.T,
          r.k >= r.T ? "dense" : std::to_string(r.k).c_str(), r.flops / 1e9,
          d && d != &r ? (std::to_string(int(std::lround(100 * (1 - r.flops / d->flops)))) + "% fewer").c_str() : "-",
          r.select_ms, r.core_ms, r.flops / r.core_ms / 1e6,
          d ? (std::to_string(d->core_ms / r.core_ms).substr(0, 4) + "x").c_str() : "-", r.channel_ms,
          d ? (std::to_string(d->channel_ms / r.channel_ms).substr(0, 4) + "x").c_str() : "-");
    }
    std::printf("\n");
  }

  if (!topk.empty()) {
    std::printf(
        "### Whole forward, top-k against dense (batch 1)\n\n"
        "| path | T | k | forward GFLOP | global-attn share | FLOPs vs dense | median ms | tokens/s | speed-up |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const ForwardRow& r : topk) {
      const ForwardRow* d = dense_row(topk, r);
      std::printf(
          "| %s | %d | %s | %.1f | %.0f%% | %s | %.0f | %.0f | %s |\n", r.path.c_str(), r.T,
          r.k >= r.T ? "dense" : std::to_string(r.k).c_str(), r.flops.total() / 1e9,
          100 * r.flops.global_attn / r.flops.total(),
          d && d != &r
              ? (std::to_string(int(std::lround(100 * (1 - r.flops.total() / d->flops.total())))) + "% fewer").c_str()
              : "-",
          r.t.median * 1e3, double(r.T) / r.t.median,
          d ? (std::to_string(d->t.median / r.t.median).substr(0, 4) + "x").c_str() : "-");
    }
    std::printf("\n");
  }

  for (const Breakdown& bd : breakdowns) {
    double sum = 0;
    for (const OpTime& op : bd.ops) sum += op.seconds;
    std::printf(
        "### Where the time goes: %s, T=%d, batch %d (ops re-run one by one with the model's weights and kernels)\n\n"
        "| op (all layers) | ms per forward | share of op sum | GFLOP/s |\n|---|---:|---:|---:|\n",
        bd.path.c_str(), bd.T, bd.B);
    for (const OpTime& op : bd.ops) {
      char rate[32] = "-";
      if (op.flops > 0) std::snprintf(rate, sizeof rate, "%.0f", op.flops / op.seconds / 1e9);
      std::printf("| %s | %.3f | %.1f%% | %s |\n", op.name.c_str(), op.seconds * 1e3, 100 * op.seconds / sum, rate);
    }
    std::printf("| **sum of ops** | **%.2f** | | |\n| measured forward (Encoder::encode, same run) | %.2f | | |\n\n",
                sum * 1e3, bd.forward_s * 1e3);
  }

  if (!mem.empty()) {
    std::printf(
        "### Peak memory (fresh process per row, --only)\n\n"
        "| path | T | batch | k | RSS after load, before forward (MB) | peak RSS VmHWM (MB) | forward adds (MB) | "
        "one T x T FP32 matrix would be (MB) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const MemRow& r : mem)
      std::printf("| %s | %d | %d | %s | %.0f | %.0f | %.0f | %.0f |\n", r.path.c_str(), r.T, r.B,
                  r.k >= r.T ? "dense" : std::to_string(r.k).c_str(), r.rss_before_kb / 1024.0, r.hwm_kb / 1024.0,
                  (r.hwm_kb - r.rss_before_kb) / 1024.0, double(r.T) * r.T * 4 / (1 << 20));
    std::printf("\n");
  }
  return 0;
}
