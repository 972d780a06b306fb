#include <filesystem>
#include <system_error>

#include "commands.hpp"

namespace resa::cli {

std::string default_model_path() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  // <prefix>/bin/resa -> <prefix>/share/resa/models/..., in the build tree and when installed alike.
  const fs::path base = ec ? fs::path("share") : exe.parent_path().parent_path() / "share";
  return (base / "resa" / "models" / "stories260K" / "stories260K.bin").string();
}

CLI::Option* add_model_option(CLI::App* cmd, std::string& model) {
  return cmd->add_option("-m,--model", model,
                         "Model: a Hugging Face directory (config.json + safetensors) or a llama2.c checkpoint; "
                         "default: the shipped stories260K");
}

void add_load_option(CLI::App* cmd, LoadOptions& load) {
  static const std::map<std::string, WeightLoad> names{{"copy", WeightLoad::Copy}, {"mmap", WeightLoad::Mmap}};
  cmd->add_option("--load", load.weights,
                  "Weights: copy (into 2 MiB pages, each row by the thread that reads it: fastest decode, 1-3 s "
                  "per 3 GB at load, memory of its own) or mmap (the file mapping in place: instant, shared)")
      ->transform(one_of(names))
      ->default_str("copy");
  add_weights_option(cmd, load.type);
}

CLI::Option* add_weights_option(CLI::App* cmd, WeightType& type) {
  static const std::map<std::string, WeightType> types{{"stored", WeightType::AsStored},
                                                       {"bf16", WeightType::BF16},
                                                       {"q8_0", WeightType::Q8_0},
                                                       {"q4_0", WeightType::Q4_0}};
  return cmd->add_option("--weights", type,
                         "Weight type: stored (the checkpoint's own), bf16, q8_0 (8.5 bits per weight) or q4_0 (4.5 "
                         "bits), converted at load; norms and biases stay f32")
      ->transform(one_of(types))
      ->default_str("stored");
}

LoadOptions with_threads(LoadOptions o, int threads) {
  o.threads = threads;
  return o;
}

}  // namespace resa::cli
