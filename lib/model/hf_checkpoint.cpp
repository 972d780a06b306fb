#include "model/hf_checkpoint.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "model/bind.hpp"
#include "resa/resa.hpp"

namespace resa {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read '{}'", p.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

struct Binder {
  HfCheckpoint& ck;
  std::string dir;

  const TensorView& find(const std::string& name, std::vector<int64_t> shape) {
    auto it = ck.tensors.tensors.find(name);
    if (it == ck.tensors.tensors.end())
      throw Error(fmt::format("'{}': tensor '{}' is missing from the checkpoint", dir, name));
    const TensorView& t = it->second;
    if (t.shape != shape)
      throw Error(fmt::format("'{}': tensor '{}' has shape {}, the config implies {}", t.file, name,
                              shape_str(t.shape), shape_str(shape)));
    return t;
  }
  Mat mat(const std::string& name, int64_t rows, int64_t cols) {
    const TensorView& t = find(name, {rows, cols});
    return Mat{t.data, t.dtype, rows, cols};
  }
  // Vectors are tiny: held as f32 (a view when the file stores f32, else a converted copy).
  const float* vec(const std::string& name, int64_t n) {
    const TensorView& t = find(name, {n});
    if (t.dtype == DType::F32) return static_cast<const float*>(t.data);
    std::vector<float>& v = ck.weights.owned.emplace_back(n);
    to_f32(v.data(), t.data, t.dtype, n);
    return v.data();
  }
};

}  // namespace

bool is_hf_model_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

HfCheckpoint load_hf_checkpoint(const std::string& dir) {
  const fs::path cfg = fs::path(dir) / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(cfg, ec))
    throw Error(fmt::format("'{}' has no config.json (expected a Hugging Face model directory)", dir));
  const fs::path gen = fs::path(dir) / "generation_config.json";
  HfCheckpoint ck;
  ck.config = parse_hf_config(read_text(cfg), cfg.string(), fs::is_regular_file(gen, ec) ? read_text(gen) : "");
  ck.tensors = load_safetensors_dir(dir);

  const ModelConfig& c = ck.config;
  Binder b{ck, dir};
  bind_weights(b, c, kHfNames, ck.weights);
  return ck;
}

}  // namespace resa
