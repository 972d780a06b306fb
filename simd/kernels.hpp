// The kernel table. Every kernel has one signature; simd/scalar/ holds the plain reference twin of each, and the
// ISA-specific versions (simd/avx2/, simd/avx512/) fill the same table. kernels() picks one at first use from
// CPUID and XGETBV (dispatch.cpp); RESA_ISA=scalar|avx2|avx512 overrides it. Kernels know no model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace resa::simd {

// LagKV's epsilon in the min-max normalisation (SPEC §3.2: the official code has none and can divide by zero).
constexpr float kLagEpsilon = 1e-6f;

struct Kernels {
  const char* isa;

  // out[r] = sum_c W[r * cols + c] * x[c] for r in [0, rows). W is row-major [rows, cols].
  void (*matvec_f32)(float* out, const float* W, const float* x, int rows, int cols);

  // The same with W stored as bf16 / f16 (upper half of an f32 / IEEE half), accumulated in f32.
  void (*matvec_bf16)(float* out, const uint16_t* W, const float* x, int rows, int cols);
  void (*matvec_f16)(float* out, const uint16_t* W, const float* x, int rows, int cols);

  // y[i] += alpha * x[i] (the merge of flash-decoding splits).
  void (*axpy_f32)(float* y, float alpha, const float* x, int n);

  // ---- Block-sparse attention (SPEC §2). K and V are one KV head's [entries][head_dim] rows (f32, or bf16 in the
  // *_bf16 forms), the first len valid; a block b holds entries b*block_size .. b*block_size+block_size-1, the last
  // one only up to len-1. Entries are rows of the cache, whatever positions they hold (their keys carry RoPE).

  // Block scores (SPEC §2.2): scores[b] = sum_d max(qbar[d] * min[b][d], qbar[d] * max[b][d]) for b in [0, n_blocks),
  // an upper bound of qbar·k over the block's keys. summaries: [n_blocks][2][head_dim], the min row then the max row.
  void (*block_scores_f32)(float* scores, const float* qbar, const float* summaries, int n_blocks, int head_dim);
  void (*block_scores_bf16)(float* scores, const float* qbar, const uint16_t* summaries, int n_blocks, int head_dim);

  // Top-n (SPEC §2.3): writes to out, in ascending order, the indices of the n largest of scores[0, m), ties going to
  // the lower index, without sorting all m. 1 <= n <= m; work has room for m ints.
  void (*top_n)(int* out, const float* scores, int m, int n, int* work);

  // Attention of the g query heads of one KV group over the listed blocks (SPEC §2.4), one split of a flash-decoding
  // pass: q is [g][head_dim]; for each head j it writes the running maximum m[j] of the scaled scores, the sum
  // l[j] = sum exp(score - m[j]) and the unnormalised acc[j][head_dim] = sum exp(score - m[j]) * v. Each K/V row is
  // read once for all g heads. With no blocks: m = -inf, l = 0, acc = 0. Splits merge by log-sum-exp.
  void (*sparse_attn_f32)(float* acc, float* m, float* l, const float* q, int g, const float* K, const float* V,
                          const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale);
  void (*sparse_attn_bf16)(float* acc, float* m, float* l, const float* q, int g, const uint16_t* K,
                           const uint16_t* V, const int* blocks, int n_blocks, int block_size, int len, int head_dim,
                           float scale);

  // Dense causal attention of a chunk (prefill, the rectify pass): n query rows whose own entries are
  // pos0 .. pos0+n-1, each with the g query heads of one KV group (row i, head j at q[i * q_stride + j * head_dim]);
  // row i attends to entries 0 .. pos0+i. Writes the normalised outputs at out[i * out_stride + j * head_dim].
  void (*causal_attn_f32)(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                          const float* K, const float* V, int head_dim, float scale);
  void (*causal_attn_bf16)(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                           const uint16_t* K, const uint16_t* V, int head_dim, float scale);

  // ---- LagKV (SPEC §3.2): lag-relative scores of one KV head's partition, keys or values in one call
  // X is the partition's [n][head_dim] rows, ref its reference (the next partition's [n_ref][head_dim] rows). With
  // m_c, M_c the reference's minimum and maximum of channel c, each row is normalised as (x_c - m_c) / (M_c - m_c + eps)
  // (computed as a product with the reciprocal), sigma_i = its standard deviation over the channels (divisor
  // head_dim - 1), and scores[i] += softmax(sigma)_i: called once with the keys and once with the values, the scores
  // are SPEC's s^K + s^V. In f32 whatever the cache's dtype. work: room for 2 * head_dim + n floats.
  void (*lag_scores_f32)(float* scores, const float* X, const float* ref, int n, int n_ref, int head_dim,
                         float* work);
  void (*lag_scores_bf16)(float* scores, const uint16_t* X, const uint16_t* ref, int n, int n_ref, int head_dim,
                          float* work);

  // ---- Elementwise (the forward pass between the products)

  // out = weight * x / sqrt(mean(x^2) + eps); out may be x.
  void (*rmsnorm)(float* out, const float* x, const float* weight, int n, float eps);
  // In place, the maximum subtracted first.
  void (*softmax)(float* x, int n);
  // Rotates every head of vec by the angles of cos/sin ([head_dim / 2]): pair i is (2i, 2i + 1) when interleaved
  // (llama2.c), (i, i + head_dim / 2) otherwise (Hugging Face's rotate_half).
  void (*rope)(float* vec, int n_heads, int head_dim, const float* cos, const float* sin, bool interleaved);
  // gate[i] = silu(gate[i]) * up[i].
  void (*swiglu)(float* gate, const float* up, int n);
  // bf16 <-> f32; to bf16 rounds to nearest, ties to even (NaN stays NaN).
  void (*bf16_to_f32)(float* out, const uint16_t* in, int n);
  void (*f32_to_bf16)(uint16_t* out, const float* in, int n);

  // ---- Weight products of a chunk of rows (prefill, the rectify pass, the LM head over many positions)
  // C[i * ldc + j] = (accumulate ? C[i * ldc + j] : 0) + sum_p X[i * ldx + p] * W[j * ldw + p] for i < m, j < n,
  // p < k: X times the transpose of W, W's rows as the checkpoint stores them (no repacking). Blocked for registers
  // only (MR rows of X against NR rows of W, dot products along k); the caller blocks for the caches (lib/gemm.cpp).
  // gemm_bf16: X in bf16 too, every product exact, sums in f32 (vdpbf16ps where bf16_dot says so, else both widened
  // and FMA). gemm_f32_bf16 / gemm_f32_f16: X in f32, W widened, FMA.
  using GemmBf16 = void (*)(float* C, int ldc, const uint16_t* X, int ldx, const uint16_t* W, int ldw, int m, int n,
                            int k, bool accumulate);
  using GemmF32W16 = void (*)(float* C, int ldc, const float* X, int ldx, const uint16_t* W, int ldw, int m, int n,
                              int k, bool accumulate);
  GemmBf16 gemm_bf16 = nullptr;
  GemmF32W16 gemm_f32_bf16 = nullptr;
  GemmF32W16 gemm_f32_f16 = nullptr;
  bool bf16_dot = false;  // gemm_bf16 runs on AVX512_BF16 dot products (2 bf16 products per f32 lane and instruction)

  // ---- Quantized weights (simd/quant.hpp's block layouts; cols and n multiples of 32)
  // Activations to int8 per block of 32: q[n], d[n / 32] and sums[n / 16] (simd/quant.hpp says how).
  void (*quantize_q8)(int8_t* q, float* d, int32_t* sums, const float* x, int n) = nullptr;
  // out[r] = W[r] . x for rows of q8_0 / q4_0 blocks, x given as quantize_q8 made it: per block, the integer dot
  // product exact, times the two scales, summed in f32.
  using MatvecQ = void (*)(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols);
  MatvecQ matvec_q8_0 = nullptr;
  MatvecQ matvec_q4_0 = nullptr;
  // n_blocks consecutive blocks as bf16 weights (d * q in f32, rounded to nearest even): a tile of a quantized matrix
  // widened for the chunk products above.
  using WidenQ = void (*)(uint16_t* dst, const void* blocks, int n_blocks);
  WidenQ widen_q8_0 = nullptr;
  WidenQ widen_q4_0 = nullptr;
  // The row-group forms (rows a multiple of 8; xs: quantize_q8's sums), and a block run of one group widened to 8
  // rows of bf16 (row i at dst + i * ld).
  using MatvecR8 = void (*)(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs,
                            int rows, int cols);
  MatvecR8 matvec_q8_0_r8 = nullptr;
  MatvecR8 matvec_q4_0_r8 = nullptr;
  using WidenR8 = void (*)(uint16_t* dst, int ld, const void* blocks, int n_blocks);
  WidenR8 widen_q8_0_r8 = nullptr;
  WidenR8 widen_q4_0_r8 = nullptr;
  // q4_K's row-group form (simd/quant.hpp BlockQ4_Kx8): weights d * q - m per 32.
  MatvecR8 matvec_q4_k_r8 = nullptr;
  WidenR8 widen_q4_k_r8 = nullptr;
  // q6_K's (BlockQ6_Kx8): weights d * sc * (v - 32), two scales per 32.
  MatvecR8 matvec_q6_k_r8 = nullptr;
  WidenR8 widen_q6_k_r8 = nullptr;
  // A chunk's product with row-group weights in int8 (where the ISA has an int8 dot product worth it; else null,
  // and the tiles are widened to bf16): C[i * ldc + j] (+)= x[i] . w[j] over k / 32 blocks, each block's integer
  // products scaled by its d_w and xd[i * ldd + b], for i < m, j < n (a multiple of 8: row groups of W, group g at
  // W + g * ldw blocks); x as quantize_q8 made it: row i's q at xq + i * ldx, its half sums at xs + 2 * i * ldd.
  using GemmR8 = void (*)(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                          const void* W, int ldw, int m, int n, int k, bool accumulate);
  GemmR8 gemm_q8_0_r8 = nullptr;
  GemmR8 gemm_q4_0_r8 = nullptr;
  GemmR8 gemm_q4_k_r8 = nullptr;
  GemmR8 gemm_q6_k_r8 = nullptr;
  const char* int8_dot = "";  // how matvec_q* multiply: "AVX512_VNNI vpdpbusd", "AVX2 vpmaddubsw", "scalar"
};

// The plain loops, in the summation order of llama2.c's run.c.
const Kernels& scalar_kernels();

// The table for this CPU (the widest it runs), or the one RESA_ISA names; chosen once. Throws std::runtime_error
// when RESA_ISA names an unknown ISA or one this CPU cannot run.
const Kernels& kernels();

// Makes the named table the one kernels() returns from now on, for the whole process (tests and benchmarks compare
// ISAs in one run); false, and nothing changes, when this CPU cannot run it. Not while other threads run kernels.
bool use_kernels(std::string_view isa);

// The table for a named ISA; nullptr when the name is unknown or this CPU cannot run it.
const Kernels* kernels_for(std::string_view isa);

// What this CPU (and its OS) can run, e.g. "scalar, avx2, avx512 with AVX512_BF16".
std::string supported_isas();
bool cpu_has_avx512_bf16();
bool cpu_has_avx512_vnni();

}  // namespace resa::simd
