// The encoder body over packed sequences: embedding, L layers, final norm. Internal to model/.
//
// Sequences ("pieces": whole sequences or windows of long ones) are packed row after row into one
// [M, D] activation matrix, so the projections and the FFN run as one GEMM over all real tokens
// and no padding row is ever computed. Attention runs per piece and head, so no piece sees another.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/encoder_weights.h"

namespace ds::kernels {
class ThreadPool;
}

namespace ds::model {

struct Piece {
  const int32_t* ids = nullptr;  // len token ids
  int len = 0;
  int64_t row = 0;  // first row in the packed matrix
};

// The per-call choices the forward pass needs, resolved from the request.
struct ForwardPlan {
  int global_heads = 1;            // hg
  int local_heads = 1;             // hl
  int ffn_units = 1;               // f
  int window = 0;                  // local radius
  std::vector<bool> skip_ffn;      // per layer
  std::vector<int64_t> key_budget; // per piece: top-k k (>= len means dense)
};

// Scratch for one forward pass, sized for M rows. Global-channel buffers are [M, hg*dh], local
// ones [M, hl*dh].
struct Activations {
  std::vector<float> h, u, scores, key_bias;
  std::vector<float> gq, gk, gv, gattn, lq, lk, lv, lattn;
  std::vector<float> out_global, out_local, gate, ffn;
  std::vector<int32_t> positions;  // position of each row within its piece
};

// z[M, D] = final_norm(layers(embed(pieces))). `z` may not alias anything else.
void run_forward(const EncoderWeights& w, const ModelConfig& c, const std::vector<Piece>& pieces, int64_t M,
                 const ForwardPlan& plan, float* z, kernels::ThreadPool* pool);

// One layer's attention sub-block: h += gate-mixed global and local attention of u = norm(h).
// Defined in attention.cc.
void attention_block(const LayerWeights& w, const ModelConfig& c, const EncoderWeights& all,
                     const std::vector<Piece>& pieces, int64_t M, const ForwardPlan& plan, Activations& a,
                     kernels::ThreadPool* pool);

// The global channel of layer `layer` alone (after the O projection, before the gate) for one
// sequence u[T, D] with `heads` heads and key budget `k`: lets tests hold the top-k code against
// plain dense attention. Defined in attention.cc.
std::vector<float> global_channel(const EncoderWeights& w, const ModelConfig& c, int layer, const float* u, int T,
                                  int heads, int64_t k, kernels::ThreadPool* pool);

// In place over M rows of width n: rmsnorm with weight `weight`.
void rmsnorm_rows(const float* x, const float* weight, float* y, int64_t M, int n, float eps, kernels::ThreadPool* pool);

}  // namespace ds::model
