// The transformer's tensors by name, for every checkpoint format: a format names its tensors (TensorNames, the layer
// prefix holding "{}" for the layer number) and gives a binder that finds one by name and shape (mat: a matrix of
// rows x cols; vec: a vector held as f32); bind_weights() asks for every tensor the config implies, in one order.
#pragma once

#include <string>

#include <fmt/format.h>

#include "model/config.hpp"
#include "model/weights.hpp"

namespace resa {

struct TensorNames {
  const char* embedding;
  const char* layer;  // the prefix of a layer's tensors, "{}" the layer number
  const char *attn_norm, *wq, *wk, *wv, *bq, *bk, *bv, *wo, *ffn_norm, *w_gate, *w_up, *w_down;
  const char *final_norm, *lm_head;
};

// Hugging Face's safetensors names, and llama.cpp's GGUF names.
inline constexpr TensorNames kHfNames = {
    "model.embed_tokens.weight",      "model.layers.{}.",          "input_layernorm.weight",
    "self_attn.q_proj.weight",        "self_attn.k_proj.weight",   "self_attn.v_proj.weight",
    "self_attn.q_proj.bias",          "self_attn.k_proj.bias",     "self_attn.v_proj.bias",
    "self_attn.o_proj.weight",        "post_attention_layernorm.weight", "mlp.gate_proj.weight",
    "mlp.up_proj.weight",             "mlp.down_proj.weight",      "model.norm.weight",
    "lm_head.weight"};
inline constexpr TensorNames kGgufNames = {
    "token_embd.weight", "blk.{}.",           "attn_norm.weight",   "attn_q.weight",   "attn_k.weight",
    "attn_v.weight",     "attn_q.bias",       "attn_k.bias",        "attn_v.bias",     "attn_output.weight",
    "ffn_norm.weight",   "ffn_gate.weight",   "ffn_up.weight",      "ffn_down.weight", "output_norm.weight",
    "output.weight"};

template <class Binder>
void bind_weights(Binder& b, const ModelConfig& c, const TensorNames& n, Weights& w) {
  w.token_embedding = b.mat(n.embedding, c.vocab_size, c.dim);
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = fmt::format(fmt::runtime(n.layer), l);
    LayerWeights& lw = w.layers[l];
    lw.attn_norm = b.vec(p + n.attn_norm, c.dim);
    lw.wq = b.mat(p + n.wq, c.q_dim(), c.dim);
    lw.wk = b.mat(p + n.wk, c.kv_dim(), c.dim);
    lw.wv = b.mat(p + n.wv, c.kv_dim(), c.dim);
    if (c.qkv_bias) {
      lw.bq = b.vec(p + n.bq, c.q_dim());
      lw.bk = b.vec(p + n.bk, c.kv_dim());
      lw.bv = b.vec(p + n.bv, c.kv_dim());
    }
    lw.wo = b.mat(p + n.wo, c.dim, c.q_dim());
    lw.ffn_norm = b.vec(p + n.ffn_norm, c.dim);
    lw.w_gate = b.mat(p + n.w_gate, c.hidden_dim, c.dim);
    lw.w_up = b.mat(p + n.w_up, c.hidden_dim, c.dim);
    lw.w_down = b.mat(p + n.w_down, c.dim, c.hidden_dim);
  }
  w.final_norm = b.vec(n.final_norm, c.dim);
  w.lm_head = c.tied_embeddings ? w.token_embedding : b.mat(n.lm_head, c.vocab_size, c.dim);
}

}  // namespace resa
