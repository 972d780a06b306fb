// LagKV / Lag-Relative Sparse Attention (SPEC §3): the cache keeps the first lag_sink tokens (S), then the tokens
// chosen from compressed partitions, then an uncompressed tail cut into partitions of lag_size tokens (L). Whenever the
// tail holds two full partitions, the older one is scored against the one after it (lag-relative: the next
// partition's per-channel key and value ranges; no queries, no attention weights) and only its top int(r L) tokens per
// KV head stay, in original order, compacted in place (KvCache::compact). A prefill is cut so that every chunk sees
// the cache compressed up to where it starts: the first chunk S + 2L tokens, then L at a time ("use, then compress").
// Decoding continues the schedule one token at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "resa/resa.hpp"

namespace resa {

struct KvCache;
struct RunState;

// int(r * L), the ratio times the size computed in double and truncated (int(0.29 * 100) = 28).
int lag_keep(const AttentionOptions& o);

// SPEC §3.3's closed form: entries per KV head after T tokens (T below S + L: T).
int64_t lagkv_length(int64_t T, const AttentionOptions& o);

// The most entries a head holds while `tokens` tokens are processed (a chunk or step is held whole before the
// compression it triggers): the cache's size for LagKV.
int lagkv_capacity(int tokens, const AttentionOptions& o);

// Rows the next prefill chunk may take: up to where the tail holds two partitions.
int lagkv_chunk_rows(const KvCache& kv, const AttentionOptions& o, int remaining);

// Scratch for one thread's compression of one layer.
struct LagKvScratch {
  std::vector<float> scores, work;  // [L], [2 head_dim + L]
  std::vector<int> keep, top;       // [n_kv_heads][int(r L)], [L]
};
std::vector<LagKvScratch> make_lagkv_scratch(int threads, int n_kv_heads, int head_dim, const AttentionOptions& o);

// Compresses every partition due (the tail holding two or more) in every layer; returns how many (per layer).
// Every layer must hold the same entries (between forward chunks).
int lagkv_compress(KvCache& kv, const AttentionOptions& o, std::vector<LagKvScratch>& scratch);

// The per-head selection for one partition: keep[h][0, int(r L)) the offsets into the partition of the tokens kept,
// ascending; scores per SPEC §3.2 from the kernel table (s^K + s^V), top-k with ties to the lower index.
void lagkv_select(const KvCache& kv, int layer, int from, const AttentionOptions& o, LagKvScratch& scratch);

// The policy's hooks (lib/attention/policy.hpp).
int lagkv_policy_chunk_rows(const RunState& s, int remaining);
void lagkv_policy_after_append(RunState& s);

}  // namespace resa
