// The public API's generation side (include/resa/resa.hpp): tokenize/detokenize, the generation loop shared by the
// CLI and applications, and prompt logits. Loading and describing a model: lib/model/load.cpp.
#include <chrono>

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

namespace {

const Llama2cTokenizer& tokenizer_of(const ModelData& m) {
  if (!m.tokenizer)
    throw Error(fmt::format("'{}' has no tokenizer resa can read yet: give token ids with --prompt-ids "
                            "(generate_ids() in the API)",
                            m.path));
  return *m.tokenizer;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The loop behind generate() and generate_ids(): prefill the prompt in one batch, then sample, report and feed back
// each new token until n_predict tokens, an end-of-text token (unless ignored) or the end of the context.
GenerateStats run_generation(const ModelData& m, const std::vector<int>& ids, const GenerateOptions& opt,
                             const std::function<void(int prev, int next)>& on_next) {
  const ModelConfig& c = m.config;
  const int context = context_of(c, opt);
  check_prompt(c, ids, context);
  use_threads(opt.threads);
  const uint64_t seed =
      opt.sampling.seed >= 0 ? static_cast<uint64_t>(opt.sampling.seed)
                             : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  Sampler sampler = make_sampler(c.vocab_size, opt.sampling, seed, context);
  for (int id : ids) accept(sampler, id);
  RunState state = make_run_state(c, context, kv_dtype(opt.kv_type), 0, opt.attention);
  const int f = rectify_period(opt.attention);
  std::vector<int> tokens(ids);  // by position, for the rectifier's re-runs
  tokens.resize(context);

  GenerateStats stats;
  stats.prompt_tokens = static_cast<int>(ids.size());
  auto t0 = std::chrono::steady_clock::now();
  const float* logits = forward(m, state, ids.data(), static_cast<int>(ids.size()), 0);
  stats.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  int token = ids.back();
  int pos = static_cast<int>(ids.size()) - 1;  // the position whose logits we hold
  while (stats.generated_tokens < opt.n_predict) {
    const int next = sample(sampler, logits);
    if (!opt.ignore_eos && c.is_eos(next)) break;
    const int number = stats.generated_tokens++;  // next is generated token #number (SPEC §2.5)
    accept(sampler, next);
    if (on_next) on_next(token, next);
    token = next;
    if (stats.generated_tokens == opt.n_predict || pos + 1 >= context) break;
    tokens[++pos] = token;
    if (rectify_due(number, f)) rectify(m, state, tokens.data(), pos, f);
    logits = forward_token(m, state, token, pos);
  }
  stats.generate_seconds = seconds_since(t0);
  const AttentionCounters& n = state.counters;
  if (n.selections > 0) {
    stats.mean_blocks_selected = static_cast<double>(n.blocks_selected) / n.selections;
    stats.kv_read_share = n.bytes_read / n.bytes_dense;
  }
  stats.rectify_passes = n.rectify_passes;
  return stats;
}

}  // namespace

std::vector<int> tokenize(const Model& model, std::string_view text, bool bos) {
  const Llama2cTokenizer& tok = tokenizer_of(model_data(model));
  require_utf8(text, "the text");
  return encode(tok, text, bos);
}

std::string detokenize(const Model& model, int prev_token, int token) {
  const ModelData& m = model_data(model);
  const Llama2cTokenizer& tok = tokenizer_of(m);
  if (token < 0 || token >= m.config.vocab_size)
    throw Error(fmt::format("token id {} is outside the vocabulary [0, {})", token, m.config.vocab_size));
  return std::string(decode_piece(tok, prev_token, token));
}

GenerateStats generate(const Model& model, std::string_view prompt, const GenerateOptions& opt,
                       const std::function<void(std::string_view)>& on_text) {
  const ModelData& m = model_data(model);
  const Llama2cTokenizer& tok = tokenizer_of(m);
  require_utf8(prompt, "the prompt");
  const std::vector<int> ids = encode(tok, prompt, /*bos=*/true);
  check_prompt(m.config, ids, context_of(m.config, opt));  // errors before the prompt is echoed

  Utf8Stream text;
  auto emit = [&](int prev, int token) {
    std::string_view piece = decode_piece(tok, prev, token);
    if (!is_printable_piece(piece)) return;
    std::string complete = text.push(piece);
    if (!complete.empty() && on_text) on_text(complete);
  };
  for (size_t i = 1; i < ids.size(); ++i) emit(ids[i - 1], ids[i]);  // echo the prompt, as run.c does
  GenerateStats stats = run_generation(m, ids, opt, emit);
  if (std::string rest = text.finish(); !rest.empty() && on_text) on_text(rest);
  return stats;
}

GenerateStats generate_ids(const Model& model, const std::vector<int>& prompt, const GenerateOptions& opt,
                           const std::function<void(int, std::string_view)>& on_token) {
  const ModelData& m = model_data(model);
  Utf8Stream text;
  GenerateStats stats = run_generation(m, prompt, opt, [&](int prev, int next) {
    std::string piece;
    if (m.tokenizer) {
      std::string_view p = decode_piece(*m.tokenizer, prev, next);
      if (is_printable_piece(p)) piece = text.push(p);
    }
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
