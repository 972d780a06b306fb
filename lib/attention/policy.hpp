// An attention policy as data: what a decode step attends, how a prompt is cut into chunks, what happens to the
// cache after each chunk or step, how many entries the cache needs, and the rectifier's period. make_policy() picks
// the functions once from AttentionOptions; the forward pass (lib/forward.cpp) calls through them and generation
// (lib/generate.cpp) runs the rectifier's schedule. Decoding (dense, sparse, ReSA: dense.hpp, sparse.hpp,
// rectifier.hpp) and filling the cache (dense, LagKV: lagkv.hpp) are peers and combine freely.
#pragma once

#include "resa/resa.hpp"

namespace resa {

struct ModelConfig;
struct RunState;

struct AttentionPolicy {
  // A decode step's attention in one layer: the query of the token at position pos (state.q) over the first n
  // entries of every KV head (the token's own is the last); outputs into state.xb.
  void (*decode)(const ModelConfig& c, RunState& s, int layer, int n, int pos) = nullptr;
  // Rows the next prefill chunk may take, at least 1 (the forward pass also caps them at its max_rows).
  int (*chunk_rows)(const RunState& s, int remaining) = nullptr;
  // After a chunk or a decode step is stored in every layer.
  void (*after_append)(RunState& s) = nullptr;
  // Entries per KV head the cache needs to hold `tokens` tokens at every point of their processing.
  int (*capacity)(int tokens, const AttentionOptions& o) = nullptr;
  int rectify_every = 0;  // the rectifier's f (ReSA); 0: never
};

// Throws resa::Error naming the first knob that breaks SPEC's rules (check_attention_options).
AttentionPolicy make_policy(const AttentionOptions& o);

}  // namespace resa
