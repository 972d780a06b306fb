// A chat keeps its KV cache between turns: turn 2, fed after turn 1's cache, must continue exactly as a fresh run
// over the whole conversation does (prompt 1 + reply 1 + prompt 2 prefilled at once). Greedy, f32 KV, the shipped
// model; under resa the tail of reply 1 that the schedule left sparse is rectified before turn 2, so the cache it
// continues from is the dense one.
#include <gtest/gtest.h>

#include "generate.hpp"
#include "session.hpp"
#include "kv_gap.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

std::vector<int> run(SessionState& s, const std::vector<int>& ids, int n_predict = 40) {
  std::vector<int> out;
  run_turn(s, ids, n_predict, /*ignore_eos=*/true, [&](int, int next) { out.push_back(next); }, 1);
  return out;
}

// Greedy, f32 KV, one thread, 40 tokens a turn.
GenerateOptions turn_options(const AttentionOptions& attn) {
  GenerateOptions opt;
  opt.sampling.temperature = 0;
  opt.kv_type = KvType::F32;
  opt.ignore_eos = true;
  opt.n_predict = 40;
  opt.threads = 1;
  opt.attention = attn;
  return opt;
}

// Sparse from 16 tokens on, rectified every 16.
AttentionOptions small_resa() {
  AttentionOptions attn;
  attn.attn = Attention::Resa;
  attn.block_size = 4;
  attn.min_blocks = 4;
  attn.sparse_ratio = 0.25;
  attn.rectify_every = 16;
  return attn;
}

void expect_turn_two_continues_the_conversation(const AttentionOptions& attn) {
  const Model model = load_model(test::model_path());
  const GenerateOptions opt = turn_options(attn);
  const std::vector<int> a = tokenize(model, "Tom went to the park with his dog.");
  const std::vector<int> b = tokenize(model, "Then they went home and", /*bos=*/false);

  SessionState chat = make_session_state(model, session_options(opt), 1);
  const std::vector<int> reply1 = run(chat, a);
  ASSERT_EQ(reply1.size(), 40u);
  EXPECT_EQ(chat.pending, reply1.back());  // reply 1's last token, not in the cache yet: turn 2's first row
  const std::vector<int> reply2 = run(chat, b);

  std::vector<int> all = a;
  all.insert(all.end(), reply1.begin(), reply1.end());
  all.insert(all.end(), b.begin(), b.end());
  SessionState fresh = make_session_state(model, session_options(opt), 1);
  EXPECT_EQ(run(fresh, all), reply2);
  EXPECT_EQ(chat.n_past, fresh.n_past);
  EXPECT_EQ(chat.state.kv.length(0), fresh.state.kv.length(0));
}

TEST(ChatSession, TurnTwoContinuesLikeAFreshRunDense) {
  AttentionOptions attn;
  attn.attn = Attention::Dense;
  expect_turn_two_continues_the_conversation(attn);
}

// With LagKV the conversation's cache is compressed on the same schedule whether it grows by turns (prompt chunks,
// decode steps) or in one prefill: turn 2 continues as the fresh run does, and both hold the closed form's entries.
TEST(ChatSession, TurnTwoContinuesLikeAFreshRunLagKv) {
  for (Attention a : {Attention::Dense, Attention::Resa}) {
    AttentionOptions attn = small_resa();
    attn.attn = a;
    attn.prefill = Prefill::LagKv;
    attn.lag_sink = 4;
    attn.lag_size = 16;
    attn.lag_ratio = 0.5;
    expect_turn_two_continues_the_conversation(attn);
  }
}

// The tail reply 1 left sparse is rectified when turn 2 starts: then the whole cache equals a dense prefill of the
// conversation (to float rounding), where before the pass the tail is off by sparse attention's error.
TEST(ChatSession, TurnTwoFirstRectifiesTheTailTurnOneLeftSparse) {
  const Model model = load_model(test::model_path());
  const ModelData& m = model_data(model);
  const GenerateOptions opt = turn_options(small_resa());
  const std::vector<int> a = tokenize(model, "Tom went to the park with his dog.");
  const std::vector<int> b = tokenize(model, "Then they went home and", /*bos=*/false);
  SessionState chat = make_session_state(model, session_options(opt), 1);
  const std::vector<int> reply1 = run(chat, a);
  EXPECT_EQ(chat.sparse_tail, 7);  // 39 fed, passes after #16 and #32

  std::vector<int> all = a;
  all.insert(all.end(), reply1.begin(), reply1.end());
  all.insert(all.end(), b.begin(), b.end());
  RunState dense = make_run_state(m.config, static_cast<int>(all.size()), DType::F32);
  forward(m, dense, all.data(), static_cast<int>(all.size()), 0);
  const int tail0 = chat.n_past - 7;
  EXPECT_GT(kv_gap(chat.state, dense, tail0, chat.n_past), 1e-3f);
  EXPECT_LT(kv_gap(chat.state, dense, 0, tail0), 1e-5f);

  // Turn 2: the pass and the prefill only (reply 1's pending last token, then b).
  const GenerateStats st = run_turn(chat, b, 0, true, nullptr, 1);
  EXPECT_EQ(st.rectify_passes, 1);
  EXPECT_EQ(chat.n_past, static_cast<int>(all.size()));
  EXPECT_LT(kv_gap(chat.state, dense, 0, chat.n_past), 1e-5f);
}

TEST(ChatSession, TurnTwoContinuesLikeAFreshRunResa) { expect_turn_two_continues_the_conversation(small_resa()); }

}  // namespace
}  // namespace resa
