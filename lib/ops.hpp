// The small numeric operations of the forward pass: RMSNorm, softmax, RoPE, SwiGLU, on the kernel table's
// elementwise kernels (the scalar twins sum as llama2.c's run.c does; the SIMD versions in vector lanes).
#pragma once

#include <cstddef>

#include "model/config.hpp"

namespace resa {

// out = weight * x / sqrt(mean(x^2) + eps); out may be x.
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps);

// The same for `rows` consecutive rows of n, on up to `threads` threads.
void rmsnorm_rows(float* out, const float* x, const float* weight, int rows, int n, float eps, int threads = 1);

// In place, numerically stable (the maximum is subtracted first).
void softmax(float* x, int n);

// Rotates every head of vec by the angles whose cos/sin are given ([head_dim / 2], angle i = pos * inv_freq[i]):
// element pair i is (2i, 2i + 1) when interleaved (llama2.c) and (i, i + head_dim/2) for rotate_half (Hugging Face).
void rope(float* vec, int n_heads, int head_dim, const float* cos, const float* sin, RopeLayout layout);

// gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)); on up to `threads` threads.
void swiglu(float* gate, const float* up, size_t n, int threads = 1);

}  // namespace resa
