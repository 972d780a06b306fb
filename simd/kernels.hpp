// The kernel table. Every kernel has one signature; simd/scalar/ holds the plain reference twin of each, and the
// ISA-specific versions (simd/avx2/, simd/avx512/) fill the same table. kernels() picks one at first use from
// CPUID; RESA_ISA=scalar|avx2|avx512 overrides it. Kernels know no model.
#pragma once

#include <string_view>

namespace resa::simd {

struct Kernels {
  const char* isa;

  // out[r] = sum_c W[r * cols + c] * x[c] for r in [0, rows). W is row-major [rows, cols].
  void (*matvec_f32)(float* out, const float* W, const float* x, int rows, int cols);

  // sum_i a[i] * b[i]
  float (*dot_f32)(const float* a, const float* b, int n);

  // y[i] += alpha * x[i]
  void (*axpy_f32)(float* y, float alpha, const float* x, int n);
};

// The plain loops, in the summation order of llama2.c's run.c.
const Kernels& scalar_kernels();

// The table for this CPU (or RESA_ISA), chosen once.
const Kernels& kernels();

// The table for a named ISA; nullptr when the name is unknown or this CPU cannot run it.
const Kernels* kernels_for(std::string_view isa);

}  // namespace resa::simd
