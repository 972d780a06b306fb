#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "resa/resa.hpp"
#include "sampler.hpp"

namespace resa {
namespace {

// Temperature and top-p only (top-k and min-p off), as the walking skeleton's sampler had.
SamplingOptions opts(float temperature, float top_p) {
  SamplingOptions o;
  o.temperature = temperature;
  o.top_p = top_p;
  o.top_k = 0;
  o.min_p = 0;
  return o;
}

// Draws n tokens and returns the observed frequency of each.
std::vector<double> frequencies(Sampler& s, const std::vector<float>& logits, int n) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) f[sample(s, logits.data())] += 1.0 / n;
  return f;
}

std::vector<float> log_probs(const std::vector<float>& p) {
  std::vector<float> l;
  for (float x : p) l.push_back(std::log(x));
  return l;
}

TEST(Sampler, XorshiftMatchesLlama2c) {
  // First outputs for state 42, computed independently in Python from run.c's random_u32().
  uint64_t state = 42;
  EXPECT_EQ(random_u32(state), 1456360119u);
  EXPECT_EQ(random_u32(state), 3359763283u);
  EXPECT_EQ(random_u32(state), 3393612768u);
  for (int i = 0; i < 1000; ++i) {
    float f = random_f32(state);
    ASSERT_GE(f, 0.0f);
    ASSERT_LT(f, 1.0f);
  }
}

TEST(Sampler, GreedyTakesTheFirstLargestLogit) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(argmax(logits.data(), 4), 1);
  Sampler s = make_sampler(4, opts(0.0f, 0.9f), 1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sample(s, logits.data()), 1);
}

TEST(Sampler, TemperatureOneDrawsFromTheSoftmax) {
  const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.4f};
  Sampler s = make_sampler(4, opts(1.0f, 1.0f), 12345);
  std::vector<double> f = frequencies(s, log_probs(p), 40000);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i], p[i], 0.01) << i;
}

TEST(Sampler, TemperatureSharpens) {
  // logits {0, ln 2} at T = 0.5: p1 / p0 = 2^(1/0.5) = 4, so p = {0.2, 0.8}.
  const std::vector<float> logits = {0.0f, std::log(2.0f)};
  Sampler s = make_sampler(2, opts(0.5f, 1.0f), 99);
  std::vector<double> f = frequencies(s, logits, 40000);
  EXPECT_NEAR(f[0], 0.2, 0.01);
  EXPECT_NEAR(f[1], 0.8, 0.01);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  // Sorted: 0.5, 0.3 (cumulative 0.8 > 0.7): the nucleus is {0, 1}, renormalised to 0.625 / 0.375.
  const std::vector<float> p = {0.5f, 0.3f, 0.15f, 0.05f};
  Sampler s = make_sampler(4, opts(1.0f, 0.7f), 2024);
  std::vector<double> f = frequencies(s, log_probs(p), 40000);
  EXPECT_NEAR(f[0], 0.625, 0.01);
  EXPECT_NEAR(f[1], 0.375, 0.01);
  EXPECT_EQ(f[2], 0.0);
  EXPECT_EQ(f[3], 0.0);
}

TEST(Sampler, SameSeedSameDraws) {
  const std::vector<float> p = {0.25f, 0.25f, 0.25f, 0.25f};
  Sampler a = make_sampler(4, opts(1.0f, 0.9f), 7), b = make_sampler(4, opts(1.0f, 0.9f), 7), c = make_sampler(4, opts(1.0f, 0.9f), 8);
  std::vector<int> da, db, dc;
  for (int i = 0; i < 64; ++i) {
    da.push_back(sample(a, log_probs(p).data()));
    db.push_back(sample(b, log_probs(p).data()));
    dc.push_back(sample(c, log_probs(p).data()));
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(Sampler, RejectsNonsenseSettings) {
  EXPECT_THROW(make_sampler(4, opts(-1.0f, 0.9f), 1), Error);
  EXPECT_THROW(make_sampler(4, opts(NAN, 0.9f), 1), Error);
  EXPECT_THROW(make_sampler(4, opts(1.0f, 1.5f), 1), Error);
  EXPECT_THROW(make_sampler(4, opts(1.0f, -0.1f), 1), Error);
}

// ---- the masks, on hand-made distributions; expectations worked out by hand ----

std::vector<float> distribution(const SamplingOptions& o, const std::vector<float>& logits,
                                const std::vector<int>& history = {}) {
  Sampler s = make_sampler(static_cast<int>(logits.size()), o, 1);
  for (int t : history) accept(s, t);
  std::vector<float> probs;
  sampling_distribution(s, logits.data(), probs);
  return probs;
}

void expect_probs(const std::vector<float>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "token " << i;
}

TEST(SamplerMasks, TopKKeepsTheKLargest) {
  // p = {0.1, 0.4, 0.2, 0.3}; top-2 keeps tokens 1 and 3, renormalised: 0.4/0.7, 0.3/0.7.
  SamplingOptions o = opts(1.0f, 1.0f);
  o.top_k = 2;
  expect_probs(distribution(o, log_probs({0.1f, 0.4f, 0.2f, 0.3f})), {0, 0.4 / 0.7, 0, 0.3 / 0.7});
  o.top_k = 4;  // k >= vocab: nothing removed
  expect_probs(distribution(o, log_probs({0.1f, 0.4f, 0.2f, 0.3f})), {0.1, 0.4, 0.2, 0.3});
}

TEST(SamplerMasks, TopKTiesGoToTheLowerId) {
  SamplingOptions o = opts(1.0f, 1.0f);
  o.top_k = 1;
  expect_probs(distribution(o, {1.0f, 3.0f, 3.0f, 0.0f}), {0, 1, 0, 0});
}

TEST(SamplerMasks, TopPReachesTheThreshold) {
  // Sorted 0.4, 0.3, 0.2, 0.1. top_p 0.7: 0.4 + 0.3 reaches 0.7, so {1, 3} stay. top_p 0.71 needs token 2 too.
  const std::vector<float> l = log_probs({0.1f, 0.4f, 0.2f, 0.3f});
  expect_probs(distribution(opts(1.0f, 0.7f), l), {0, 0.4 / 0.7, 0, 0.3 / 0.7});
  expect_probs(distribution(opts(1.0f, 0.71f), l), {0, 0.4 / 0.9, 0.2 / 0.9, 0.3 / 0.9});
  // A tiny top_p still keeps the most probable token.
  expect_probs(distribution(opts(1.0f, 0.01f), l), {0, 1, 0, 0});
}

TEST(SamplerMasks, MinPKeepsTokensNearTheBest) {
  // p_max = 0.4; min_p 0.45 keeps p >= 0.18: tokens 1, 2, 3 -> 0.4/0.9, 0.2/0.9, 0.3/0.9.
  SamplingOptions o = opts(1.0f, 1.0f);
  o.min_p = 0.45f;
  expect_probs(distribution(o, log_probs({0.1f, 0.4f, 0.2f, 0.3f})), {0, 0.4 / 0.9, 0.2 / 0.9, 0.3 / 0.9});
}

TEST(SamplerMasks, TopPIsMeasuredAfterTopK) {
  // p = {0.5, 0.2, 0.15, 0.15}. top-k 2 leaves {0.5, 0.2} -> {5/7, 2/7}; top-p 0.7 on that: 5/7 = 0.714 >= 0.7,
  // so only token 0 stays. (Measured on the full distribution, 0.5 < 0.7 would have kept token 1 too.)
  SamplingOptions o = opts(1.0f, 0.7f);
  o.top_k = 2;
  expect_probs(distribution(o, log_probs({0.5f, 0.2f, 0.15f, 0.15f})), {1, 0, 0, 0});
}

TEST(SamplerMasks, TemperatureComesBeforeTheMasks) {
  // logits {0, ln 2, ln 4} at T = 0.5 -> weights 1, 4, 16 -> p = {1/21, 4/21, 16/21}. min_p 0.2 keeps
  // p >= 0.2 * 16/21, i.e. tokens 1 and 2 -> {0, 0.2, 0.8}. (At T = 1 min_p 0.2 would keep all but token 0 too,
  // with p {0, 1/3, 2/3}.)
  SamplingOptions o = opts(0.5f, 1.0f);
  o.min_p = 0.2f;
  expect_probs(distribution(o, {0.0f, std::log(2.0f), std::log(4.0f)}), {0, 0.2, 0.8});
}

TEST(SamplerMasks, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  // logits {2, -1, 1, 0}; penalty 2 on tokens 0 and 1 (token 0 seen twice: penalised once) -> {1, -2, 1, 0}.
  SamplingOptions o = opts(1.0f, 1.0f);
  o.repeat_penalty = 2.0f;
  const std::vector<float> l = {2.0f, -1.0f, 1.0f, 0.0f};
  const double e = std::exp(1.0), z = e + std::exp(-2.0) + e + 1.0;
  expect_probs(distribution(o, l, {0, 1, 0}), {e / z, std::exp(-2.0) / z, e / z, 1.0 / z});
  // Outside the window (repeat_last_n 1: only the last token, 0) token 1 is not penalised.
  o.repeat_last_n = 1;
  const double z1 = e + std::exp(-1.0) + e + 1.0;
  expect_probs(distribution(o, l, {1, 0}), {e / z1, std::exp(-1.0) / z1, e / z1, 1.0 / z1});
  // Greedy applies the penalty too: the argmax moves from token 0 (2 -> 1, tie with token 2, lower id wins)...
  o = opts(0.0f, 1.0f);
  o.repeat_penalty = 4.0f;
  Sampler s = make_sampler(4, o, 1);
  accept(s, 0);
  EXPECT_EQ(sample(s, l.data()), 2);  // 2 / 4 = 0.5 < 1
}

TEST(SamplerMasks, SeededFrequenciesFollowTheFilteredDistribution) {
  // All masks at once on a 6-token distribution: the draws follow sampling_distribution().
  SamplingOptions o = opts(0.8f, 0.9f);
  o.top_k = 4;
  o.min_p = 0.05f;
  o.repeat_penalty = 1.3f;
  const std::vector<float> l = {1.0f, 2.0f, 0.5f, 1.5f, -1.0f, 1.9f};
  std::vector<float> want = distribution(o, l, {1});
  Sampler s = make_sampler(6, o, 77);
  accept(s, 1);
  std::vector<double> f = frequencies(s, l, 40000);
  int nonzero = 0;
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(f[i], want[i], 0.01) << i;
    nonzero += want[i] > 0;
  }
  EXPECT_GE(nonzero, 2);
  EXPECT_LE(nonzero, 4);
}

TEST(SamplerMasks, RejectsNonsenseSettings) {
  SamplingOptions o = opts(1.0f, 1.0f);
  o.top_k = -1;
  EXPECT_THROW(make_sampler(4, o, 1), Error);
  o = opts(1.0f, 1.0f);
  o.min_p = 1.5f;
  EXPECT_THROW(make_sampler(4, o, 1), Error);
  o = opts(1.0f, 1.0f);
  o.repeat_penalty = 0.0f;
  EXPECT_THROW(make_sampler(4, o, 1), Error);
}

}  // namespace
}  // namespace resa
