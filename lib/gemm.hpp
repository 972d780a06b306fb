// The weight products of a chunk of rows (prefill, the rectify pass, the LM head over many positions):
// Y = X · Wᵀ, W a weight matrix as the checkpoint stores it.
//
// bf16 and f16 weights run on the kernel table's gemm kernels (simd/vec/gemm.inl), blocked here for the caches: each
// thread takes an even share of W's rows; within it, k in blocks of at most kMaxK (an MR-row group of X stays in L1)
// and rows in blocks of ~kL2Bytes (a block of W stays in L2 while every row of X passes over it). With
// GemmInput::Bf16 and a CPU with AVX512_BF16, X is rounded to bf16 once per call and multiplied with vdpbf16ps (twice
// the f32 FMA rate); otherwise X stays f32 and W is widened. f32 weights go through OpenBLAS sgemm.
#pragma once

#include <cstdint>
#include <string>

#include "model/weights.hpp"

namespace resa {

// How activations meet bf16 weights in a chunk's products: rounded to bf16 (the fast default, where the CPU has
// bf16 dot products), or kept f32 (the exact mode the f32 goldens use: --kv-type f32).
enum class GemmInput { F32, Bf16 };

struct GemmScratch {
  uint16_t* xbf = nullptr;  // room for m * W.cols bf16 (X rounded), when GemmInput::Bf16
  int threads = 1;          // threads the product may use
};

// Y[i * ldy + j] = (accumulate ? Y[i * ldy + j] : 0) + sum_p X[i * W.cols + p] * W[j][p], i < m, j < W.rows.
void gemm(float* Y, int ldy, const float* X, int m, const Mat& W, bool accumulate, GemmInput input,
          const GemmScratch& scratch);

// Several products of the same X in one pass over the threads (a chunk's Q, K and V; gate and up): X rounded once,
// each job's bias (when given) added to the columns a thread wrote. The W share one dtype and column count. The rows
// are split as a decode step splits them (so each thread reads the rows it placed, lib/model/placement.hpp):
// JobSplit::Stacked, the jobs' rows laid end to end and split evenly (K, V, Q); JobSplit::Alike, every job's rows
// split the same way (gate and up).
struct GemmJob {
  float* Y;
  int ldy;
  const Mat* W;
  const float* bias = nullptr;  // [W->rows] or nullptr
  bool accumulate = false;
};
enum class JobSplit { Stacked, Alike };
void gemm(const GemmJob* jobs, int n_jobs, const float* X, int m, GemmInput input, const GemmScratch& scratch,
          JobSplit split = JobSplit::Stacked);

// What a chunk's products of `weights` do on this CPU with `input`, e.g. "bf16 x bf16 (AVX512_BF16 vdpbf16ps),
// activations rounded to bf16" — for `resa info` and `resa bench`.
std::string gemm_description(DType weights, GemmInput input);

// The BLAS f32 weights go through, and the kernels it chose for this CPU: "OpenBLAS 0.3.21 ...", "Haswell".
std::string blas_config();
std::string blas_core();
// Empty, or why the BLAS runs below what this CPU supports and what to do about it (OpenBLAS's DYNAMIC_ARCH falls back
// to its Prescott kernels on CPU models it does not know: 5x slower sgemm measured on a Xeon of family 6 model 207).
// gemm() prints it once on stderr when f32 weights first go through the BLAS.
std::string blas_warning();

// One threading runtime: OpenMP. OpenBLAS runs single-threaded inside our parallel regions (its own threads would
// fight OpenMP's spinning workers for the cores: measured prefill 13x slower on 2 cores). Idempotent.
void single_threaded_openblas();

}  // namespace resa
