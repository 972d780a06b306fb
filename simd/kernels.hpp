// The kernel table. Every kernel has one signature; simd/scalar/ holds the plain reference twin of each, and the
// ISA-specific versions (simd/avx2/, simd/avx512/) fill the same table. kernels() picks one at first use from
// CPUID; RESA_ISA=scalar|avx2|avx512 overrides it. Kernels know no model.
#pragma once

#include <cstdint>
#include <string_view>

namespace resa::simd {

struct Kernels {
  const char* isa;

  // out[r] = sum_c W[r * cols + c] * x[c] for r in [0, rows). W is row-major [rows, cols].
  void (*matvec_f32)(float* out, const float* W, const float* x, int rows, int cols);

  // The same with W stored as bf16 / f16 (upper half of an f32 / IEEE half), accumulated in f32.
  void (*matvec_bf16)(float* out, const uint16_t* W, const float* x, int rows, int cols);
  void (*matvec_f16)(float* out, const uint16_t* W, const float* x, int rows, int cols);

  // sum_i a[i] * b[i]; the second form reads b as bf16 (a bf16 KV cache).
  float (*dot_f32)(const float* a, const float* b, int n);
  float (*dot_bf16)(const float* a, const uint16_t* b, int n);

  // y[i] += alpha * x[i]; the second form reads x as bf16.
  void (*axpy_f32)(float* y, float alpha, const float* x, int n);
  void (*axpy_bf16)(float* y, float alpha, const uint16_t* x, int n);
};

// The plain loops, in the summation order of llama2.c's run.c.
const Kernels& scalar_kernels();

// The table for this CPU (or RESA_ISA), chosen once.
const Kernels& kernels();

// The table for a named ISA; nullptr when the name is unknown or this CPU cannot run it.
const Kernels* kernels_for(std::string_view isa);

}  // namespace resa::simd
