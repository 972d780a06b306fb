// The decode-attention flags, shared by `resa generate` and `resa perplexity`: the same names as AttentionOptions.
#include <map>
#include <string>

#include "commands.hpp"

namespace resa::cli {

const std::map<std::string, Attention>& attention_policies() {
  static const std::map<std::string, Attention> names = {
      {"dense", Attention::Dense}, {"sparse", Attention::Sparse}, {"resa", Attention::Resa}};
  return names;
}

void add_attention_options(CLI::App* cmd, AttentionOptions& o, const std::string& default_attn) {
  const std::map<std::string, Attention>& names = attention_policies();
  o.attn = names.at(default_attn);
  cmd->add_option("--attn", o.attn,
                  "Decode attention: dense (every token), sparse (top blocks only), resa (sparse + rectification)")
      ->transform(one_of(names))
      ->default_str(default_attn);
  add_attention_knobs(cmd, o);
}

void add_attention_knobs(CLI::App* cmd, AttentionOptions& o) {
  cmd->add_option("--sparse-ratio", o.sparse_ratio, "Fraction of KV blocks kept per step (sparse, resa)")
      ->check(number_in(1e-9, 1e9))
      ->capture_default_str();
  cmd->add_option("--block-size", o.block_size, "Tokens per KV block")->check(number_in(1, 1 << 20))->capture_default_str();
  cmd->add_option("--min-blocks", o.min_blocks, "Blocks always kept when the cache has them (dense up to this many)")
      ->check(number_in(1, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--local-blocks", o.local_blocks, "Most recent blocks always kept (at most --min-blocks with sinks)")
      ->check(number_in(0, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--sink-blocks", o.sink_blocks, "First blocks always kept")
      ->check(number_in(0, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--rectify-every", o.rectify_every,
                  "resa: re-run the last f generated tokens densely every f tokens; 0 = never")
      ->check(number_in(0, 1 << 30))
      ->capture_default_str();
  add_prefill_options(cmd, o);
}

void add_prefill_options(CLI::App* cmd, AttentionOptions& o) {
  static const std::map<std::string, Prefill> names = {{"dense", Prefill::Dense}, {"lagkv", Prefill::LagKv}};
  cmd->add_option("--prefill", o.prefill,
                  "How the prompt fills the KV cache: dense (every token), lagkv (chunks of --lag-size, each lagging "
                  "partition compressed to its top tokens per KV head)")
      ->transform(one_of(names))
      ->default_str("dense");
  cmd->add_option("--lag-sink", o.lag_sink, "lagkv: first tokens never compressed")
      ->check(number_in(0, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--lag-size", o.lag_size, "lagkv: tokens per partition (and per prefill chunk)")
      ->check(number_in(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--lag-ratio", o.lag_ratio, "lagkv: share of a compressed partition's tokens kept, in (0, 1]")
      ->check(number_in(1e-9, 1))
      ->capture_default_str();
}

}  // namespace resa::cli
