// The flags shared by the commands that generate (generate, chat): how many tokens, context, threads, sampling, KV
// type and the attention policy, in llama.cpp's spelling where it has one.
#include "commands.hpp"

namespace resa::cli {

void add_generation_options(CLI::App* cmd, GenerateOptions& opt) {
  cmd->add_option("-n,--n-predict", opt.n_predict, "Number of tokens to generate")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("-c,--ctx-size", opt.context,
                  "Context size in tokens (prompt + generated); 0 = the model's maximum, at most 4096")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("-t,--threads", opt.threads, "Threads; 0 = every core")
      ->check(number_in(0, 4096))
      ->capture_default_str();
  cmd->add_option("--temp", opt.sampling.temperature, "Temperature; 0 = greedy")
      ->check(number_in(0, 1e6))
      ->capture_default_str();
  cmd->add_option("--top-k", opt.sampling.top_k, "Keep the k most probable tokens; 0 = off")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("--top-p", opt.sampling.top_p, "Nucleus sampling threshold; 1 = off")
      ->check(number_in(0, 1))
      ->capture_default_str();
  cmd->add_option("--min-p", opt.sampling.min_p, "Keep tokens at least this fraction as probable as the best; 0 = off")
      ->check(number_in(0, 1))
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", opt.sampling.repeat_penalty, "Penalise recent tokens; 1 = off")
      ->check(number_in(1e-3, 1e3))
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", opt.sampling.repeat_last_n,
                  "Tokens the repetition penalty looks back over; -1 = the whole context")
      ->check(number_in(-1, 1e9))
      ->capture_default_str();
  cmd->add_option("-s,--seed", opt.sampling.seed, "RNG seed; -1 = from the clock")->capture_default_str();
  cmd->add_option("--kv-type", opt.kv_type, "KV cache element type: f32 or bf16")
      ->transform(one_of(kv_types()))
      ->default_str("bf16");
  cmd->add_flag("--ignore-eos", opt.ignore_eos, "Do not stop at the end-of-text token: generate exactly -n");
  add_attention_options(cmd, opt.attention, "resa");
}

}  // namespace resa::cli
