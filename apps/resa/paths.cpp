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

}  // namespace resa::cli
