// resa generate: text (or token ids) from a prompt, streamed to stdout; one line of statistics on stderr.
#include <cstdio>
#include <functional>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

namespace {

struct GenerateArgs {
  LoadOptions load;
  std::string model;
  std::string tokenizer;
  std::string prompt;
  std::string prompt_file;
  std::string prompt_ids;
  bool print_ids = false;
  bool chat = false;
  ChatOptions chat_opt;
  std::string prompt_cache;
  GenerateOptions opt;
};

// The prompt through a session whose state is kept in a file (--prompt-cache, as llama.cpp's): the longest prefix the
// file's tokens share with the prompt is reused, the rest prefilled, the state saved again after the prompt; then the
// generation. A file that cannot be used (another model, another KV type, not a session file) is said so and
// replaced.
GenerateStats generate_with_cache(const Model& model, const std::vector<int>& ids, const GenerateArgs& a, bool echo,
                                  const std::function<void(int, std::string_view)>& on_token) {
  const RunContext ctx{a.opt.threads};
  Session s = open_session(model, session_options(a.opt), ctx);
  if (std::FILE* f = std::fopen(a.prompt_cache.c_str(), "rb")) {
    std::fclose(f);
    try {
      load_session(s, a.prompt_cache);
    } catch (const Error& e) {
      fmt::print(stderr, "prompt cache: '{}' not used: {}\n", a.prompt_cache, e.what());
      reset(s);
    }
  }
  if (echo)  // the prompt's text, BOS aside, as generate() echoes it
    for (size_t i = 0; i < ids.size(); ++i)
      if (i > 0 || ids[0] != model_info(model).bos_id) write_out(detokenize(model, i > 0 ? ids[i - 1] : -1, ids[i]));
  const GenerateStats prompt = set_prompt(s, ids, ctx);
  fmt::print(stderr, "prompt cache: reused {} of {} prompt tokens from '{}'\n", prompt.reused_tokens, ids.size(),
             a.prompt_cache);
  save_session(s, a.prompt_cache);
  GenerateStats st = generate(s, a.opt.n_predict, [&](int id, std::string_view text) {
    on_token(id, text);
    return true;
  }, ctx);
  st.prompt_tokens = prompt.prompt_tokens;
  st.prompt_seconds = prompt.prompt_seconds;
  return st;
}

int run_generate(GenerateArgs& a) {
  const std::string path = a.model.empty() ? default_model_path() : a.model;
  Model model = load_model(path, a.tokenizer, with_threads(a.load, a.opt.threads));
  // Without a tokenizer there is no text to print: ids it is.
  const bool ids_out = a.print_ids || !model_info(model).has_tokenizer;
  bool first = true;
  auto on_token = [&](int id, std::string_view text) {
    if (!ids_out) return write_out(text);
    write_out(fmt::format("{}{}", first ? "" : " ", id));
    first = false;
  };
  GenerateStats st;
  if (a.chat) {
    if (!a.prompt_ids.empty()) throw Error("--chat takes a text prompt (-p or -f), not --prompt-ids");
    if (!a.prompt_file.empty()) a.prompt = read_text_file(a.prompt_file);
    Chat c = start_chat(model, a.opt, a.chat_opt);
    st = chat(c, a.prompt, write_out);
  } else if (!a.prompt_cache.empty()) {
    if (!a.prompt_file.empty()) a.prompt = read_text_file(a.prompt_file);
    const std::vector<int> ids = a.prompt_ids.empty() ? tokenize(model, a.prompt, /*bos=*/true)
                                                      : parse_ids(a.prompt_ids, "--prompt-ids");
    st = generate_with_cache(model, ids, a, !ids_out && a.prompt_ids.empty(), on_token);
  } else if (!a.prompt_ids.empty()) {
    st = generate_ids(model, parse_ids(a.prompt_ids, "--prompt-ids"), a.opt, on_token);
  } else {
    if (!a.prompt_file.empty()) a.prompt = read_text_file(a.prompt_file);
    if (ids_out)  // the prompt's ids are not echoed, the generated ones are printed
      st = generate_ids(model, tokenize(model, a.prompt, /*bos=*/true), a.opt, on_token);
    else
      st = generate(model, a.prompt, a.opt, write_out);  // echoes the prompt's text, as run.c does
  }
  write_out("\n");
  fmt::print(stderr, "{}\n", stats_line(st, a.opt.attention));
  return 0;
}

}  // namespace

void write_out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string stats_line(const GenerateStats& st, const AttentionOptions& attn) {
  std::string a;
  if (attn.attn != Attention::Dense)
    a = fmt::format(" | attention: {:.1f} blocks per KV head, {:.1f}% of dense KV bytes read, {} rectify passes{}",
                    st.mean_blocks_selected, 100.0 * st.kv_read_share, st.rectify_passes,
                    st.rectify_skipped ? fmt::format(" ({} skipped: all blocks attended)", st.rectify_skipped) : "");
  return fmt::format(
      "prompt: {} tokens in {:.1f} ms, {:.1f} tokens/s | generated: {} tokens, {:.1f} tokens/s{} | kv_tokens={} "
      "kv_bytes={}",
      st.prompt_tokens, st.prompt_seconds * 1e3, st.prompt_tokens_per_second(), st.generated_tokens,
      st.tokens_per_second(), a, st.kv_tokens, st.kv_bytes);
}

Runner add_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a prompt (default: the shipped stories260K model)");
  add_model_option(cmd, args->model);
  add_load_option(cmd, args->load);
  cmd->add_option("--tokenizer", args->tokenizer,
                  "Tokenizer file or directory (tokenizer.json, tokenizer.model, llama2.c tokenizer.bin); default: the "
                  "model directory's, or tok<vocab>.bin / tokenizer.bin beside a llama2.c checkpoint");
  auto* p = cmd->add_option("-p,--prompt", args->prompt, "Prompt text (default: empty)");
  auto* f = cmd->add_option("-f,--file", args->prompt_file, "Read the prompt text from a file");
  auto* ids = cmd->add_option("--prompt-ids", args->prompt_ids,
                              "Prompt as token ids, e.g. 1,2,3 (for models without a tokenizer; no BOS is added)");
  p->excludes(f)->excludes(ids);
  f->excludes(ids);
  cmd->add_flag("--print-ids", args->print_ids, "Print the generated token ids, separated by spaces, not text");
  auto* chat = cmd->add_flag("--chat", args->chat,
                             "Wrap the prompt in the model's chat template (a one-turn chat); print only the reply");
  cmd->add_option("--system", args->chat_opt.system, "With --chat: the system message (default: the template's)")
      ->needs(chat);
  cmd->add_option("--chat-template", args->chat_opt.template_name,
                  "With --chat: chatml, deepseek-r1, llama2 or llama3 (default: from tokenizer_config.json)")
      ->needs(chat);
  cmd->add_option("--prompt-cache", args->prompt_cache,
                  "A session file: reuse the longest prefix its tokens share with the prompt, save the state after "
                  "the prompt (created when missing)")
      ->excludes(chat);
  add_generation_options(cmd, args->opt);
  return [cmd, args]() { return cmd->parsed() ? run_generate(*args) : -1; };
}

}  // namespace resa::cli
