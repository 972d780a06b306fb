// The weight products of a chunk of rows (lib/gemm.hpp).
#include "gemm.hpp"

#include <algorithm>
#include <vector>

#include <cblas.h>
#include <omp.h>

#include "model/dtype.hpp"
#include "parallel.hpp"
#include "simd/kernels.hpp"

namespace resa {

namespace {

constexpr double kParallelWork = 1 << 22;  // multiply-adds below which a product stays on one thread
constexpr int kMaxK = 2048;                // k per block: 4 rows of X (bf16) in 16 KB of L1, f32 in 32 KB
constexpr size_t kL2Bytes = 384 << 10;     // a block of W's rows (L2: 1 MB per core on Zen 5, 2 MB on Xeon)
constexpr int kRowAlign = 16;              // thread shares and W blocks in multiples of this many rows

// OpenBLAS's own server thread, when it exists, spins (sched_yield) for its first ~0.1 s before it sleeps.
// Shut down where the library allows it (a weak reference: other BLAS builds simply lack the symbol).
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));

// f32 weights: sgemm on each thread's share of W's rows.
void gemm_f32(float* Y, int ldy, const float* X, int m, const Mat& W, bool accumulate, int T) {
  const int rows = static_cast<int>(W.rows), cols = static_cast<int>(W.cols);
  const int share = std::min(rows, ((rows + T - 1) / T + kRowAlign - 1) / kRowAlign * kRowAlign);
  const int parts = (rows + share - 1) / share;
  parallel_for(parts, T, [&](int i) {
    const int r0 = i * share, tr = std::min(share, rows - r0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, tr, cols, 1.0f, X, cols,
                static_cast<const float*>(W.row(r0)), cols, accumulate ? 1.0f : 0.0f, Y + r0, ldy);
  });
}

}  // namespace

void single_threaded_openblas() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
    return true;
  }();
  (void)done;
}

void gemm(float* Y, int ldy, const float* X, int m, const Mat& W, bool accumulate, GemmInput input,
          const GemmScratch& scratch) {
  const int n = static_cast<int>(W.rows), k = static_cast<int>(W.cols);
  const int T = static_cast<double>(m) * n * k >= kParallelWork ? std::max(1, scratch.threads) : 1;
  if (W.dtype == DType::F32) return gemm_f32(Y, ldy, X, m, W, accumulate, T);

  const simd::Kernels& K = simd::kernels();
  const bool dot = W.dtype == DType::BF16 && input == GemmInput::Bf16 && K.bf16_dot && scratch.xbf;
  const int k_blocks = (k + kMaxK - 1) / kMaxK;
  const int kc = ((k + k_blocks - 1) / k_blocks + 31) / 32 * 32;  // k per block, in whole vdpbf16ps steps
  const int nc = std::max(kRowAlign, static_cast<int>(kL2Bytes / (2 * static_cast<size_t>(kc))) / kRowAlign * kRowAlign);
  const int share = ((n + T - 1) / T + kRowAlign - 1) / kRowAlign * kRowAlign;
  const auto* w = static_cast<const uint16_t*>(W.data);

  // Rows [r0, r1) of W against all of X: k block by k block, W block by W block.
  auto run = [&](int r0, int r1) {
    for (int p0 = 0; p0 < k; p0 += kc) {
      const int pk = std::min(kc, k - p0);
      const bool acc = accumulate || p0 > 0;
      for (int j0 = r0; j0 < r1; j0 += nc) {
        const int nj = std::min(nc, r1 - j0);
        const uint16_t* wb = w + static_cast<size_t>(j0) * k + p0;
        if (dot)
          K.gemm_bf16(Y + j0, ldy, scratch.xbf + p0, k, wb, k, m, nj, pk, acc);
        else if (W.dtype == DType::BF16)
          K.gemm_f32_bf16(Y + j0, ldy, X + p0, k, wb, k, m, nj, pk, acc);
        else
          K.gemm_f32_f16(Y + j0, ldy, X + p0, k, wb, k, m, nj, pk, acc);
      }
    }
  };
  auto round_rows = [&](int i0, int i1) {
    for (int i = i0; i < i1; ++i)
      K.f32_to_bf16(scratch.xbf + static_cast<size_t>(i) * k, X + static_cast<size_t>(i) * k, k);
  };
  if (T == 1) {
    if (dot) round_rows(0, m);
    return run(0, n);
  }
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    if (dot) {
      const int per = (m + nt - 1) / nt;
      round_rows(std::min(m, t * per), std::min(m, (t + 1) * per));
#pragma omp barrier
    }
    run(std::min(n, t * share), std::min(n, (t + 1) * share));
  }
}

std::string gemm_description(DType weights, GemmInput input) {
  const simd::Kernels& K = simd::kernels();
  switch (weights) {
    case DType::F32: return "f32 x f32 (OpenBLAS sgemm)";
    case DType::F16: return std::string("f32 activations x f16 weights widened (") + K.isa + " FMA)";
    case DType::BF16: break;
  }
  if (input == GemmInput::Bf16 && K.bf16_dot) return "bf16 x bf16 (AVX512_BF16 vdpbf16ps), activations rounded to bf16";
  return std::string("f32 activations x bf16 weights widened (") + K.isa + " FMA)" +
         (input == GemmInput::F32 ? ", exact mode" : "");
}

}  // namespace resa
