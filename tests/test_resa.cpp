// Rectified Sparse Attention end to end (SPEC §2): sparse decoding and the rectifier in the engine against the plain
// reference of tests/reference_resa.hpp, against dense decoding, and against itself on 1 and 2 threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "attention/rectifier.hpp"
#include "attention_helpers.hpp"
#include "forward.hpp"
#include "model/model.hpp"
#include "reference_resa.hpp"
#include "resa/resa.hpp"
#include "synthetic_model.hpp"
#include "kv_gap.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

AttentionOptions biting(Attention attn) { return test::biting_attention(attn); }

std::vector<int> engine_greedy(const Model& model, const std::vector<int>& prompt, int n, const AttentionOptions& o,
                               int threads = 1, float temperature = 0.0f) {
  GenerateOptions opt;
  opt.n_predict = n;
  opt.context = 0;
  opt.threads = threads;
  opt.kv_type = KvType::F32;
  opt.ignore_eos = true;
  opt.sampling.temperature = temperature;
  opt.sampling.seed = 11;
  opt.attention = o;
  std::vector<int> out;
  generate_ids(model, prompt, opt, [&](int id, std::string_view) { out.push_back(id); });
  return out;
}

size_t first_difference(const std::vector<int>& a, const std::vector<int>& b) {
  return static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

TEST(Resa, GreedyGenerationFollowsThePlainReference) {
  Model model = load_model(test::model_path());
  const ModelData& m = *model.data;
  const std::vector<int> prompt = tokenize(model, "Once upon a time");
  const int n = 300;
  std::vector<int> dense;
  for (Attention attn : {Attention::Dense, Attention::Sparse, Attention::Resa}) {
    const AttentionOptions o = biting(attn);
    const std::vector<int> got = engine_greedy(model, prompt, n, o);
    test::Reference ref(m, o, static_cast<int>(prompt.size()) + n);
    const std::vector<int> want = ref.greedy(prompt, n);
    ASSERT_EQ(got.size(), static_cast<size_t>(n));
    EXPECT_EQ(first_difference(got, want), static_cast<size_t>(n)) << "attn " << static_cast<int>(attn);
    if (attn == Attention::Dense) dense = got;
    else EXPECT_LT(first_difference(got, dense), static_cast<size_t>(n)) << "sparsity must change the text";
  }
}

// Feeds seq[from, to) one token at a time under s.attn, rectifying on the SPEC §2.5 schedule counted from the first
// token fed (generated token #0 at position `from`). Returns each step's logits.
std::vector<std::vector<float>> teacher_force(const ModelData& m, RunState& s, const std::vector<int>& seq, int from,
                                              int to) {
  std::vector<std::vector<float>> logits;
  const int f = rectify_period(s.attn);
  for (int pos = from; pos < to; ++pos) {
    if (rectify_due(pos - from, f)) rectify(m, s, seq.data(), pos, f);
    const float* l = forward_token(m, s, seq[pos], pos);
    logits.emplace_back(l, l + m.config.vocab_size);
  }
  return logits;
}

std::vector<int> dense_text(const Model& model, int n) {
  std::vector<int> seq = tokenize(model, "Once upon a time");
  AttentionOptions dense;
  dense.attn = Attention::Dense;
  const std::vector<int> more = engine_greedy(model, seq, n, dense);
  seq.insert(seq.end(), more.begin(), more.end());
  return seq;
}

TEST(Resa, SparseRatioOneIsDense) {
  Model model = load_model(test::model_path());
  const ModelData& m = *model.data;
  const std::vector<int> seq = dense_text(model, 400);
  const int P = 5, end = static_cast<int>(seq.size());
  RunState dense = make_run_state(m.config, end, DType::F32);
  forward(m, dense, seq.data(), P, 0);
  const auto want = teacher_force(m, dense, seq, P, end);
  for (Attention attn : {Attention::Sparse, Attention::Resa}) {
    AttentionOptions o = biting(attn);
    o.sparse_ratio = 1.0;
    RunState s = make_run_state(m.config, end, DType::F32, 0, o);
    forward(m, s, seq.data(), P, 0);
    const auto got = teacher_force(m, s, seq, P, end);
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      for (size_t v = 0; v < got[i].size(); ++v) worst = std::max(worst, std::abs(got[i][v] - want[i][v]));
    EXPECT_LE(worst, 1e-4f) << "attn " << static_cast<int>(attn);
    EXPECT_GT(s.counters.selections, 0);
    EXPECT_EQ(s.counters.blocks_selected * 8 >= s.counters.selections * 50, true);  // every block, always
  }
}

TEST(Resa, PassesOverWindowsThatAttendedEveryBlockAreSkippedAndChangeNothing) {
  Model model = load_model(test::model_path());
  const ModelData& m = *model.data;
  const std::vector<int> seq = dense_text(model, 300);
  const int P = 5, f = 16, c = 96;
  RunState dense = make_run_state(m.config, 400, DType::F32);
  forward(m, dense, seq.data(), P + c, 0);
  AttentionOptions o = biting(Attention::Resa);
  o.min_blocks = 64;  // 512 positions: every step of this run attends to every block
  RunState s = make_run_state(m.config, 400, DType::F32, 0, o);
  forward(m, s, seq.data(), P, 0);
  teacher_force(m, s, seq, P, P + c);
  EXPECT_EQ(s.counters.rectify_passes, 0);
  EXPECT_EQ(s.counters.rectify_skipped, c / f - 1);
  EXPECT_LE(kv_gap(s, dense, 0, P + c), 1e-5f) << "all-block steps encode what dense ones do";

  // One position encoded by a step that left blocks out makes exactly the windows holding it due.
  s.sparse_encoded[P + 40] = 1;
  EXPECT_TRUE(rectify_needed(s, P + 41, f));
  EXPECT_TRUE(rectify_needed(s, P + 40 + f, f));
  EXPECT_FALSE(rectify_needed(s, P + 40, f));
  EXPECT_FALSE(rectify_needed(s, P + 41 + f, f));
  const int skipped = s.counters.rectify_skipped;
  rectify(m, s, seq.data(), P + 48, f);
  EXPECT_EQ(s.counters.rectify_passes, 1);
  EXPECT_EQ(s.counters.rectify_skipped, skipped);
  EXPECT_FALSE(rectify_needed(s, P + 48, f)) << "the pass encoded its window densely";
}

TEST(Resa, RectifiedKeysAndValuesEqualADenseForward) {
  Model model = load_model(test::model_path());
  const ModelData& m = *model.data;
  const std::vector<int> seq = dense_text(model, 300);
  const int P = 5, f = 16, c = 96;  // stop after generated token #96 is due to rectify #80..#95
  // The dense encoding of the same tokens: one batched prefill.
  RunState dense = make_run_state(m.config, 400, DType::F32);
  forward(m, dense, seq.data(), P + c, 0);

  RunState s = make_run_state(m.config, 400, DType::F32, 0, biting(Attention::Resa));
  forward(m, s, seq.data(), P, 0);
  teacher_force(m, s, seq, P, P + c);  // feeds #0 .. #95; passes due after #16, #32, ..., #80
  // The first window (#0..#15, positions 5..20, at most 3 blocks of 8) lies in the dense regime (min_blocks 4): every
  // step attended to every block, so its pass is skipped; the other four windows have sparse steps and run. Were a
  // pass with sparse steps skipped, the "rectified earlier" gap below would exceed its bound.
  EXPECT_EQ(s.counters.rectify_skipped, 1);
  EXPECT_EQ(s.counters.rectify_passes, c / f - 2);
  EXPECT_LE(kv_gap(s, dense, 0, P + c - f), 1e-5f) << "rectified earlier";
  const float before = kv_gap(s, dense, P + c - f, P + c);
  EXPECT_GT(before, 1e-3f) << "the sparsely encoded tokens #80..#95 differ from dense";
  rectify(m, s, seq.data(), P + c, f);
  EXPECT_LE(kv_gap(s, dense, 0, P + c), 1e-5f) << "before the pass the gap was " << before;

  // The block summaries were rebuilt: for every block of every layer, they are the min/max of its keys.
  for (int l = 0; l < s.kv.n_layers; ++l)
    for (int h = 0; h < s.kv.n_kv_heads; ++h) {
      const float* keys = static_cast<const float*>(s.kv.keys(l, h));
      const float* sum = static_cast<const float*>(s.kv.summaries(l, h));
      const int hd = s.kv.head_dim, bs = s.kv.block_size, len = P + c;
      for (int b = 0; b * bs < len; ++b)
        for (int d = 0; d < hd; ++d) {
          float lo = INFINITY, hi = -INFINITY;
          for (int t = b * bs; t < std::min(len, (b + 1) * bs); ++t) {
            lo = std::min(lo, keys[t * hd + d]);
            hi = std::max(hi, keys[t * hd + d]);
          }
          ASSERT_EQ(sum[(b * 2) * hd + d], lo) << "layer " << l << " block " << b;
          ASSERT_EQ(sum[(b * 2 + 1) * hd + d], hi) << "layer " << l << " block " << b;
        }
    }
}

TEST(Resa, SameTokensOnOneTwoAndThreeThreads) {
  // 1,300 prompt tokens: past the 1,024 positions from which decode attention splits over the threads. The model's
  // 2 KV heads go whole to 2 threads, and in splits over 3 (lib/attention/flash_decode.cpp): the same bits each way.
  auto syn = test::synthetic_model(1400, 2);
  Model model = test::as_model(syn);
  std::vector<int> prompt(1300);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int>((i * 7919) % 600);
  AttentionOptions o;  // the defaults: blocks of 16, 10 % of them, rectify every 32
  const std::vector<int> one = engine_greedy(model, prompt, 70, o, 1, 0.8f);
  const std::vector<int> two = engine_greedy(model, prompt, 70, o, 2, 0.8f);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, engine_greedy(model, prompt, 70, o, 3, 0.8f));
  o.attn = Attention::Sparse;
  const std::vector<int> sparse = engine_greedy(model, prompt, 40, o, 1, 0.8f);
  EXPECT_EQ(sparse, engine_greedy(model, prompt, 40, o, 2, 0.8f));
  EXPECT_EQ(sparse, engine_greedy(model, prompt, 40, o, 3, 0.8f));
}

}  // namespace
}  // namespace resa
