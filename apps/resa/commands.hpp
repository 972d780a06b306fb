// The `resa` tool's subcommands. Each file apps/resa/cmd_<name>.cpp adds one subcommand to the CLI11 app and runs
// it; errors leave as resa::Error and main() prints them as one line.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "resa/resa.hpp"

namespace resa::cli {

// Registers a subcommand; the returned function runs it after parsing and returns the exit code.
using Runner = std::function<int()>;
Runner add_generate(CLI::App& app);
Runner add_logits(CLI::App& app);
Runner add_info(CLI::App& app);
Runner add_perplexity(CLI::App& app);
Runner add_tokenize(CLI::App& app);
Runner add_detokenize(CLI::App& app);
Runner add_chat(CLI::App& app);
Runner add_bench(CLI::App& app);
Runner add_serve(CLI::App& app);

// -n, -c, -t, the sampling flags, --kv-type, --ignore-eos and the attention flags, into opt.
void add_generation_options(CLI::App* cmd, GenerateOptions& opt);

// Writes text to stdout at once (streamed output).
void write_out(std::string_view text);

// The one-line statistics a generating command prints on stderr after a run (or a chat turn).
std::string stats_line(const GenerateStats& st, const AttentionOptions& attn);

// A table cell: v in the fmt spec, or "-" when v is NaN (a figure that does not apply).
std::string num(double v, const char* fmt_spec);

// A flag check: the value is a number in [lo, hi]. Its message names the value and the range.
CLI::Validator number_in(double lo, double hi);

// A flag whose value is one of the names of a map (any case), turned into the mapped enum. The message lists them.
template <class E>
CLI::Validator one_of(const std::map<std::string, E>& names) {
  std::string list;
  for (const auto& [name, value] : names) list += (list.empty() ? "" : ", ") + name;
  return CLI::Validator(
      [names, list](std::string& value) -> std::string {
        const auto it = names.find(CLI::detail::to_lower(value));
        if (it == names.end()) return "'" + value + "' is not one of " + list;
        value = std::to_string(static_cast<int>(it->second));
        return {};
      },
      list);
}

// -m/--model: a Hugging Face directory or a llama2.c checkpoint; empty = the shipped model.
CLI::Option* add_model_option(CLI::App* cmd, std::string& model);
// --load copy|mmap: where the weight matrices live (resa::WeightLoad), and --weights (add_weights_option).
void add_load_option(CLI::App* cmd, LoadOptions& load);
// --weights stored|bf16|q8_0|q4_0: the type the matrices are computed in (resa::WeightType).
CLI::Option* add_weights_option(CLI::App* cmd, WeightType& type);
// o with its threads set.
LoadOptions with_threads(LoadOptions o, int threads);

// --attn and its knobs (SPEC §2.3), into o; default_attn: "dense", "sparse" or "resa".
void add_attention_options(CLI::App* cmd, AttentionOptions& o, const std::string& default_attn);

// The knobs alone (--sparse-ratio, --block-size, ... --rectify-every), for commands that take a list of policies.
void add_attention_knobs(CLI::App* cmd, AttentionOptions& o);
// --prefill dense|lagkv and LagKV's knobs (part of add_attention_knobs).
void add_prefill_options(CLI::App* cmd, AttentionOptions& o);

// The --attn names: dense, sparse, resa.
const std::map<std::string, Attention>& attention_policies();

// The --kv-type names.
const std::map<std::string, KvType>& kv_types();

// "a,b c" -> {"a", "b", "c"}: the items of a list separated by commas and/or white space.
std::vector<std::string> split_list(const std::string& text);

// "1,2,3" (commas and/or spaces) -> ids; a bad item is a resa::Error naming the flag.
std::vector<int> parse_ids(const std::string& text, const std::string& flag);

// A whole file; resa::Error naming it when it cannot be read.
std::string read_text_file(const std::string& path);

// The model that ships with resa, found relative to the executable (works in the build tree and an install prefix).
std::string default_model_path();

}  // namespace resa::cli
