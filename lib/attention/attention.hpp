// What an attention call reads and writes, explicitly: the query rows and where their outputs go, a view of one
// layer of the KV cache (its first n entries per KV head), and the scratch the call may use. The attention code of
// lib/attention/ sees nothing else of the forward pass; what a decode step did (bytes read, blocks kept, whether it
// left blocks out) comes back as a DecodeStep for the forward pass to count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <memory>
#include <vector>

#include "kv_cache.hpp"

namespace resa {

// Query rows in, output rows out: row i's query heads at q + i * stride, its outputs at out + i * stride
// ([n_heads][head_dim] each; the g query heads of KV head h are heads h*g .. h*g+g-1).
struct AttentionRows {
  const float* q;
  float* out;
  int stride;
};

// One layer of the cache: entries [0, n) of every KV head.
struct LayerCache {
  const KvCache* kv;
  int layer;
  int n;
  const void* keys(int head) const { return kv->keys(layer, head); }
  const void* values(int head) const { return kv->values(layer, head); }
  const void* summaries(int head) const { return kv->summaries(layer, head); }
  int blocks() const { return (n + kv->block_size - 1) / kv->block_size; }
};

// Decode attention's scratch, sized once for the cache (make_decode_scratch): the block lists and the
// flash-decoding splits (dense and sparse), the sparse selection's work.
struct DecodeScratch {
  std::vector<int> all_blocks;            // [n_blocks] 0, 1, 2, ...: the dense step's block list
  int split_blocks = 0;                   // blocks per flash-decoding split at least
  int max_splits = 0;                     // splits per KV head at most
  std::vector<float> part_acc;            // [n_kv_heads][max_splits][g][head_dim] unnormalised split outputs
  std::vector<float> part_m, part_l;      // [n_kv_heads][max_splits][g] their maxima and sums
  std::vector<float> qbar;                // [n_kv_heads][head_dim] the group's mean query, scaled (sparse)
  std::vector<float> scores;              // [n_kv_heads][n_blocks] block scores (sparse)
  std::vector<int> selected, select_work; // [n_kv_heads][n_blocks] the blocks a sparse step attends, top-n scratch
  // [n_kv_heads] how far the threads are with each head's splits (flash_decode), one cache line each.
  struct alignas(64) HeadProgress {
    std::atomic<int> next{0};         // the next split to claim
    std::atomic<int> done{0};         // splits finished (the thread finishing the last one merges them)
    std::atomic<bool> ready{false};   // its prologue (the sparse selection) has run
  };
  std::unique_ptr<HeadProgress[]> progress;
};

// Causal attention's scratch: per thread, a work item's output rows (see dense.cpp).
struct CausalScratch {
  std::vector<float> rows_out;
  size_t per_thread = 0;
};

// What a decode step's attention did in one layer.
struct DecodeStep {
  double kv_bytes = 0;       // keys, values and block summaries read
  bool sparse = false;       // a block-sparse step (counted in AttentionCounters)
  bool left_out = false;     // some blocks were not attended: the token's K/V in later layers depend on the choice
  int blocks_selected = 0;   // per KV head (sparse)
  double bytes_dense = 0;    // K/V bytes a dense step would have read (sparse)
  double select_s = 0;       // seconds in block selection (sparse, when timed)
};

}  // namespace resa
