// The public API's generation side (include/resa/resa.hpp): tokenize/detokenize, the generation loop shared by the
// CLI and applications, and prompt logits. Loading and describing a model: lib/model/load.cpp.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "forward.hpp"
#include "generate.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "session.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

DType kv_dtype(KvType t) { return t == KvType::F32 ? DType::F32 : DType::BF16; }

void check_prompt(const ModelConfig& c, const std::vector<int>& ids, int context) {
  if (ids.empty()) throw Error("the prompt is empty: give at least one token");
  for (int id : ids)
    if (id < 0 || id >= c.vocab_size)
      throw Error(fmt::format("prompt token id {} is outside the vocabulary [0, {})", id, c.vocab_size));
  if (static_cast<int>(ids.size()) > context)
    throw Error(fmt::format("the prompt is {} tokens, longer than the context of {} tokens", ids.size(), context));
}

int context_of(const ModelConfig& c, int context) {
  if (context < 0 || context > c.max_seq_len)
    throw Error(fmt::format("the context must be between 1 and the model's maximum of {} positions, got {}",
                            c.max_seq_len, context));
  return context > 0 ? context : default_context(c);
}

const Tokenizer& tokenizer_of(const ModelData& m) {
  if (!m.tokenizer)
    throw Error(fmt::format("'{}' has no tokenizer (tokenizer.json, tokenizer.model or tokenizer.bin): give token "
                            "ids with --prompt-ids (generate_ids() in the API) or a tokenizer with --tokenizer",
                            m.path));
  return *m.tokenizer;
}

namespace {

// The options' token count and the prompt against the context they ask for.
void check_generation(const ModelConfig& c, const std::vector<int>& ids, const GenerateOptions& opt) {
  if (opt.n_predict < 0)
    throw Error(fmt::format("the number of tokens to generate must be >= 0, got {}", opt.n_predict));
  check_prompt(c, ids, context_of(c, opt.context));
}

// One generation: a session of its own, the prompt fed, then up to opt.n_predict tokens.
GenerateStats run_generation(const ModelData& m, const Model& model, const std::vector<int>& ids,
                             const GenerateOptions& opt, const std::function<void(int prev, int next)>& on_next) {
  check_generation(m.config, ids, opt);
  SessionState s = make_session_state(model, session_options(opt), opt.threads);
  return run_turn(s, ids, opt.n_predict, opt.ignore_eos, on_next, opt.threads);
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
  return std::string(printed_bytes(tokenizer_of(m), prev_token, token));
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
  check_generation(m.config, ids, opt);  // errors before the prompt is echoed

  Utf8Stream text;
  auto emit = [&](int prev, int token) {
    std::string complete = text.push(printed_bytes(tok, prev, token));
    if (!complete.empty() && on_text) on_text(complete);
  };
  // Echo the prompt (as run.c does), BOS aside.
  for (size_t i = 0; i < ids.size(); ++i)
    if (i > 0 || ids[0] != tok.bos_id) emit(i > 0 ? ids[i - 1] : -1, ids[i]);
  GenerateStats stats = run_generation(m, model, ids, opt, emit);
  if (std::string rest = text.finish(); !rest.empty() && on_text) on_text(rest);
  return stats;
}

GenerateStats generate_ids(const Model& model, const std::vector<int>& prompt, const GenerateOptions& opt,
                           const std::function<void(int, std::string_view)>& on_token) {
  const ModelData& m = model_data(model);
  Utf8Stream text;
  GenerateStats stats = run_generation(m, model, prompt, opt, [&](int prev, int next) {
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
  RunState state = make_run_state(m.config, n, kv_dtype(kv_type), 0, dense_attention(), threads);
  std::vector<float> logits(static_cast<size_t>(n) * m.config.vocab_size);
  forward(m, state, ids.data(), n, 0, logits.data());
  return logits;
}

}  // namespace resa
