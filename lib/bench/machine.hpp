// What a benchmark's figures are shares of, measured on this machine now: the read bandwidth of all threads, the
// f32 FMA and AVX512_BF16 dot-product peaks; and what the machine is (CPU model, the BLAS and its kernels). Shared by
// `resa bench` (lib/bench/bench.cpp) and resa-bench-kernels (bench/bench_kernels.cpp).
#pragma once

#include <string>

namespace resa {

// Bytes/s with every OpenMP thread streaming its share of a 512 MiB buffer (far beyond the caches), the best of
// `passes` (a median lets this kind of virtual machine's occasional ~2 GB/s stalls through).
double measure_read_bandwidth(int passes);

// The same measurement again and again on one buffer, allocated and first written (each thread its share) once:
// `resa bench` measures the bandwidth around every generation test, as it drifts by tens of percent within minutes
// on a shared machine.
struct BandwidthProbe {
  BandwidthProbe();
  ~BandwidthProbe();
  BandwidthProbe(const BandwidthProbe&) = delete;
  BandwidthProbe& operator=(const BandwidthProbe&) = delete;
  double measure(int passes) const;  // bytes/s

  float* buf = nullptr;
  size_t n = 0;
};

// flop/s on every OpenMP thread of 12 independent accumulator chains: f32 FMA (AVX-512, else AVX2; 0 without
// either) and vdpbf16ps (0 without AVX512_BF16). Medians of 5.
double measure_fma_peak();
// The same with 256-bit FMA (what the avx2 kernel table can reach).
double measure_fma256_peak();
double measure_bf16_peak();

// "AMD EPYC (family 26, model 2)", from /proc/cpuinfo; "unknown" where it cannot be read.
std::string cpu_model();

}  // namespace resa
