// A model from a GGUF file: the Qwen2 ("qwen2") and Llama ("llama") architectures, the hyper-parameters and RoPE
// settings from the metadata, the weights in place in the mapping (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K tensors).
#pragma once

#include <string>

#include "model/config.hpp"
#include "model/gguf.hpp"
#include "model/weights.hpp"

namespace resa {

struct GgufCheckpoint {
  ModelConfig config;
  GgufFile gguf;  // owns the mapping
  Weights weights;
};

// Every tensor the architecture needs is checked for presence, shape and type; errors name the file and the tensor.
GgufCheckpoint load_gguf_checkpoint(const std::string& path);

}  // namespace resa
