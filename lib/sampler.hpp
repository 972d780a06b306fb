// Choosing the next token from the logits: greedy at temperature 0; otherwise softmax(logits / T), then nucleus
// (top-p) sampling, with llama2.c's xorshift RNG so that the same seed gives the same text.
#pragma once

#include <cstdint>
#include <vector>

namespace resa {

struct Sampler {
  float temperature = 0.0f;
  float top_p = 1.0f;
  uint64_t rng_state = 1;
  std::vector<float> probs;                    // [vocab] scratch
  std::vector<std::pair<float, int>> ranked;   // [vocab] scratch for top-p
};

Sampler make_sampler(int vocab_size, float temperature, float top_p, uint64_t seed);

// llama2.c's xorshift64* generator: the next 32 random bits, and a float in [0, 1).
uint32_t random_u32(uint64_t& state);
float random_f32(uint64_t& state);

// The index of the largest logit (the first one on ties).
int argmax(const float* logits, int n);

// Picks the next token. Does not modify logits. Allocates nothing.
int sample(Sampler& sampler, const float* logits, int n);

}  // namespace resa
