// The avx2 kernel table: simd/vec/'s kernels over VecAvx2. This file alone is compiled with -mavx2 -mfma -mf16c
// (CMakeLists.txt); dispatch.cpp calls avx2::kernels() only on a CPU (and OS) that supports it, kernels_vnni() only on
// one with AVX-VNNI too.
#include <immintrin.h>
#include <math.h>

#include <cstdint>

#include "simd/avx2/avx2.hpp"
#include "simd/kernels.hpp"
#include "simd/quant.hpp"
#include "simd/scalar/scalar.hpp"
#include "simd/vec/vec_avx2.hpp"

namespace resa::simd::avx2 {

namespace {
using X = VecAvx2;
#include "simd/vec/linear.inl"
#include "simd/vec/attention.inl"
#include "simd/vec/elementwise.inl"
#include "simd/vec/gemm.inl"
#include "simd/vec/lagkv.inl"
// AVX2's int8 dot product: pairs of u8 x s8 summed to int16 (vpmaddubsw), then pairs of those to int32 (vpmaddwd).
inline __m256i qdot(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
#define QDOT qdot
constexpr const char* kInt8Dot = "AVX2 vpmaddubsw";
#include "simd/vec/quant.inl"
#undef QDOT
#include "simd/vec/table.inl"
}  // namespace

const Kernels& kernels() {
  static const Kernels k = vec_table("avx2");
  return k;
}

// The avx_vnni table: the avx2 table with AVX-VNNI's int8 products (dispatch.cpp offers it on CPUs that have it).
const Kernels& kernels_vnni() {
  static const Kernels k = [] {
    Kernels t = vec_table("avx_vnni");
    avx_vnni::set_int8_products(t);
    return t;
  }();
  return k;
}

}  // namespace resa::simd::avx2
