// The KV cache: for every layer and position, the keys (after RoPE) and values of all KV heads, stored as f32 or
// bf16 ([layer][pos][kv_dim]). Sized once for the context length; writing a position allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/config.hpp"
#include "model/dtype.hpp"

namespace resa {

struct KvCache {
  int n_layers = 0;
  int capacity = 0;  // positions
  int kv_dim = 0;
  DType dtype = DType::F32;  // F32 or BF16
  std::vector<float> k32, v32;      // when dtype == F32
  std::vector<uint16_t> k16, v16;   // when dtype == BF16

  // The start of position `pos` of layer `layer` (kv_dim elements of dtype).
  const void* key(int layer, int pos) const { return at(k32, k16, layer, pos); }
  const void* value(int layer, int pos) const { return at(v32, v16, layer, pos); }

  // Stores n positions' keys and values (f32, [n, kv_dim] each) at pos..pos+n-1, converting to the cache's dtype.
  void store(int layer, int pos, int n, const float* k, const float* v);

  // Reads positions [0, n) of a layer as f32 rows [n, kv_dim].
  void load(int layer, int n, float* k_out, float* v_out) const;

  size_t bytes() const { return (k32.size() + v32.size()) * 4 + (k16.size() + v16.size()) * 2; }

 private:
  size_t offset(int layer, int pos) const {
    return (static_cast<size_t>(layer) * capacity + static_cast<size_t>(pos)) * kv_dim;
  }
  const void* at(const std::vector<float>& f, const std::vector<uint16_t>& h, int layer, int pos) const {
    return dtype == DType::F32 ? static_cast<const void*>(f.data() + offset(layer, pos))
                               : static_cast<const void*>(h.data() + offset(layer, pos));
  }
};

// dtype: DType::F32 or DType::BF16.
KvCache make_kv_cache(const ModelConfig& config, int capacity, DType dtype);

// Bytes one position occupies in every layer (keys and values).
inline size_t kv_bytes_per_token(const ModelConfig& c, DType dtype) {
  return static_cast<size_t>(c.n_layers) * 2 * c.kv_dim() * dtype_size(dtype);
}

}  // namespace resa
