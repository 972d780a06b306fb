// Element types of weights and of the KV cache, and the conversions between them.
// The scalar conversions live in simd/convert.hpp (kernels use them too); arrays convert on the kernel table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "simd/convert.hpp"
#include "simd/kernels.hpp"

namespace resa {

enum class DType : uint8_t { F32, BF16, F16 };

inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }
inline const char* dtype_name(DType t) { return t == DType::F32 ? "f32" : t == DType::BF16 ? "bf16" : "f16"; }

using simd::bf16_to_f32;
using simd::f16_to_f32;
using simd::f32_to_bf16;

// n elements of type t at src, as f32.
inline void to_f32(float* dst, const void* src, DType t, size_t n) {
  if (t == DType::F32) {
    std::memcpy(dst, src, n * 4);
  } else {
    const uint16_t* h = static_cast<const uint16_t*>(src);
    if (t == DType::BF16)
      simd::kernels().bf16_to_f32(dst, h, static_cast<int>(n));
    else
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
  }
}

}  // namespace resa
