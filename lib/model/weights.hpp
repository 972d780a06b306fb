// Weights: per-layer views into the mapped checkpoint. Matrices are dtype-tagged views, used in place (a bf16
// checkpoint is computed from as bf16, never copied to f32), or in the arena they were placed or quantized into.
// Matrices are row-major [out_features, in_features], as both llama2.c and PyTorch store them. Vectors (norm weights,
// biases) are small and held as f32.
#pragma once

#include <cstdint>
#include <vector>

#include "model/dtype.hpp"

namespace resa {

struct Mat {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0;

  size_t row_bytes() const { return dtype_bytes(dtype, cols); }
  size_t bytes() const { return static_cast<size_t>(rows) * row_bytes(); }
  // Row r's first byte (of its group's first byte in a row-group form: r a multiple of 8 there).
  const void* row(int64_t r) const { return static_cast<const uint8_t*>(data) + static_cast<size_t>(r) * row_bytes(); }
};

// Row r of m as f32 (dim = m.cols values): the embedding lookup, whatever m's type.
inline void row_to_f32(float* dst, const Mat& m, int64_t r) {
  const DTypeInfo& info = dtype_info(m.dtype);
  if (info.row_group == 1) return to_f32(dst, m.row(r), m.dtype, static_cast<size_t>(m.cols));
  const int64_t nb = m.cols / simd::kQBlock, i = r % simd::kRowGroup;
  const void* group = m.row(r - i);
  if (m.dtype == DType::Q4_K_R8)
    return simd::unpack_row_f32(dst, static_cast<const simd::BlockQ4_Kx8*>(group), static_cast<int>(i), nb);
  if (m.dtype == DType::Q6_K_R8)
    return simd::unpack_row_f32(dst, static_cast<const simd::BlockQ6_Kx8*>(group), static_cast<int>(i), nb);
  if (m.dtype == DType::Q8_0_R8) {
    thread_local std::vector<simd::BlockQ8_0> row;  // grown once: a decode step allocates nothing
    row.resize(static_cast<size_t>(nb));
    simd::unpack_row(row.data(), static_cast<const simd::BlockQ8_0x8*>(group), static_cast<int>(i), nb);
    simd::dequantize_q8_0(dst, row.data(), m.cols);
  } else {
    thread_local std::vector<simd::BlockQ4_0> row;
    row.resize(static_cast<size_t>(nb));
    simd::unpack_row(row.data(), static_cast<const simd::BlockQ4_0x8*>(group), static_cast<int>(i), nb);
    simd::dequantize_q4_0(dst, row.data(), m.cols);
  }
}

struct LayerWeights {
  const float* attn_norm = nullptr;  // [dim]
  Mat wq;                            // [q_dim, dim]
  Mat wk;                            // [kv_dim, dim]
  Mat wv;                            // [kv_dim, dim]
  const float* bq = nullptr;         // [q_dim]  Qwen2 only, else null
  const float* bk = nullptr;         // [kv_dim]
  const float* bv = nullptr;         // [kv_dim]
  Mat wo;                            // [dim, q_dim]
  const float* ffn_norm = nullptr;   // [dim]
  Mat w_gate;                        // [hidden_dim, dim]   (llama2.c: w1)
  Mat w_down;                        // [dim, hidden_dim]   (llama2.c: w2)
  Mat w_up;                          // [hidden_dim, dim]   (llama2.c: w3)
};

struct Weights {
  Mat token_embedding;  // [vocab_size, dim]
  std::vector<LayerWeights> layers;
  const float* final_norm = nullptr;  // [dim]
  Mat lm_head;                        // [vocab_size, dim]; the embedding when tied
  std::vector<std::vector<float>> owned;  // f32 copies of the vectors stored in bf16/f16; views point into them
};

}  // namespace resa
