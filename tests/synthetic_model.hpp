// A model with random f32 weights, built in memory: large enough (512 x 512 projections) that decode splits its
// matrix-vector products over the OpenMP threads, and with as many positions as a test needs.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/model.hpp"
#include "resa/resa.hpp"

namespace resa::test {

struct SyntheticModel {
  std::vector<std::vector<float>> buffers;
  ModelData data;
};

inline std::shared_ptr<SyntheticModel> synthetic_model(int max_seq_len = 64, int n_layers = 1) {
  auto m = std::make_shared<SyntheticModel>();
  ModelConfig& c = m->data.config;
  c.architecture = "LlamaForCausalLM";
  c.dim = 512;
  c.hidden_dim = 1024;
  c.n_layers = n_layers;
  c.n_heads = 8;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.vocab_size = 600;
  c.max_seq_len = max_seq_len;
  uint32_t seed = 1;
  auto buf = [&](size_t n, bool ones = false) {
    std::vector<float>& b = m->buffers.emplace_back(n);
    for (float& x : b) {
      seed = seed * 1664525u + 1013904223u;
      x = ones ? 1.0f : (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
    return b.data();
  };
  auto mat = [&](int64_t rows, int64_t cols) { return Mat{buf(rows * cols), DType::F32, rows, cols}; };
  Weights& w = m->data.weights;
  w.token_embedding = mat(c.vocab_size, c.dim);
  w.lm_head = mat(c.vocab_size, c.dim);
  w.final_norm = buf(c.dim, true);
  for (int l = 0; l < n_layers; ++l) {
    LayerWeights lw;
    lw.attn_norm = buf(c.dim, true);
    lw.ffn_norm = buf(c.dim, true);
    lw.wq = mat(c.q_dim(), c.dim);
    lw.wk = mat(c.kv_dim(), c.dim);
    lw.wv = mat(c.kv_dim(), c.dim);
    lw.wo = mat(c.dim, c.q_dim());
    lw.w_gate = mat(c.hidden_dim, c.dim);
    lw.w_up = mat(c.hidden_dim, c.dim);
    lw.w_down = mat(c.dim, c.hidden_dim);
    w.layers.push_back(lw);
  }
  return m;
}

// The synthetic model as a resa::Model for the public API (sharing ownership of the weights).
inline Model as_model(const std::shared_ptr<SyntheticModel>& m) {
  return Model{std::shared_ptr<const ModelData>(m, &m->data)};
}

}  // namespace resa::test
