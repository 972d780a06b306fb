// resa — CPU-first inference for long-context LLM generation. The public API.
//
//   resa::Model model = resa::load_model("models/stories260K/stories260K.bin");
//   resa::GenerateOptions opt;  opt.n_predict = 64;
//   resa::generate(model, "Once upon a time", opt, [](std::string_view s) { std::cout << s; });
//
// Every failure (missing or malformed file, bad option, prompt longer than the context) throws resa::Error with a
// message that names the file, tensor or option at fault.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace resa {

// The one error type of the library.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SamplingOptions {
  float temperature = 0.8f;  // 0 = greedy (argmax)
  float top_p = 0.95f;       // nucleus sampling; <= 0 or >= 1 disables it
  int64_t seed = -1;         // < 0: from the clock; any other value makes the output reproducible
};

struct GenerateOptions {
  int n_predict = 256;  // tokens to generate (fewer if the model ends the text or the context fills up)
  int context = 0;      // positions to keep (prompt + generated); 0 = the model's maximum
  SamplingOptions sampling;
};

struct GenerateStats {
  int prompt_tokens = 0;     // including BOS
  int generated_tokens = 0;  // sampled tokens, the end-of-text token not counted
  double prompt_seconds = 0;
  double generate_seconds = 0;
  double tokens_per_second() const {
    return generate_seconds > 0 ? generated_tokens / generate_seconds : 0.0;
  }
};

struct ModelInfo {
  std::string architecture;
  int dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int vocab_size = 0, max_seq_len = 0;
};

struct ModelData;  // the engine's model: config, mapped weights, tokenizer (lib/model/model.hpp)

// A loaded model: shared and immutable, cheap to copy. Each generate() call keeps its own state (KV cache, scratch).
struct Model {
  std::shared_ptr<const ModelData> data;
};

// Loads a llama2.c checkpoint. With an empty tokenizer_path the tokenizer is looked up beside the model file:
// tok<vocab_size>.bin, then tokenizer.bin.
Model load_model(const std::string& model_path, const std::string& tokenizer_path = "");

ModelInfo model_info(const Model& model);

// Text -> token ids (with BOS first when bos is true), and one token id -> the text it prints after prev_token.
std::vector<int> tokenize(const Model& model, std::string_view text, bool bos = true);
std::string detokenize(const Model& model, int prev_token, int token);

// Runs the prompt, then samples up to opt.n_predict tokens. on_text receives the prompt's text, then each new
// piece of text as soon as it is generated. Stops early when the model emits its end-of-text token.
GenerateStats generate(const Model& model, std::string_view prompt, const GenerateOptions& opt,
                       const std::function<void(std::string_view)>& on_text);

}  // namespace resa
