// resa info: what a model is — architecture, shapes, dtypes, parameters, weight bytes, KV cache bytes.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

namespace {

struct InfoArgs {
  std::string model;
  int context = 0;
  WeightType weights = WeightType::AsStored;
};

std::string bytes_str(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

int run_info(const InfoArgs& a) {
  // Mapped, not copied: info reads no weights (unless --weights asks for them converted, to show the result).
  LoadOptions load{WeightLoad::Mmap};
  if (a.weights != WeightType::AsStored) load = {WeightLoad::Copy, 0, a.weights};
  Model model = load_model(a.model.empty() ? default_model_path() : a.model, "", load);
  const ModelInfo i = model_info(model);
  if (a.context > i.max_seq_len)
    throw Error(fmt::format("-c {} is beyond the model's maximum of {} positions", a.context, i.max_seq_len));
  const int ctx = a.context > 0 ? a.context : i.default_context;
  fmt::print("model:            {}\n", i.path);
  fmt::print("architecture:     {}\n", i.architecture);
  fmt::print("layers:           {}\n", i.n_layers);
  fmt::print("hidden size:      {}\n", i.dim);
  fmt::print("MLP size:         {}\n", i.hidden_dim);
  fmt::print("heads:            {} query, {} key/value, head_dim {}\n", i.n_heads, i.n_kv_heads, i.head_dim);
  fmt::print("vocabulary:       {}\n", i.vocab_size);
  fmt::print("max positions:    {}\n", i.max_seq_len);
  fmt::print("RoPE:             {}\n", i.rope);
  fmt::print("q/k/v biases:     {}\n", i.qkv_bias ? "yes" : "no");
  fmt::print("LM head:          {}\n", i.tied_embeddings ? "tied to the embedding" : "separate");
  fmt::print("BOS / EOS ids:    {} / {}\n", i.bos_id, fmt::join(i.eos_ids, ", "));
  fmt::print("tokenizer:        {}\n", i.has_tokenizer ? i.tokenizer : "none (use --prompt-ids)");
  if (i.has_tokenizer)
    fmt::print("chat template:    {}\n", i.chat_format.empty() ? "none recognised (resa chat needs --chat-template)"
                                                              : i.chat_format);
  fmt::print("weights:          {}, {} parameters, {}\n", i.weight_dtypes, i.parameters,
             bytes_str(static_cast<double>(i.weight_bytes)));
  fmt::print("KV per token:     {} (bf16), {} (f32)\n", bytes_str(i.kv_bytes_per_token_bf16),
             bytes_str(i.kv_bytes_per_token_f32));
  fmt::print("KV at {} tokens: {} (bf16), {} (f32)\n", ctx, bytes_str(double(i.kv_bytes_per_token_bf16) * ctx),
             bytes_str(double(i.kv_bytes_per_token_f32) * ctx));
  const KernelInfo k = kernel_info();
  fmt::print("kernels:          {} (this CPU runs {}; RESA_ISA=scalar|avx2|avx_vnni|avx512 chooses)\n", k.isa, k.supported);
  fmt::print("decode products:  {}\n", decode_products(model));
  fmt::print("prefill products: {} (--kv-type bf16, the default)\n", prefill_products(model, KvType::BF16));
  fmt::print("                  {} (--kv-type f32)\n", prefill_products(model, KvType::F32));
  fmt::print("BLAS:             {}{}\n", k.blas, k.blas_warning.empty() ? "" : " — " + k.blas_warning);
  return 0;
}

}  // namespace

Runner add_info(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model: architecture, shapes, dtypes, sizes");
  add_model_option(cmd, args->model);
  add_weights_option(cmd, args->weights);
  cmd->add_option("-c,--ctx-size", args->context, "Context for the KV cache size; 0 = the model's maximum, at most 4096")
      ->check(number_in(0, 1e9));
  return [cmd, args]() { return cmd->parsed() ? run_info(*args) : -1; };
}

}  // namespace resa::cli
