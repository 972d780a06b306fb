// resa perplexity: the fidelity of a decode policy on a text (SPEC §4): perplexity, KL divergence and top-1 agreement
// against dense logits, top-3 accuracy of the last 32 tokens, and how far the KV cache drifts from a dense encoding,
// before and after rectification. One markdown table row, so that runs of several policies paste into one table.
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

namespace {

struct PerplexityArgs {
  LoadOptions load;
  std::string model;
  std::string tokenizer;
  std::string file;
  std::string ids;
  bool no_header = false;
  PerplexityOptions opt;
};

int run_perplexity(PerplexityArgs& a) {
  Model model = load_model(a.model.empty() ? default_model_path() : a.model, a.tokenizer,
                           with_threads(a.load, a.opt.threads));
  const std::vector<int> ids =
      a.ids.empty() ? tokenize(model, read_text_file(a.file), /*bos=*/true) : parse_ids(a.ids, "--ids");
  const PerplexityResult r = perplexity(model, ids, a.opt);
  const AttentionOptions& o = a.opt.attention;
  const std::string prefill = o.prefill == Prefill::Dense
                                  ? "densely"
                                  : fmt::format("by lagkv (sink {}, size {}, ratio {})", o.lag_sink, o.lag_size,
                                                o.lag_ratio);
  fmt::print(stderr, "{} tokens ({} prefilled {}, {} fed one at a time); block {}, min {}, ratio {}, local {}, "
                     "sink {}, rectify every {}\n",
             r.tokens, r.tokens - r.fed, prefill, r.fed, o.block_size, o.min_blocks, o.sparse_ratio, o.local_blocks,
             o.sink_blocks, o.rectify_every);
  if (!a.no_header) {
    fmt::print("| attn | perplexity | dense perplexity | mean KL | top-1 agreement | top-3 (last 32) | dense top-3 | "
               "K/V error before rectify | K/V error after | K/V error at end | rectify passes | blocks per KV head |\n");
    fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  const std::string policy = o.prefill == Prefill::Dense
                                 ? std::string(attention_name(o.attn))
                                 : fmt::format("{}, lagkv {}", attention_name(o.attn), o.lag_ratio);
  fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", policy,
             num(r.perplexity, "{:.4f}"), num(r.dense_perplexity, "{:.4f}"), num(r.mean_kl, "{:.5f}"),
             num(r.top1_agreement, "{:.4f}"), num(r.top3_accuracy, "{:.4f}"), num(r.dense_top3_accuracy, "{:.4f}"),
             num(r.kv_error_before, "{:.2e}"), num(r.kv_error_after, "{:.2e}"), num(r.kv_error_end, "{:.2e}"),
             r.rectify_passes, num(r.mean_blocks_selected, "{:.2f}"));
  return 0;
}

}  // namespace

Runner add_perplexity(CLI::App& app) {
  auto args = std::make_shared<PerplexityArgs>();
  CLI::App* cmd = app.add_subcommand(
      "perplexity", "Fidelity of sparse decoding on a text: perplexity, KL and K/V error against dense");
  add_model_option(cmd, args->model);
  add_load_option(cmd, args->load);
  cmd->add_option("--tokenizer", args->tokenizer, "Tokenizer file (as for generate)");
  auto* f = cmd->add_option("-f,--file", args->file, "The text");
  auto* ids = cmd->add_option("--ids", args->ids, "The text as token ids, e.g. 1,2,3 (models without a tokenizer)");
  f->excludes(ids);
  cmd->add_option("-c,--ctx-size", args->opt.context, "Tokens of the text to use; 0 = the model's default context")
      ->check(number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("--sparse-last", args->opt.sparse_last, "Tokens at the end fed one at a time under --attn")
      ->check(number_in(1, 1e9))
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->opt.threads, "Threads; 0 = every core")
      ->check(number_in(0, 4096))
      ->capture_default_str();
  cmd->add_option("--kv-type", args->opt.kv_type, "KV cache element type: f32 or bf16")
      ->transform(one_of(kv_types()))
      ->default_str("f32");
  cmd->add_flag("--no-header", args->no_header, "Print the table row only");
  add_attention_options(cmd, args->opt.attention, "resa");
  return [cmd, args, f, ids]() {
    if (!cmd->parsed()) return -1;
    if (f->count() == 0 && ids->count() == 0) throw Error("perplexity needs a text: -f FILE or --ids");
    return run_perplexity(*args);
  };
}

}  // namespace resa::cli
