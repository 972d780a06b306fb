// Comparing two KV caches (f32) in the tests: how far a cache built one way is from a dense encoding of the same
// tokens.
#pragma once

#include <algorithm>
#include <cmath>

#include "forward.hpp"
#include "kv_cache.hpp"

namespace resa {

// Largest |cache - dense| / max(1, |dense|) over positions [p0, p1) of layers [1, n_layers) (layer 0's K/V depend on
// the token alone). Keys reach 17-26 in magnitude on the shipped model; float rounding of two summation orders
// (sgemm prefill, the rectify kernel) is relative to that.
inline float kv_gap(const RunState& s, const RunState& dense, int p0, int p1) {
  const KvCache &a = s.kv, &b = dense.kv;
  float worst = 0;
  for (int l = 1; l < a.n_layers; ++l)
    for (int h = 0; h < a.n_kv_heads; ++h) {
      const float* ka = static_cast<const float*>(a.keys(l, h));
      const float* kb = static_cast<const float*>(b.keys(l, h));
      const float* va = static_cast<const float*>(a.values(l, h));
      const float* vb = static_cast<const float*>(b.values(l, h));
      for (size_t i = static_cast<size_t>(p0) * a.head_dim; i < static_cast<size_t>(p1) * a.head_dim; ++i)
        worst = std::max({worst, std::abs(ka[i] - kb[i]) / std::max(1.0f, std::abs(kb[i])),
                          std::abs(va[i] - vb[i]) / std::max(1.0f, std::abs(vb[i]))});
    }
  return worst;
}

}  // namespace resa
