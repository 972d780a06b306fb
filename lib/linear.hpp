// Weight matrix x vector products (a decode step's projections, MLP and LM head), for every weight type through one
// table: per type, what the input vector becomes first (f32 as it is, or int8 blocks for the quantized types) and
// which kernel multiplies a range of rows. A chunk's products (lib/gemm.cpp) read the same table for how to widen a
// tile of a quantized matrix. forward.cpp calls these and knows no weight type.
#pragma once

#include <cstdint>
#include <string>

#include "model/weights.hpp"
#include "simd/kernels.hpp"

namespace resa {

// The input vector as a type's kernel takes it: f32, or (quantized weights) int8 per block of 32 with f32 scales.
struct LinearInput {
  const float* x = nullptr;
  const int8_t* q = nullptr;
  const float* d = nullptr;
  const int32_t* sums = nullptr;  // per block, the sums of its first and last 16 q (simd/quant.hpp)
};

struct LinearType {
  bool int8_input;  // x quantized to int8 blocks (simd::Kernels::quantize_q8) before the product
  // out[0, rows) = rows of W starting at `first` (a row pointer) . x
  void (*gemv)(const simd::Kernels& k, float* out, const void* first, const LinearInput& x, int rows, int cols);
  // The tile W[j0, j0 + nj) x [p0, p0 + pk) as bf16 at dst (rows of pk), for the chunk products; nullptr when the
  // GEMM kernels read the type as stored.
  void (*widen)(const simd::Kernels& k, uint16_t* dst, const Mat& W, int j0, int nj, int p0, int pk);
  // The chunk product in int8 on the kernel table (the row-group forms), when the table has one: then X is quantized
  // as x is, and no tile is widened (lib/gemm.cpp).
  simd::Kernels::GemmR8 simd::Kernels::*chunk_int8;
};

const LinearType& linear_type(DType t);

// out = W · x on the kernel table, on up to `threads` threads (one row block each when W is large enough to pay for
// them).
void matvec(float* out, const Mat& W, const float* x, int threads);

// Several products of the same x in one pass over the threads: the jobs' rows laid end to end and split evenly, each
// row's bias (when given) added as it is written. A decode step's Q, K and V. The W share a type and column count.
struct MatvecJob {
  float* out;
  const Mat* W;
  const float* bias;  // [W->rows] or nullptr
};
void matvec_fused(const MatvecJob* jobs, int n_jobs, const float* x, int threads);

// gate = silu(Wg · x) * (Wu · x), up = Wu · x: each thread takes a range of rows of both and applies SwiGLU to it
// while it is still in cache. A decode step's MLP input.
void matvec_swiglu(float* gate, float* up, const Mat& Wg, const Mat& Wu, const float* x, int threads);

}  // namespace resa
