#include "cli/quantize_command.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/hash.h"
#include "io/extract.h"
#include "io/reader.h"
#include "kernels/cpu/thread_pool.h"
#include "model/encode_stage.h"
#include "model/encoder.h"
#include "model/model_error.h"
#include "model/quantize.h"
#include "text/decode.h"
#include "text/normalize.h"
#include "text/segment.h"
#include "tokenize/tokenizer.h"

namespace ds {

const char* const kQuantizeHelpLine =
    "  quantize --model M --calibration PATH --out FILE [--kl-budget X | --target-size S]\n"
    "                            DMPQ: per-matrix INT8/INT4 chosen by KL on calibration texts\n";

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using model::Precision;
using Clock = std::chrono::steady_clock;

constexpr int kOk = 0, kTargetMissed = 1, kUsage = 2, kRuntime = 3;
constexpr double kDefaultKlBudget = 0.02;

constexpr const char* kHelp = R"(usage: deepseek quantize --model FILE --calibration PATH --out FILE [options]

Dynamic mixed-precision quantization (DMPQ). The article's rules come first: attention Q and K
projections (global and local) and the embedding stay FP16; norms, biases, the importance scorer,
the gate and the heads stay FP32. Every other weight matrix starts at FP16 and may go to INT8 (per
output channel) or INT4 (groups of --group-size along the input). For each such matrix and
precision, the model is run on the calibration texts with only that matrix quantized (all others
FP32, decoded from the file) and the KL divergence of its head outputs from the FP32 model's is
measured (softmax heads: KL of the class distribution; segment labels: Bernoulli KL per label;
embeddings: KL of the in-batch similarity softmax, tau 0.05; summed over heads, mean over texts).
Then, greedily, the change with the least KL per byte saved is taken while the summed KL stays
within --kl-budget (or until the file reaches --target-size). The sum of per-matrix KLs is an
approximation; the chosen configuration is run once more and its measured KL reported beside it.

The output has the input's metadata, the new `precision` map and `quant`, and a `quantization` key
(JSON: the table, budget, calibration set, date). Every pipeline accepts it (model.encode reads
the precision map); `deepseek model info FILE` shows the map. A router trained for the input file
is tied to its sha256: train one for the quantized file.

options:
  --model FILE         model file to quantize (FP16 or FP32 masters)
  --calibration PATH   JSONL (one object per line: "text", or "ids" as token ids) or a folder of
                       documents (decoded, NFKC-normalized and tokenized like a pipeline)
  --out FILE           quantized model file to write
  --kl-budget X        summed KL budget in nats (default 0.02)
  --target-size S      instead: reach this file size (bytes, or with KB/MB/GB/KiB/MiB/GiB)
  --uniform P          instead: no search, every matrix the rules allow at P (fp32, fp16, int8, int4;
                       fp32/fp16 apply to all matrices); --calibration is then optional and only
                       measures the result's KL
  --group-size G       INT4 group size (default 64; must divide the matrices' input sizes)
  --split NAME         JSONL: only lines whose "split" is NAME (e.g. train; keep dev for accuracy)
  --text-field NAME    JSONL text member (default text)
  --include GLOB       folder: file name globs (repeatable)
  --max-texts N        calibration texts used, evenly spaced over the input (default 128)
  --max-tokens N       tokens kept per text (default 512)
  --path NAME          computation path to calibrate on (default: the model's default path)
  --heads A,B          heads whose KL counts (default: all but mlm)
  --quantize-embedding also let the token embedding go to INT8/INT4 (off by default: the article's
                       rules keep it FP16; it is half of a small model's bytes). The lexical tables
                       of segment_labels heads always keep their stored precision.
  --tokenizer FILE     SentencePiece model (default: tokenizer.model next to the model)
  --threads N          encoder threads (default 0: all cores)
  --table FILE         also save the table: .md as Markdown, anything else as TSV
  --json               print the report as JSON instead of the table
  --keep-temp DIR      keep the per-candidate model files in DIR (debugging)

exit codes: 0 written; 1 the size target cannot be reached under the rules (the smallest file
is written and its size reported); 2 usage error or bad input; 3 runtime failure.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string model, calibration, out, split, text_field = "text", path, tokenizer, table, keep_temp;
  std::vector<std::string> include, heads;
  std::optional<double> kl_budget;
  std::optional<int64_t> target_size;
  std::optional<Precision> uniform;
  int group = 64;
  int max_texts = 128;
  int max_tokens = 512;
  int threads = 0;
  bool json = false, help = false, quantize_embedding = false;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

int64_t parse_size(const std::string& text) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw UsageError("--target-size: '" + text + "' is not a size (e.g. 2500000, 2.5MB, 2MiB)");
  }
  std::string unit = text.substr(pos);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double mul = 0;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "KB") mul = 1e3;
  else if (unit == "MB") mul = 1e6;
  else if (unit == "GB") mul = 1e9;
  else if (unit == "KIB") mul = 1024.0;
  else if (unit == "MIB") mul = 1024.0 * 1024;
  else if (unit == "GIB") mul = 1024.0 * 1024 * 1024;
  if (mul == 0 || !(v > 0)) throw UsageError("--target-size: '" + text + "' is not a positive size (units: B, KB, MB, GB, KiB, MiB, GiB)");
  return static_cast<int64_t>(v * mul);
}

int parse_int(const std::string& flag, const std::string& text, int min) {
  try {
    size_t pos = 0;
    const int v = std::stoi(text, &pos);
    if (pos == text.size() && v >= min) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(flag + ": '" + text + "' is not an integer >= " + std::to_string(min));
}

Args parse_args(const std::vector<std::string>& argv) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argv.size()) throw UsageError(s + " needs a value");
      return argv[++i];
    };
    if (s == "-h" || s == "--help") a.help = true;
    else if (s == "--model") a.model = value();
    else if (s == "--calibration") a.calibration = value();
    else if (s == "--out") a.out = value();
    else if (s == "--kl-budget") {
      const std::string v = value();
      try {
        size_t pos = 0;
        a.kl_budget = std::stod(v, &pos);
        if (pos != v.size() || !(*a.kl_budget >= 0)) throw std::invalid_argument(v);
      } catch (const std::exception&) {
        throw UsageError("--kl-budget: '" + v + "' is not a non-negative number (nats)");
      }
    } else if (s == "--target-size") a.target_size = parse_size(value());
    else if (s == "--uniform") {
      const std::string v = value();
      a.uniform = model::parse_precision(v);
      if (!a.uniform) throw UsageError("--uniform: '" + v + "' is not a precision (fp32, fp16, int8, int4)");
    }
    else if (s == "--group-size") a.group = parse_int(s, value(), 2);
    else if (s == "--split") a.split = value();
    else if (s == "--text-field") a.text_field = value();
    else if (s == "--include") a.include.push_back(value());
    else if (s == "--max-texts") a.max_texts = parse_int(s, value(), 1);
    else if (s == "--max-tokens") a.max_tokens = parse_int(s, value(), 1);
    else if (s == "--path") a.path = value();
    else if (s == "--heads") a.heads = split_commas(value());
    else if (s == "--tokenizer") a.tokenizer = value();
    else if (s == "--threads") a.threads = parse_int(s, value(), 0);
    else if (s == "--table") a.table = value();
    else if (s == "--json") a.json = true;
    else if (s == "--quantize-embedding") a.quantize_embedding = true;
    else if (s == "--keep-temp") a.keep_temp = value();
    else throw UsageError("unknown option '" + s + "' (deepseek quantize --help)");
  }
  return a;
}

// One calibration text, ready for the encoder.
struct Input {
  std::vector<int32_t> ids;
  std::vector<model::TokenRange> segments;
};

struct Calibration {
  std::vector<Input> inputs;
  size_t available = 0;  // inputs before --max-texts
  int64_t tokens = 0;
};

// The front end of a pipeline with default options (NFKC, segments when a head needs them,
// SentencePiece); the tokenizer is loaded on first use, so id-only JSONL needs none.
class FrontEnd {
 public:
  FrontEnd(std::string tokenizer_path, std::string model_tokenizer, bool segments)
      : path_(std::move(tokenizer_path)), model_tokenizer_(std::move(model_tokenizer)), segments_(segments) {}
  Input make(std::string_view text) {
    load();
    Input in;
    const std::string normalized = normalize_nfkc(text).normalized;
    std::vector<Token> tokens;
    tokenizer_->encode(normalized, 0, tokens);
    for (const Token& t : tokens) in.ids.push_back(t.id);
    if (segmenter_) in.segments = segment_token_ranges(segmenter_->segment(normalized), tokens);
    return in;
  }

 private:
  void load() {
    if (tokenizer_) return;
    if (!fs::exists(path_)) throw UsageError("the tokenizer " + path_ + " does not exist: pass --tokenizer FILE");
    const std::string hash = sha256_file_tagged(path_);
    if (hash != model_tokenizer_)
      throw UsageError("the model was trained with tokenizer " + model_tokenizer_ + ", but " + path_ + " is " + hash +
                       ": pass the right --tokenizer");
    tokenizer_ = std::make_unique<Tokenizer>(path_);
    if (segments_) segmenter_ = std::make_unique<Segmenter>(SegmentOptions{});
  }
  std::string path_, model_tokenizer_;
  bool segments_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Segmenter> segmenter_;
};

// JSONL lines are parsed first and tokenized only if picked, so --max-texts also bounds the work.
std::vector<ordered_json> read_jsonl(const Args& a) {
  std::ifstream in(a.calibration, std::ios::binary);
  if (!in) throw UsageError("--calibration: cannot read " + a.calibration);
  std::vector<ordered_json> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = a.calibration + ":" + std::to_string(n);
    ordered_json j;
    try {
      j = ordered_json::parse(line);
    } catch (const std::exception& e) {
      throw UsageError(where + ": not a JSON object: " + e.what());
    }
    const bool has_text = j.is_object() && j.contains(a.text_field) && j[a.text_field].is_string();
    const bool has_ids = j.is_object() && j.contains("ids") && j["ids"].is_array();
    if (!has_text && !has_ids)
      throw UsageError(where + ": expected an object with a string member \"" + a.text_field + "\" or an array \"ids\"");
    if (!a.split.empty() && !(j.contains("split") && j["split"] == a.split)) continue;
    j["__where"] = where;
    out.push_back(std::move(j));
  }
  return out;
}

std::string read_text_file(const InputEntry& e) {
  Document d = read_document(e, InputSpec{}.max_file_bytes);
  if (d.failed()) throw UsageError("--calibration: " + d.error);
  const SourceFormat format = source_format(d.source.path);
  if (format != SourceFormat::kText) {
    Extraction x = extract_text(format, d.bytes);
    if (!x.ok()) throw UsageError("--calibration: " + d.source.path + ": " + x.error);
    return std::move(x.text);
  }
  DecodeOptions o;
  o.on_error = "replace";
  return decode_bytes(d.bytes, o).text;
}

// Evenly spaced picks of `want` out of `n`.
std::vector<size_t> spread(size_t n, size_t want) {
  std::vector<size_t> idx;
  if (n <= want) {
    for (size_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (size_t i = 0; i < want; ++i) idx.push_back(i * n / want);
  return idx;
}

Calibration read_calibration(const Args& a, const model::ModelFile& file, const std::string& tokenizer) {
  bool segments = false;
  for (const model::HeadDef& h : file.heads()) segments |= h.type == model::HeadType::kSegmentLabels;
  FrontEnd fe(tokenizer, file.tokenizer(), segments);
  Calibration cal;
  auto finish = [&](Input in) {
    if (static_cast<int>(in.ids.size()) > a.max_tokens) {
      in.ids.resize(static_cast<size_t>(a.max_tokens));
      for (model::TokenRange& r : in.segments) {
        r.end = std::min(r.end, a.max_tokens);
        r.begin = std::min(r.begin, r.end);
      }
    }
    if (in.ids.empty()) return;
    cal.tokens += static_cast<int64_t>(in.ids.size());
    cal.inputs.push_back(std::move(in));
  };
  if (fs::is_directory(a.calibration)) {
    InputSpec spec;
    spec.paths = {a.calibration};
    spec.include = a.include;
    std::vector<InputEntry> entries = list_inputs(spec);
    cal.available = entries.size();
    for (size_t i : spread(entries.size(), size_t(a.max_texts))) {
      if (!entries[i].error.empty()) throw UsageError("--calibration: " + entries[i].error);
      finish(fe.make(read_text_file(entries[i])));
    }
  } else if (fs::is_regular_file(a.calibration)) {
    std::vector<ordered_json> lines = read_jsonl(a);
    cal.available = lines.size();
    const int V = file.config().vocab_size;
    for (size_t i : spread(lines.size(), size_t(a.max_texts))) {
      const ordered_json& j = lines[i];
      if (j.contains(a.text_field) && j[a.text_field].is_string()) {
        finish(fe.make(j[a.text_field].get<std::string>()));
        continue;
      }
      Input in;
      for (const auto& v : j["ids"]) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= V)
          throw UsageError(j["__where"].get<std::string>() + ": \"ids\" must be token ids in [0, " + std::to_string(V) + ")");
        in.ids.push_back(v.get<int32_t>());
      }
      finish(std::move(in));
    }
  } else if (!fs::exists(a.calibration)) {
    throw UsageError("--calibration: " + a.calibration + " does not exist");
  } else {
    throw UsageError("--calibration: " + a.calibration + " is neither a JSONL file nor a folder");
  }
  if (cal.inputs.empty())
    throw UsageError("--calibration: no texts in " + a.calibration + (a.split.empty() ? "" : " with split '" + a.split + "'"));
  return cal;
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string shape_str(int64_t r, int64_t c) { return std::to_string(r) + "x" + std::to_string(c); }

// Per-candidate model files live here; removed at the end unless --keep-temp.
class Scratch {
 public:
  explicit Scratch(const std::string& keep) : keep_(!keep.empty()) {
    if (keep_) {
      dir_ = keep;
    } else {
      dir_ = fs::temp_directory_path() / ("deepseek-quantize-" + std::to_string(::getpid()));
    }
    fs::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    if (!keep_) fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / (name + ".safetensors")).string(); }

 private:
  fs::path dir_;
  bool keep_;
};

// Runs the calibration set through models and measures KL against the reference run.
class Runner {
 public:
  Runner(const Calibration& cal, model::EncodeRequest request, std::vector<std::string> heads, int threads)
      : cal_(cal), request_(std::move(request)), heads_(std::move(heads)) {
    if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (threads > 1) pool_ = std::make_unique<kernels::ThreadPool>(threads);
  }

  std::vector<model::SequenceOutput> run(const std::string& path) const {
    model::Encoder enc(model::ModelFile::open(path));
    constexpr int64_t kMaxTokens = 8192;
    std::vector<model::SequenceOutput> out;
    out.reserve(cal_.inputs.size());
    for (size_t first = 0; first < cal_.inputs.size();) {
      size_t last = first;
      int64_t tokens = 0;
      while (last < cal_.inputs.size() &&
             (last == first || tokens + static_cast<int64_t>(cal_.inputs[last].ids.size()) <= kMaxTokens))
        tokens += static_cast<int64_t>(cal_.inputs[last++].ids.size());
      std::vector<model::SequenceInput> batch;
      for (size_t i = first; i < last; ++i) batch.push_back({cal_.inputs[i].ids, cal_.inputs[i].segments});
      for (model::SequenceOutput& o : enc.encode(batch, request_, pool_.get())) out.push_back(std::move(o));
      first = last;
    }
    return out;
  }

  void set_reference(std::vector<model::SequenceOutput> ref, std::vector<model::HeadDef> defs) {
    ref_ = std::move(ref);
    defs_ = std::move(defs);
  }
  model::HeadKl kl(const std::string& path) const { return model::head_kl(ref_, run(path), defs_, heads_); }

 private:
  const Calibration& cal_;
  model::EncodeRequest request_;
  std::vector<std::string> heads_;
  std::unique_ptr<kernels::ThreadPool> pool_;
  std::vector<model::SequenceOutput> ref_;
  std::vector<model::HeadDef> defs_;
};

// A segment_labels head's lexical-bag table is not searched: it keeps its stored precision.
constexpr const char* kLexicalRule = "lexical table: as stored";

// One weight matrix in the table.
struct Row {
  std::string name;
  int64_t rows = 0, cols = 0;
  std::string rule;  // why it is not a candidate ("" when it is)
  std::map<Precision, double> kl;  // measured, per candidate precision
  Precision chosen = Precision::kFp16;
  int64_t bytes = 0;
};

double chosen_kl(const Row& r) {
  auto it = r.kl.find(r.chosen);
  return it == r.kl.end() ? 0.0 : it->second;
}

std::string fmt_kl(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", v);
  return buf;
}

std::string kl_cell(const Row& r, Precision p) {
  auto it = r.kl.find(p);
  return it == r.kl.end() ? "-" : fmt_kl(it->second);
}

std::string table_text(const std::vector<Row>& rows, bool markdown) {
  std::ostringstream o;
  const std::vector<std::string> head = {"matrix", "shape", "kl_fp16", "kl_int8", "kl_int4", "precision", "kl", "bytes", "rule"};
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (markdown) o << (i == 0 ? "| " : " | ") << cells[i];
      else o << (i == 0 ? "" : "\t") << cells[i];
    }
    o << (markdown ? " |\n" : "\n");
  };
  line(head);
  if (markdown) line({"---", "---", "---:", "---:", "---:", "---", "---:", "---:", "---"});
  for (const Row& r : rows)
    line({r.name, shape_str(r.rows, r.cols), kl_cell(r, Precision::kFp16), kl_cell(r, Precision::kInt8),
          kl_cell(r, Precision::kInt4), model::precision_name(r.chosen), r.rule.empty() ? fmt_kl(chosen_kl(r)) : "-",
          std::to_string(r.bytes), r.rule});
  return o.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !(out << text) || !out.flush()) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int quantize(const Args& a) {
  if (a.model.empty()) throw UsageError("quantize needs --model FILE");
  if (a.calibration.empty() && !a.uniform)
    throw UsageError("quantize needs --calibration PATH (a JSONL file or a folder of documents)");
  if (a.out.empty()) throw UsageError("quantize needs --out FILE");
  if (int(a.kl_budget.has_value()) + int(a.target_size.has_value()) + int(a.uniform.has_value()) > 1)
    throw UsageError("give one of --kl-budget, --target-size and --uniform");
  if (a.group % 2 != 0) throw UsageError("--group-size must be even (two INT4 codes per byte)");
  if (fs::exists(a.out) && fs::equivalent(a.out, a.model)) throw UsageError("--out must not be the input model");

  std::shared_ptr<const model::ModelFile> src;
  try {
    src = model::ModelFile::open(a.model);
  } catch (const model::ModelError& e) {
    throw UsageError(std::string("--model: ") + e.what());
  }
  const model::ModelFile& f = *src;

  model::EncodeRequest req;
  req.hidden = false;
  const std::string path_name = a.path.empty() ? f.config().default_path : a.path;
  if (!f.paths().count(path_name)) throw UsageError("--path: the model has no path '" + path_name + "'");
  req.path = f.paths().at(path_name);
  for (const std::string& h : a.heads) {
    bool known = false;
    for (const model::HeadDef& d : f.heads()) known |= d.name == h && d.type != model::HeadType::kMlm;
    if (!known) throw UsageError("--heads: the model has no head '" + h + "'");
  }

  const std::string tok = !a.tokenizer.empty() ? a.tokenizer : (fs::path(a.model).parent_path() / "tokenizer.model").string();
  const auto t0 = Clock::now();
  // Without calibration (only with --uniform) nothing is measured.
  const bool measure = !a.calibration.empty();
  Calibration cal;
  if (measure) {
    cal = read_calibration(a, f, tok);
    std::fprintf(stderr, "deepseek quantize: %zu calibration texts (of %zu), %lld tokens, path %s\n", cal.inputs.size(),
                 cal.available, static_cast<long long>(cal.tokens), path_name.c_str());
  }

  Scratch scratch(a.keep_temp);
  Runner runner(cal, req, a.heads, a.threads);

  // The FP32 reference: every matrix decoded to FP32 (FP16 masters lose nothing).
  std::map<std::string, Precision> all32;
  for (const model::MatrixInfo& m : f.matrices()) all32[m.name] = Precision::kFp32;
  const std::string ref_path = scratch.file("fp32");
  model::requantize(f, all32, a.group).write(ref_path);
  const uint64_t fp32_size = fs::file_size(ref_path);
  auto t = Clock::now();
  if (measure) runner.set_reference(runner.run(ref_path), f.heads());
  const double sweep_s = seconds_since(t);
  if (measure) std::fprintf(stderr, "deepseek quantize: FP32 reference in %.2f s\n", sweep_s);

  // The starting point: the rules, everything else FP16.
  std::vector<Row> rows;
  std::map<std::string, Precision> start;
  for (const model::MatrixInfo& m : f.matrices()) {
    Row r;
    r.name = m.name;
    r.rows = m.rows;
    r.cols = m.cols;
    r.chosen = Precision::kFp16;
    if (m.name == "embed") {
      if (!a.quantize_embedding) r.rule = "embedding: FP16";
    } else if (model::lexical_table_matrix(m.name)) {
      r.rule = kLexicalRule;
      r.chosen = m.precision;  // kept as stored in every mode
    } else if (!model::quantizable_matrix(m.name)) {
      r.rule = "attention Q/K: FP16";
    }
    r.bytes = model::matrix_bytes(r.chosen, r.rows, r.cols, a.group);
    start[m.name] = r.chosen;
    rows.push_back(std::move(r));
  }
  const std::string fp16_path = scratch.file("fp16");
  model::requantize(f, start, a.group).write(fp16_path);
  const uint64_t fp16_size = fs::file_size(fp16_path);
  const model::HeadKl fp16_kl = measure ? runner.kl(fp16_path) : model::HeadKl{};
  if (measure) std::fprintf(stderr, "deepseek quantize: FP16 model: %llu bytes, KL %.3g from FP32\n", static_cast<unsigned long long>(fp16_size),
               fp16_kl.total);

  // One sweep per candidate matrix x precision.
  size_t n_candidates = 0;
  for (const Row& r : rows)
    if (r.rule.empty() && !a.uniform) n_candidates += 2 + (f.matrix(r.name).precision == Precision::kFp32 ? 1 : 0);
  if (n_candidates > 0)
    std::fprintf(stderr, "deepseek quantize: %zu candidates, about %.0f s\n", n_candidates, double(n_candidates) * sweep_s * 1.3);
  size_t done = 0;
  for (Row& r : rows) {
    if (!r.rule.empty() || a.uniform) continue;
    const bool from_fp32 = f.matrix(r.name).precision == Precision::kFp32;
    std::vector<Precision> cands;
    if (from_fp32) cands.push_back(Precision::kFp16);
    else r.kl[Precision::kFp16] = 0;  // the FP16 master is the FP32 reference's values
    cands.push_back(Precision::kInt8);
    if (r.cols % a.group == 0) cands.push_back(Precision::kInt4);
    else ++done;
    for (Precision p : cands) {
      std::map<std::string, Precision> cfg = all32;
      cfg[r.name] = p;
      const std::string cpath = scratch.file(r.name + "." + model::precision_name(p));
      model::requantize(f, cfg, a.group).write(cpath);
      r.kl[p] = runner.kl(cpath).total;
      if (a.keep_temp.empty()) fs::remove(cpath);
      ++done;
      std::fprintf(stderr, "deepseek quantize: [%zu/%zu] %s %s: KL %.3g (%.0f s)\n", done, n_candidates, r.name.c_str(),
                   model::precision_name(p), r.kl[p], seconds_since(t0));
    }
  }

  // Greedy: the move with the least KL increase per byte saved, while it fits.
  int64_t size = static_cast<int64_t>(fp16_size);
  double kl_sum = 0;
  for (Row& r : rows) kl_sum += chosen_kl(r);
  const double budget = a.kl_budget.value_or(kDefaultKlBudget);
  auto order = [](Precision p) { return p == Precision::kFp32 ? 0 : p == Precision::kFp16 ? 1 : p == Precision::kInt8 ? 2 : 3; };
  // The `quantization` metadata (the table as JSON) adds about this much to the file.
  const int64_t metadata_bytes = 1024 + 256 * static_cast<int64_t>(rows.size());
  if (a.uniform) {
    for (Row& r : rows) {
      Precision p = *a.uniform;
      if (r.rule == kLexicalRule) continue;
      if (p == Precision::kFp32 || p == Precision::kFp16) r.rule.clear();  // the rules only keep matrices from going below FP16
      else if (!r.rule.empty()) continue;
      if (p == Precision::kInt4 && r.cols % a.group != 0) p = Precision::kInt8;
      r.chosen = p;
      r.bytes = model::matrix_bytes(p, r.rows, r.cols, a.group);
    }
  }
  while (!a.uniform && !(a.target_size && size + metadata_bytes <= *a.target_size)) {
    Row* best = nullptr;
    Precision best_p = Precision::kFp16;
    double best_ratio = 0, best_dkl = 0;
    int64_t best_saved = 0;
    for (Row& r : rows) {
      if (!r.rule.empty()) continue;
      for (const auto& [p, kl] : r.kl) {
        if (order(p) <= order(r.chosen)) continue;
        const int64_t saved = r.bytes - model::matrix_bytes(p, r.rows, r.cols, a.group);
        if (saved <= 0) continue;
        const double dkl = kl - chosen_kl(r);
        if (!a.target_size && kl_sum + dkl > budget) continue;
        const double ratio = dkl / double(saved);
        if (!best || ratio < best_ratio) {
          best = &r;
          best_p = p;
          best_ratio = ratio;
          best_dkl = dkl;
          best_saved = saved;
        }
      }
    }
    if (!best) break;
    best->chosen = best_p;
    best->bytes -= best_saved;
    size -= best_saved;
    kl_sum += best_dkl;
  }

  // The chosen file, then its KL measured as a whole.
  std::map<std::string, Precision> chosen;
  for (const Row& r : rows) chosen[r.name] = r.chosen;
  ordered_json table = ordered_json::array();
  for (const Row& r : rows) {
    ordered_json kl = ordered_json::object();
    for (const auto& [p, v] : r.kl) kl[model::precision_name(p)] = v;
    table.push_back({{"matrix", r.name}, {"shape", {r.rows, r.cols}}, {"precision", model::precision_name(r.chosen)},
                     {"kl", r.rule.empty() ? ordered_json(chosen_kl(r)) : ordered_json(nullptr)}, {"kl_candidates", kl},
                     {"bytes", r.bytes}, {"rule", r.rule.empty() ? ordered_json(nullptr) : ordered_json(r.rule)}});
  }
  ordered_json heads_used = ordered_json::array();
  for (const model::HeadDef& d : f.heads())
    if (d.type != model::HeadType::kMlm && (a.heads.empty() || std::count(a.heads.begin(), a.heads.end(), d.name)))
      heads_used.push_back(d.name);
  ordered_json report = {
      {"tool", "deepseek quantize"},
      {"date", today()},
      {"source", {{"file", fs::path(a.model).filename().string()}, {"sha256", sha256_file_tagged(a.model)}}},
      {"calibration",
       {{"source", a.calibration}, {"split", a.split.empty() ? ordered_json(nullptr) : ordered_json(a.split)},
        {"texts", cal.inputs.size()}, {"tokens", cal.tokens}, {"max_tokens", a.max_tokens}}},
      {"path", path_name},
      {"heads", heads_used},
      {"quantize_embedding", a.quantize_embedding},
      {"kl", "nats; per head mean over texts (softmax KL, Bernoulli KL per segment label, in-batch similarity softmax "
             "tau 0.05 for embeddings), summed over heads"},
      {"budget", a.uniform        ? ordered_json{{"uniform", model::precision_name(*a.uniform)}}
                 : a.target_size ? ordered_json{{"target_size", *a.target_size}}
                                 : ordered_json{{"kl", budget}}},
      {"int4_group_size", a.group},
      {"kl_sum", kl_sum},
      {"fp16_vs_fp32_kl", fp16_kl.total},
      {"table", table}};
  fs::path tmp_out = fs::path(a.out);
  if (tmp_out.has_parent_path()) fs::create_directories(tmp_out.parent_path());
  model::requantize(f, chosen, a.group, {{"quantization", report.dump()}}).write(a.out);
  const model::HeadKl measured = measure ? runner.kl(a.out) : model::HeadKl{};
  const uint64_t out_size = fs::file_size(a.out);

  std::map<std::string, int> counts;
  for (const Row& r : rows) ++counts[model::precision_name(r.chosen)];
  ordered_json per_head = ordered_json::object();
  for (const auto& [h, v] : measured.per_head) per_head[h] = v;
  report["kl_measured"] = measured.total;
  report["kl_measured_per_head"] = per_head;
  report["out"] = {{"file", a.out}, {"bytes", out_size}};
  report["sizes"] = {{"fp32", fp32_size}, {"fp16", fp16_size}, {"out", out_size}};
  report["counts"] = counts;
  report["seconds"] = seconds_since(t0);

  const std::string md = table_text(rows, true);
  if (!a.table.empty()) write_text(a.table, fs::path(a.table).extension() == ".md" ? md : table_text(rows, false));
  if (a.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << md << "\n";
    std::printf("precisions: ");
    for (const auto& [p, n] : counts) std::printf("%s %d  ", p.c_str(), n);
    std::printf("(int4 group %d)\n", a.group);
    std::printf("size: %llu bytes (FP32 %llu: 1/%.2f; FP16 %llu: 1/%.2f)\n", static_cast<unsigned long long>(out_size),
                static_cast<unsigned long long>(fp32_size), double(fp32_size) / double(out_size),
                static_cast<unsigned long long>(fp16_size), double(fp16_size) / double(out_size));
    if (measure && a.uniform)
      std::printf("KL (nats): measured on the whole file %.4g; FP16 vs FP32 %.3g\n", measured.total, fp16_kl.total);
    else if (measure)
      std::printf("KL (nats): sum of per-matrix KLs %.4g (budget %s), measured on the whole file %.4g; FP16 vs FP32 %.3g\n", kl_sum,
                a.target_size ? "none: --target-size" : fmt_kl(budget).c_str(), measured.total, fp16_kl.total);
    std::printf("wrote %s\n", a.out.c_str());
  }
  std::fflush(stdout);
  std::fprintf(stderr, "deepseek quantize: done in %.1f s\n", seconds_since(t0));
  if (a.target_size && static_cast<int64_t>(out_size) > *a.target_size) {
    std::fprintf(stderr,
                 "deepseek quantize: the target size %lld bytes cannot be reached under the rules: the smallest file is %llu "
                 "bytes (written anyway)\n",
                 static_cast<long long>(*a.target_size), static_cast<unsigned long long>(out_size));
    return kTargetMissed;
  }
  return kOk;
}

}  // namespace

int run_quantize_command(const std::vector<std::string>& args) {
  try {
    const Args a = parse_args(args);
    if (a.help) return std::cout << kHelp, kOk;
    return quantize(a);
  } catch (const UsageError& e) {
    std::cerr << "deepseek quantize: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "deepseek quantize: " << e.what() << "\n";
    return kRuntime;
  }
}

}  // namespace ds
