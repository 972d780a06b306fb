// The transformer forward pass, one token at a time (lib/forward.cpp reads top to bottom).
#pragma once

#include <vector>

#include "kv_cache.hpp"
#include "model/model.hpp"

namespace resa {

// Everything one forward step writes: activations and the KV cache. Allocated once per generation.
struct RunState {
  std::vector<float> x;       // [dim] the residual stream
  std::vector<float> xb;      // [max(dim, q_dim)] normalised input / attention output
  std::vector<float> xb2;     // [dim] projection output
  std::vector<float> hb;      // [hidden_dim] gate
  std::vector<float> hb2;     // [hidden_dim] up
  std::vector<float> q;       // [q_dim]
  std::vector<float> att;     // [n_heads, context] attention weights
  std::vector<float> logits;  // [vocab_size]
  KvCache kv;
};

RunState make_run_state(const ModelConfig& config, int context);

// Runs token `token` at position `pos` (0 <= pos < context) through the model, writes its keys and values into the
// cache and returns the logits of the next token (a view into state.logits).
const float* forward_token(const ModelData& model, RunState& state, int token, int pos);

}  // namespace resa
