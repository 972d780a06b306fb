// The transformer, top to bottom, for one token at one position:
//
//   x = embedding[token]
//   for each layer:
//     x += Wo · attention(RoPE(Wq · rmsnorm(x)), RoPE(Wk · rmsnorm(x)), Wv · rmsnorm(x))   (grouped-query)
//     x += Wdown · (silu(Wgate · rmsnorm(x)) * (Wup · rmsnorm(x)))                       (SwiGLU)
//   logits = LMhead · rmsnorm(x)
//
// The arithmetic follows llama2.c's run.c operation for operation (same summation order, division by sqrt(head_dim),
// powf/cosf/sinf for RoPE), so greedy decoding of a llama2.c checkpoint reproduces run.c byte for byte.
#include "forward.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "simd/kernels.hpp"

namespace resa {

RunState make_run_state(const ModelConfig& c, int context) {
  RunState s;
  s.x.assign(c.dim, 0.0f);
  s.xb.assign(std::max(c.dim, c.q_dim()), 0.0f);
  s.xb2.assign(c.dim, 0.0f);
  s.hb.assign(c.hidden_dim, 0.0f);
  s.hb2.assign(c.hidden_dim, 0.0f);
  s.q.assign(c.q_dim(), 0.0f);
  s.att.assign(static_cast<size_t>(c.n_heads) * context, 0.0f);
  s.logits.assign(c.vocab_size, 0.0f);
  s.kv = make_kv_cache(c, context);
  return s;
}

namespace {

// out = weight * x / sqrt(mean(x^2) + eps)
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  float ss = 0.0f;
  for (int i = 0; i < n; ++i) ss += x[i] * x[i];
  ss /= static_cast<float>(n);
  ss += eps;
  ss = 1.0f / std::sqrt(ss);
  for (int i = 0; i < n; ++i) out[i] = weight[i] * (ss * x[i]);
}

// In place, numerically stable.
void softmax(float* x, int n) {
  float max_val = x[0];
  for (int i = 1; i < n; ++i) max_val = std::max(max_val, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

// Rotates each (x[j], x[j + 1]) pair of every head by pos * theta^(-j / head_dim) (llama2.c's interleaved layout).
void rope_interleaved(float* vec, int n_heads, int head_dim, int pos, float theta) {
  for (int j = 0; j < head_dim; j += 2) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(j) / static_cast<float>(head_dim));
    const float angle = static_cast<float>(pos) * freq;
    const float cos_a = std::cos(angle), sin_a = std::sin(angle);
    for (int h = 0; h < n_heads; ++h) {
      float* p = vec + h * head_dim + j;
      const float v0 = p[0], v1 = p[1];
      p[0] = v0 * cos_a - v1 * sin_a;
      p[1] = v0 * sin_a + v1 * cos_a;
    }
  }
}

// out = W · x for a weight matrix of any stored dtype.
void matvec(float* out, const Mat& W, const float* x) {
  const simd::Kernels& k = simd::kernels();
  const int rows = static_cast<int>(W.rows), cols = static_cast<int>(W.cols);
  switch (W.dtype) {
    case DType::F32: k.matvec_f32(out, static_cast<const float*>(W.data), x, rows, cols); break;
    case DType::BF16: k.matvec_bf16(out, static_cast<const uint16_t*>(W.data), x, rows, cols); break;
    case DType::F16: k.matvec_f16(out, static_cast<const uint16_t*>(W.data), x, rows, cols); break;
  }
}

// Causal attention of one query position over cache positions [0, pos], each query head reading the keys and values
// of its KV head (grouped-query attention: n_heads / n_kv_heads query heads share one KV head).
void attention(const ModelConfig& c, RunState& s, int layer, int pos) {
  const simd::Kernels& k = simd::kernels();
  const int hd = c.head_dim;
  const int group = c.n_heads / c.n_kv_heads;
  const float scale = std::sqrt(static_cast<float>(hd));
  const int context = s.kv.capacity;
  for (int h = 0; h < c.n_heads; ++h) {
    const float* q = s.q.data() + h * hd;
    const int kv_head = h / group;
    float* att = s.att.data() + static_cast<size_t>(h) * context;
    for (int t = 0; t <= pos; ++t) att[t] = k.dot_f32(q, s.kv.key(layer, t) + kv_head * hd, hd) / scale;
    softmax(att, pos + 1);
    float* out = s.xb.data() + h * hd;
    std::memset(out, 0, sizeof(float) * hd);
    for (int t = 0; t <= pos; ++t) k.axpy_f32(out, att[t], s.kv.value(layer, t) + kv_head * hd, hd);
  }
}

}  // namespace

const float* forward_token(const ModelData& model, RunState& s, int token, int pos) {
  const ModelConfig& c = model.config;
  const Weights& w = model.weights;
  float* x = s.x.data();

  to_f32(x, w.token_embedding.row(token), w.token_embedding.dtype, c.dim);

  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];

    // Attention block: project to q, k, v; rotate q and k; store k, v at `pos`; attend; project back; add.
    rmsnorm(s.xb.data(), x, lw.attn_norm, c.dim, c.norm_eps);
    float* k_pos = s.kv.key(l, pos);
    float* v_pos = s.kv.value(l, pos);
    matvec(s.q.data(), lw.wq, s.xb.data());
    matvec(k_pos, lw.wk, s.xb.data());
    matvec(v_pos, lw.wv, s.xb.data());
    rope_interleaved(s.q.data(), c.n_heads, c.head_dim, pos, c.rope.theta);
    rope_interleaved(k_pos, c.n_kv_heads, c.head_dim, pos, c.rope.theta);
    attention(c, s, l, pos);
    matvec(s.xb2.data(), lw.wo, s.xb.data());
    for (int i = 0; i < c.dim; ++i) x[i] += s.xb2[i];

    // MLP block: SwiGLU.
    rmsnorm(s.xb.data(), x, lw.ffn_norm, c.dim, c.norm_eps);
    matvec(s.hb.data(), lw.w_gate, s.xb.data());
    matvec(s.hb2.data(), lw.w_up, s.xb.data());
    for (int i = 0; i < c.hidden_dim; ++i) {
      float g = s.hb[i];
      g *= 1.0f / (1.0f + std::exp(-g));  // silu
      s.hb[i] = g * s.hb2[i];
    }
    matvec(s.xb2.data(), lw.w_down, s.hb.data());
    for (int i = 0; i < c.dim; ++i) x[i] += s.xb2[i];
  }

  rmsnorm(x, x, w.final_norm, c.dim, c.norm_eps);
  matvec(s.logits.data(), w.lm_head, x);
  return s.logits.data();
}

}  // namespace resa
