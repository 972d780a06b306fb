// The KV cache, block-major (SPEC §2.1): for every layer and KV head, the keys (after RoPE) of its entries
// 0 .. capacity-1 lie one after another ([capacity][head_dim]), and the values likewise in their own array, so block b
// (entries b*block_size .. +block_size-1) is one sequential read of its keys and one of its values. Keeping keys and
// values apart (rather than a key block followed by its value block) lets a causal pass stream a head's keys as one
// matrix. Beside them, per block and KV head, the element-wise minimum and maximum of the block's keys
// ([n_blocks][2][head_dim]: min row, then max row), in the cache's dtype: computed from the stored (rounded) keys, they
// are exact in bf16 too.
//
// Entries carry their positions. Without compression entry i holds position i; LagKV (lib/attention/lagkv.hpp)
// evicts entries per KV head and compacts the rest in place, so each head keeps its own token set, in original order,
// each entry with its true position ([capacity] ints per layer and head), its keys rotated at that position and never
// re-rotated. Every KV head of every layer holds the same number of entries (SPEC §3.4: LagKV keeps the same count per
// head), so the length is one number per layer: a forward chunk stores layer by layer, and between chunks all layers
// agree. Attention reads "the first n entries" of a head, whatever positions they hold.
//
// Sized once (capacity entries, rounded up to whole blocks); storing and compacting allocate nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "huge_pages.hpp"
#include "model/config.hpp"
#include "model/dtype.hpp"

namespace resa {

struct KvCache {
  int n_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int block_size = 0;
  int n_blocks = 0;  // per layer and head
  int capacity = 0;  // entries: n_blocks * block_size
  DType dtype = DType::F32;        // F32 or BF16
  HugeVector<float> k32, v32, s32;       // when dtype == F32 (s: the block summaries)
  HugeVector<uint16_t> k16, v16, s16;    // when dtype == BF16
  std::vector<int32_t> pos;              // [n_layers][n_kv_heads][capacity] the position each entry holds
  std::vector<int> lengths;              // [n_layers] entries held by every KV head of the layer
  // [n_layers] entries [0, frozen[layer]) are final: LagKV's sink and compressed region, never scored or rewritten
  // again (0 without compression). Rewriting entries (the rectifier) is allowed from there on.
  std::vector<int> frozen;

  int length(int layer) const { return lengths[layer]; }
  int frozen_entries(int layer) const { return frozen[layer]; }
  const int32_t* positions(int layer, int head) const { return pos.data() + head_offset(layer, head) / head_dim; }
  // The position after the last entry's: where the next token goes (every head's tail holds the same positions).
  int next_position() const { return lengths[0] > 0 ? positions(0, 0)[lengths[0] - 1] + 1 : 0; }

  // [capacity][head_dim] keys / values of one layer and KV head (the first length(layer) valid), and its
  // [n_blocks][2][head_dim] key summaries.
  const void* keys(int layer, int head) const { return at(k32, k16, head_offset(layer, head)); }
  const void* values(int layer, int head) const { return at(v32, v16, head_offset(layer, head)); }
  const void* summaries(int layer, int head) const {
    return at(s32, s16, static_cast<size_t>(layer * n_kv_heads + head) * n_blocks * 2 * head_dim);
  }
  // The same, writable (a session file's restore, lib/session_file.cpp).
  void* keys(int layer, int head) { return const_cast<void*>(std::as_const(*this).keys(layer, head)); }
  void* values(int layer, int head) { return const_cast<void*>(std::as_const(*this).values(layer, head)); }
  void* summaries(int layer, int head) { return const_cast<void*>(std::as_const(*this).summaries(layer, head)); }
  int32_t* positions(int layer, int head) { return pos.data() + head_offset(layer, head) / head_dim; }

  // Stores n entries' keys and values (f32 rows [n][n_kv_heads * head_dim] each) as entries at .. at+n-1 of every KV
  // head of the layer, holding positions first_pos .. first_pos+n-1 (first_pos < 0: at, the uncompressed cache),
  // converting to the cache's dtype, and recomputes the summaries of the blocks they touch. The layer's length becomes
  // at+n: an append writes at length(layer); a rectification rewrites the last entries (at >= frozen[layer]).
  void store(int layer, int at, int n, const float* k, const float* v, int first_pos = -1);

  // Compaction (LagKV's eviction), one layer: in every KV head h, of the span entries [from, from+span) only the
  // n_keep listed at keep[h * n_keep ..] (offsets into the span, ascending) stay, moved to from, from+1, ...; the
  // entries after the span move down by span - n_keep. Positions move with their entries; summaries are rebuilt from
  // the first block that changed. The layer's length shrinks by span - n_keep.
  void compact(int layer, int from, int span, const int* keep, int n_keep);

  // Empties the cache (every layer's length 0, nothing frozen); the memory stays.
  void clear() {
    std::fill(lengths.begin(), lengths.end(), 0);
    std::fill(frozen.begin(), frozen.end(), 0);
  }

  // Entries [0, n) of one layer and head as f32 rows [n][head_dim].
  void load(int layer, int head, int n, float* k_out, float* v_out) const;

  size_t element_size() const { return dtype_size(dtype); }
  // Bytes held: the arrays as allocated (capacity), and the share the entries held fill (keys and values of
  // length(layer) entries in every layer and head).
  size_t bytes() const {
    return (k32.size() + v32.size() + s32.size()) * 4 + (k16.size() + v16.size() + s16.size()) * 2 +
           pos.size() * sizeof(int32_t);
  }
  size_t bytes_used() const;

 private:
  size_t head_offset(int layer, int head) const {
    return static_cast<size_t>(layer * n_kv_heads + head) * capacity * head_dim;
  }
  static const void* at(const HugeVector<float>& f, const HugeVector<uint16_t>& h, size_t offset) {
    return f.empty() ? static_cast<const void*>(h.data() + offset) : static_cast<const void*>(f.data() + offset);
  }
  void summarise(int layer, int head, int block, int valid);
  void summarise_from(int layer, int head, int first_entry, int end);
};

// The thread of T that owns KV head `head` (of n_heads) in a decode step: flash_decode has it select the head's blocks
// and read its splits first (other threads take the splits it has not reached when they run out of their own).
inline int decode_thread(int head, int n_heads, int T) {
  return static_cast<int>(static_cast<int64_t>(head) * T / n_heads);
}

// dtype: DType::F32 or DType::BF16. capacity (entries per head) is rounded up to a multiple of block_size. Each
// head's memory is first touched by the thread of `threads` that owns it in a decode step (decode_thread; 0: OpenMP's
// default).
KvCache make_kv_cache(const ModelConfig& config, int capacity, DType dtype, int block_size = 16, int threads = 0);

// Bytes one position occupies in every layer (keys and values).
inline size_t kv_bytes_per_token(const ModelConfig& c, DType dtype) {
  return static_cast<size_t>(c.n_layers) * 2 * c.kv_dim() * dtype_size(dtype);
}

}  // namespace resa
