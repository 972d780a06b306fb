// Helpers the public API's entry points share (lib/generate.cpp, lib/perplexity.cpp): option checks and threads.
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

// OpenMP is resa's one threading runtime (OpenBLAS is kept single-threaded inside it: make_run_state()).
// 0 keeps OpenMP's default (OMP_NUM_THREADS, else every core).
void use_threads(int threads);

DType kv_dtype(KvType t);

// Token ids inside the vocabulary, at least one, at most context of them.
void check_prompt(const ModelConfig& c, const std::vector<int>& ids, int context);

// The context a GenerateOptions asks for (0: the model's default), checked against the model.
int context_of(const ModelConfig& c, const GenerateOptions& opt);

// The model's tokenizer; resa::Error saying how to proceed without one.
const Tokenizer& tokenizer_of(const ModelData& m);

// The bytes a generated token prints (see generate.cpp).
std::string_view printed_bytes(const Tokenizer& tok, int prev, int token);

// A conversation with the model: the KV cache, the sampler and the tokens the cache holds, kept across turns.
// generate() runs one turn; a chat (lib/chat.cpp) runs many, prefilling only each turn's new tokens.
struct Session {
  const ModelData* model = nullptr;
  GenerateOptions opt;
  int context = 0;
  RunState state;
  Sampler sampler;
  std::vector<int> tokens;  // [context] by position: what the cache holds
  int n_past = 0;           // positions filled
  int pending = -1;         // the turn's last sampled token, not in the cache yet (an end-of-text token or the
                            // one that hit the token limit); -1: none
  bool pending_is_eos = false;
  int sparse_tail = 0;      // the last positions encoded by sparse decoding and not rectified yet
};

Session make_session(const ModelData& m, const GenerateOptions& opt);

// Under Attention::Resa, first rectifies what the previous turn left sparse (fewer than rectify_every tokens at the
// end of its reply: SPEC §2.5's schedule has no pass for them, and a chat keeps them in the cache). Then prefills ids
// after what the cache holds, and samples up to opt.n_predict tokens, calling on_next(prev, next) for
// each, until an end-of-text token (unless ignored), the limit or the end of the context. prompt_tokens in the
// result counts the ids prefilled this turn.
GenerateStats run_turn(Session& s, const std::vector<int>& ids, const std::function<void(int prev, int next)>& on_next);

}  // namespace resa
