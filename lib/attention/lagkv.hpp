// LagKV / Lag-Relative Sparse Attention (SPEC §3): the cache keeps the first lag_sink tokens (S), then the tokens
// chosen from compressed partitions, then an uncompressed tail cut into partitions of lag_size tokens (L). Whenever the
// tail holds two full partitions, the older one is scored against the one after it (lag-relative: the next
// partition's per-channel key and value ranges; no queries, no attention weights) and only its top int(r L) tokens per
// KV head stay, in original order, compacted in place (KvCache::compact). A prompt goes in as SPEC §3.3's chunks,
// the first S + 2L tokens, then L at a time, each attending to the cache compressed up to where it starts ("use,
// then compress"): the forward pass runs a chunk of up to its max_rows through the weight products whole and, in each
// layer, stores and attends it in steps of at most lagkv_room() rows, compressing that layer after each step (the
// same cache and outputs; lib/forward.cpp, store_and_attend). Decoding continues the schedule one token at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "resa/resa.hpp"

namespace resa {

struct KvCache;

// int(r * L), the ratio times the size computed in double and truncated (int(0.29 * 100) = 28).
int lag_keep(const AttentionOptions& o);

// SPEC §3.3's closed form: entries per KV head after T tokens (T below S + L: T).
int64_t lagkv_length(int64_t T, const AttentionOptions& o);

// The most entries a head holds while `tokens` tokens are processed (a chunk or step is held whole before the
// compression it triggers): the cache's size for LagKV.
int lagkv_capacity(int tokens, const AttentionOptions& o);

// Rows that may be appended to a layer before a compression is due: up to where its tail holds two partitions.
int lagkv_room(const KvCache& kv, int layer, const AttentionOptions& o);

// Scratch for compressing one layer: one KV head's scores and work, and every head's selection.
struct LagKvScratch {
  std::vector<float> scores, work;  // [L], [2 head_dim + L]
  std::vector<int> keep, top;       // [n_kv_heads][int(r L)], [L]
};
LagKvScratch make_lagkv_scratch(int n_kv_heads, int head_dim, const AttentionOptions& o);

// The per-head selection for one partition of a layer starting at entry `from`: keep[h][0, int(r L)) the offsets
// into the partition of the tokens kept, ascending; scores per SPEC §3.2 from the kernel table (s^K + s^V), top-k with
// ties to the lower index.
void lagkv_select(const KvCache& kv, int layer, int from, const AttentionOptions& o, LagKvScratch& scratch);

// Compresses every partition due in one layer (its tail holding two or more); returns how many. The forward pass
// calls it per layer after each append (the policy's after_append), so a layer's compression waits for nothing but
// that layer's own keys and values.
int lagkv_compress_layer(KvCache& kv, int layer, const AttentionOptions& o, LagKvScratch& scratch);

// The same for every layer (a cache filled by other means: resa bench's synthetic fill); returns partitions per layer.
int lagkv_compress(KvCache& kv, const AttentionOptions& o, LagKvScratch& scratch);

}  // namespace resa
