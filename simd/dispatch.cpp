// Runtime ISA dispatch. Only the scalar table exists so far; the AVX2 and AVX-512 tables join it here, chosen by
// CPUID and the OS's saved register state, with RESA_ISA=scalar|avx2|avx512 as an override.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "simd/kernels.hpp"

namespace resa::simd {

const Kernels* kernels_for(std::string_view isa) {
  if (isa == "scalar") return &scalar_kernels();
  return nullptr;
}

const Kernels& kernels() {
  static const Kernels& chosen = []() -> const Kernels& {
    if (const char* want = std::getenv("RESA_ISA"); want && *want) {
      if (const Kernels* k = kernels_for(want)) return *k;
      std::fprintf(stderr, "resa: warning: RESA_ISA=%s is not available on this build or CPU; using scalar\n", want);
    }
    return scalar_kernels();
  }();
  return chosen;
}

}  // namespace resa::simd
