#include "sampler.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace resa {

void reset_history(Sampler& s) {
  s.history_len = 0;
  s.history_next = 0;
}

Sampler make_sampler(int vocab_size, const SamplingOptions& o, uint64_t seed, int history_capacity) {
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature))
    throw Error(fmt::format("temperature must be a finite number >= 0, got {}", o.temperature));
  if (o.top_k < 0) throw Error(fmt::format("top-k must be >= 0, got {}", o.top_k));
  if (!(o.top_p >= 0.0f && o.top_p <= 1.0f)) throw Error(fmt::format("top-p must be in [0, 1], got {}", o.top_p));
  if (!(o.min_p >= 0.0f && o.min_p <= 1.0f)) throw Error(fmt::format("min-p must be in [0, 1], got {}", o.min_p));
  if (!(o.repeat_penalty > 0.0f) || !std::isfinite(o.repeat_penalty))
    throw Error(fmt::format("the repetition penalty must be a finite number > 0, got {}", o.repeat_penalty));
  if (o.repeat_last_n < -1) throw Error(fmt::format("repeat-last-n must be >= -1, got {}", o.repeat_last_n));
  Sampler s;
  s.opt = o;
  s.vocab = vocab_size;
  // llama2.c seeds its xorshift state with the seed itself; the state must not be 0, so seed 0 gets a constant.
  s.rng_state = seed == 0 ? 0x9E3779B97F4A7C15ull : seed;
  s.work.resize(vocab_size);
  s.ranked.resize(vocab_size);
  s.penalised.assign(vocab_size, 0);
  const int window = o.repeat_last_n < 0 ? history_capacity : o.repeat_last_n;
  if (o.repeat_penalty != 1.0f) s.history.resize(std::max(window, 0));
  return s;
}

void accept(Sampler& s, int token) {
  if (s.history.empty()) return;
  s.history[s.history_next] = token;
  s.history_next = (s.history_next + 1) % static_cast<int>(s.history.size());
  s.history_len = std::min(s.history_len + 1, static_cast<int>(s.history.size()));
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

// s.work = logits with the repetition penalty (CTRL, as transformers applies it: a positive logit is divided by the
// penalty, a negative one multiplied), each distinct recent token once.
void penalise(Sampler& s, const float* logits) {
  std::copy(logits, logits + s.vocab, s.work.begin());
  const float p = s.opt.repeat_penalty;
  const int n = static_cast<int>(s.history.size());
  for (int i = 0; i < s.history_len; ++i) {
    const int t = s.history[(s.history_next - 1 - i + n) % n];
    if (t < 0 || t >= s.vocab || s.penalised[t]) continue;
    s.penalised[t] = 1;
    s.work[t] = s.work[t] > 0 ? s.work[t] / p : s.work[t] * p;
  }
  for (int i = 0; i < s.history_len; ++i) {
    const int t = s.history[(s.history_next - 1 - i + n) % n];
    if (t >= 0 && t < s.vocab) s.penalised[t] = 0;
  }
}

// Higher logit first; ties by lower id, so the order does not depend on the sort algorithm.
bool before(const std::pair<float, int>& a, const std::pair<float, int>& b) {
  return a.first != b.first ? a.first > b.first : a.second < b.second;
}

// After penalise(): fills s.ranked[0, kept) with (probability, id) of the tokens that survive temperature, top-k,
// top-p and min-p, most probable first, probabilities renormalised over the kept set. Returns kept.
int filter(Sampler& s) {
  const int n = s.vocab;
  const float inv_t = 1.0f / s.opt.temperature;
  float max_l = -INFINITY;
  for (int i = 0; i < n; ++i) {
    s.work[i] *= inv_t;
    max_l = std::max(max_l, s.work[i]);
  }
  // Top-k: the k largest logits (nth_element: no full sort of the vocabulary).
  int m = n;
  for (int i = 0; i < n; ++i) s.ranked[i] = {s.work[i], i};
  if (s.opt.top_k > 0 && s.opt.top_k < n) {
    m = s.opt.top_k;
    std::nth_element(s.ranked.begin(), s.ranked.begin() + (m - 1), s.ranked.begin() + n, before);
  }
  // Probabilities over the top-k set (the distribution top-p is measured on).
  double z = 0;
  for (int i = 0; i < m; ++i) z += std::exp(static_cast<double>(s.ranked[i].first - max_l));
  // Min-p keeps p >= min_p * p_max, i.e. logit >= max + ln(min_p): the ratio does not change with renormalisation,
  // so it can prune before the sort. Tokens below (1 - top_p) / (m - 1) of the mass cannot be in the nucleus
  // either (llama2.c's trick): pruned as well.
  double floor_l = -INFINITY;
  if (s.opt.min_p > 0.0f) floor_l = max_l + std::log(static_cast<double>(s.opt.min_p));
  const bool use_top_p = s.opt.top_p > 0.0f && s.opt.top_p < 1.0f;
  if (use_top_p && m > 1)
    floor_l = std::max(floor_l, max_l + std::log((1.0 - s.opt.top_p) / (m - 1) * z) - 1e-6);
  floor_l = std::min(floor_l, static_cast<double>(max_l));  // the most probable token always stays
  int kept = 0;
  for (int i = 0; i < m; ++i)
    if (s.ranked[i].first >= floor_l) s.ranked[kept++] = s.ranked[i];
  std::sort(s.ranked.begin(), s.ranked.begin() + kept, before);
  // Top-p: the smallest prefix whose probability reaches top_p (transformers' rule: a token stays while the mass
  // before it is below top_p).
  if (use_top_p) {
    double cum = 0;
    for (int i = 0; i < kept; ++i) {
      cum += std::exp(static_cast<double>(s.ranked[i].first - max_l)) / z;
      if (cum >= s.opt.top_p) {
        kept = i + 1;
        break;
      }
    }
  }
  double sum = 0;
  for (int i = 0; i < kept; ++i) {
    const float p = std::exp(s.ranked[i].first - max_l);
    s.ranked[i].first = p;
    sum += p;
  }
  for (int i = 0; i < kept; ++i) s.ranked[i].first = static_cast<float>(s.ranked[i].first / sum);
  return kept;
}

}  // namespace

int sample(Sampler& s, const float* logits) {
  const bool penalty = !s.history.empty() && s.opt.repeat_penalty != 1.0f;
  if (s.opt.temperature == 0.0f) {
    if (!penalty) return argmax(logits, s.vocab);
    penalise(s, logits);
    return argmax(s.work.data(), s.vocab);
  }
  penalise(s, logits);
  const int kept = filter(s);
  const float coin = random_f32(s.rng_state);
  float cdf = 0.0f;
  for (int i = 0; i < kept; ++i) {
    cdf += s.ranked[i].first;
    if (coin < cdf) return s.ranked[i].second;
  }
  return s.ranked[kept - 1].second;  // rounding
}

void sampling_distribution(Sampler& s, const float* logits, std::vector<float>& probs) {
  probs.assign(s.vocab, 0.0f);
  penalise(s, logits);
  if (s.opt.temperature == 0.0f) {
    probs[argmax(s.work.data(), s.vocab)] = 1.0f;
    return;
  }
  const int kept = filter(s);
  for (int i = 0; i < kept; ++i) probs[s.ranked[i].second] = s.ranked[i].first;
}

}  // namespace resa
