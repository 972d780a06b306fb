// The KV cache, block-major (SPEC §2.1): for every layer and KV head, the keys (after RoPE) of positions
// 0 .. capacity-1 lie one after another ([capacity][head_dim]), and the values likewise in their own array, so block b
// (positions b*block_size .. +block_size-1) is one sequential read of its keys and one of its values. Keeping keys and
// values apart (rather than a key block followed by its value block) lets a dense prefill hand a head's keys to sgemm
// as one matrix. Beside them, per block and KV head, the element-wise minimum and maximum of the block's keys
// ([n_blocks][2][head_dim]: min row, then max row), in the cache's dtype: computed from the stored (rounded) keys, they
// are exact in bf16 too.
//
// Sized once for the context (rounded up to whole blocks); writing positions allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
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
  int capacity = 0;  // positions: n_blocks * block_size
  DType dtype = DType::F32;        // F32 or BF16
  HugeVector<float> k32, v32, s32;       // when dtype == F32 (s: the block summaries)
  HugeVector<uint16_t> k16, v16, s16;    // when dtype == BF16

  // [capacity][head_dim] keys / values of one layer and KV head, and its [n_blocks][2][head_dim] key summaries.
  const void* keys(int layer, int head) const { return at(k32, k16, head_offset(layer, head)); }
  const void* values(int layer, int head) const { return at(v32, v16, head_offset(layer, head)); }
  const void* summaries(int layer, int head) const {
    return at(s32, s16, static_cast<size_t>(layer * n_kv_heads + head) * n_blocks * 2 * head_dim);
  }

  // Stores n positions' keys and values (f32 rows [n][n_kv_heads * head_dim] each) at pos .. pos+n-1, converting to
  // the cache's dtype, and recomputes the summaries of the blocks they touch from the stored keys at positions up to
  // pos+n-1. Writes go to the end of what the cache holds: positions after pos+n-1 are no longer valid (a
  // rectification rewrites the last tokens; an append writes the next one).
  void store(int layer, int pos, int n, const float* k, const float* v);

  // Positions [0, n) of one layer and head as f32 rows [n][head_dim].
  void load(int layer, int head, int n, float* k_out, float* v_out) const;

  size_t element_size() const { return dtype_size(dtype); }
  size_t bytes() const {
    return (k32.size() + v32.size() + s32.size()) * 4 + (k16.size() + v16.size() + s16.size()) * 2;
  }

 private:
  size_t head_offset(int layer, int head) const {
    return static_cast<size_t>(layer * n_kv_heads + head) * capacity * head_dim;
  }
  static const void* at(const HugeVector<float>& f, const HugeVector<uint16_t>& h, size_t offset) {
    return f.empty() ? static_cast<const void*>(h.data() + offset) : static_cast<const void*>(f.data() + offset);
  }
  void summarise(int layer, int head, int block, int valid);
};

// dtype: DType::F32 or DType::BF16. capacity is rounded up to a multiple of block_size.
KvCache make_kv_cache(const ModelConfig& config, int capacity, DType dtype, int block_size = 16);

// Bytes one position occupies in every layer (keys and values).
inline size_t kv_bytes_per_token(const ModelConfig& c, DType dtype) {
  return static_cast<size_t>(c.n_layers) * 2 * c.kv_dim() * dtype_size(dtype);
}

}  // namespace resa
