// ModelData: everything a loaded model is — its config, the mappings that hold its weights, the weight views and
// its tokenizer (when the checkpoint has one). resa::Model (include/resa/resa.hpp) shares one of these.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "huge_pages.hpp"
#include "model/config.hpp"
#include "model/mapped_file.hpp"
#include "model/weights.hpp"
#include "tokenizer/tokenizer.hpp"

namespace resa {

struct ModelData {
  std::string path;
  ModelConfig config;
  std::vector<MappedFile> files;  // own the memory the weight views point into
  std::vector<std::vector<float>> aligned_copies;  // tensors a file stored misaligned (see TensorSet)
  HugeBuffer weight_arena;  // the matrices when placed for decode (lib/model/placement.hpp), else empty
  bool synthetic = false;  // random weights at a config's shape: no tokenizer, positions not limited to max_seq_len
  Weights weights;
  std::optional<Tokenizer> tokenizer;
};

}  // namespace resa
