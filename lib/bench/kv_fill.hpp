// Filling a KV cache to a depth without running the model over it (`resa bench --fill synthetic`): keys and values
// drawn per layer, KV head and channel with the mean and spread of the model's own, the block summaries computed
// from the stored keys as a real store computes them.
#pragma once

#include <cstdint>
#include <vector>

#include "kv_cache.hpp"

namespace resa {

// Per layer and channel of [n_kv_heads * head_dim]: the mean and standard deviation of the keys and the values.
struct KvStatistics {
  std::vector<float> k_mean, k_sd, v_mean, v_sd;  // [n_layers][kv_dim]
};

// Over the positions [0, n) the cache holds (n >= 2).
KvStatistics kv_statistics(const KvCache& kv, int n);

// Entries [from, to) of every layer and KV head: mean + sd * z with z close to a standard normal (a sum of four
// uniforms), from seed (the same seed, the same cache whatever the threads), stored through KvCache::store as
// positions first_pos.. (first_pos < 0: from.., the uncompressed cache).
void fill_kv_synthetic(KvCache& kv, const KvStatistics& stats, int from, int to, uint64_t seed, int first_pos = -1);

}  // namespace resa
