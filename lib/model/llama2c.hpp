// Loader for llama2.c checkpoints, read exactly as llama2.c's run.c reads them:
//   header: 7 int32 {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len};
//   a negative vocab_size means the classifier is stored separately (not shared with the embedding);
//   then f32 tensors: embedding, attn norms, wq, wk, wv, wo, ffn norms, w1, w2, w3, final norm,
//   two unused RoPE tables [seq_len, head_dim/2], and the classifier when not shared.
#pragma once

#include <string>

#include "model/config.hpp"
#include "model/mapped_file.hpp"
#include "model/weights.hpp"

namespace resa {

struct Llama2cCheckpoint {
  ModelConfig config;
  MappedFile file;
  Weights weights;
};

// Throws resa::Error on a missing file, an implausible header, or a file shorter than its header implies.
Llama2cCheckpoint load_llama2c_checkpoint(const std::string& path);

}  // namespace resa
