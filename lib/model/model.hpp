// ModelData: everything a loaded model is — its config, the mapping that holds its weights, the weight views and
// its tokenizer. resa::Model (include/resa/resa.hpp) shares one of these.
#pragma once

#include "model/config.hpp"
#include "model/mapped_file.hpp"
#include "model/weights.hpp"
#include "tokenizer/llama2c_tokenizer.hpp"

namespace resa {

struct ModelData {
  ModelConfig config;
  MappedFile file;  // owns the memory the weight views point into
  Weights weights;
  Llama2cTokenizer tokenizer;
};

}  // namespace resa
