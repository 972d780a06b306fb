#include "kv_cache.hpp"

#include <cstring>

#include <fmt/format.h>

#include "resa/resa.hpp"

namespace resa {

KvCache make_kv_cache(const ModelConfig& c, int capacity, DType dtype) {
  if (dtype != DType::F32 && dtype != DType::BF16)
    throw Error(fmt::format("the KV cache holds f32 or bf16, not {}", dtype_name(dtype)));
  KvCache kv;
  kv.n_layers = c.n_layers;
  kv.capacity = capacity;
  kv.kv_dim = c.kv_dim();
  kv.dtype = dtype;
  const size_t n = static_cast<size_t>(c.n_layers) * capacity * c.kv_dim();
  if (dtype == DType::F32) {
    kv.k32.assign(n, 0.0f);
    kv.v32.assign(n, 0.0f);
  } else {
    kv.k16.assign(n, 0);
    kv.v16.assign(n, 0);
  }
  return kv;
}

void KvCache::store(int layer, int pos, int n, const float* k, const float* v) {
  const size_t o = offset(layer, pos), count = static_cast<size_t>(n) * kv_dim;
  if (dtype == DType::F32) {
    std::memcpy(k32.data() + o, k, count * 4);
    std::memcpy(v32.data() + o, v, count * 4);
  } else {
    for (size_t i = 0; i < count; ++i) k16[o + i] = f32_to_bf16(k[i]);
    for (size_t i = 0; i < count; ++i) v16[o + i] = f32_to_bf16(v[i]);
  }
}

void KvCache::load(int layer, int n, float* k_out, float* v_out) const {
  const size_t count = static_cast<size_t>(n) * kv_dim;
  to_f32(k_out, key(layer, 0), dtype, count);
  to_f32(v_out, value(layer, 0), dtype, count);
}

}  // namespace resa
