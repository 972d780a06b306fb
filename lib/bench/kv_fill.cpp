#include "bench/kv_fill.hpp"

#include <algorithm>
#include <cmath>

namespace resa {

KvStatistics kv_statistics(const KvCache& kv, int n) {
  const int hd = kv.head_dim, kv_dim = kv.n_kv_heads * hd;
  KvStatistics st;
  for (auto* v : {&st.k_mean, &st.k_sd, &st.v_mean, &st.v_sd}) v->assign(static_cast<size_t>(kv.n_layers) * kv_dim, 0);
  std::vector<float> k(static_cast<size_t>(n) * hd), v(k.size());
  for (int l = 0; l < kv.n_layers; ++l)
    for (int h = 0; h < kv.n_kv_heads; ++h) {
      kv.load(l, h, n, k.data(), v.data());
      for (int d = 0; d < hd; ++d) {
        double sk = 0, sv = 0, qk = 0, qv = 0;
        for (int t = 0; t < n; ++t) {
          const double a = k[static_cast<size_t>(t) * hd + d], b = v[static_cast<size_t>(t) * hd + d];
          sk += a, sv += b, qk += a * a, qv += b * b;
        }
        const size_t at = static_cast<size_t>(l) * kv_dim + h * hd + d;
        st.k_mean[at] = static_cast<float>(sk / n);
        st.v_mean[at] = static_cast<float>(sv / n);
        st.k_sd[at] = static_cast<float>(std::sqrt(std::max(0.0, (qk - sk * sk / n) / (n - 1))));
        st.v_sd[at] = static_cast<float>(std::sqrt(std::max(0.0, (qv - sv * sv / n) / (n - 1))));
      }
    }
  return st;
}

void fill_kv_synthetic(KvCache& kv, const KvStatistics& st, int from, int to, uint64_t seed, int first_pos) {
  if (first_pos < 0) first_pos = from;
  constexpr int kChunk = 256;
  const int kv_dim = kv.n_kv_heads * kv.head_dim;
#pragma omp parallel
  {
    std::vector<float> k(static_cast<size_t>(kChunk) * kv_dim), v(k.size());
#pragma omp for schedule(dynamic)
    for (int l = 0; l < kv.n_layers; ++l) {
      uint64_t state = (seed + 1) * 0x9e3779b97f4a7c15ull ^ (static_cast<uint64_t>(l) + 1) * 0xbf58476d1ce4e5b9ull;
      auto normal = [&] {  // Irwin-Hall: four uniforms, centred and scaled to variance 1
        float sum = 0;
        for (int i = 0; i < 4; ++i) {
          state ^= state << 13;
          state ^= state >> 7;
          state ^= state << 17;
          sum += static_cast<float>(state >> 40) * (1.0f / 16777216.0f);
        }
        return (sum - 2.0f) * 1.7320508f;
      };
      const float* km = st.k_mean.data() + static_cast<size_t>(l) * kv_dim;
      const float* ks = st.k_sd.data() + static_cast<size_t>(l) * kv_dim;
      const float* vm = st.v_mean.data() + static_cast<size_t>(l) * kv_dim;
      const float* vs = st.v_sd.data() + static_cast<size_t>(l) * kv_dim;
      for (int pos = from; pos < to; pos += kChunk) {
        const int n = std::min(kChunk, to - pos);
        for (int t = 0; t < n; ++t)
          for (int d = 0; d < kv_dim; ++d) {
            k[static_cast<size_t>(t) * kv_dim + d] = km[d] + ks[d] * normal();
            v[static_cast<size_t>(t) * kv_dim + d] = vm[d] + vs[d] * normal();
          }
        kv.store(l, pos, n, k.data(), v.data(), first_pos + (pos - from));
      }
    }
  }
}

}  // namespace resa
