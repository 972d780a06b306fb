// Choosing the next token from the logits, in Hugging Face's order: repetition penalty over the recent tokens,
// temperature, top-k, top-p, min-p, then a draw with llama2.c's xorshift RNG (the same seed gives the same tokens).
// Temperature 0 is greedy: the argmax of the penalised logits.
#pragma once

#include <cstdint>
#include <vector>

#include "resa/resa.hpp"

namespace resa {

struct Sampler {
  SamplingOptions opt;
  int vocab = 0;
  uint64_t rng_state = 1;
  std::vector<float> work;                     // [vocab] penalised, scaled logits, then probabilities
  std::vector<std::pair<float, int>> ranked;   // [vocab] candidates
  std::vector<int> history;                    // ring buffer of the last tokens, for the repetition penalty
  int history_len = 0, history_next = 0;
  std::vector<uint8_t> penalised;              // [vocab] marks, so each token is penalised once
};

// Validates the options (one message naming the option at fault). history_capacity bounds the penalty window when
// repeat_last_n is -1 (the whole context).
Sampler make_sampler(int vocab_size, const SamplingOptions& opt, uint64_t seed, int history_capacity = 4096);

// Records a token of the context (prompt or generated) for the repetition penalty.
void accept(Sampler& sampler, int token);

// Forgets the tokens recorded for the penalty.
void reset_history(Sampler& sampler);

// Picks the next token. Does not modify logits. Allocates nothing.
int sample(Sampler& sampler, const float* logits);

// The logits after the penalty, temperature and the top-k / top-p / min-p masks, as probabilities: the
// distribution sample() draws from (zeros outside the kept set). For tests.
void sampling_distribution(Sampler& sampler, const float* logits, std::vector<float>& probs);

// llama2.c's xorshift64* generator: the next 32 random bits, and a float in [0, 1).
uint32_t random_u32(uint64_t& state);
float random_f32(uint64_t& state);

// The index of the largest logit (the first one on ties).
int argmax(const float* logits, int n);

}  // namespace resa
