// A session (include/resa/resa.hpp): one sequence's tokens, KV cache, scratch and sampler over a shared model, and
// the generation loop every entry point runs on — generate() and chat() of the public API, the tool's generate and
// chat, the session API itself.
//
// The loop, per token: the token sampled last ("pending": in the sequence, not yet in the cache) goes through a
// decode step first — under Attention::Resa after the rectify pass when f tokens have been decoded sparsely since the
// last one (SPEC §2.5: generated token #c with c % f == 0 triggers the pass over #(c-f) .. #(c-1) before it is fed)
// — then the next token is sampled from its logits and becomes pending. A prefill (feed) takes the pending token as
// its first row and first rectifies what decode steps left sparse (a chat turn's reply shorter than f).
#pragma once

#include <functional>
#include <vector>

#include "forward.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"

namespace resa {

struct SessionState {
  Model model;  // keeps the weights alive
  const ModelData* m = nullptr;
  SessionOptions opt;
  int context = 0;
  RunState state;
  Sampler sampler;
  std::vector<int> tokens;  // [context] by position: the tokens the cache holds, [0, n_past)
  int n_past = 0;           // positions in the cache
  int pending = -1;         // the last token sampled, in the sequence but not in the cache yet; -1: none
  bool pending_is_eos = false;
  int sparse_tail = 0;      // the last positions encoded by sparse decode steps and not rectified yet
  bool has_logits = false;  // state.logits are position n_past - 1's
};

SessionState make_session_state(const Model& model, const SessionOptions& opt, int threads);

// Tokens in the sequence (the cache's and the pending one).
inline int sequence_length(const SessionState& s) { return s.n_past + (s.pending >= 0 ? 1 : 0); }

// Appends ids (after the pending token) and prefills them; stats.prompt_tokens counts the rows run, the pending
// token's included.
GenerateStats feed_tokens(SessionState& s, const int* ids, int n, int threads);

// Puts the pending token through a decode step (rectifying first when due). Returns false, doing nothing, when the
// context is full.
bool flush_pending(SessionState& s, int threads);

// Up to n_predict tokens: each sampled, then on_next(prev, next) — false stops. Stops at an end-of-text token
// (pending afterwards, pending_is_eos set) unless ignore_eos, or when the context is full. The stats count the
// tokens generated and the decode time; the cache fields are filled.
GenerateStats generate_tokens(SessionState& s, int n_predict, bool ignore_eos,
                              const std::function<bool(int prev, int next)>& on_next, int threads);

// stats' attention counters (blocks selected, K/V read share, rectify passes) since `before`, and its cache fields.
void finish_stats(GenerateStats& stats, const SessionState& s, const AttentionCounters& before);

// A turn of a conversation or a whole generation: feed_tokens(ids), then generate_tokens; prompt_* from the feed.
GenerateStats run_turn(SessionState& s, const std::vector<int>& ids, int n_predict, bool ignore_eos,
                       const std::function<void(int prev, int next)>& on_next, int threads);

// The session's file (lib/session_file.cpp).
void save_state(const SessionState& s, const std::string& path);
void load_state(SessionState& s, const std::string& path);

}  // namespace resa
