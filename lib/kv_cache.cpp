#include "kv_cache.hpp"

namespace resa {

KvCache make_kv_cache(const ModelConfig& c, int capacity) {
  KvCache kv;
  kv.n_layers = c.n_layers;
  kv.capacity = capacity;
  kv.kv_dim = c.kv_dim();
  const size_t n = static_cast<size_t>(c.n_layers) * capacity * c.kv_dim();
  kv.k.assign(n, 0.0f);
  kv.v.assign(n, 0.0f);
  return kv;
}

}  // namespace resa
