// The session API (include/resa/resa.hpp, lib/session.cpp, lib/session_file.cpp) through the public header only:
// generation against the independent Python reference's greedy ids, the callback's stop, rewind, reset, save/load
// round trips (the logits and the continuation identical to the session never saved), refused files, and sessions
// over one model on several threads at once.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "expect_error.hpp"
#include "resa/resa.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

std::vector<int> pyref_ids() {
  std::istringstream in(test::read_file(test::data_path("stories260K_greedy_n256_noprompt.ids_pyref.txt")));
  std::vector<int> ids;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "ids")
      for (int id; fields >> id;) ids.push_back(id);
  }
  return ids;
}

SessionOptions greedy_f32(Attention a = Attention::Dense) {
  SessionOptions o;
  o.kv_type = KvType::F32;
  o.sampling.temperature = 0;
  o.ignore_eos = true;
  o.attention.attn = a;
  return o;
}

// Sparse from 16 tokens on (blocks of 4, 4 kept), rectified every 8: every mechanism of the policy runs.
SessionOptions small_resa(float temperature = 0) {
  SessionOptions o = greedy_f32(Attention::Resa);
  o.sampling.temperature = temperature;
  o.sampling.seed = 42;
  o.attention.block_size = 4;
  o.attention.min_blocks = 4;
  o.attention.sparse_ratio = 0.25;
  o.attention.rectify_every = 8;
  return o;
}

std::vector<int> run(Session& s, int n, const RunContext& ctx = {}) {
  std::vector<int> out;
  generate(s, n, [&](int id, std::string_view) { out.push_back(id); return true; }, ctx);
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

TEST(Session, GreedyGenerationEqualsThePythonReference) {
  const std::vector<int> ref = pyref_ids();  // BOS, then 256 greedy tokens
  ASSERT_EQ(ref.size(), 257u);
  const Model model = load_model(test::model_path());
  Session s = open_session(model, greedy_f32());
  feed(s, {ref[0]});
  std::vector<int> got = {ref[0]};
  const std::vector<int> gen = run(s, 256, {1});
  got.insert(got.end(), gen.begin(), gen.end());
  EXPECT_EQ(got, ref);
  EXPECT_EQ(session_tokens(s), ref);
}

TEST(Session, StepAppendsTheArgmaxOfTheLogits) {
  const Model model = load_model(test::model_path());
  Session s = open_session(model, greedy_f32());
  feed(s, tokenize(model, "Once upon a time"));
  for (int i = 0; i < 5; ++i) {
    const std::vector<float>& l = logits(s);
    const int best = static_cast<int>(std::max_element(l.begin(), l.end()) - l.begin());
    EXPECT_EQ(step(s), best);
    EXPECT_EQ(session_tokens(s).back(), best);
  }
}

TEST(Session, CallbackReturningFalseStops) {
  const Model model = load_model(test::model_path());
  Session s = open_session(model, greedy_f32());
  const std::vector<int> prompt = tokenize(model, "Once upon a time");
  feed(s, prompt);
  int calls = 0;
  const GenerateStats st = generate(s, 100, [&](int, std::string_view) { return ++calls < 5; });
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(st.generated_tokens, 5);
  EXPECT_EQ(session_tokens(s).size(), prompt.size() + 5);
}

TEST(Session, GenerationGoesOnAcrossCallsAsInOne) {
  const Model model = load_model(test::model_path());
  const std::vector<int> prompt = tokenize(model, "Tom and Sue went to the beach");
  Session one = open_session(model, small_resa(0.8f)), two = open_session(model, small_resa(0.8f));
  feed(one, prompt);
  feed(two, prompt);
  const std::vector<int> all = run(one, 60, {1});
  std::vector<int> parts = run(two, 17, {1});
  for (int n : {1, 30, 12}) {
    const std::vector<int> more = run(two, n, {1});
    parts.insert(parts.end(), more.begin(), more.end());
  }
  EXPECT_EQ(parts, all);
}

TEST(Session, ThreadsPerCallGiveTheSameTokens) {
  const Model model = load_model(test::model_path());
  const std::vector<int> prompt = tokenize(model, "Tom and Sue went to the beach");
  Session a = open_session(model, small_resa()), b = open_session(model, small_resa());
  feed(a, prompt, {1});
  feed(b, prompt, {2});
  EXPECT_EQ(run(a, 80, {1}), run(b, 80, {2}));
}

// Rewinding n tokens leaves what a session that never had them holds: the same tokens, the same logits (within float
// rounding: ReSA's rectified entries against a prefill's), the same continuation. The last kept token is re-run as a
// decode step, so the fresh session feeds it alone (one row: a decode step too).
TEST(Session, RewindDropsTheLastTokens) {
  const Model model = load_model(test::model_path());
  const std::vector<int> prompt = tokenize(model, "Tom and Sue went to the beach");
  for (Attention a : {Attention::Dense, Attention::Resa}) {
    SessionOptions o = a == Attention::Dense ? greedy_f32() : small_resa();
    Session s = open_session(model, o);
    feed(s, prompt);
    const std::vector<int> gen = run(s, 40);
    rewind(s, 25);
    std::vector<int> kept = prompt;
    kept.insert(kept.end(), gen.begin(), gen.end() - 25);
    EXPECT_EQ(session_tokens(s), kept);
    Session fresh = open_session(model, o);
    feed(fresh, std::vector<int>(kept.begin(), kept.end() - 1));
    feed(fresh, {kept.back()});
    EXPECT_LT(max_abs_diff(logits(s), logits(fresh)), 1e-3f) << attention_name(a);
    // The continuation after the rewind is the greedy one.
    EXPECT_EQ(run(s, 10), run(fresh, 10)) << attention_name(a);
  }
  Session s = open_session(model, greedy_f32());
  feed(s, prompt);
  test::expect_error([&] { rewind(s, static_cast<int>(prompt.size()) + 1); }, "cannot rewind");
  rewind(s, static_cast<int>(prompt.size()));
  EXPECT_TRUE(session_tokens(s).empty());
  test::expect_error([&] { step(s); }, "holds no tokens");
}

TEST(Session, ResetStartsOver) {
  const Model model = load_model(test::model_path());
  const std::vector<int> prompt = tokenize(model, "Tom and Sue went to the beach");
  Session s = open_session(model, greedy_f32());
  feed(s, tokenize(model, "Once upon a time there was a dog"));
  run(s, 20);
  reset(s);
  feed(s, prompt);
  Session fresh = open_session(model, greedy_f32());
  feed(fresh, prompt);
  EXPECT_EQ(logits(s), logits(fresh));
}

// Save, load into a new session: the logits are bit for bit those of the session never saved, and so is the sampled
// continuation (the sampler's state travels too), under ReSA with its rectify schedule mid-way.
TEST(Session, SaveLoadRoundTrip) {
  const Model model = load_model(test::model_path());
  test::TempDir dir;
  const std::string file = dir.file("story.session");
  for (KvType kv : {KvType::F32, KvType::BF16}) {
    SessionOptions o = small_resa(0.8f);
    o.kv_type = kv;
    Session a = open_session(model, o);
    feed(a, tokenize(model, "Tom and Sue went to the beach"), {1});
    run(a, 45, {1});  // 45 sampled: the last pending, 4 sparse tokens since the pass after #40
    save_session(a, file);
    Session b = open_session(model, o);
    feed(b, tokenize(model, "Something else entirely"), {1});
    load_session(b, file);
    EXPECT_EQ(session_tokens(b), session_tokens(a));
    EXPECT_EQ(logits(b, {1}), logits(a, {1}));
    const GenerateStats sa = generate(a, 30, nullptr, {1});
    const GenerateStats sb = generate(b, 30, nullptr, {1});
    EXPECT_EQ(session_tokens(b), session_tokens(a));
    EXPECT_EQ(logits(b, {1}), logits(a, {1}));
    EXPECT_EQ(sb.rectify_passes, sa.rectify_passes);
    EXPECT_GT(sa.rectify_passes, 0);
  }
}

// LagKV's compressed cache travels whole: the continuation equals the session never saved.
TEST(Session, SaveLoadKeepsLagKvCompression) {
  const Model model = load_model(test::model_path());
  test::TempDir dir;
  SessionOptions o = small_resa();
  o.attention.prefill = Prefill::LagKv;
  o.attention.lag_sink = 4;
  o.attention.lag_size = 16;
  o.attention.lag_ratio = 0.5;
  Session a = open_session(model, o);
  feed(a, tokenize(model, "Tom and Sue went to the beach"));
  run(a, 100);
  save_session(a, dir.file("lag.session"));
  Session b = open_session(model, o);
  load_session(b, dir.file("lag.session"));
  EXPECT_EQ(run(b, 40), run(a, 40));
  test::expect_error([&] { rewind(b, 100); }, "compressed by LagKV");
}

TEST(Session, LoadRefusesWhatDoesNotMatch) {
  const Model model = load_model(test::model_path());
  test::TempDir dir;
  const std::string file = dir.file("s.session");
  Session a = open_session(model, greedy_f32());
  feed(a, tokenize(model, "Tom and Sue went to the beach"));
  run(a, 10);
  save_session(a, file);

  const Model other = load_model(test::data_path("hf/tiny-qwen2-f32"));
  Session b = open_session(other, greedy_f32());
  test::expect_error([&] { load_session(b, file); }, "was saved with another model");
  LoadOptions q8;
  q8.type = WeightType::Q8_0;
  Session c = open_session(load_model(test::model_path(), "", q8), greedy_f32());
  test::expect_error([&] { load_session(c, file); }, "was saved with another model");
  SessionOptions bf16 = greedy_f32();
  bf16.kv_type = KvType::BF16;
  Session d = open_session(model, bf16);
  test::expect_error([&] { load_session(d, file); }, "holds a KV cache f32 with blocks of 16, prefill dense; this "
                                                      "session has a KV cache bf16");
  SessionOptions small = greedy_f32();
  small.context = 8;
  Session e = open_session(model, small);
  test::expect_error([&] { load_session(e, file); }, "more than this session's context of 8");

  const std::string bytes = test::read_file(file);
  test::write_file(dir.file("truncated"), bytes.substr(0, bytes.size() - 100));
  std::string versioned = bytes;
  versioned[8] = 9;
  test::write_file(dir.file("v9"), versioned);
  Session f = open_session(model, greedy_f32());
  feed(f, {1, 2, 3});
  test::expect_error([&] { load_session(f, dir.file("v9")); }, "format version");  // refused before any change
  EXPECT_EQ(session_tokens(f), std::vector<int>({1, 2, 3}));
  test::expect_error([&] { load_session(f, dir.file("truncated")); }, "is truncated");
  EXPECT_TRUE(session_tokens(f).empty());  // refused midway: an empty session, not a half-read one
  test::expect_error([&] { logits(f); }, "holds no tokens");
  test::expect_error([&] { load_session(f, dir.file("v9")); }, "format version 9");
  test::write_file(dir.file("text"), "hello, not a session");
  test::expect_error([&] { load_session(f, dir.file("text")); }, "is not a resa session file");
  test::expect_error([&] { load_session(f, dir.file("missing")); }, "cannot open the session file");
  test::expect_error([&] { save_session(a, "/nonexistent/dir/x.session"); }, "cannot write the session file");
}

// One model, four sessions on four threads at once, each on its own RunContext (OpenMP teams of `team` threads; 0:
// one and two alternately): each continues exactly as the same session run alone does.
void expect_sessions_on_several_threads_at_once(int team) {
  const Model model = load_model(test::model_path());
  const std::vector<std::string> prompts = {"Tom and Sue went to the beach", "Once upon a time", "The cat sat",
                                            "Lily had a red ball"};
  std::vector<std::vector<int>> alone(prompts.size()), together(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    Session s = open_session(model, small_resa(0.8f), {1});
    feed(s, tokenize(model, prompts[i]), {1});
    alone[i] = run(s, 120, {1});
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prompts.size(); ++i)
    threads.emplace_back([&, i] {
      const RunContext ctx{team > 0 ? team : i % 2 == 0 ? 1 : 2};
      Session s = open_session(model, small_resa(0.8f), ctx);
      feed(s, tokenize(model, prompts[i]), ctx);
      together[i] = run(s, 120, ctx);
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(together, alone);
}

TEST(Session, SessionsOnSeveralThreadsAtOnce) { expect_sessions_on_several_threads_at_once(0); }

// The same with one OpenMP thread per session: the run ThreadSanitizer checks (scripts/sanitize.sh tsan), since it
// cannot see libgomp's barriers inside a session's own teams.
TEST(Session, SessionsOnSeveralThreadsAtOnceOneOpenMpThreadEach) { expect_sessions_on_several_threads_at_once(1); }

TEST(Session, BadCallsAreErrors) {
  const Model model = load_model(test::model_path());
  Session s = open_session(model, greedy_f32());
  test::expect_error([&] { feed(s, {}); }, "give at least one token");
  test::expect_error([&] { feed(s, {1, 100000}); }, "outside the vocabulary");
  test::expect_error([&] { logits(s); }, "holds no tokens");
  test::expect_error([&] { feed(s, {1}, {-2}); }, "threads must be >= 0");
  SessionOptions tiny = greedy_f32();
  tiny.context = 4;
  Session t = open_session(model, tiny);
  test::expect_error([&] { feed(t, {1, 2, 3, 4, 5}); }, "the prompt is 5 tokens, longer than the context of 4");
  feed(t, {1, 2});
  EXPECT_EQ(run(t, 10).size(), 3u);  // two positions left: two fed, the third sampled and pending
  test::expect_error([&] { step(t); }, "context of 4 positions is full");
  Session none;
  test::expect_error([&] { feed(none, {1}); }, "was not opened");
}


// set_prompt keeps the longest prefix held and feeds the rest: the logits are those of a session fed the whole prompt.
TEST(Session, SetPromptReusesTheSharedPrefix) {
  const Model model = load_model(test::model_path());
  const std::vector<int> a = tokenize(model, "Tom and Sue went to the beach");
  Session s = open_session(model, greedy_f32());
  feed(s, a);
  const std::vector<int> gen = run(s, 20);
  std::vector<int> next = a;  // the conversation so far, 12 of the reply's tokens, then something new
  next.insert(next.end(), gen.begin(), gen.begin() + 12);
  const std::vector<int> more = tokenize(model, " and a dog", false);
  next.insert(next.end(), more.begin(), more.end());
  const GenerateStats st = set_prompt(s, next);
  EXPECT_EQ(st.reused_tokens, static_cast<int>(a.size()) + 12);
  EXPECT_EQ(st.prompt_tokens, static_cast<int>(more.size()));
  EXPECT_EQ(session_tokens(s), next);
  Session fresh = open_session(model, greedy_f32());
  feed(fresh, next);
  EXPECT_LT(max_abs_diff(logits(s), logits(fresh)), 1e-4f);
  EXPECT_EQ(set_prompt(s, next).reused_tokens, static_cast<int>(next.size()));  // all of it: nothing fed
  EXPECT_EQ(set_prompt(s, more).reused_tokens, 0);                              // nothing shared: starts over
  EXPECT_EQ(session_tokens(s), more);
}

TEST(Session, SetAttentionSwitchesTheDecodePolicy) {
  const Model model = load_model(test::model_path());
  SessionOptions dense = greedy_f32();  // dense: no sparse scratch yet
  dense.attention.block_size = 4;
  Session s = open_session(model, dense);
  feed(s, tokenize(model, "Tom and Sue went to the beach. They played in the sand all day"));
  AttentionOptions o = small_resa().attention;
  set_attention(s, o);
  const GenerateStats st = generate(s, 40, nullptr);
  EXPECT_GT(st.rectify_passes, 0);
  EXPECT_LT(st.kv_read_share, 1.0);
  o.block_size = 8;
  test::expect_error([&] { set_attention(s, o); }, "--block-size 8 differs from the session's 4");
  o.block_size = 4;
  o.sparse_ratio = 0;
  test::expect_error([&] { set_attention(s, o); }, "--sparse-ratio");
}

TEST(Session, SetSamplingReseeds) {
  const Model model = load_model(test::model_path());
  Session s = open_session(model, small_resa(1.0f));
  feed(s, tokenize(model, "Once upon a time"));
  SamplingOptions sampling;
  sampling.temperature = 1.0f;
  sampling.seed = 7;
  set_sampling(s, sampling);
  const std::vector<int> first = run(s, 30);
  rewind(s, 30);
  set_sampling(s, sampling);
  EXPECT_EQ(run(s, 30), first);
}

}  // namespace
}  // namespace resa
