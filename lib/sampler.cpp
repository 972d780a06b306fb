#include "sampler.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "resa/resa.hpp"

namespace resa {

Sampler make_sampler(int vocab_size, float temperature, float top_p, uint64_t seed) {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature))
    throw Error(fmt::format("temperature must be a finite number >= 0, got {}", temperature));
  if (!(top_p >= 0.0f && top_p <= 1.0f)) throw Error(fmt::format("top-p must be in [0, 1], got {}", top_p));
  Sampler s;
  s.temperature = temperature;
  s.top_p = top_p;
  // llama2.c seeds its xorshift state with the seed itself; the state must not be 0, so seed 0 gets a constant.
  s.rng_state = seed == 0 ? 0x9E3779B97F4A7C15ull : seed;
  s.probs.resize(vocab_size);
  s.ranked.resize(vocab_size);
  return s;
}

uint32_t random_u32(uint64_t& state) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return static_cast<uint32_t>((state * 0x2545F4914F6CDD1Dull) >> 32);
}

float random_f32(uint64_t& state) { return static_cast<float>(random_u32(state) >> 8) / 16777216.0f; }

int argmax(const float* logits, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

namespace {

// Draws from the whole distribution: the first index whose cumulative probability exceeds coin.
int sample_multinomial(const float* probs, int n, float coin) {
  float cdf = 0.0f;
  for (int i = 0; i < n; ++i) {
    cdf += probs[i];
    if (coin < cdf) return i;
  }
  return n - 1;  // rounding
}

// Draws from the smallest set of most probable tokens whose probabilities add up to more than top_p.
int sample_top_p(Sampler& s, int n, float coin) {
  const float* probs = s.probs.data();
  // Tokens below (1 - top_p) / (n - 1) cannot be in the nucleus: skip them before sorting (as run.c does).
  const float cutoff = (1.0f - s.top_p) / static_cast<float>(n - 1);
  int n0 = 0;
  for (int i = 0; i < n; ++i)
    if (probs[i] >= cutoff) s.ranked[n0++] = {probs[i], i};
  // Descending probability; ties by ascending id, so the order does not depend on the sort algorithm.
  std::sort(s.ranked.begin(), s.ranked.begin() + n0, [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  float cumulative = 0.0f;
  int last = n0 - 1;
  for (int i = 0; i < n0; ++i) {
    cumulative += s.ranked[i].first;
    if (cumulative > s.top_p) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (int i = 0; i <= last; ++i) {
    cdf += s.ranked[i].first;
    if (r < cdf) return s.ranked[i].second;
  }
  return s.ranked[last].second;
}

}  // namespace

int sample(Sampler& s, const float* logits, int n) {
  if (s.temperature == 0.0f) return argmax(logits, n);
  float* probs = s.probs.data();
  float max_val = logits[0] / s.temperature;
  for (int i = 0; i < n; ++i) {
    probs[i] = logits[i] / s.temperature;
    max_val = std::max(max_val, probs[i]);
  }
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    probs[i] = std::exp(probs[i] - max_val);
    sum += probs[i];
  }
  for (int i = 0; i < n; ++i) probs[i] /= sum;
  const float coin = random_f32(s.rng_state);
  if (s.top_p <= 0.0f || s.top_p >= 1.0f || n < 2) return sample_multinomial(probs, n, coin);
  return sample_top_p(s, n, coin);
}

}  // namespace resa
