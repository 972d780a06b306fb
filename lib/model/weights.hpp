// Weights: per-layer views into the mapped checkpoint. Nothing is copied. Matrices are row-major
// [out_features, in_features], as both llama2.c and PyTorch store them.
#pragma once

#include <vector>

namespace resa {

struct LayerWeights {
  const float* attn_norm = nullptr;  // [dim]
  const float* wq = nullptr;         // [q_dim, dim]
  const float* wk = nullptr;         // [kv_dim, dim]
  const float* wv = nullptr;         // [kv_dim, dim]
  const float* wo = nullptr;         // [dim, q_dim]
  const float* ffn_norm = nullptr;   // [dim]
  const float* w_gate = nullptr;     // [hidden_dim, dim]   (llama2.c: w1)
  const float* w_down = nullptr;     // [dim, hidden_dim]   (llama2.c: w2)
  const float* w_up = nullptr;       // [hidden_dim, dim]   (llama2.c: w3)
};

struct Weights {
  const float* token_embedding = nullptr;  // [vocab_size, dim]
  std::vector<LayerWeights> layers;
  const float* final_norm = nullptr;  // [dim]
  const float* lm_head = nullptr;     // [vocab_size, dim]; equals token_embedding when tied
};

}  // namespace resa
