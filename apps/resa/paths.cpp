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

}  // namespace resa::cli
