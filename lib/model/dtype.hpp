// Element types of weights and of the KV cache: one row of a table each (its name, and the block of elements it
// stores together with the bytes of that block), and the conversions between them.
//
// f32, bf16 and f16 store elements one by one (a block of 1). The quantized types store blocks of 32 weights with
// one scale, in GGUF's bit layouts (simd/quant.hpp): q8_0, 32 int8 and an f16 scale (34 bytes); q4_0, 32 4-bit
// values and an f16 scale (18 bytes). A matrix row of a quantized type holds whole blocks. Their row-group forms
// (q8_0_r8, q4_0_r8) hold the same blocks with 8 rows interleaved, the form --load copy places them in for decode.
// q4_k and q6_k (a GGUF file's k-quants, super-blocks of 256) are read, never written: --load copy places them in
// row-group forms of 32-weight blocks, q4_k_r8 (per 32 weights and row: d * scale and dmin * min as f16, 5 bits per
// weight) and q6_k_r8 (the file's values and scales, d repeated per 32: 7 bits per weight; lib/model/placement.cpp);
// --load mmap computes from them through f32 rows. The KV cache holds f32 or
// bf16; how a weight type's products are computed lives in lib/linear.cpp's table.
// The scalar conversions live in simd/convert.hpp (kernels use them too); arrays convert on the kernel table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "simd/convert.hpp"
#include "simd/kernels.hpp"
#include "simd/quant.hpp"

namespace resa {

enum class DType : uint8_t { F32, BF16, F16, Q8_0, Q4_0, Q8_0_R8, Q4_0_R8, Q4_K, Q6_K, Q4_K_R8, Q6_K_R8 };
constexpr int kDTypes = 11;

struct DTypeInfo {
  const char* name;
  int block;        // elements of a row stored together
  int block_bytes;  // their bytes
  int row_group;    // rows stored interleaved (the row-group forms, simd/quant.hpp), else 1
  DType holds;      // the type whose values it holds: itself, or a row-group form's plain type
};

inline const DTypeInfo& dtype_info(DType t) {
  static constexpr DTypeInfo table[kDTypes] = {
      {"f32", 1, 4, 1, DType::F32},           {"bf16", 1, 2, 1, DType::BF16},
      {"f16", 1, 2, 1, DType::F16},           {"q8_0", 32, 34, 1, DType::Q8_0},
      {"q4_0", 32, 18, 1, DType::Q4_0},       {"q8_0_r8", 32, 34, 8, DType::Q8_0},
      {"q4_0_r8", 32, 18, 8, DType::Q4_0},    {"q4_k", 256, 144, 1, DType::Q4_K},
      {"q6_k", 256, 210, 1, DType::Q6_K},     {"q4_k_r8", 32, 20, 8, DType::Q4_K},
      {"q6_k_r8", 32, 28, 8, DType::Q6_K}};
  return table[static_cast<int>(t)];
}

inline const char* dtype_name(DType t) { return dtype_info(t).name; }
inline bool is_quantized(DType t) { return dtype_info(t).block > 1; }
// Bytes of one element of an unquantized type (f32, bf16, f16).
inline size_t dtype_size(DType t) { return static_cast<size_t>(dtype_info(t).block_bytes); }
// Bytes of n elements (n a multiple of the type's block); of a row, for the row-group forms too (a group of 8 rows
// takes 8 rows' bytes).
inline size_t dtype_bytes(DType t, int64_t n) {
  const DTypeInfo& i = dtype_info(t);
  return static_cast<size_t>(n / i.block) * static_cast<size_t>(i.block_bytes);
}

using simd::bf16_to_f32;
using simd::f16_to_f32;
using simd::f32_to_bf16;

// n elements of type t at src (n a multiple of its block), as f32. Not for the row-group forms (row_to_f32 in
// weights.hpp reads one of their rows).
inline void to_f32(float* dst, const void* src, DType t, size_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(src);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, n * 4); break;
    case DType::BF16: simd::kernels().bf16_to_f32(dst, h, static_cast<int>(n)); break;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      break;
    case DType::Q8_0: simd::dequantize_q8_0(dst, static_cast<const simd::BlockQ8_0*>(src), n); break;
    case DType::Q4_0: simd::dequantize_q4_0(dst, static_cast<const simd::BlockQ4_0*>(src), n); break;
    case DType::Q4_K: simd::dequantize_q4_k(dst, static_cast<const simd::BlockQ4_K*>(src), n); break;
    case DType::Q6_K: simd::dequantize_q6_k(dst, static_cast<const simd::BlockQ6_K*>(src), n); break;
    case DType::Q8_0_R8:
    case DType::Q4_0_R8:
    case DType::Q4_K_R8:
    case DType::Q6_K_R8:  // rows interleaved: a caller's mistake, never the input's
      throw std::logic_error(std::string("to_f32: ") + dtype_info(t).name + " rows are interleaved (row_to_f32)");
  }
}

// n f32 values stored as type t at dst (n a multiple of its block): rounded to nearest even (bf16, f16), or quantized
// (simd/quant.hpp's reference). Not for the row-group forms (lib/model/placement.cpp writes those 8 rows at a time).
inline void from_f32(void* dst, const float* src, DType t, size_t n) {
  uint16_t* h = static_cast<uint16_t*>(dst);
  const int64_t count = static_cast<int64_t>(n);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, n * 4); break;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) h[i] = simd::f32_to_bf16(src[i]);
      break;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) h[i] = simd::f32_to_f16(src[i]);
      break;
    case DType::Q8_0: simd::quantize_q8_0(static_cast<simd::BlockQ8_0*>(dst), src, count); break;
    case DType::Q4_0: simd::quantize_q4_0(static_cast<simd::BlockQ4_0*>(dst), src, count); break;
    case DType::Q8_0_R8:
    case DType::Q4_0_R8:
    case DType::Q4_K:
    case DType::Q6_K:
    case DType::Q4_K_R8:
    case DType::Q6_K_R8:  // written 8 rows at a time (placement.cpp), or never (the k-quants): a caller's mistake
      throw std::logic_error(std::string("from_f32: resa does not write ") + dtype_info(t).name + " row by row");
  }
}

}  // namespace resa
