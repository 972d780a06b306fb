// ModelConfig: the shapes and constants of a decoder-only transformer of the Llama family.
#pragma once

#include <string>

namespace resa {

struct ModelConfig {
  std::string architecture;  // "llama2.c", later "LlamaForCausalLM", "Qwen2ForCausalLM"
  int dim = 0;               // hidden size
  int hidden_dim = 0;        // MLP intermediate size
  int n_layers = 0;
  int n_heads = 0;           // query heads
  int n_kv_heads = 0;        // key/value heads (grouped-query attention when < n_heads)
  int head_dim = 0;
  int vocab_size = 0;
  int max_seq_len = 0;       // maximum positions the model was trained for
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  int bos_id = 1;
  int eos_id = 1;            // llama2.c's run.c stops when the model emits BOS

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

}  // namespace resa
