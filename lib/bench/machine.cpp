#include "bench/machine.hpp"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <vector>

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include "simd/kernels.hpp"

namespace resa {

namespace {

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

__attribute__((target("avx2"))) float read_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

float read_sse(const float* p, size_t n) {
  __m128 a0 = _mm_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 16 <= n; i += 16) {
    a0 = _mm_add_ps(a0, _mm_loadu_ps(p + i));
    a1 = _mm_add_ps(a1, _mm_loadu_ps(p + i + 4));
    a2 = _mm_add_ps(a2, _mm_loadu_ps(p + i + 8));
    a3 = _mm_add_ps(a3, _mm_loadu_ps(p + i + 12));
  }
  return _mm_cvtss_f32(_mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3)));
}

__attribute__((target("avx512f,avx512bf16"))) double bf16_peak_once(int64_t iters) {
  __m512 acc[12];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  const __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3c00);
  for (int64_t i = 0; i < iters; ++i)
    for (__m512& a : acc) a = _mm512_dpbf16_ps(a, x, y);
  float s = 0, out[16];
  for (__m512& a : acc) {
    _mm512_storeu_ps(out, a);
    s += out[0];
  }
  return s;
}

__attribute__((target("avx512f"))) double fma512_once(int64_t iters) {
  __m512 acc[12];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  const __m512 x = _mm512_set1_ps(1.0f), y = _mm512_set1_ps(1e-9f);
  for (int64_t i = 0; i < iters; ++i)
    for (__m512& a : acc) a = _mm512_fmadd_ps(x, y, a);
  float s = 0, out[16];
  for (__m512& a : acc) {
    _mm512_storeu_ps(out, a);
    s += out[0];
  }
  return s;
}

__attribute__((target("avx2,fma"))) double fma256_once(int64_t iters) {
  __m256 acc[12];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  const __m256 x = _mm256_set1_ps(1.0f), y = _mm256_set1_ps(1e-9f);
  for (int64_t i = 0; i < iters; ++i)
    for (__m256& a : acc) a = _mm256_fmadd_ps(x, y, a);
  float s = 0, out[8];
  for (__m256& a : acc) {
    _mm256_storeu_ps(out, a);
    s += out[0];
  }
  return s;
}

template <class F>
double measure_peak(F&& once, double flop_per_op) {
  const int64_t iters = 2'000'000;
  std::vector<double> t;
  volatile double sink = 0;
  for (int rep = 0; rep < 5; ++rep)
    t.push_back(seconds([&] {
#pragma omp parallel
      sink = sink + once(iters);
    }));
  std::sort(t.begin(), t.end());
  return static_cast<double>(iters) * 12 * flop_per_op * omp_get_max_threads() / t[t.size() / 2];
}

}  // namespace

BandwidthProbe::BandwidthProbe() : buf(static_cast<float*>(std::aligned_alloc(64, (size_t{512} << 20)))),
                                   n((size_t{512} << 20) / 4) {
  if (!buf) throw std::bad_alloc();
  float* p = buf;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) p[i] = 1.0f;
}

BandwidthProbe::~BandwidthProbe() { std::free(buf); }

double BandwidthProbe::measure(int passes) const {
  const bool avx2 = __builtin_cpu_supports("avx2");
  double best = 1e30;
  volatile float sink = 0;
  for (int rep = 0; rep < std::max(1, passes); ++rep)
    best = std::min(best, seconds([&] {
#pragma omp parallel
                      {
                        const size_t T = omp_get_num_threads(), me = omp_get_thread_num(), per = n / T / 64 * 64;
                        const float* p = buf + me * per;
                        sink = sink + (avx2 ? read_avx2(p, per) : read_sse(p, per));
                      }
                    }));
  return static_cast<double>(n) * 4 / best;
}

double measure_read_bandwidth(int passes) { return BandwidthProbe().measure(passes); }

double measure_fma256_peak() { return __builtin_cpu_supports("avx2") ? measure_peak(fma256_once, 16) : 0; }

double measure_fma_peak() {
  return __builtin_cpu_supports("avx512f") ? measure_peak(fma512_once, 32) : measure_fma256_peak();
}

double measure_bf16_peak() { return simd::cpu_has_avx512_bf16() ? measure_peak(bf16_peak_once, 64) : 0; }

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name, family, model;
  auto value = [](const std::string& l) {
    const size_t colon = l.find(':');
    return colon == std::string::npos ? std::string() : l.substr(l.find_first_not_of(" \t", colon + 1));
  };
  while (std::getline(in, line) && (name.empty() || family.empty() || model.empty())) {
    if (line.rfind("model name", 0) == 0) name = value(line);
    else if (line.rfind("cpu family", 0) == 0) family = value(line);
    else if (line.rfind("model", 0) == 0 && line.find("name") == std::string::npos) model = value(line);
  }
  if (name.empty()) return "unknown";
  return family.empty() ? name : fmt::format("{} (family {}, model {})", name, family, model);
}

}  // namespace resa
