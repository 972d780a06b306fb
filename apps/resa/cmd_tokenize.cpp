// resa tokenize / resa detokenize: a tokenizer on its own (a file or a model directory), no weights loaded.
//   resa tokenize --tokenizer PATH -p TEXT | -f FILE [--no-bos]   ids on one line, separated by spaces
//   resa detokenize --tokenizer PATH --ids "1 2 3"                 the text, exactly (no newline added)
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

namespace {

struct TokenizeArgs {
  std::string tokenizer, prompt, file, ids;
  bool no_bos = false;
};

}  // namespace

Runner add_tokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text");
  cmd->add_option("--tokenizer", a->tokenizer,
                  "tokenizer.json, tokenizer.model, a llama2.c tokenizer.bin, or a model directory holding one")
      ->required();
  auto* p = cmd->add_option("-p,--prompt", a->prompt, "The text");
  auto* f = cmd->add_option("-f,--file", a->file, "Read the text from a file");
  p->excludes(f);
  cmd->add_flag("--no-bos", a->no_bos, "Do not add the BOS token the tokenizer would add");
  return [cmd, a]() {
    if (!cmd->parsed()) return -1;
    if (cmd->count("--prompt") + cmd->count("--file") == 0) throw Error("tokenize: give the text with -p or -f");
    const TextTokenizer tok = open_tokenizer(a->tokenizer);
    const std::string text = a->file.empty() ? a->prompt : read_text_file(a->file);
    const std::vector<int> ids = tokenize(tok, text, !a->no_bos);
    fmt::print("{}\n", fmt::join(ids, " "));
    return 0;
  };
}

Runner add_detokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("detokenize", "Print the text of token ids");
  cmd->add_option("--tokenizer", a->tokenizer, "As for tokenize")->required();
  cmd->add_option("--ids", a->ids, "Token ids, separated by spaces or commas")->required();
  return [cmd, a]() {
    if (!cmd->parsed()) return -1;
    const TextTokenizer tok = open_tokenizer(a->tokenizer);
    write_out(detokenize(tok, parse_ids(a->ids, "--ids")));
    return 0;
  };
}

}  // namespace resa::cli
