// Runtime ISA dispatch: one kernel table, chosen once from CPUID and the registers the OS saves (XGETBV).
// RESA_ISA=scalar|avx2|avx512 forces a table; naming one this CPU cannot run is an error, not a silent fallback.
#include <cpuid.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "simd/kernels.hpp"

namespace resa::simd {

namespace avx2 {
const Kernels& kernels();
const Kernels& kernels_vnni();
}
namespace avx512 {
const Kernels& kernels();
}

namespace {

struct Cpu {
  bool avx2 = false;    // AVX2 + FMA + F16C, YMM state saved by the OS
  bool avx512 = false;  // AVX-512 F/BW/VL/DQ, ZMM and opmask state saved by the OS
  bool avx512_bf16 = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;  // AVX-VNNI: vpdpbusd on VEX-encoded 256-bit vectors
};

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Cpu detect() {
  Cpu cpu;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return cpu;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29), avx = c & (1u << 28);
  if (!osxsave || !avx) return cpu;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;            // SSE and AVX state
  const bool zmm_saved = ymm_saved && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM0-15 upper halves, ZMM16-31
  if (__get_cpuid_max(0, nullptr) < 7) return cpu;
  __cpuid_count(7, 0, a, b, c, d);
  cpu.avx512_vnni = c & (1u << 11);  // made conditional on avx512 below
  const bool avx2 = b & (1u << 5), f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  cpu.avx2 = ymm_saved && avx2 && fma && f16c;
  cpu.avx512 = cpu.avx2 && zmm_saved && f && dq && bw && vl;
  cpu.avx512_vnni = cpu.avx512 && cpu.avx512_vnni;
  __cpuid_count(7, 1, a, b, c, d);
  cpu.avx512_bf16 = cpu.avx512 && (a & (1u << 5));
  cpu.avx_vnni = cpu.avx2 && (a & (1u << 4));
  return cpu;
}

const Cpu& cpu() {
  static const Cpu c = detect();
  return c;
}

}  // namespace

bool cpu_has_avx512_bf16() { return cpu().avx512_bf16; }
bool cpu_has_avx512_vnni() { return cpu().avx512_vnni; }

const Kernels* kernels_for(std::string_view isa) {
  if (isa == "scalar") return &scalar_kernels();
  if (isa == "avx2") return cpu().avx2 ? &avx2::kernels() : nullptr;
  if (isa == "avx_vnni") return cpu().avx_vnni ? &avx2::kernels_vnni() : nullptr;
  if (isa == "avx512") return cpu().avx512 ? &avx512::kernels() : nullptr;
  return nullptr;
}

std::string supported_isas() {
  std::string s = "scalar";
  if (cpu().avx2) s += ", avx2";
  if (cpu().avx_vnni) s += ", avx_vnni";
  if (cpu().avx512) {
    s += ", avx512";
    if (cpu().avx512_bf16 || cpu().avx512_vnni)
      s += std::string(" with ") + (cpu().avx512_bf16 ? "AVX512_BF16" : "") +
           (cpu().avx512_bf16 && cpu().avx512_vnni ? ", " : "") + (cpu().avx512_vnni ? "AVX512_VNNI" : "");
  }
  return s;
}

namespace {

const Kernels& choose() {
  if (const char* want = std::getenv("RESA_ISA"); want && *want) {
    const std::string_view w = want;
    if (w != "scalar" && w != "avx2" && w != "avx_vnni" && w != "avx512")
      throw std::runtime_error("RESA_ISA=" + std::string(w) + " is not one of scalar, avx2, avx_vnni, avx512");
    if (const Kernels* k = kernels_for(w)) return *k;
    throw std::runtime_error("RESA_ISA=" + std::string(w) + ": this CPU cannot run it (it supports " +
                             supported_isas() + ")");
  }
  if (cpu().avx512) return avx512::kernels();
  if (cpu().avx_vnni) return avx2::kernels_vnni();
  if (cpu().avx2) return avx2::kernels();
  return scalar_kernels();
}

std::atomic<const Kernels*> g_active{nullptr};

}  // namespace

const Kernels& kernels() {
  const Kernels* k = g_active.load(std::memory_order_acquire);
  if (!k) {
    k = &choose();
    g_active.store(k, std::memory_order_release);
  }
  return *k;
}

bool use_kernels(std::string_view isa) {
  const Kernels* k = kernels_for(isa);
  if (k) g_active.store(k, std::memory_order_release);
  return k != nullptr;
}

}  // namespace resa::simd
