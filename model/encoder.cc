#include "model/encoder.h"

#include <algorithm>
#include <cstring>

#include "model/encoder_weights.h"
#include "model/forward.h"
#include "model/heads.h"
#include "model/model_error.h"

namespace ds::model {

std::vector<int> window_starts(int T, int max_len, int overlap) {
  if (T <= max_len) return {0};
  const int stride = max_len - overlap;
  std::vector<int> starts;
  for (int s = 0;; s += stride) {
    if (s + max_len >= T) {
      starts.push_back(T - max_len);  // the last window ends at the sequence's end
      return starts;
    }
    starts.push_back(s);
  }
}

namespace {

// For each token, the window it takes z from: the one in which it is farthest from an edge
// (min(i - start, end - 1 - i) largest), ties to the earlier window (SPEC.md section 5).
std::vector<int> window_owner(int T, const std::vector<int>& starts, int max_len) {
  std::vector<int> owner(size_t(T), 0), best(size_t(T), -1);
  for (size_t w = 0; w < starts.size(); ++w) {
    const int s = starts[w], e = s + max_len;
    for (int i = s; i < e; ++i) {
      const int d = std::min(i - s, e - 1 - i);
      if (d > best[size_t(i)]) {
        best[size_t(i)] = d;
        owner[size_t(i)] = static_cast<int>(w);
      }
    }
  }
  return owner;
}

}  // namespace

Encoder::Encoder(std::shared_ptr<const ModelFile> file)
    : file_(std::move(file)), weights_(std::make_unique<EncoderWeights>(*file_)) {}

Encoder::~Encoder() = default;

const PathSpec& Encoder::path(const std::string& name) const {
  auto it = file_->paths().find(name);
  if (it != file_->paths().end()) return it->second;
  std::string known;
  for (const auto& [n, _] : file_->paths()) known += (known.empty() ? "" : ", ") + n;
  throw ModelError(file_->path(), "path '" + name + "'", "not defined by the model (it has: " + known + ")");
}

std::string Encoder::check_input(const SequenceInput& s) const {
  const int V = config().vocab_size;
  if (s.ids.size() > static_cast<size_t>(INT32_MAX / 2)) return "sequence of " + std::to_string(s.ids.size()) + " tokens is too long";
  for (size_t i = 0; i < s.ids.size(); ++i)
    if (s.ids[i] < 0 || s.ids[i] >= V)
      return "token " + std::to_string(i) + " has id " + std::to_string(s.ids[i]) + ", outside the vocabulary [0, " +
             std::to_string(V) + ")";
  const int64_t T = static_cast<int64_t>(s.ids.size());
  for (size_t i = 0; i < s.segments.size(); ++i) {
    const TokenRange& r = s.segments[i];
    if (r.begin < 0 || r.end < r.begin || r.end > T)
      return "segment " + std::to_string(i) + " spans tokens [" + std::to_string(r.begin) + ", " + std::to_string(r.end) +
             "), outside [0, " + std::to_string(T) + "]";
  }
  return "";
}

std::vector<SequenceOutput> Encoder::encode(std::span<const SequenceInput> batch, const EncodeRequest& req,
                                            kernels::ThreadPool* pool) const {
  const ModelConfig& c = config();
  const std::string& file = file_->path();
  const PathSpec& path = req.path ? *req.path : this->path(c.default_path);
  if (std::string why = check_path(path, c); !why.empty()) throw ModelError(file, "requested path", why);
  const int window = req.window.value_or(c.window);
  if (window < 0) throw ModelError(file, "requested window", "is " + std::to_string(window) + ", expected >= 0");
  const TopKSpec top_k = req.top_k ? *req.top_k : path.top_k ? *path.top_k : c.top_k;
  for (size_t b = 0; b < batch.size(); ++b)
    if (std::string why = check_input(batch[b]); !why.empty())
      throw ModelError("", "sequence " + std::to_string(b) + " of the batch", why);

  // Pieces: whole sequences, or the windows of sequences longer than max_len.
  ForwardPlan plan;
  plan.global_heads = path.attn_heads;
  plan.local_heads = path_local_heads(path, c);
  plan.ffn_units = path_ffn_units(path, c);
  plan.window = window;
  plan.skip_ffn.assign(size_t(c.n_layers), false);
  for (int l : path.skip_ffn_layers) plan.skip_ffn[size_t(l)] = true;

  std::vector<Piece> pieces;
  std::vector<std::vector<int>> starts(batch.size());
  std::vector<size_t> first_piece(batch.size());
  int64_t M = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    const int T = static_cast<int>(batch[b].ids.size());
    first_piece[b] = pieces.size();
    if (T == 0) continue;
    starts[b] = window_starts(T, c.max_len, c.window_overlap);
    for (int s : starts[b]) {
      const int len = std::min(T, c.max_len);
      pieces.push_back({batch[b].ids.data() + s, len, M});
      plan.key_budget.push_back(top_k.resolve(len));
      M += len;
    }
  }

  const int D = c.d_model;
  std::vector<float> z(size_t(M) * D);
  if (M > 0) run_forward(*weights_, c, pieces, M, plan, z.data(), pool);

  std::vector<SequenceOutput> out(batch.size());
  for (size_t b = 0; b < batch.size(); ++b) {
    const int T = static_cast<int>(batch[b].ids.size());
    Output hidden;
    hidden.shape = {T, D};
    hidden.data.resize(size_t(T) * D);
    if (T > 0 && starts[b].size() == 1) {
      std::memcpy(hidden.data.data(), z.data() + pieces[first_piece[b]].row * D, size_t(T) * D * sizeof(float));
    } else if (T > 0) {
      std::vector<int> owner = window_owner(T, starts[b], c.max_len);
      for (int i = 0; i < T; ++i) {
        const size_t w = size_t(owner[size_t(i)]);
        const Piece& pc = pieces[first_piece[b] + w];
        const int64_t row = pc.row + (i - starts[b][w]);
        std::memcpy(hidden.data.data() + size_t(i) * D, z.data() + row * D, size_t(D) * sizeof(float));
      }
    }
    run_heads(weights_->heads, hidden.data.data(), T, D, batch[b].ids, batch[b].segments, out[b].heads, pool);
    if (req.hidden) out[b].hidden = std::move(hidden);
  }
  return out;
}

}  // namespace ds::model
