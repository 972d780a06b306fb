#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "resa/resa.hpp"
#include "sampler.hpp"

namespace resa {
namespace {

// Draws n tokens and returns the observed frequency of each.
std::vector<double> frequencies(Sampler& s, const std::vector<float>& logits, int n) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) f[sample(s, logits.data(), static_cast<int>(logits.size()))] += 1.0 / n;
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
  Sampler s = make_sampler(4, 0.0f, 0.9f, 1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sample(s, logits.data(), 4), 1);
}

TEST(Sampler, TemperatureOneDrawsFromTheSoftmax) {
  const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.4f};
  Sampler s = make_sampler(4, 1.0f, 1.0f, 12345);
  std::vector<double> f = frequencies(s, log_probs(p), 40000);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i], p[i], 0.01) << i;
}

TEST(Sampler, TemperatureSharpens) {
  // logits {0, ln 2} at T = 0.5: p1 / p0 = 2^(1/0.5) = 4, so p = {0.2, 0.8}.
  const std::vector<float> logits = {0.0f, std::log(2.0f)};
  Sampler s = make_sampler(2, 0.5f, 1.0f, 99);
  std::vector<double> f = frequencies(s, logits, 40000);
  EXPECT_NEAR(f[0], 0.2, 0.01);
  EXPECT_NEAR(f[1], 0.8, 0.01);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  // Sorted: 0.5, 0.3 (cumulative 0.8 > 0.7): the nucleus is {0, 1}, renormalised to 0.625 / 0.375.
  const std::vector<float> p = {0.5f, 0.3f, 0.15f, 0.05f};
  Sampler s = make_sampler(4, 1.0f, 0.7f, 2024);
  std::vector<double> f = frequencies(s, log_probs(p), 40000);
  EXPECT_NEAR(f[0], 0.625, 0.01);
  EXPECT_NEAR(f[1], 0.375, 0.01);
  EXPECT_EQ(f[2], 0.0);
  EXPECT_EQ(f[3], 0.0);
}

TEST(Sampler, SameSeedSameDraws) {
  const std::vector<float> p = {0.25f, 0.25f, 0.25f, 0.25f};
  Sampler a = make_sampler(4, 1.0f, 0.9f, 7), b = make_sampler(4, 1.0f, 0.9f, 7), c = make_sampler(4, 1.0f, 0.9f, 8);
  std::vector<int> da, db, dc;
  for (int i = 0; i < 64; ++i) {
    da.push_back(sample(a, log_probs(p).data(), 4));
    db.push_back(sample(b, log_probs(p).data(), 4));
    dc.push_back(sample(c, log_probs(p).data(), 4));
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
}

TEST(Sampler, RejectsNonsenseSettings) {
  EXPECT_THROW(make_sampler(4, -1.0f, 0.9f, 1), Error);
  EXPECT_THROW(make_sampler(4, NAN, 0.9f, 1), Error);
  EXPECT_THROW(make_sampler(4, 1.0f, 1.5f, 1), Error);
  EXPECT_THROW(make_sampler(4, 1.0f, -0.1f, 1), Error);
}

}  // namespace
}  // namespace resa
