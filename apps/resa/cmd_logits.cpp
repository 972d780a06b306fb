// resa logits: the logits of every prompt position, as little-endian float32 [tokens, vocab], computed with f32
// activations and (by default) an f32 KV cache. For comparing against other implementations.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

namespace {

struct LogitsArgs {
  LoadOptions load;
  std::string model;
  std::string prompt_ids;
  std::string out;
  int threads = 0;
  KvType kv_type = KvType::F32;
};

int run_logits(const LogitsArgs& a) {
  const std::vector<int> ids = parse_ids(a.prompt_ids, "--prompt-ids");
  Model model = load_model(a.model.empty() ? default_model_path() : a.model, "", with_threads(a.load, a.threads));
  const std::vector<float> logits = prompt_logits(model, ids, a.kv_type, a.threads);
  std::FILE* f = std::fopen(a.out.c_str(), "wb");
  if (!f) throw Error(fmt::format("cannot write '{}': {}", a.out, std::strerror(errno)));
  const size_t written = std::fwrite(logits.data(), sizeof(float), logits.size(), f);
  if (std::fclose(f) != 0 || written != logits.size())
    throw Error(fmt::format("cannot write '{}': {}", a.out, std::strerror(errno)));
  fmt::print(stderr, "wrote {} x {} float32 logits to {}\n", ids.size(), model_info(model).vocab_size, a.out);
  return 0;
}

}  // namespace

Runner add_logits(CLI::App& app) {
  auto args = std::make_shared<LogitsArgs>();
  CLI::App* cmd = app.add_subcommand("logits", "Write the logits of every prompt position to a file (float32 LE)");
  add_model_option(cmd, args->model);
  add_load_option(cmd, args->load);
  cmd->add_option("--prompt-ids", args->prompt_ids, "Prompt token ids, e.g. 1,2,3")->required();
  cmd->add_option("-o,--output", args->out, "Output file: [tokens, vocab] float32, little-endian")->required();
  cmd->add_option("-t,--threads", args->threads, "Threads; 0 = every core")->check(number_in(0, 4096));
  cmd->add_option("--kv-type", args->kv_type, "KV cache element type: f32 or bf16")
      ->transform(one_of(kv_types()))
      ->default_str("f32");
  return [cmd, args]() { return cmd->parsed() ? run_logits(*args) : -1; };
}

}  // namespace resa::cli
