// The Deepseek encoder runtime: a batch of token sequences in, hidden states and named head outputs
// out (model/SPEC.md sections 3-5).
//
// Every sequence is computed exactly as if it ran alone: sequences are packed row after row (no
// padding rows at all), positions restart at 0 per sequence, attention never crosses a sequence,
// and a sequence longer than max_len runs in overlapping windows merged by the rule of section 5.
// No buffer grows with T^2: the global channel attends over top-k selected keys (O(T k)), the
// local channel over a window (O(T w)); dense (k >= T) is the same code with every key selected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/model_file.h"

namespace ds::kernels {
class ThreadPool;
}

namespace ds::model {

struct EncoderWeights;  // model/encoder_weights.h

// Token index range [begin, end) of one segment, for segment_labels heads.
struct TokenRange {
  int32_t begin = 0;
  int32_t end = 0;
};

struct SequenceInput {
  std::span<const int32_t> ids;          // real tokens only; the caller never pads
  std::span<const TokenRange> segments;  // may be empty
};

// A row-major FP32 output.
struct Output {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct SequenceOutput {
  Output hidden;                        // z = final-normed hidden states [T, D] (if requested)
  std::map<std::string, Output> heads;  // by head name: token_tags [T, C], segment_labels [S, C],
                                        // sequence_classes [C], embedding [E]; mlm heads are skipped
};

// What one call runs. Defaults: the model's default path, its top_k and window.
struct EncodeRequest {
  std::optional<PathSpec> path;    // nullopt: config.default_path
  std::optional<TopKSpec> top_k;   // overrides the path's top_k, which overrides config.top_k
  std::optional<int> window;       // local-channel radius (>= 0); nullopt: config.window
  bool hidden = true;              // fill SequenceOutput::hidden
};

class Encoder {
 public:
  // Prepares the weights of a validated file (F16/INT8/INT4 matrices are decoded to FP32 here).
  // Keeps `file` alive. Throws ModelError on a problem that validation cannot see (none today).
  explicit Encoder(std::shared_ptr<const ModelFile> file);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  const ModelFile& file() const { return *file_; }
  const ModelConfig& config() const { return file_->config(); }

  // The named path of the file. Throws ModelError listing the known names.
  const PathSpec& path(const std::string& name) const;

  // Empty if the sequence can run, else why (a token id outside [0, vocab_size), a segment span
  // outside [0, T] or reversed).
  std::string check_input(const SequenceInput& sequence) const;

  // Runs the batch; result i belongs to batch[i]. Thread-safe (the encoder is never modified);
  // `pool` may be null (single thread). Throws ModelError for an invalid request (path does not
  // fit the model, negative window) or input (see check_input).
  std::vector<SequenceOutput> encode(std::span<const SequenceInput> batch, const EncodeRequest& request,
                                     kernels::ThreadPool* pool) const;

 private:
  std::shared_ptr<const ModelFile> file_;
  std::unique_ptr<const EncoderWeights> weights_;
};

// The windows a sequence of T tokens runs in (SPEC.md section 5): start offsets, each window
// max_len tokens long (one window starting at 0 when T <= max_len).
std::vector<int> window_starts(int T, int max_len, int overlap);

}  // namespace ds::model
