#include "attention/lagkv.hpp"

#include <algorithm>

#include "kv_cache.hpp"
#include "simd/kernels.hpp"

namespace resa {

int lag_keep(const AttentionOptions& o) { return static_cast<int>(o.lag_ratio * static_cast<double>(o.lag_size)); }

int64_t lagkv_length(int64_t T, const AttentionOptions& o) {
  const int64_t S = o.lag_sink, L = o.lag_size;
  if (T < S + L) return T;
  const int64_t n = (T - S) / L;
  return S + lag_keep(o) * (n - 1) + L + (T - S) % L;
}

int lagkv_capacity(int tokens, const AttentionOptions& o) {
  // Token t arrives at a cache of lagkv_length(t - 1) entries; it is compressed away, if at all, after.
  int64_t most = 0;
  for (int64_t t = 1; t <= tokens; ++t) most = std::max(most, lagkv_length(t - 1, o) + 1);
  return static_cast<int>(most);
}

namespace {

// Where a layer's uncompressed tail starts: after the sink, and after what compression has kept.
int tail_start(const KvCache& kv, int layer, const AttentionOptions& o) {
  return std::max(kv.frozen_entries(layer), o.lag_sink);
}

}  // namespace

int lagkv_room(const KvCache& kv, int layer, const AttentionOptions& o) {
  return std::max(1, tail_start(kv, layer, o) + 2 * o.lag_size - kv.length(layer));
}

LagKvScratch make_lagkv_scratch(int n_kv_heads, int head_dim, const AttentionOptions& o) {
  LagKvScratch t;
  t.scores.assign(o.lag_size, 0.0f);
  t.work.assign(2 * static_cast<size_t>(head_dim) + o.lag_size, 0.0f);
  t.keep.assign(static_cast<size_t>(n_kv_heads) * std::max(1, lag_keep(o)), 0);
  t.top.assign(o.lag_size, 0);
  return t;
}

void lagkv_select(const KvCache& kv, int layer, int from, const AttentionOptions& o, LagKvScratch& t) {
  const simd::Kernels& k = simd::kernels();
  const int L = o.lag_size, keep = lag_keep(o), hd = kv.head_dim;
  const size_t row = static_cast<size_t>(hd) * kv.element_size();
  for (int h = 0; h < kv.n_kv_heads; ++h) {
    int* out = t.keep.data() + static_cast<size_t>(h) * keep;
    if (keep == 0) continue;
    std::fill(t.scores.begin(), t.scores.end(), 0.0f);
    for (const void* base : {kv.keys(layer, h), kv.values(layer, h)}) {
      const char* part = static_cast<const char*>(base) + static_cast<size_t>(from) * row;
      const char* ref = part + static_cast<size_t>(L) * row;
      if (kv.dtype == DType::F32)
        k.lag_scores_f32(t.scores.data(), reinterpret_cast<const float*>(part), reinterpret_cast<const float*>(ref),
                         L, L, hd, t.work.data());
      else
        k.lag_scores_bf16(t.scores.data(), reinterpret_cast<const uint16_t*>(part),
                          reinterpret_cast<const uint16_t*>(ref), L, L, hd, t.work.data());
    }
    k.top_n(out, t.scores.data(), L, keep, t.top.data());
  }
}

int lagkv_compress_layer(KvCache& kv, int layer, const AttentionOptions& o, LagKvScratch& t) {
  const int L = o.lag_size, keep = lag_keep(o);
  int partitions = 0;
  for (int from = tail_start(kv, layer, o); kv.length(layer) - from >= 2 * L; from = tail_start(kv, layer, o)) {
    lagkv_select(kv, layer, from, o, t);
    kv.compact(layer, from, L, t.keep.data(), keep);
    kv.frozen[layer] = from + keep;
    ++partitions;
  }
  return partitions;
}

int lagkv_compress(KvCache& kv, const AttentionOptions& o, LagKvScratch& t) {
  int partitions = 0;
  for (int l = 0; l < kv.n_layers; ++l) partitions = lagkv_compress_layer(kv, l, o, t);
  return partitions;
}

}  // namespace resa
