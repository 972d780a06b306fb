// An attention policy as data: what a decode step attends, how far a chunk may fill a layer's cache before the policy
// acts, what it does to the cache after each append, how many entries the cache needs, and the rectifier's period.
// make_policy() picks the functions once from AttentionOptions; the forward pass (lib/forward.cpp) calls through them
// and generation (lib/generate.cpp) runs the rectifier's schedule. Decoding (dense, sparse, ReSA: dense.hpp, sparse.hpp,
// rectifier.hpp) and filling the cache (dense, LagKV: lagkv.hpp) are peers and combine freely.
#pragma once

#include "attention/attention.hpp"
#include "attention/lagkv.hpp"
#include "resa/resa.hpp"

namespace resa {

struct ModelConfig;

struct AttentionPolicy {
  // A decode step's attention in one layer: the query row over the cache view's entries (the token's own the last),
  // outputs into io.out; what it read and whether it left blocks out, returned (lib/attention/attention.hpp).
  DecodeStep (*decode)(const ModelConfig& c, const LayerCache& cache, AttentionRows io, const AttentionOptions& o,
                       DecodeScratch& sc, int threads, bool timed) = nullptr;
  // Rows a chunk may append to a layer's cache (and attend) before the policy must act on it: a chunk goes through a
  // layer's attention in steps of at most this many rows, its weight products whole (dense: no limit).
  int (*room)(const KvCache& kv, int layer, const AttentionOptions& o) = nullptr;
  // After rows were appended to a layer and attended (a chunk's step, a decode step): the policy's action on that
  // layer's cache (LagKV: compress every partition due; dense: nothing).
  void (*after_append)(KvCache& kv, int layer, const AttentionOptions& o, LagKvScratch& scratch) = nullptr;
  // Entries per KV head the cache needs to hold `tokens` tokens at every point of their processing.
  int (*capacity)(int tokens, const AttentionOptions& o) = nullptr;
  int rectify_every = 0;  // the rectifier's f (ReSA); 0: never
};

// Throws resa::Error naming the first knob that breaks SPEC's rules (check_attention_options).
AttentionPolicy make_policy(const AttentionOptions& o);

}  // namespace resa
