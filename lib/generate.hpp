// Helpers the public API's entry points share (lib/generate.cpp, lib/perplexity.cpp): option checks and threads.
#pragma once

#include <vector>

#include "model/config.hpp"
#include "model/dtype.hpp"
#include "resa/resa.hpp"

namespace resa {

// OpenMP is resa's one threading runtime (OpenBLAS is kept single-threaded inside it: make_run_state()).
// 0 keeps OpenMP's default (OMP_NUM_THREADS, else every core).
void use_threads(int threads);

DType kv_dtype(KvType t);

// Token ids inside the vocabulary, at least one, at most context of them.
void check_prompt(const ModelConfig& c, const std::vector<int>& ids, int context);

// The context a GenerateOptions asks for (0: the model's default), checked against the model.
int context_of(const ModelConfig& c, const GenerateOptions& opt);

}  // namespace resa
