// resa::perplexity against quantities computed here from prompt_logits (dense, batched) and closed-form facts:
// dense against itself has KL 0; ReSA's cache after a pass equals the dense encoding; the pass count follows §2.5.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "resa/resa.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

PerplexityOptions biting(Attention attn) {
  PerplexityOptions o;
  o.sparse_last = 256;
  o.attention.attn = attn;
  o.attention.block_size = 8;
  o.attention.min_blocks = 4;
  o.attention.sparse_ratio = 0.25;
  o.attention.rectify_every = 16;
  return o;
}

struct Text {
  Model model = load_model(test::model_path());
  std::vector<int> ids = tokenize(model, test::read_file(test::data_path("tinystory.txt")));
};

TEST(Perplexity, DenseMatchesBatchedLogits) {
  Text t;
  ASSERT_GT(t.ids.size(), 512u);
  const PerplexityResult r = perplexity(t.model, t.ids, biting(Attention::Dense));
  EXPECT_EQ(r.tokens, 512);
  EXPECT_EQ(r.fed, 256);
  // Perplexity and top-3 accuracy of positions 256..510 predicting 257..511, from one batched prefill.
  const std::vector<int> ids(t.ids.begin(), t.ids.begin() + 512);
  const std::vector<float> logits = prompt_logits(t.model, ids);
  const int V = model_info(t.model).vocab_size;
  double nll = 0;
  int top3 = 0;
  for (int p = 256; p < 511; ++p) {
    const float* l = logits.data() + static_cast<size_t>(p) * V;
    double sum = 0;
    const double mx = *std::max_element(l, l + V);
    for (int i = 0; i < V; ++i) sum += std::exp(l[i] - mx);
    nll -= l[ids[p + 1]] - mx - std::log(sum);
    if (p + 1 >= 512 - 32) top3 += std::count_if(l, l + V, [&](float x) { return x > l[ids[p + 1]]; }) < 3;
  }
  EXPECT_NEAR(r.dense_perplexity, std::exp(nll / 255), 1e-4);
  EXPECT_NEAR(r.perplexity, r.dense_perplexity, 1e-4);
  EXPECT_NEAR(r.dense_top3_accuracy, top3 / 32.0, 1e-12);
  EXPECT_LT(r.mean_kl, 1e-8);
  EXPECT_EQ(r.top1_agreement, 1.0);
  EXPECT_LT(r.kv_error_end, 1e-5);
  EXPECT_TRUE(std::isnan(r.kv_error_after));
  EXPECT_EQ(r.rectify_passes, 0);
}

TEST(Perplexity, RectificationRepairsTheCache) {
  Text t;
  const PerplexityResult sparse = perplexity(t.model, t.ids, biting(Attention::Sparse));
  const PerplexityResult resa = perplexity(t.model, t.ids, biting(Attention::Resa));
  EXPECT_EQ(sparse.rectify_passes, 0);
  EXPECT_EQ(resa.rectify_passes, 15);  // after fed tokens #16, #32, ..., #240
  EXPECT_EQ(resa.rectify_skipped, 0);  // every window follows a 256-token dense prefill: its steps leave blocks out
  EXPECT_GT(sparse.mean_kl, 1e-4);     // sparsity bites
  EXPECT_LT(sparse.top1_agreement, 1.0);
  EXPECT_GT(resa.kv_error_before, 1e-3);
  EXPECT_LT(resa.kv_error_after, 1e-5);
  EXPECT_GT(sparse.kv_error_end, 1e-3);
  EXPECT_LT(resa.kv_error_end, sparse.kv_error_end / 2);  // only the 15 tokens after the last pass are off
  EXPECT_NEAR(sparse.mean_blocks_selected, resa.mean_blocks_selected, 1e-12);  // same budget at each position
}

TEST(Perplexity, RejectsBadArguments) {
  Text t;
  PerplexityOptions o = biting(Attention::Resa);
  o.sparse_last = 512;  // nothing left to prefill
  EXPECT_THROW(perplexity(t.model, t.ids, o), Error);
  o.sparse_last = 0;
  EXPECT_THROW(perplexity(t.model, t.ids, o), Error);
  EXPECT_THROW(perplexity(t.model, {1}, biting(Attention::Resa)), Error);
  o = biting(Attention::Resa);
  o.attention.local_blocks = 5;  // more than min_blocks
  EXPECT_THROW(perplexity(t.model, t.ids, o), Error);
}

}  // namespace
}  // namespace resa
