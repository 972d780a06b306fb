// resa::synthetic_model(): random bf16 weights at the shape of a config.json, for benchmarks at a real model's shape
// without its checkpoint.
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/config.hpp"
#include "model/model.hpp"
#include "model/load.hpp"
#include "model/placement.hpp"
#include "resa/bench.hpp"
#include "simd/convert.hpp"

namespace resa {

namespace {

namespace fs = std::filesystem;

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// n values uniform in [-a, a), rounded to bf16, from a seed (each row of a matrix seeded from (matrix, row), so the
// weights depend neither on the thread count nor on which thread writes them).
void fill_uniform(float* out, size_t n, float a, uint64_t seed) {
  uint64_t state = splitmix(seed) | 1;
  for (size_t i = 0; i < n; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    const float u = static_cast<float>(state >> 40) * (2.0f / 16777216.0f) - 1.0f;  // [-1, 1)
    out[i] = simd::bf16_to_f32(simd::f32_to_bf16(a * u));
  }
}

std::string read_config(const std::string& path) {
  std::error_code ec;
  const fs::path file = fs::is_directory(path, ec) ? fs::path(path) / "config.json" : fs::path(path);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read the config '{}'", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Model synthetic_model(const std::string& config_path, uint64_t seed, int threads, WeightType weights) {
  const DType type = weights == WeightType::AsStored ? DType::BF16 : dtype_of(weights);
  const std::string text = read_config(config_path);
  auto data = std::make_shared<ModelData>();
  ModelData& m = *data;
  m.path = config_path;
  m.synthetic = true;
  m.config = parse_hf_config(text, config_path);
  const ModelConfig& c = m.config;
  double stddev = 0.02;
  if (const auto j = nlohmann::json::parse(text, nullptr, false); j.is_object() && j.contains("initializer_range") &&
                                                                   j["initializer_range"].is_number())
    stddev = j["initializer_range"].get<double>();
  const float a = static_cast<float>(stddev * std::sqrt(3.0));  // uniform on [-a, a) has this standard deviation

  uint64_t index = 0;
  // The matrices' shapes now, their rows generated below straight into the decode placement.
  auto mat = [&](int64_t rows, int64_t cols) { return Mat{nullptr, DType::BF16, rows, cols}; };
  auto vec = [&](int64_t n, float value) {
    return m.weights.owned.emplace_back(static_cast<size_t>(n), value).data();
  };
  auto bias = [&](int64_t n) {
    std::vector<float>& v = m.weights.owned.emplace_back(n);
    fill_uniform(v.data(), v.size(), a, splitmix(seed + ++index));
    return v.data();
  };

  Weights& w = m.weights;
  w.token_embedding = mat(c.vocab_size, c.dim);
  w.layers.resize(c.n_layers);
  for (LayerWeights& lw : w.layers) {
    lw.attn_norm = vec(c.dim, 1.0f);
    lw.wq = mat(c.q_dim(), c.dim);
    lw.wk = mat(c.kv_dim(), c.dim);
    lw.wv = mat(c.kv_dim(), c.dim);
    if (c.qkv_bias) {
      lw.bq = bias(c.q_dim());
      lw.bk = bias(c.kv_dim());
      lw.bv = bias(c.kv_dim());
    }
    lw.wo = mat(c.dim, c.q_dim());
    lw.ffn_norm = vec(c.dim, 1.0f);
    lw.w_gate = mat(c.hidden_dim, c.dim);
    lw.w_up = mat(c.hidden_dim, c.dim);
    lw.w_down = mat(c.dim, c.hidden_dim);
  }
  w.final_norm = vec(c.dim, 1.0f);
  w.lm_head = c.tied_embeddings ? w.token_embedding : mat(c.vocab_size, c.dim);
  // Each row from its own seed (matrix, row), straight into the decode placement as `type` (bf16: as generated).
  auto rows = [&](int matrix, const Mat& mt, DType to, int64_t begin, int64_t end, void* dst) {
    write_rows(dst, to, mt.cols, begin, end, [&](int64_t r, float* row) {
      const uint64_t id = (uint64_t{1} << 40) * (matrix + 1) + r;
      fill_uniform(row, static_cast<size_t>(mt.cols), a, splitmix(seed ^ splitmix(id)));
    });
  };
  m.weight_arena = place_weights(w, c.tied_embeddings, threads > 0 ? threads : omp_get_max_threads(), rows,
                                 [type](const Mat& mat) { return placed_type(mat, type); });
  return Model{std::move(data)};
}

}  // namespace resa
