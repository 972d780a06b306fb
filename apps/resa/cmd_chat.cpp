// resa chat: an interactive conversation. Each line on stdin is a user message; the reply streams to stdout; after
// each turn one line of statistics goes to stderr ("turn N: prefilled P new tokens ..."). The KV cache is kept
// between turns, so a turn prefills only its own tokens. EOF (Ctrl-D, or the end of a pipe) ends the session, exit 0.
#include <cstdio>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <unistd.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

namespace {

struct ChatArgs {
  LoadOptions load;
  std::string model, tokenizer;
  ChatOptions chat_opt;
  GenerateOptions opt;
};

int run_chat(ChatArgs& a) {
  Model model = load_model(a.model.empty() ? default_model_path() : a.model, a.tokenizer,
                           with_threads(a.load, a.opt.threads));
  Chat session = start_chat(model, a.opt, a.chat_opt);
  const bool interactive = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  std::string line;
  for (int turn = 1;; ++turn) {
    if (interactive) write_out("> ");
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      --turn;
      continue;
    }
    const GenerateStats st = chat(session, line, write_out);
    write_out("\n");
    fmt::print(stderr, "turn {}: prefilled {} new tokens, {} positions in the cache | {}\n", turn, st.prompt_tokens,
               st.cache_positions, stats_line(st, a.opt.attention));
  }
  if (interactive) write_out("\n");
  return 0;
}

}  // namespace

Runner add_chat(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with an instruction-tuned model: one message per line on stdin");
  add_model_option(cmd, args->model);
  add_load_option(cmd, args->load);
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer file or directory (default: the model directory's)");
  cmd->add_option("--system", args->chat_opt.system, "The system message (default: the chat template's)");
  cmd->add_option("--chat-template", args->chat_opt.template_name,
                  "chatml, deepseek-r1, llama2 or llama3 (default: from tokenizer_config.json)");
  add_generation_options(cmd, args->opt);
  return [cmd, args]() { return cmd->parsed() ? run_chat(*args) : -1; };
}

}  // namespace resa::cli
