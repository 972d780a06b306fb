// The avx2 kernel table: simd/vec/'s kernels over VecAvx2. This file alone is compiled with -mavx2 -mfma -mf16c
// (CMakeLists.txt); dispatch.cpp calls avx2::kernels() only on a CPU (and OS) that supports it.
#include <immintrin.h>
#include <math.h>

#include <cstdint>

#include "simd/kernels.hpp"
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
#include "simd/vec/table.inl"
}  // namespace

const Kernels& kernels() {
  static const Kernels k = vec_table("avx2");
  return k;
}

}  // namespace resa::simd::avx2
