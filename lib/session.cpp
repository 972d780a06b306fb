// Sessions (lib/session.hpp): the generation loop and the public session API of include/resa/resa.hpp.
#include "session.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include <fmt/format.h>

#include "attention/rectifier.hpp"
#include "generate.hpp"
#include "model/load.hpp"
#include "parallel.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

SessionState& state_of(const Session& s) {
  if (!s.state) throw Error("the session was not opened (open_session)");
  return *s.state;
}

// The options' seed, or one from the clock when it is negative.
uint64_t seed_of(const SamplingOptions& o) {
  return o.seed >= 0 ? static_cast<uint64_t>(o.seed)
                     : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
}

// Samples the next token from the logits, records it for the penalty and makes it the pending one.
int sample_next(SessionState& s) {
  const int next = sample(s.sampler, s.state.logits.data());
  accept(s.sampler, next);
  s.pending = next;
  s.pending_is_eos = false;
  return next;
}

// The sampler's penalty window refilled from the sequence's last tokens (after a rewind or a load).
void refill_history(SessionState& s) {
  reset_history(s.sampler);
  for (int i = 0; i < s.n_past; ++i) accept(s.sampler, s.tokens[i]);
  if (s.pending >= 0) accept(s.sampler, s.pending);
}

}  // namespace

SessionOptions session_options(const GenerateOptions& opt) {
  SessionOptions o;
  o.context = opt.context;
  o.kv_type = opt.kv_type;
  o.ignore_eos = opt.ignore_eos;
  o.sampling = opt.sampling;
  o.attention = opt.attention;
  return o;
}

SessionState make_session_state(const Model& model, const SessionOptions& opt, int threads) {
  SessionState s;
  s.model = model;
  s.m = &model_data(model);
  s.opt = opt;
  s.context = context_of(s.m->config, opt.context);
  s.sampler = make_sampler(s.m->config.vocab_size, opt.sampling, seed_of(opt.sampling), s.context);
  s.state = make_run_state(s.m->config, s.context, kv_dtype(opt.kv_type), 0, opt.attention, threads);
  s.tokens.resize(s.context);
  return s;
}

void finish_stats(GenerateStats& stats, const SessionState& s, const AttentionCounters& before) {
  stats.cache_positions = s.n_past;
  stats.kv_tokens = s.state.kv.length(0);
  stats.kv_bytes = static_cast<int64_t>(s.state.kv.bytes_used());
  const AttentionCounters& n = s.state.counters;
  if (n.selections > before.selections) {
    stats.mean_blocks_selected =
        static_cast<double>(n.blocks_selected - before.blocks_selected) / (n.selections - before.selections);
    stats.kv_read_share = (n.bytes_read - before.bytes_read) / (n.bytes_dense - before.bytes_dense);
  }
  stats.rectify_passes = n.rectify_passes - before.rectify_passes;
  stats.rectify_skipped = n.rectify_skipped - before.rectify_skipped;
}

GenerateStats feed_tokens(SessionState& s, const int* ids, int n, int threads) {
  const ModelConfig& c = s.m->config;
  std::vector<int> rows(ids, ids + std::max(n, 0));
  // An empty session (no pending token either) takes a prompt: check_prompt names it against the context.
  check_prompt(c, rows, s.n_past == 0 ? s.context : std::numeric_limits<int>::max());
  if (s.pending >= 0) rows.insert(rows.begin(), s.pending);
  const int total = s.n_past + static_cast<int>(rows.size());
  if (total > s.context)
    throw Error(fmt::format("the conversation is {} tokens, longer than the context of {} tokens (raise -c)", total,
                            s.context));
  set_threads(s.state, c, threads);
  GenerateStats stats;
  const AttentionCounters before = s.state.counters;
  const int f = s.state.policy.rectify_every;
  if (f > 0 && s.sparse_tail > 0) rectify(*s.m, s.state, s.tokens.data(), s.n_past, s.sparse_tail);
  s.sparse_tail = 0;
  for (int i = 0; i < n; ++i) accept(s.sampler, ids[i]);  // a pending token was accepted when it was sampled
  std::copy(rows.begin(), rows.end(), s.tokens.begin() + s.n_past);
  const auto t0 = std::chrono::steady_clock::now();
  forward(*s.m, s.state, rows.data(), static_cast<int>(rows.size()), s.n_past, nullptr, /*as_prompt=*/true);
  stats.prompt_seconds = seconds_since(t0);
  stats.prompt_tokens = static_cast<int>(rows.size());
  s.n_past = total;
  s.pending = -1;
  s.pending_is_eos = false;
  s.has_logits = true;
  finish_stats(stats, s, before);
  return stats;
}

bool flush_pending(SessionState& s, int threads) {
  if (s.pending < 0) return true;
  if (s.n_past >= s.context) return false;
  set_threads(s.state, s.m->config, threads);
  const int f = s.state.policy.rectify_every;
  if (f > 0 && s.sparse_tail >= f) {  // generated token #c, c % f == 0: #(c-f) .. #(c-1) are rectified first
    rectify(*s.m, s.state, s.tokens.data(), s.n_past, f);
    s.sparse_tail -= f;
  }
  s.tokens[s.n_past] = s.pending;
  forward_token(*s.m, s.state, s.pending, s.n_past);
  ++s.n_past;
  s.pending = -1;
  s.pending_is_eos = false;
  s.has_logits = true;
  if (s.state.attn.attn != Attention::Dense) ++s.sparse_tail;
  return true;
}

GenerateStats generate_tokens(SessionState& s, int n_predict, bool ignore_eos,
                              const std::function<bool(int prev, int next)>& on_next, int threads) {
  if (n_predict < 0) throw Error(fmt::format("the number of tokens to generate must be >= 0, got {}", n_predict));
  if (!s.has_logits) throw Error("the session holds no tokens: feed it a prompt first");
  const ModelConfig& c = s.m->config;
  GenerateStats stats;
  const AttentionCounters before = s.state.counters;
  const auto t0 = std::chrono::steady_clock::now();
  while (stats.generated_tokens < n_predict) {
    if (!flush_pending(s, threads)) break;  // the context is full
    const int prev = s.tokens[s.n_past - 1];
    const int next = sample_next(s);
    if (!ignore_eos && c.is_eos(next)) {
      s.pending_is_eos = true;
      break;
    }
    ++stats.generated_tokens;
    if (on_next && !on_next(prev, next)) break;
  }
  stats.generate_seconds = seconds_since(t0);
  finish_stats(stats, s, before);
  return stats;
}

GenerateStats run_turn(SessionState& s, const std::vector<int>& ids, int n_predict, bool ignore_eos,
                       const std::function<void(int prev, int next)>& on_next, int threads) {
  const AttentionCounters before = s.state.counters;
  const GenerateStats prompt = feed_tokens(s, ids.data(), static_cast<int>(ids.size()), threads);
  GenerateStats stats = generate_tokens(
      s, n_predict, ignore_eos,
      [&](int prev, int next) {
        if (on_next) on_next(prev, next);
        return true;
      },
      threads);
  stats.prompt_tokens = prompt.prompt_tokens;
  stats.prompt_seconds = prompt.prompt_seconds;
  finish_stats(stats, s, before);
  return stats;
}

// ---- The public API ----------------------------------------------------------------------------------------------------

int default_threads() { return resolve_threads(0); }

Session open_session(const Model& model, const SessionOptions& opt, const RunContext& ctx) {
  return Session{std::make_shared<SessionState>(make_session_state(model, opt, ctx.threads))};
}

GenerateStats feed(Session& session, const std::vector<int>& tokens, const RunContext& ctx) {
  return feed_tokens(state_of(session), tokens.data(), static_cast<int>(tokens.size()), ctx.threads);
}

int step(Session& session, const RunContext& ctx) {
  SessionState& s = state_of(session);
  if (!s.has_logits) throw Error("the session holds no tokens: feed it a prompt first");
  if (!flush_pending(s, ctx.threads))
    throw Error(fmt::format("the session's context of {} positions is full", s.context));
  const int next = sample_next(s);
  s.pending_is_eos = s.m->config.is_eos(next);
  return next;
}

const std::vector<float>& logits(Session& session, const RunContext& ctx) {
  SessionState& s = state_of(session);
  if (!s.has_logits) throw Error("the session holds no tokens: feed it a prompt first");
  if (!flush_pending(s, ctx.threads))
    throw Error(fmt::format("the session's context of {} positions is full: its last token has no logits", s.context));
  return s.state.logits;
}

GenerateStats generate(Session& session, int n_predict, const std::function<bool(int, std::string_view)>& on_token,
                       const RunContext& ctx) {
  SessionState& s = state_of(session);
  const Tokenizer* tok = s.m->tokenizer ? &*s.m->tokenizer : nullptr;
  Utf8Stream text;
  GenerateStats stats = generate_tokens(
      s, n_predict, s.opt.ignore_eos,
      [&](int prev, int next) {
        const std::string piece = tok ? text.push(printed_bytes(*tok, prev, next)) : std::string();
        return on_token ? on_token(next, piece) : true;
      },
      ctx.threads);
  return stats;
}

std::vector<int> session_tokens(const Session& session) {
  const SessionState& s = state_of(session);
  std::vector<int> t(s.tokens.begin(), s.tokens.begin() + s.n_past);
  if (s.pending >= 0) t.push_back(s.pending);
  return t;
}

void reset(Session& session) {
  SessionState& s = state_of(session);
  s.state.kv.clear();
  std::fill(s.state.sparse_encoded.begin(), s.state.sparse_encoded.end(), 0);
  s.n_past = 0;
  s.pending = -1;
  s.pending_is_eos = false;
  s.sparse_tail = 0;
  s.has_logits = false;
  reset_history(s.sampler);
}

void rewind(Session& session, int n, const RunContext& ctx) {
  SessionState& s = state_of(session);
  const int length = sequence_length(s);
  if (n < 0 || n > length)
    throw Error(fmt::format("cannot rewind {} tokens: the session holds {}", n, length));
  if (n == 0) return;
  if (n == length) return reset(session);
  const int keep = length - n;  // >= 1
  if (keep == s.n_past) {       // only the pending token goes
    s.pending = -1;
    s.pending_is_eos = false;
    return refill_history(s);
  }
  // The last kept token runs again, densely as a prompt's token, at its position: its logits back, every entry after
  // it dropped (forward() refuses a position LagKV compressed before anything changes). The sparse tail keeps the
  // positions it had before the rewind point.
  set_threads(s.state, s.m->config, ctx.threads);
  const int dropped_cached = s.n_past - keep;
  forward(*s.m, s.state, &s.tokens[keep - 1], 1, keep - 1, nullptr, /*as_prompt=*/true);
  s.pending = -1;
  s.pending_is_eos = false;
  s.n_past = keep;
  s.sparse_tail = std::max(0, s.sparse_tail - dropped_cached);
  s.has_logits = true;
  refill_history(s);
}

GenerateStats set_prompt(Session& session, const std::vector<int>& tokens, const RunContext& ctx) {
  SessionState& s = state_of(session);
  if (tokens.empty()) throw Error("the prompt is empty: give at least one token");
  const std::vector<int> held = session_tokens(session);
  size_t keep = 0;
  while (keep < std::min(held.size(), tokens.size()) && held[keep] == tokens[keep]) ++keep;
  if (keep == 0) {
    reset(session);
  } else {
    try {
      rewind(session, static_cast<int>(held.size() - keep), ctx);
    } catch (const Error&) {  // LagKV compressed the point to cut at
      reset(session);
      keep = 0;
    }
  }
  GenerateStats stats;
  if (keep < tokens.size())
    stats = feed_tokens(s, tokens.data() + keep, static_cast<int>(tokens.size() - keep), ctx.threads);
  else
    finish_stats(stats, s, s.state.counters);
  stats.reused_tokens = static_cast<int>(keep);
  return stats;
}

void set_sampling(Session& session, const SamplingOptions& sampling) {
  SessionState& s = state_of(session);
  s.sampler = make_sampler(s.m->config.vocab_size, sampling, seed_of(sampling), s.context);
  s.opt.sampling = sampling;
  refill_history(s);
}

void set_attention(Session& session, const AttentionOptions& o) {
  SessionState& s = state_of(session);
  set_decode_policy(s.state, s.m->config, o);
  s.opt.attention = s.state.attn;
}

void save_session(Session& session, const std::string& path) { save_state(state_of(session), path); }

void load_session(Session& session, const std::string& path) {
  SessionState& s = state_of(session);
  try {
    load_state(s, path);  // refuses a file of another model or layout before it changes anything
  } catch (const Error&) {
    if (s.n_past == 0) reset(session);  // refused midway (truncated, corrupt): an empty session, not a half-read one
    throw;
  }
  refill_history(s);
}

}  // namespace resa
