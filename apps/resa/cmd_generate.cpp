// resa generate: text (or token ids) from a prompt, streamed to stdout; one line of statistics on stderr.
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
  std::string prompt_file;
  std::string prompt_ids;
  bool print_ids = false;
  GenerateOptions opt;
};

void write_out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

int run_generate(GenerateArgs& a) {
  const std::string path = a.model.empty() ? default_model_path() : a.model;
  Model model = load_model(path, a.tokenizer);
  // Without a tokenizer there is no text to print: ids it is.
  const bool ids_out = a.print_ids || !model_info(model).has_tokenizer;
  bool first = true;
  auto on_token = [&](int id, std::string_view text) {
    if (!ids_out) return write_out(text);
    write_out(fmt::format("{}{}", first ? "" : " ", id));
    first = false;
  };
  GenerateStats st;
  if (!a.prompt_ids.empty()) {
    st = generate_ids(model, parse_ids(a.prompt_ids, "--prompt-ids"), a.opt, on_token);
  } else {
    if (!a.prompt_file.empty()) a.prompt = read_text_file(a.prompt_file);
    if (ids_out)  // the prompt's ids are not echoed, the generated ones are printed
      st = generate_ids(model, tokenize(model, a.prompt, /*bos=*/true), a.opt, on_token);
    else
      st = generate(model, a.prompt, a.opt, write_out);  // echoes the prompt's text, as run.c does
  }
  write_out("\n");
  std::string attn;
  if (a.opt.attention.attn != Attention::Dense)
    attn = fmt::format(" | attention: {:.1f} blocks per KV head, {:.1f}% of dense KV bytes read, {} rectify passes",
                       st.mean_blocks_selected, 100.0 * st.kv_read_share, st.rectify_passes);
  fmt::print(stderr, "prompt: {} tokens in {:.1f} ms, {:.1f} tokens/s | generated: {} tokens, {:.1f} tokens/s{}\n",
             st.prompt_tokens, st.prompt_seconds * 1e3, st.prompt_tokens_per_second(), st.generated_tokens,
             st.tokens_per_second(), attn);
  return 0;
}

}  // namespace

Runner add_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a prompt (default: the shipped stories260K model)");
  add_model_option(cmd, args->model);
  cmd->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer file (llama2.c tokenizer.bin); default: tok<vocab>.bin or tokenizer.bin beside the model");
  auto* p = cmd->add_option("-p,--prompt", args->prompt, "Prompt text (default: empty)");
  auto* f = cmd->add_option("-f,--file", args->prompt_file, "Read the prompt text from a file");
  auto* ids = cmd->add_option("--prompt-ids", args->prompt_ids,
                              "Prompt as token ids, e.g. 1,2,3 (for models without a tokenizer; no BOS is added)");
  p->excludes(f)->excludes(ids);
  f->excludes(ids);
  cmd->add_flag("--print-ids", args->print_ids, "Print the generated token ids, separated by spaces, not text");
  cmd->add_option("-n,--n-predict", args->opt.n_predict, "Number of tokens to generate")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("-c,--ctx-size", args->opt.context,
                  "Context size in tokens (prompt + generated); 0 = the model's maximum, at most 4096")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->opt.threads, "Threads; 0 = every core")
      ->check(number_in(0, 4096))
      ->capture_default_str();
  cmd->add_option("--temp", args->opt.sampling.temperature, "Temperature; 0 = greedy")
      ->check(number_in(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--top-k", args->opt.sampling.top_k, "Keep the k most probable tokens; 0 = off")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("--top-p", args->opt.sampling.top_p, "Nucleus sampling threshold; 1 = off")
      ->check(number_in(0, 1))
      ->capture_default_str();
  cmd->add_option("--min-p", args->opt.sampling.min_p, "Keep tokens at least this fraction as probable as the best; 0 = off")
      ->check(number_in(0, 1))
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", args->opt.sampling.repeat_penalty, "Penalise recent tokens; 1 = off")
      ->check(number_in(1e-3, 1e3))
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", args->opt.sampling.repeat_last_n,
                  "Tokens the repetition penalty looks back over; -1 = the whole context")
      ->check(number_in(-1, 1e9))
      ->capture_default_str();
  cmd->add_option("-s,--seed", args->opt.sampling.seed, "RNG seed; -1 = from the clock")->capture_default_str();
  cmd->add_option("--kv-type", args->opt.kv_type, "KV cache element type: f32 or bf16")
      ->transform(one_of(kv_types()))
      ->default_str("bf16");
  cmd->add_flag("--ignore-eos", args->opt.ignore_eos, "Do not stop at the end-of-text token: generate exactly -n");
  add_attention_options(cmd, args->opt.attention, "resa");
  return [cmd, args]() { return cmd->parsed() ? run_generate(*args) : -1; };
}

}  // namespace resa::cli
