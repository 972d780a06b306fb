// The AVX2-level kernels that live outside kernels_avx2.cpp (files with flags of their own).
#pragma once

#include "simd/kernels.hpp"

namespace resa::simd::avx_vnni {

// The int8 products of quantized weights with AVX-VNNI's vpdpbusd (quant_avx_vnni.cpp) put into table t.
void set_int8_products(Kernels& t);

}  // namespace resa::simd::avx_vnni
