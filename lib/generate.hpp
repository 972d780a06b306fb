// Helpers the public API's entry points share (lib/generate.cpp, lib/session.cpp, lib/perplexity.cpp): option checks.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "forward.hpp"
#include "model/config.hpp"
#include "model/dtype.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "tokenizer/tokenizer.hpp"

namespace resa {

DType kv_dtype(KvType t);

// Token ids inside the vocabulary, at least one, at most context of them.
void check_prompt(const ModelConfig& c, const std::vector<int>& ids, int context);

// The context asked for (0: the model's default), checked against the model.
int context_of(const ModelConfig& c, int context);

// The model's tokenizer; resa::Error saying how to proceed without one.
const Tokenizer& tokenizer_of(const ModelData& m);

// The bytes a generated token prints (see generate.cpp).
std::string_view printed_bytes(const Tokenizer& tok, int prev, int token);

}  // namespace resa
