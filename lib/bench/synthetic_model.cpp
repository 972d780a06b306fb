// resa::synthetic_model(): random bf16 weights at the shape of a config.json, for benchmarks at a real model's shape
// without its checkpoint.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/config.hpp"
#include "model/model.hpp"
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

// n values uniform in [-a, a), as bf16, chunk by chunk over the threads (each chunk seeded from (seed, its index), so
// the weights do not depend on the thread count). The threads that will read the rows write them first.
void fill_uniform_bf16(uint16_t* out, size_t n, float a, uint64_t seed) {
  constexpr size_t kChunk = size_t{1} << 16;
  const int64_t chunks = static_cast<int64_t>((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    uint64_t state = splitmix(seed ^ splitmix(static_cast<uint64_t>(c)));
    const size_t end = std::min(n, static_cast<size_t>(c + 1) * kChunk);
    for (size_t i = static_cast<size_t>(c) * kChunk; i < end; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      const float u = static_cast<float>(state >> 40) * (2.0f / 16777216.0f) - 1.0f;  // [-1, 1)
      out[i] = simd::f32_to_bf16(a * u);
    }
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

Model synthetic_model(const std::string& config_path, uint64_t seed) {
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
  auto mat = [&](int64_t rows, int64_t cols) {
    const size_t n = static_cast<size_t>(rows) * cols;
    m.generated.emplace_back(n);
    fill_uniform_bf16(m.generated.back().data(), n, a, splitmix(seed + ++index));
    return Mat{m.generated.back().data(), DType::BF16, rows, cols};
  };
  auto vec = [&](int64_t n, float value) {
    return m.weights.owned.emplace_back(static_cast<size_t>(n), value).data();
  };
  auto bias = [&](int64_t n) {
    std::vector<uint16_t> raw(n);
    fill_uniform_bf16(raw.data(), raw.size(), a, splitmix(seed + ++index));
    std::vector<float>& v = m.weights.owned.emplace_back(n);
    for (int64_t i = 0; i < n; ++i) v[i] = simd::bf16_to_f32(raw[i]);
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
  return Model{std::move(data)};
}

}  // namespace resa
