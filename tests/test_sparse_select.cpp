// Block selection (lib/attention/sparse_select) against a plainly written SPEC §2.2-2.3: the budget in exact integer
// arithmetic, then tests/reference_resa.hpp's selection (min/max from the raw keys, full score vector, full sort).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "attention/sparse_select.hpp"
#include "kv_cache.hpp"
#include "reference_resa.hpp"
#include "simd/convert.hpp"

namespace resa {
namespace {

AttentionOptions knobs(double ratio, int block_size = 16, int min_blocks = 16, int local = 1, int sink = 0) {
  AttentionOptions o;
  o.attn = Attention::Sparse;
  o.sparse_ratio = ratio;
  o.block_size = block_size;
  o.min_blocks = min_blocks;
  o.local_blocks = local;
  o.sink_blocks = sink;
  return o;
}

int blocks_for(int cache_len, int block_size) { return (cache_len + block_size - 1) / block_size; }

TEST(SparseBudget, DefaultsAreDenseTo256TokensThen16BlocksThenTenPercent) {
  const AttentionOptions o = knobs(0.1);
  for (int len = 1; len <= 256; ++len) EXPECT_EQ(sparse_budget(blocks_for(len, 16), o), blocks_for(len, 16)) << len;
  EXPECT_EQ(sparse_budget(blocks_for(257, 16), o), 16);   // 17 blocks: 16 kept
  EXPECT_EQ(sparse_budget(blocks_for(2560, 16), o), 16);  // 160 blocks: ceil(16.0) = 16 (a plain double gives 17)
  EXPECT_EQ(sparse_budget(blocks_for(2561, 16), o), 17);  // 161 blocks: ceil(16.1)
  EXPECT_EQ(sparse_budget(1000, o), 100);
  EXPECT_EQ(sparse_budget(8192, o), 820);  // ceil(819.2)
}

TEST(SparseBudget, TheCeilingIsTakenOnTheDecimalValue) {
  // SPEC §2.3: in float, ceil(50 * 0.3) comes out 16; the decimal value is exactly 15.
  EXPECT_EQ(std::ceil(50 * 0.3f), 16.0f);
  EXPECT_EQ(sparse_budget(50, knobs(0.3, 16, 1, 1)), 15);
  EXPECT_EQ(sparse_budget(10, knobs(0.7, 16, 1, 1)), 7);    // 10 * 0.7 = 7.000000000000001 in double
  EXPECT_EQ(sparse_budget(100, knobs(0.29, 16, 1, 1)), 29);  // 28.999999999999996
  EXPECT_EQ(sparse_budget(7, knobs(1.0, 16, 1, 1)), 7);
  EXPECT_EQ(sparse_budget(7, knobs(5.0, 16, 1, 1)), 7);     // never more than every block
}

TEST(SparseOptions, RulesOfSpec23AreEnforced) {
  EXPECT_NO_THROW(check_attention_options(AttentionOptions{}));
  EXPECT_NO_THROW(check_attention_options(knobs(0.1, 16, 16, 8, 8)));
  EXPECT_THROW(check_attention_options(knobs(0.1, 16, 16, 9, 8)), Error);  // local + sink > min
  EXPECT_THROW(check_attention_options(knobs(0.0)), Error);
  EXPECT_THROW(check_attention_options(knobs(-0.5)), Error);
  EXPECT_THROW(check_attention_options(knobs(NAN)), Error);
  EXPECT_THROW(check_attention_options(knobs(0.1, 0)), Error);
  EXPECT_THROW(check_attention_options(knobs(0.1, 16, 0, 0)), Error);
  EXPECT_THROW(check_attention_options(knobs(0.1, 16, 16, -1)), Error);
  AttentionOptions o;
  o.rectify_every = -1;
  EXPECT_THROW(check_attention_options(o), Error);
}

// ---- Selection against the plain reference ----

struct Case {
  int g, hd, len;
  int ratio_num, ratio_den;
  int block_size, min_blocks, local, sink;
  DType dtype;
};

// The plain reference (tests/reference_resa.hpp) with the budget in exact integer arithmetic: keys [len][hd] (as
// stored), queries [g][hd].
std::vector<int> reference_selection(const Case& k, const std::vector<float>& keys, const std::vector<float>& q) {
  const int M = blocks_for(k.len, k.block_size);
  const int by_ratio = (M * k.ratio_num + k.ratio_den - 1) / k.ratio_den;  // exact ceil(M * num / den)
  const int n = std::min(M, std::max(by_ratio, std::min(M, k.min_blocks)));
  return test::reference_blocks(keys.data(), k.hd, k.len, q.data(), k.g, k.hd, k.block_size, n, k.local, k.sink);
}

std::vector<int> engine_selection(const Case& k, std::vector<float>& keys, const std::vector<float>& q) {
  ModelConfig c;
  c.n_layers = 1;
  c.n_heads = k.g;
  c.n_kv_heads = 1;
  c.head_dim = k.hd;
  c.dim = k.g * k.hd;
  KvCache kv = make_kv_cache(c, k.len + 5, k.dtype, k.block_size);
  // Appended in uneven chunks, as prefill and decode do; the last chunk ends the cache.
  for (int pos = 0, step = 1; pos < k.len; pos += step, step = step % 7 + 1) {
    const int n = std::min(step, k.len - pos);
    kv.store(0, pos, n, keys.data() + pos * k.hd, keys.data() + pos * k.hd);
  }
  if (k.dtype == DType::BF16)  // the reference sees the keys as the cache stores them
    for (float& x : keys) x = bf16_to_f32(f32_to_bf16(x));
  const int M = blocks_for(k.len, k.block_size);
  std::vector<int> out(M), work(M);
  std::vector<float> qbar(k.hd), scores(M);
  const AttentionOptions o = knobs(static_cast<double>(k.ratio_num) / k.ratio_den, k.block_size, k.min_blocks,
                                   k.local, k.sink);
  const int n = select_blocks(out.data(), q.data(), k.g, kv.summaries(0, 0), k.dtype, M, k.hd, o, qbar.data(),
                              scores.data(), work.data());
  out.resize(n);
  return out;
}

TEST(SparseSelect, MatchesThePlainReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  const std::vector<Case> cases = {
      {6, 16, 4000, 1, 10, 16, 16, 1, 0, DType::F32},   // 250 blocks: 25 kept
      {6, 16, 4000, 1, 10, 16, 16, 1, 0, DType::BF16},
      {2, 8, 300, 1, 4, 8, 4, 1, 0, DType::F32},        // the greedy test's knobs
      {1, 5, 333, 3, 10, 7, 3, 2, 1, DType::F32},       // 48 blocks, the last partial; sinks
      {4, 8, 257, 1, 10, 16, 16, 1, 0, DType::F32},     // 17 blocks: 16 kept
      {4, 8, 256, 1, 10, 16, 16, 1, 0, DType::F32},     // 16 blocks: all
      {3, 8, 800, 3, 10, 16, 1, 1, 0, DType::F32},      // 50 blocks at 0.3: 15, not 16
  };
  for (const Case& k : cases) {
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<float> keys(static_cast<size_t>(k.len) * k.hd), q(static_cast<size_t>(k.g) * k.hd);
      for (float& x : keys) x = nd(rng);
      for (float& x : q) x = nd(rng);
      std::vector<float> stored = keys;
      const std::vector<int> got = engine_selection(k, stored, q);
      EXPECT_EQ(got, reference_selection(k, stored, q)) << "len " << k.len << " g " << k.g << " trial " << trial;
    }
  }
}

TEST(SparseSelect, TiesGoToTheLowerBlockAndTheLocalBlockIsAlwaysKept) {
  // 40 blocks of 4 tokens, hd 4, one query. Every block is a copy of one pattern (all scores tie) except the last,
  // whose keys point away from the query (the lowest score): the kept set is the local block plus the lowest indices.
  const Case k{1, 4, 160, 1, 10, 4, 4, 1, 0, DType::F32};
  std::vector<float> q = {1, 1, 1, 1}, keys(160 * 4);
  for (int t = 0; t < 160; ++t)
    for (int d = 0; d < 4; ++d) keys[t * 4 + d] = t >= 156 ? -5.0f : static_cast<float>((t % 4) - d);
  std::vector<float> stored = keys;
  const std::vector<int> got = engine_selection(k, stored, q);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 39}));  // n = max(ceil(4.0), 4) = 4
  EXPECT_EQ(got, reference_selection(k, stored, q));

  // A sink block is kept even with the lowest score.
  const Case s{1, 4, 160, 1, 10, 4, 4, 1, 1, DType::F32};
  for (int t = 0; t < 4; ++t)
    for (int d = 0; d < 4; ++d) keys[t * 4 + d] = -5.0f;
  stored = keys;
  EXPECT_EQ(engine_selection(s, stored, q), (std::vector<int>{0, 1, 2, 39}));
  // Without it, block 0 (now the lowest) drops out and block 3 takes its place.
  stored = keys;
  EXPECT_EQ(engine_selection(k, stored, q), (std::vector<int>{1, 2, 3, 39}));
}

}  // namespace
}  // namespace resa
