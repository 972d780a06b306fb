// Hugging Face model directories: config.json (+ generation_config.json) and safetensors weights, single or sharded.
// LlamaForCausalLM and Qwen2ForCausalLM, f32/bf16/f16, used in place from the mappings.
#pragma once

#include <string>

#include "model/config.hpp"
#include "model/safetensors.hpp"
#include "model/weights.hpp"

namespace resa {

struct HfCheckpoint {
  ModelConfig config;
  TensorSet tensors;  // owns the mappings
  Weights weights;
};

// `dir` holds config.json. Every tensor the architecture needs is checked for presence and shape; errors name
// the tensor, the expected and the found shape.
HfCheckpoint load_hf_checkpoint(const std::string& dir);

// True when `path` is a directory holding config.json.
bool is_hf_model_dir(const std::string& path);

}  // namespace resa
