// The public API's generation side (include/resa/resa.hpp): tokenize/detokenize, the generation loop shared by the
// CLI and applications, and prompt logits. Loading and describing a model: lib/model/load.cpp.
#include <algorithm>
#include <chrono>
#include <limits>

#include <fmt/format.h>
#include <omp.h>

#include "attention/rectifier.hpp"
#include "forward.hpp"
#include "generate.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

void use_threads(int threads) {
  if (threads < 0) throw Error(fmt::format("the number of threads must be >= 0, got {}", threads));
  if (threads > 0) omp_set_num_threads(threads);  // 0: OpenMP's default (OMP_NUM_THREADS, else every core)
}

DType kv_dtype(KvType t) { return t == KvType::F32 ? DType::F32 : DType::BF16; }

void check_prompt(const ModelConfig& c, const std::vector<int>& ids, int context) {
  if (ids.empty()) throw Error("the prompt is empty: give at least one token");
  for (int id : ids)
    if (id < 0 || id >= c.vocab_size)
      throw Error(fmt::format("prompt token id {} is outside the vocabulary [0, {})", id, c.vocab_size));
  if (static_cast<int>(ids.size()) > context)
    throw Error(fmt::format("the prompt is {} tokens, longer than the context of {} tokens", ids.size(), context));
}

int context_of(const ModelConfig& c, const GenerateOptions& opt) {
  if (opt.n_predict < 0)
    throw Error(fmt::format("the number of tokens to generate must be >= 0, got {}", opt.n_predict));
  if (opt.context < 0 || opt.context > c.max_seq_len)
    throw Error(fmt::format("the context must be between 1 and the model's maximum of {} positions, got {}",
                            c.max_seq_len, opt.context));
  return opt.context > 0 ? opt.context : default_context(c);
}

const Tokenizer& tokenizer_of(const ModelData& m) {
  if (!m.tokenizer)
    throw Error(fmt::format("'{}' has no tokenizer (tokenizer.json, tokenizer.model or tokenizer.bin): give token "
                            "ids with --prompt-ids (generate_ids() in the API) or a tokenizer with --tokenizer",
                            m.path));
  return *m.tokenizer;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Session make_session(const ModelData& m, const GenerateOptions& opt) {
  Session s;
  s.model = &m;
  s.opt = opt;
  s.context = context_of(m.config, opt);
  use_threads(opt.threads);
  const uint64_t seed =
      opt.sampling.seed >= 0 ? static_cast<uint64_t>(opt.sampling.seed)
                             : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  s.sampler = make_sampler(m.config.vocab_size, opt.sampling, seed, s.context);
  s.state = make_run_state(m.config, s.context, kv_dtype(opt.kv_type), 0, opt.attention);
  s.tokens.resize(s.context);
  return s;
}

// Prefill the new ids in one batch, then sample, report and feed back each new token until n_predict tokens, an
// end-of-text token (unless ignored) or the end of the context.
GenerateStats run_turn(Session& s, const std::vector<int>& ids, const std::function<void(int prev, int next)>& on_next) {
  const ModelData& m = *s.model;
  const ModelConfig& c = m.config;
  check_prompt(c, ids, s.n_past == 0 ? s.context : std::numeric_limits<int>::max());
  if (s.n_past + static_cast<int>(ids.size()) > s.context)
    throw Error(fmt::format("the conversation is {} tokens, longer than the context of {} tokens (raise -c)",
                            s.n_past + ids.size(), s.context));
  use_threads(s.opt.threads);
  for (int id : ids) accept(s.sampler, id);
  std::copy(ids.begin(), ids.end(), s.tokens.begin() + s.n_past);
  const int f = s.state.policy.rectify_every;
  const AttentionCounters before = s.state.counters;
  if (f > 0 && s.sparse_tail > 0) rectify(m, s.state, s.tokens.data(), s.n_past, s.sparse_tail);
  s.sparse_tail = 0;

  GenerateStats stats;
  stats.prompt_tokens = static_cast<int>(ids.size());
  auto t0 = std::chrono::steady_clock::now();
  const float* logits = forward(m, s.state, ids.data(), static_cast<int>(ids.size()), s.n_past);
  stats.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  int token = ids.back();
  int pos = s.n_past + static_cast<int>(ids.size()) - 1;  // the position whose logits we hold
  s.pending = -1;
  s.pending_is_eos = false;
  while (stats.generated_tokens < s.opt.n_predict) {
    const int next = sample(s.sampler, logits);
    s.pending = next;
    if (!s.opt.ignore_eos && c.is_eos(next)) {
      s.pending_is_eos = true;
      break;
    }
    const int number = stats.generated_tokens++;  // next is generated token #number of this turn (SPEC §2.5)
    accept(s.sampler, next);
    if (on_next) on_next(token, next);
    token = next;
    if (stats.generated_tokens == s.opt.n_predict || pos + 1 >= s.context) break;
    s.tokens[++pos] = token;
    s.pending = -1;
    if (rectify_due(number, f)) {
      rectify(m, s.state, s.tokens.data(), pos, f);
      s.sparse_tail -= f;
    }
    logits = forward_token(m, s.state, token, pos);
    if (s.opt.attention.attn != Attention::Dense) ++s.sparse_tail;
  }
  s.n_past = pos + 1;
  stats.cache_positions = s.n_past;
  stats.kv_tokens = s.state.kv.length(0);
  stats.kv_bytes = static_cast<int64_t>(s.state.kv.bytes_used());
  stats.generate_seconds = seconds_since(t0);
  const AttentionCounters& n = s.state.counters;
  if (n.selections > before.selections) {
    stats.mean_blocks_selected =
        static_cast<double>(n.blocks_selected - before.blocks_selected) / (n.selections - before.selections);
    stats.kv_read_share = (n.bytes_read - before.bytes_read) / (n.bytes_dense - before.bytes_dense);
  }
  stats.rectify_passes = n.rectify_passes - before.rectify_passes;
  stats.rectify_skipped = n.rectify_skipped - before.rectify_skipped;
  return stats;
}

namespace {

GenerateStats run_generation(const ModelData& m, const std::vector<int>& ids, const GenerateOptions& opt,
                             const std::function<void(int prev, int next)>& on_next) {
  check_prompt(m.config, ids, context_of(m.config, opt));
  Session s = make_session(m, opt);
  return run_turn(s, ids, on_next);
}

}  // namespace

std::vector<int> tokenize(const Model& model, std::string_view text, bool bos) {
  const Tokenizer& tok = tokenizer_of(model_data(model));
  return encode(tok, text, bos && tok.add_bos);
}

std::string detokenize(const Model& model, int prev_token, int token) {
  const ModelData& m = model_data(model);
  if (token < 0 || token >= m.config.vocab_size)
    throw Error(fmt::format("token id {} is outside the vocabulary [0, {})", token, m.config.vocab_size));
  const Tokenizer& tok = tokenizer_of(m);
  return token < tok.vocab_size() ? std::string(token_bytes(tok, prev_token, token)) : std::string();
}

// The bytes a generated token prints: its text, except the single unprintable bytes llama2.c's run.c drops
// (llama2.c tokenizers only, so its goldens hold) and the ids beyond the tokenizer (padding rows of the embedding).
std::string_view printed_bytes(const Tokenizer& tok, int prev, int token) {
  if (token >= tok.vocab_size()) return {};
  const std::string_view piece = token_bytes(tok, prev, token);
  if (tok.kind == TokenizerKind::Llama2c && !is_printable_piece(piece)) return {};
  return piece;
}

GenerateStats generate(const Model& model, std::string_view prompt, const GenerateOptions& opt,
                       const std::function<void(std::string_view)>& on_text) {
  const ModelData& m = model_data(model);
  const Tokenizer& tok = tokenizer_of(m);
  require_utf8(prompt, "the prompt");
  const std::vector<int> ids = encode(tok, prompt, tok.add_bos);
  check_prompt(m.config, ids, context_of(m.config, opt));  // errors before the prompt is echoed

  Utf8Stream text;
  auto emit = [&](int prev, int token) {
    std::string complete = text.push(printed_bytes(tok, prev, token));
    if (!complete.empty() && on_text) on_text(complete);
  };
  // Echo the prompt (as run.c does), BOS aside.
  for (size_t i = 0; i < ids.size(); ++i)
    if (i > 0 || ids[0] != tok.bos_id) emit(i > 0 ? ids[i - 1] : -1, ids[i]);
  GenerateStats stats = run_generation(m, ids, opt, emit);
  if (std::string rest = text.finish(); !rest.empty() && on_text) on_text(rest);
  return stats;
}

GenerateStats generate_ids(const Model& model, const std::vector<int>& prompt, const GenerateOptions& opt,
                           const std::function<void(int, std::string_view)>& on_token) {
  const ModelData& m = model_data(model);
  Utf8Stream text;
  GenerateStats stats = run_generation(m, prompt, opt, [&](int prev, int next) {
    const std::string piece = m.tokenizer ? text.push(printed_bytes(*m.tokenizer, prev, next)) : std::string();
    if (on_token) on_token(next, piece);
  });
  return stats;
}

std::vector<float> prompt_logits(const Model& model, const std::vector<int>& ids, KvType kv_type, int threads) {
  const ModelData& m = model_data(model);
  const int n = static_cast<int>(ids.size());
  if (n > m.config.max_seq_len)
    throw Error(fmt::format("the prompt is {} tokens, longer than the model's maximum of {} positions", n,
                            m.config.max_seq_len));
  check_prompt(m.config, ids, n);
  use_threads(threads);
  RunState state = make_run_state(m.config, n, kv_dtype(kv_type));
  std::vector<float> logits(static_cast<size_t>(n) * m.config.vocab_size);
  forward(m, state, ids.data(), n, 0, logits.data());
  return logits;
}

}  // namespace resa
