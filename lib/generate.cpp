// The public API (include/resa/resa.hpp): loading a model and the generation loop shared by the CLI and
// applications.
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "forward.hpp"
#include "model/llama2c.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

namespace fs = std::filesystem;

namespace {

std::string find_tokenizer_beside(const std::string& model_path, int vocab_size) {
  const fs::path dir = fs::path(model_path).parent_path();
  const std::string candidates[] = {fmt::format("tok{}.bin", vocab_size), "tokenizer.bin"};
  for (const std::string& name : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(dir / name, ec)) return (dir / name).string();
  }
  throw Error(fmt::format("no tokenizer found beside '{}' (looked for {} and {} in '{}'); give its path explicitly",
                          model_path, candidates[0], candidates[1], dir.empty() ? "." : dir.string()));
}

const ModelData& data_of(const Model& model) {
  if (!model.data) throw Error("the model is not loaded");
  return *model.data;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Model load_model(const std::string& model_path, const std::string& tokenizer_path) {
  auto data = std::make_shared<ModelData>();
  Llama2cCheckpoint ck = load_llama2c_checkpoint(model_path);
  data->config = ck.config;
  data->file = std::move(ck.file);
  data->weights = std::move(ck.weights);
  const std::string tok_path =
      tokenizer_path.empty() ? find_tokenizer_beside(model_path, data->config.vocab_size) : tokenizer_path;
  data->tokenizer = load_llama2c_tokenizer(tok_path, data->config.vocab_size);
  data->tokenizer.bos_id = data->config.bos_id;
  return Model{std::move(data)};
}

ModelInfo model_info(const Model& model) {
  const ModelConfig& c = data_of(model).config;
  ModelInfo info;
  info.architecture = c.architecture;
  info.dim = c.dim;
  info.hidden_dim = c.hidden_dim;
  info.n_layers = c.n_layers;
  info.n_heads = c.n_heads;
  info.n_kv_heads = c.n_kv_heads;
  info.head_dim = c.head_dim;
  info.vocab_size = c.vocab_size;
  info.max_seq_len = c.max_seq_len;
  return info;
}

std::vector<int> tokenize(const Model& model, std::string_view text, bool bos) {
  require_utf8(text, "the text");
  return encode(data_of(model).tokenizer, text, bos);
}

std::string detokenize(const Model& model, int prev_token, int token) {
  const ModelData& m = data_of(model);
  if (token < 0 || token >= m.config.vocab_size)
    throw Error(fmt::format("token id {} is outside the vocabulary [0, {})", token, m.config.vocab_size));
  return std::string(decode_piece(m.tokenizer, prev_token, token));
}

GenerateStats generate(const Model& model, std::string_view prompt, const GenerateOptions& opt,
                       const std::function<void(std::string_view)>& on_text) {
  const ModelData& m = data_of(model);
  const ModelConfig& c = m.config;
  if (opt.n_predict < 0) throw Error(fmt::format("the number of tokens to generate must be >= 0, got {}", opt.n_predict));
  require_utf8(prompt, "the prompt");
  const std::vector<int> ids = encode(m.tokenizer, prompt, /*bos=*/true);
  if (opt.context < 0 || opt.context > c.max_seq_len)
    throw Error(fmt::format("the context must be between 1 and the model's maximum of {} positions, got {}",
                            c.max_seq_len, opt.context));
  const int context = opt.context > 0 ? opt.context : c.max_seq_len;
  if (static_cast<int>(ids.size()) > context)
    throw Error(fmt::format("the prompt is {} tokens, longer than the context of {} tokens", ids.size(), context));

  const uint64_t seed =
      opt.sampling.seed >= 0 ? static_cast<uint64_t>(opt.sampling.seed)
                             : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  Sampler sampler = make_sampler(c.vocab_size, opt.sampling.temperature, opt.sampling.top_p, seed);
  RunState state = make_run_state(c, context);

  Utf8Stream text;
  auto emit = [&](int prev, int token) {
    std::string_view piece = decode_piece(m.tokenizer, prev, token);
    if (!is_printable_piece(piece)) return;
    std::string complete = text.push(piece);
    if (!complete.empty() && on_text) on_text(complete);
  };

  GenerateStats stats;
  stats.prompt_tokens = static_cast<int>(ids.size());

  // The prompt: echo its text, run every position; the last one's logits give the first new token.
  for (size_t i = 1; i < ids.size(); ++i) emit(ids[i - 1], ids[i]);
  auto t0 = std::chrono::steady_clock::now();
  const float* logits = nullptr;
  for (size_t pos = 0; pos < ids.size(); ++pos) logits = forward_token(m, state, ids[pos], static_cast<int>(pos));
  stats.prompt_seconds = seconds_since(t0);

  // Generation: sample, print, feed the new token back in, until n_predict tokens, the end-of-text token or the end
  // of the context.
  t0 = std::chrono::steady_clock::now();
  int token = ids.back();
  int pos = static_cast<int>(ids.size()) - 1;  // the position whose logits we hold
  while (stats.generated_tokens < opt.n_predict) {
    const int next = sample(sampler, logits, c.vocab_size);
    if (c.is_eos(next)) break;
    ++stats.generated_tokens;
    emit(token, next);
    token = next;
    if (stats.generated_tokens == opt.n_predict || pos + 1 >= context) break;
    logits = forward_token(m, state, token, ++pos);
  }
  if (std::string rest = text.finish(); !rest.empty() && on_text) on_text(rest);
  stats.generate_seconds = seconds_since(t0);
  return stats;
}

}  // namespace resa
