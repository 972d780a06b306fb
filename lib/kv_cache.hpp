// The KV cache: for every layer and position, the keys and values of all KV heads (f32, [layer][pos][kv_dim]).
// Sized once for the context length; writing a position allocates nothing.
#pragma once

#include <cstddef>
#include <vector>

#include "model/config.hpp"

namespace resa {

struct KvCache {
  int n_layers = 0;
  int capacity = 0;  // positions
  int kv_dim = 0;
  std::vector<float> k, v;

  float* key(int layer, int pos) { return k.data() + offset(layer, pos); }
  float* value(int layer, int pos) { return v.data() + offset(layer, pos); }
  const float* key(int layer, int pos) const { return k.data() + offset(layer, pos); }
  const float* value(int layer, int pos) const { return v.data() + offset(layer, pos); }

 private:
  size_t offset(int layer, int pos) const {
    return (static_cast<size_t>(layer) * capacity + static_cast<size_t>(pos)) * kv_dim;
  }
};

KvCache make_kv_cache(const ModelConfig& config, int capacity);

}  // namespace resa
