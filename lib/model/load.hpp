// Model loading behind resa::load_model() (lib/model/load.cpp): a Hugging Face directory or a llama2.c checkpoint.
#pragma once

#include "model/config.hpp"
#include "model/dtype.hpp"
#include "resa/resa.hpp"

namespace resa {

// The engine's side of a resa::Model; throws when the model was never loaded.
const ModelData& model_data(const Model& model);

// The context a generation gets when none is asked for: the model's maximum positions, at most 4096.
int default_context(const ModelConfig& config);

// The matrices' type a WeightType other than AsStored asks for.
DType dtype_of(WeightType t);

}  // namespace resa
