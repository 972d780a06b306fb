// resa generate: text from a prompt, streamed to stdout; one line of statistics on stderr.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

namespace {

struct GenerateArgs {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  GenerateOptions opt;
};

int run_generate(const GenerateArgs& a) {
  const std::string path = a.model.empty() ? default_model_path() : a.model;
  Model model = load_model(path, a.tokenizer);
  GenerateStats st = generate(model, a.prompt, a.opt, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  std::fflush(stdout);
  fmt::print(stderr, "prompt: {} tokens in {:.1f} ms | generated: {} tokens, {:.1f} tokens/s\n", st.prompt_tokens,
             st.prompt_seconds * 1e3, st.generated_tokens, st.tokens_per_second());
  return 0;
}

}  // namespace

Runner add_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a prompt (default: the shipped stories260K model)");
  cmd->add_option("-m,--model", args->model, "Model file (llama2.c checkpoint); default: the shipped stories260K");
  cmd->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer file (llama2.c tokenizer.bin); default: tok<vocab>.bin or tokenizer.bin beside the model");
  cmd->add_option("-p,--prompt", args->prompt, "Prompt text (default: empty)");
  cmd->add_option("-n,--n-predict", args->opt.n_predict, "Number of tokens to generate")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("-c,--ctx-size", args->opt.context, "Context size in tokens (prompt + generated); 0 = the model's")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("--temp", args->opt.sampling.temperature, "Temperature; 0 = greedy")
      ->check(number_in(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--top-p", args->opt.sampling.top_p, "Nucleus sampling threshold; 1 = off")
      ->check(number_in(0, 1))
      ->capture_default_str();
  cmd->add_option("-s,--seed", args->opt.sampling.seed, "RNG seed; -1 = from the clock")->capture_default_str();
  return [cmd, args]() { return cmd->parsed() ? run_generate(*args) : -1; };
}

}  // namespace resa::cli
