// An independent reference of SPEC §2 and §3 for the tests: the whole model in plain loops, one token at a time, an
// f32 KV cache as [layer][pos][kv_dim] rows, attention in double over an explicit token list. Sparse steps select
// blocks the plain way: every block's min/max from the raw keys, the full score vector, a full sort. The rectifier
// re-runs tokens one at a time with dense attention (the same thing as one causal chunk). LagKV keeps, per layer and
// KV head, the list of positions still held; after every token, when the tail holds two partitions, the older one is
// scored in double (the division of SPEC §3.2 as written, a two-pass standard deviation, an exact softmax) and cut to
// its top tokens by a full sort. One token at a time with compression whenever the tail reaches 2L is what SPEC §3.3's
// chunks compute: a chunk ends exactly there, and within a chunk attention is causal. Shares nothing with the
// engine's attention code or kernels; slow, and meant for small models.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "model/model.hpp"
#include "resa/resa.hpp"

namespace resa::test {

// SPEC §2.2-2.3 written out for one KV head, given the budget n: the blocks kept, in ascending order. Key of token t
// at keys[t * stride]; q_group holds the g query rows [g][hd]. Every block's min/max from the raw keys, the full
// score vector, a full sort with the last `local` and first `sink` blocks first.
inline std::vector<int> reference_blocks(const float* keys, size_t stride, int len, const float* q_group, int g, int hd,
                                         int block_size, int n, int local, int sink) {
  const int M = (len + block_size - 1) / block_size;
  std::vector<int> blocks(M);
  std::iota(blocks.begin(), blocks.end(), 0);
  if (n >= M) return blocks;
  std::vector<float> qbar(hd, 0.0f);
  for (int d = 0; d < hd; ++d) {
    for (int j = 0; j < g; ++j) qbar[d] += q_group[j * hd + d];
    qbar[d] = qbar[d] / static_cast<float>(g) / std::sqrt(static_cast<float>(hd));
  }
  std::vector<double> score(M, 0.0);
  for (int b = 0; b < M; ++b)
    for (int d = 0; d < hd; ++d) {
      float lo = INFINITY, hi = -INFINITY;
      for (int t = b * block_size; t < std::min(len, (b + 1) * block_size); ++t) {
        lo = std::min(lo, keys[t * stride + d]);
        hi = std::max(hi, keys[t * stride + d]);
      }
      score[b] += std::max(qbar[d] * lo, qbar[d] * hi);
    }
  auto forced = [&](int b) { return b >= M - local || b < sink; };
  std::sort(blocks.begin(), blocks.end(), [&](int a, int b) {
    if (forced(a) != forced(b)) return forced(a);
    if (score[a] != score[b]) return score[a] > score[b];
    return a < b;
  });
  blocks.resize(n);
  std::sort(blocks.begin(), blocks.end());
  return blocks;
}

struct Reference {
  const ModelData& m;
  AttentionOptions o;
  std::vector<std::vector<float>> K, V;  // per layer: [capacity][kv_dim]
  std::vector<float> inv_freq;
  std::vector<std::vector<std::vector<int>>> held;  // [layer][kv head]: the positions the cache holds, in order
  int frozen = 0;                                     // LagKV: entries before this are final (sink + compressed)

  Reference(const ModelData& model, const AttentionOptions& opt, int capacity)
      : m(model), o(opt), inv_freq(rope_inv_freq(model.config)) {
    const ModelConfig& c = m.config;
    K.assign(c.n_layers, std::vector<float>(static_cast<size_t>(capacity) * c.kv_dim()));
    V = K;
    held.assign(c.n_layers, std::vector<std::vector<int>>(c.n_kv_heads));
  }

  // SPEC §3.2 for rows X[t * stride] of the partition (n tokens) against its reference partition (n_ref tokens).
  static std::vector<double> lag_scores(const float* X, const float* ref, int n, int n_ref, size_t stride, int hd) {
    std::vector<double> lo(hd, INFINITY), hi(hd, -INFINITY), sigma(n), out(n);
    for (int t = 0; t < n_ref; ++t)
      for (int c = 0; c < hd; ++c) {
        lo[c] = std::min<double>(lo[c], ref[t * stride + c]);
        hi[c] = std::max<double>(hi[c], ref[t * stride + c]);
      }
    for (int i = 0; i < n; ++i) {
      std::vector<double> xn(hd);
      double mean = 0, ss = 0;
      for (int c = 0; c < hd; ++c) mean += xn[c] = (X[i * stride + c] - lo[c]) / (hi[c] - lo[c] + 1e-6);
      mean /= hd;
      for (int c = 0; c < hd; ++c) ss += (xn[c] - mean) * (xn[c] - mean);
      sigma[i] = std::sqrt(ss / (hd - 1));
    }
    const double mx = *std::max_element(sigma.begin(), sigma.end());
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += out[i] = std::exp(sigma[i] - mx);
    for (double& x : out) x /= sum;
    return out;
  }

  // SPEC §3.3: while the tail holds two partitions, the older is cut to its top int(r L) tokens per KV head.
  void compress() {
    if (o.prefill != Prefill::LagKv) return;
    const ModelConfig& c = m.config;
    const int L = o.lag_size, keep = static_cast<int>(o.lag_ratio * L), hd = c.head_dim, kv_dim = c.kv_dim();
    for (int from = std::max(frozen, o.lag_sink); static_cast<int>(held[0][0].size()) - from >= 2 * L;
         from = std::max(frozen, o.lag_sink)) {
      for (int l = 0; l < c.n_layers; ++l)
        for (int h = 0; h < c.n_kv_heads; ++h) {
          std::vector<int>& pos = held[l][h];
          std::vector<float> part_k, part_v;  // the 2L rows, gathered
          for (int i = 0; i < 2 * L; ++i) {
            const size_t at = static_cast<size_t>(pos[from + i]) * kv_dim + h * hd;
            part_k.insert(part_k.end(), K[l].begin() + at, K[l].begin() + at + hd);
            part_v.insert(part_v.end(), V[l].begin() + at, V[l].begin() + at + hd);
          }
          const std::vector<double> sk = lag_scores(part_k.data(), part_k.data() + L * hd, L, L, hd, hd);
          const std::vector<double> sv = lag_scores(part_v.data(), part_v.data() + L * hd, L, L, hd, hd);
          std::vector<int> order(L);
          std::iota(order.begin(), order.end(), 0);
          std::sort(order.begin(), order.end(), [&](int a, int b) {
            const double x = sk[a] + sv[a], y = sk[b] + sv[b];
            return x != y ? x > y : a < b;
          });
          order.resize(keep);
          std::sort(order.begin(), order.end());
          std::vector<int> kept(pos.begin(), pos.begin() + from);
          for (int i : order) kept.push_back(pos[from + i]);
          kept.insert(kept.end(), pos.begin() + from + L, pos.end());
          pos = kept;
        }
      frozen = from + keep;
    }
  }

  // Quantized weights (q8_0, q4_0, in any form) meet x quantized to int8 per block of 32 as simd/quant.hpp says
  // (d = max|x| / 127, q = x * (127 / max|x|) rounded to nearest even), the products summed in double.
  static std::vector<float> matvec(const Mat& W, const std::vector<float>& x) {
    std::vector<float> out(W.rows), row(W.cols);
    if (is_quantized(W.dtype)) {
      std::vector<double> xq(W.cols);
      for (int64_t b = 0; b < W.cols; b += 32) {
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b + i]));
        const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
        for (int i = 0; i < 32; ++i) xq[b + i] = static_cast<double>(d) * std::nearbyint(x[b + i] * id);
      }
      for (int64_t r = 0; r < W.rows; ++r) {
        row_to_f32(row.data(), W, r);
        double acc = 0.0;
        for (int64_t i = 0; i < W.cols; ++i) acc += row[i] * xq[i];
        out[r] = static_cast<float>(acc);
      }
      return out;
    }
    for (int64_t r = 0; r < W.rows; ++r) {
      to_f32(row.data(), W.row(r), W.dtype, W.cols);
      float acc = 0.0f;
      for (int64_t i = 0; i < W.cols; ++i) acc += row[i] * x[i];
      out[r] = acc;
    }
    return out;
  }

  std::vector<float> rmsnorm(const std::vector<float>& x, const float* w) const {
    float ss = 0.0f;
    for (float v : x) ss += v * v;
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(x.size()) + m.config.norm_eps);
    std::vector<float> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = w[i] * (inv * x[i]);
    return out;
  }

  void rope(float* v, int heads, int pos) const {
    const int hd = m.config.head_dim, half = hd / 2;
    for (int h = 0; h < heads; ++h) {
      float* x = v + h * hd;
      for (int p = 0; p < half; ++p) {
        const float a = static_cast<float>(pos) * inv_freq[p], mscale = m.config.rope.attention_factor;
        const float cs = std::cos(a) * mscale, sn = std::sin(a) * mscale;
        const bool inter = m.config.rope.layout == RopeLayout::Interleaved;
        float& x0 = x[inter ? 2 * p : p];
        float& x1 = x[inter ? 2 * p + 1 : p + half];
        const float a0 = x0, a1 = x1;
        x0 = a0 * cs - a1 * sn;
        x1 = a0 * sn + a1 * cs;
      }
    }
  }

  // SPEC §2.2-2.3 for one layer and KV head over the held positions: the positions attended to. Blocks are runs of
  // block_size held entries (SPEC §3.4: over the compacted cache).
  std::vector<int> selected_tokens(int layer, int kvh, const float* q_group, const std::vector<int>& entries) const {
    const ModelConfig& c = m.config;
    const int hd = c.head_dim, bs = o.block_size, len = static_cast<int>(entries.size());
    const int M = (len + bs - 1) / bs;
    const int n = std::min(M, std::max(static_cast<int>(std::ceil(M * o.sparse_ratio - 1e-9)), std::min(M, o.min_blocks)));
    std::vector<float> keys;
    for (int p : entries)
      keys.insert(keys.end(), K[layer].begin() + static_cast<size_t>(p) * c.kv_dim() + kvh * hd,
                  K[layer].begin() + static_cast<size_t>(p) * c.kv_dim() + (kvh + 1) * hd);
    const std::vector<int> blocks = reference_blocks(keys.data(), hd, len, q_group, c.n_heads / c.n_kv_heads, hd, bs,
                                                     n, o.local_blocks, o.sink_blocks);
    std::vector<int> tokens;
    for (int b : blocks)
      for (int t = b * bs; t < std::min(len, (b + 1) * bs); ++t) tokens.push_back(entries[t]);
    return tokens;
  }

  // The token at pos through the model; its K/V written at pos (appended to the held positions unless it is
  // rewritten: rectification). dense: attend to every held position <= pos; otherwise to the selected blocks.
  // Returns the logits.
  std::vector<float> step(int token, int pos, bool dense, bool rewrite = false) {
    const ModelConfig& c = m.config;
    const Weights& w = m.weights;
    const int hd = c.head_dim, g = c.n_heads / c.n_kv_heads, kv_dim = c.kv_dim();
    std::vector<float> x(c.dim);
    row_to_f32(x.data(), w.token_embedding, token);
    for (int l = 0; l < c.n_layers; ++l) {
      const LayerWeights& lw = w.layers[l];
      std::vector<float> xb = rmsnorm(x, lw.attn_norm);
      std::vector<float> q = matvec(lw.wq, xb), k = matvec(lw.wk, xb), v = matvec(lw.wv, xb);
      for (int i = 0; lw.bq && i < c.q_dim(); ++i) q[i] += lw.bq[i];
      for (int i = 0; lw.bk && i < kv_dim; ++i) k[i] += lw.bk[i];
      for (int i = 0; lw.bv && i < kv_dim; ++i) v[i] += lw.bv[i];
      rope(q.data(), c.n_heads, pos);
      rope(k.data(), c.n_kv_heads, pos);
      std::copy(k.begin(), k.end(), K[l].begin() + static_cast<size_t>(pos) * kv_dim);
      std::copy(v.begin(), v.end(), V[l].begin() + static_cast<size_t>(pos) * kv_dim);
      std::vector<float> att(c.q_dim());
      for (int kvh = 0; kvh < c.n_kv_heads; ++kvh) {
        if (!rewrite) held[l][kvh].push_back(pos);
        std::vector<int> tokens;
        for (int p : held[l][kvh])
          if (p <= pos) tokens.push_back(p);
        if (!dense) tokens = selected_tokens(l, kvh, q.data() + kvh * g * hd, tokens);
        for (int h = kvh * g; h < (kvh + 1) * g; ++h) {
          std::vector<double> s(tokens.size());
          double mx = -1e300, sum = 0;
          for (size_t i = 0; i < tokens.size(); ++i) {
            double d = 0;
            for (int e = 0; e < hd; ++e) d += static_cast<double>(q[h * hd + e]) * K[l][static_cast<size_t>(tokens[i]) * kv_dim + kvh * hd + e];
            s[i] = d / std::sqrt(static_cast<double>(hd));
            mx = std::max(mx, s[i]);
          }
          for (double& e : s) sum += (e = std::exp(e - mx));
          for (int e = 0; e < hd; ++e) {
            double acc = 0;
            for (size_t i = 0; i < tokens.size(); ++i) acc += s[i] * V[l][static_cast<size_t>(tokens[i]) * kv_dim + kvh * hd + e];
            att[h * hd + e] = static_cast<float>(acc / sum);
          }
        }
      }
      std::vector<float> o2 = matvec(lw.wo, att);
      for (int i = 0; i < c.dim; ++i) x[i] += o2[i];
      xb = rmsnorm(x, lw.ffn_norm);
      std::vector<float> gate = matvec(lw.w_gate, xb), up = matvec(lw.w_up, xb);
      for (int i = 0; i < c.hidden_dim; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
      std::vector<float> down = matvec(lw.w_down, gate);
      for (int i = 0; i < c.dim; ++i) x[i] += down[i];
    }
    return matvec(w.lm_head, rmsnorm(x, w.final_norm));
  }

  static int argmax(const std::vector<float>& v) {
    return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
  }

  // Greedy generation of n tokens after the prompt under o.attn, rectifying per SPEC §2.5.
  std::vector<int> greedy(const std::vector<int>& prompt, int n) {
    std::vector<int> tokens = prompt;
    std::vector<float> logits;
    for (size_t p = 0; p < prompt.size(); ++p) {
      logits = step(prompt[p], static_cast<int>(p), /*dense=*/true);
      compress();
    }
    const int P = static_cast<int>(prompt.size());
    const int f = o.attn == Attention::Resa ? o.rectify_every : 0;
    std::vector<int> out;
    for (int c = 0; c < n; ++c) {
      const int next = argmax(logits);  // generated token #c
      out.push_back(next);
      tokens.push_back(next);
      if (c + 1 == n) break;
      if (f > 0 && c > 0 && c % f == 0)
        for (int p = P + c - f; p < P + c; ++p) step(tokens[p], p, /*dense=*/true, /*rewrite=*/true);
      logits = step(next, P + c, o.attn == Attention::Dense);
      compress();
    }
    return out;
  }
};

}  // namespace resa::test
