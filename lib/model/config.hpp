// ModelConfig: the shapes and constants of a decoder-only transformer of the Llama family, from a Hugging Face
// config.json (both RoPE spellings) or a llama2.c header.
#pragma once

#include <string>
#include <vector>

namespace resa {

// How RoPE pairs the elements of a head: llama2.c rotates adjacent pairs (x[2i], x[2i+1]); Hugging Face's
// rotate_half pairs x[i] with x[i + head_dim/2].
enum class RopeLayout { Interleaved, RotateHalf };

struct RopeConfig {
  RopeLayout layout = RopeLayout::RotateHalf;
  std::string type = "default";  // default | linear | llama3 | yarn
  float theta = 10000.0f;
  float factor = 1.0f;            // linear, llama3, yarn
  float low_freq_factor = 1.0f;   // llama3
  float high_freq_factor = 4.0f;  // llama3
  int original_max_positions = 8192;  // llama3, yarn (the pre-YaRN context)
  float beta_fast = 32.0f, beta_slow = 1.0f;  // yarn: the ramp's bounds in rotations
  bool truncate = true;                       // yarn: the ramp's bounds rounded to whole dimensions
  // cos and sin are multiplied by it (yarn: 0.1 ln(factor) + 1 unless the config gives attention_factor or
  // mscale / mscale_all_dim); 1 for the other types.
  float attention_factor = 1.0f;
  // Per-frequency divisors, [head_dim / 2] (a GGUF file's rope_freqs.weight: how llama.cpp stores Llama 3's
  // scaling); empty otherwise.
  std::vector<float> freq_factors;
};

struct ModelConfig {
  std::string architecture;  // "llama2.c", "LlamaForCausalLM", "Qwen2ForCausalLM"
  int dim = 0;               // hidden size
  int hidden_dim = 0;        // MLP intermediate size
  int n_layers = 0;
  int n_heads = 0;           // query heads
  int n_kv_heads = 0;        // key/value heads (grouped-query attention when < n_heads)
  int head_dim = 0;
  int vocab_size = 0;
  int max_seq_len = 0;       // maximum positions the model was trained for
  float norm_eps = 1e-5f;
  RopeConfig rope;
  bool qkv_bias = false;     // Qwen2: q/k/v projections carry biases
  bool tied_embeddings = false;
  int bos_id = 1;
  std::vector<int> eos_ids = {1};  // generation stops at any of these (llama2.c's run.c stops at BOS)

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  bool is_eos(int token) const {
    for (int e : eos_ids)
      if (e == token) return true;
    return false;
  }
};

// Parses a Hugging Face config.json (text) and, if non-empty, generation_config.json (its eos_token_id wins).
// `where` names the file in errors. Throws resa::Error on unsupported architectures or settings.
ModelConfig parse_hf_config(const std::string& config_json, const std::string& where,
                            const std::string& generation_config_json = "");

// The inverse RoPE frequencies, [head_dim / 2], with the config's scaling applied (SPEC §1; transformers'
// _compute_default_rope_parameters / _compute_linear_scaling... / _compute_llama3_parameters /
// _compute_yarn_parameters). Computed in f32 as transformers and llama2.c's run.c do: 1 / theta^(2i / head_dim).
// YaRN's other half, the attention factor on cos and sin, is config.rope.attention_factor.
std::vector<float> rope_inv_freq(const ModelConfig& config);

}  // namespace resa
