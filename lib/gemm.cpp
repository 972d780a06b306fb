// The weight products of a chunk of rows (lib/gemm.hpp).
#include "gemm.hpp"

#include <algorithm>
#include <vector>

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include "model/dtype.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "linear.hpp"
#include "parallel.hpp"
#include "resa/resa.hpp"
#include "simd/kernels.hpp"

namespace resa {

namespace {

constexpr double kParallelWork = 1 << 22;  // multiply-adds below which a product stays on one thread
constexpr int kMaxK = 2048;                // k per block: a 6-row tile's X rows (bf16) in 24 KB of L1
constexpr size_t kL2Bytes = 384 << 10;     // a block of W's rows (L2: 1 MB per core on Zen 5, 2 MB on Xeon)
constexpr int kRowAlign = 16;              // thread shares and W blocks in multiples of this many rows

// OpenBLAS's own server thread, when it exists, spins (sched_yield) for its first ~0.1 s before it sleeps.
// Shut down where the library allows it (a weak reference: other BLAS builds simply lack the symbol).
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));

// The int8 chunk product of weights of type t, or null: in the fast mode, where the kernel table has one for the type
// (the row-group forms on AVX512_VNNI). Then X meets them quantized to int8 blocks, as x meets them in decode.
simd::Kernels::GemmR8 int8_product(DType t, GemmInput input) {
  const auto chunk = linear_type(t).chunk_int8;
  return input == GemmInput::Bf16 && chunk ? simd::kernels().*chunk : nullptr;
}
bool takes_int8_x(DType t, GemmInput input) { return int8_product(t, input) != nullptr; }

// Whether weights of type t multiply X rounded to bf16 (on AVX512_BF16, in the fast mode): bf16 and every type
// widened to bf16 tile by tile.
bool takes_bf16_x(DType t, GemmInput input) {
  return !takes_int8_x(t, input) && (t == DType::BF16 || linear_type(t).widen != nullptr);
}

// X quantized to int8 blocks for the int8 chunk products (simd::Kernels::quantize_q8): row i's q at q + i * k, its
// block scales at d + i * (k / 32), its half sums at sums + i * (k / 16).
struct QuantX {
  int8_t* q = nullptr;
  float* d = nullptr;
  int32_t* sums = nullptr;
};

void quantize_rows(const QuantX& qx, const float* X, int k, int i0, int i1) {
  const simd::Kernels& K = simd::kernels();
  for (int i = i0; i < i1; ++i) {
    const size_t r = static_cast<size_t>(i);
    K.quantize_q8(qx.q + r * k, qx.d + r * (k / 32), qx.sums + r * (k / 16), X + r * k, k);
  }
}

// k per block: at most kMaxK, in whole steps of 32 (vdpbf16ps steps; quantized blocks).
int k_block(int k) {
  const int k_blocks = (k + kMaxK - 1) / kMaxK;
  return ((k + k_blocks - 1) / k_blocks + 31) / 32 * 32;
}

// W's rows per L2 block, each row_bytes of a k block: kL2Bytes of them, in multiples of kRowAlign.
int l2_rows(size_t row_bytes) {
  return std::max(kRowAlign, static_cast<int>(kL2Bytes / row_bytes) / kRowAlign * kRowAlign);
}

// What one thread does: rows [r0, r1) of one job's W against all m rows of X (xbf: X rounded, or null), its bias
// added to those columns afterwards.
struct Part {
  const GemmJob* job;
  int r0, r1;
};

void run_part(const Part& part, const float* X, const uint16_t* xbf, const QuantX& qx, int m, int k,
              GemmInput input) {
  const GemmJob& job = *part.job;
  const Mat& W = *job.W;
  if (!takes_bf16_x(W.dtype, input)) xbf = nullptr;  // f32 and f16 weights meet X as f32 (a call may mix types)
  const int r0 = part.r0, r1 = part.r1;
  if (r0 >= r1) return;
  if (const simd::Kernels::GemmR8 product = int8_product(W.dtype, input)) {
    // The int8 product reads W's row groups in place: the same k blocks and L2 blocks of rows as below.
    const int kc = k_block(k);
    const size_t row_block = static_cast<size_t>(dtype_info(W.dtype).block_bytes);  // a row's bytes per 32
    const int nc = l2_rows(static_cast<size_t>(kc) / 32 * row_block);
    const int nb = k / 32;
    for (int p0 = 0; p0 < k; p0 += kc) {
      const int pk = std::min(kc, k - p0);
      const bool acc = job.accumulate || p0 > 0;
      for (int j0 = r0; j0 < r1; j0 += nc) {
        const int nj = std::min(nc, r1 - j0);
        product(job.Y + j0, job.ldy, qx.q + p0, k, qx.d + p0 / 32, qx.sums + p0 / 16, nb,
                static_cast<const uint8_t*>(W.row(j0)) + p0 / 32 * simd::kRowGroup * row_block, nb, m, nj, pk, acc);
      }
    }
  } else if (W.dtype == DType::F32) {
    static const bool warned = [] {
      if (const std::string w = blas_warning(); !w.empty()) fmt::print(stderr, "resa: warning: {}\n", w);
      return true;
    }();
    (void)warned;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, r1 - r0, k, 1.0f, X, k,
                static_cast<const float*>(W.row(r0)), k, job.accumulate ? 1.0f : 0.0f, job.Y + r0, job.ldy);
  } else {
    const simd::Kernels& K = simd::kernels();
    const int kc = k_block(k);
    const int nc = l2_rows(2 * static_cast<size_t>(kc));  // bf16 rows (as stored or widened)
    const auto* w = static_cast<const uint16_t*>(W.data);
    const auto widen = linear_type(W.dtype).widen;  // a quantized W: each block widened to bf16 once, then as bf16
    thread_local std::vector<uint16_t> tile;
    if (widen && tile.size() < static_cast<size_t>(nc) * kc) tile.resize(static_cast<size_t>(nc) * kc);
    for (int p0 = 0; p0 < k; p0 += kc) {  // k block by k block, each W block in L2 while all of X passes over it
      const int pk = std::min(kc, k - p0);
      const bool acc = job.accumulate || p0 > 0;
      for (int j0 = r0; j0 < r1; j0 += nc) {
        const int nj = std::min(nc, r1 - j0);
        const uint16_t* wb = w + static_cast<size_t>(j0) * k + p0;
        int ldw = k;
        if (widen) {
          widen(K, tile.data(), W, j0, nj, p0, pk);
          wb = tile.data();
          ldw = pk;
        }
        float* y = job.Y + j0;
        if (xbf)
          K.gemm_bf16(y, job.ldy, xbf + p0, k, wb, ldw, m, nj, pk, acc);
        else if (W.dtype == DType::F16)
          K.gemm_f32_f16(y, job.ldy, X + p0, k, wb, ldw, m, nj, pk, acc);
        else
          K.gemm_f32_bf16(y, job.ldy, X + p0, k, wb, ldw, m, nj, pk, acc);
      }
    }
  }
  if (job.bias)
    for (int i = 0; i < m; ++i) {
      float* y = job.Y + static_cast<size_t>(i) * job.ldy;
      for (int r = r0; r < r1; ++r) y[r] += job.bias[r];
    }
}

// Thread t's parts of T: the jobs' rows laid end to end, cut into T even shares (in multiples of kRowAlign rows), or
// (alike) each job's rows cut so.
int parts_of(Part* out, const GemmJob* jobs, int n_jobs, int t, int T, JobSplit split) {
  if (split == JobSplit::Alike) {
    for (int j = 0; j < n_jobs; ++j) {
      const RowShare s = thread_share(jobs[j].W->rows, t, T, kRowAlign);
      out[j] = {&jobs[j], static_cast<int>(s.begin), static_cast<int>(s.end)};
    }
    return n_jobs;
  }
  int64_t total = 0;
  for (int j = 0; j < n_jobs; ++j) total += jobs[j].W->rows;
  const RowShare share = thread_share(total, t, T, kRowAlign);
  const int64_t a = share.begin, b = share.end;
  int n = 0;
  int64_t first = 0;
  for (int j = 0; j < n_jobs; ++j) {
    const int64_t rows = jobs[j].W->rows, lo = std::max(a, first), hi = std::min(b, first + rows);
    if (lo < hi) out[n++] = {&jobs[j], static_cast<int>(lo - first), static_cast<int>(hi - first)};
    first += rows;
  }
  return n;
}

}  // namespace

std::string blas_config() { return openblas_get_config(); }
std::string blas_core() { return openblas_get_corename(); }

std::string blas_warning() {
  const bool avx512 = simd::kernels_for("avx512") != nullptr, avx2 = simd::kernels_for("avx2") != nullptr;
  if (!avx2) return "";
  const std::string core = blas_core();
  // The DYNAMIC_ARCH cores with AVX2/FMA (or AVX-512) kernels for sgemm.
  for (const char* good : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"})
    if (core == good) return "";
  return fmt::format("OpenBLAS runs its {} kernels on a CPU with {}: f32 weight products run several times slower "
                     "than they could; set OPENBLAS_CORETYPE={} in the environment",
                     core, avx512 ? "AVX-512" : "AVX2", avx512 ? "SkylakeX" : "Haswell");
}

void single_threaded_openblas() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
    return true;
  }();
  (void)done;
}

void gemm(const GemmJob* jobs, int n_jobs, const float* X, int m, GemmInput input, const GemmScratch& scratch,
          JobSplit split) {
  if (n_jobs <= 0 || m <= 0) return;
  const int k = static_cast<int>(jobs[0].W->cols);
  double work = 0;
  bool any_dot = false;   // some product multiplies bf16 (or widened) weights: X rounded to bf16 once for them
  bool any_int8 = false;  // some product multiplies X as int8 blocks: X quantized once for them
  for (int j = 0; j < n_jobs; ++j) {
    if (jobs[j].W->cols != k)
      throw Error(fmt::format("gemm: the products of one call share X: {} columns, got {}", k, jobs[j].W->cols));
    work += static_cast<double>(m) * jobs[j].W->rows * k;
    any_dot = any_dot || takes_bf16_x(jobs[j].W->dtype, input);
    any_int8 = any_int8 || takes_int8_x(jobs[j].W->dtype, input);
  }
  const int T = work >= kParallelWork ? std::min(kMaxShares, std::max(1, scratch.threads)) : 1;
  const bool dot = any_dot && input == GemmInput::Bf16 && simd::kernels().bf16_dot && scratch.xbf;
  const uint16_t* xbf = dot ? scratch.xbf : nullptr;
  // The int8 copy of X in buffers of the calling thread (grown once, then reused).
  thread_local std::vector<int8_t> x_q;
  thread_local std::vector<float> x_d;
  thread_local std::vector<int32_t> x_sums;
  QuantX qx;
  if (any_int8) {
    const size_t n = static_cast<size_t>(m) * k;
    if (x_q.size() < n) {
      x_q.resize(n);
      x_d.resize(n / 32);
      x_sums.resize(n / 16);
    }
    qx = {x_q.data(), x_d.data(), x_sums.data()};
  }
  auto prepare_rows = [&](int i0, int i1) {
    if (any_int8) quantize_rows(qx, X, k, i0, i1);
    if (!dot) return;
    const simd::Kernels& K = simd::kernels();
    for (int i = i0; i < i1; ++i)
      K.f32_to_bf16(scratch.xbf + static_cast<size_t>(i) * k, X + static_cast<size_t>(i) * k, k);
  };
  constexpr int kMaxParts = 16;
  if (n_jobs > kMaxParts) throw Error("gemm: too many products in one call");
  if (T == 1) {
    prepare_rows(0, m);
    for (int j = 0; j < n_jobs; ++j)
      run_part({&jobs[j], 0, static_cast<int>(jobs[j].W->rows)}, X, xbf, qx, m, k, input);
    return;
  }
  ShareCursor cursor[kMaxShares];  // a share's rows counted through its parts
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    if (dot || any_int8) {  // X rounded (or quantized) once for all the products, each thread a share of its rows
      const int per = (m + nt - 1) / nt;
      prepare_rows(std::min(m, t * per), std::min(m, (t + 1) * per));
#pragma omp barrier
    }
    // Its own share first (the rows it placed), in runs of ~1/8 of it, then what is left of the others'
    // (claim_shares, lib/parallel.hpp). A share's rows are those of its parts laid end to end.
    claim_shares(
        cursor, t, nt, 8, kRowAlign,
        [&](int u) {
          Part parts[kMaxParts];
          int64_t rows = 0;
          const int n = parts_of(parts, jobs, n_jobs, u, nt, split);
          for (int j = 0; j < n; ++j) rows += parts[j].r1 - parts[j].r0;
          return rows;
        },
        [&](int u, int64_t a, int64_t b) {
          Part parts[kMaxParts];
          const int n = parts_of(parts, jobs, n_jobs, u, nt, split);
          int64_t first = 0;
          for (int j = 0; j < n && first < b; ++j) {
            const Part& p = parts[j];
            const int64_t len = p.r1 - p.r0, lo = std::max(a, first), hi = std::min(b, first + len);
            const int r0 = p.r0 + static_cast<int>(lo - first), r1 = p.r0 + static_cast<int>(hi - first);
            if (lo < hi) run_part({p.job, r0, r1}, X, xbf, qx, m, k, input);
            first += len;
          }
        });
  }
}

void gemm(float* Y, int ldy, const float* X, int m, const Mat& W, bool accumulate, GemmInput input,
          const GemmScratch& scratch) {
  const GemmJob job{Y, ldy, &W, nullptr, accumulate};
  gemm(&job, 1, X, m, input, scratch);
}

std::string prefill_products(const Model& model, KvType kv_type) {
  const Weights& w = model_data(model).weights;
  return gemm_description(w.layers.empty() ? DType::F32 : w.layers[0].wq.dtype,
                          kv_type == KvType::F32 ? GemmInput::F32 : GemmInput::Bf16);
}

std::string gemm_description(DType weights, GemmInput input) {
  const simd::Kernels& K = simd::kernels();
  if (weights == DType::F32) return "f32 x f32 (OpenBLAS sgemm)";
  if (weights == DType::F16) return std::string("f32 activations x f16 weights widened (") + K.isa + " FMA)";
  if (takes_int8_x(weights, input))
    return fmt::format("{} weights in 8-row groups x int8 activations ({})", dtype_name(dtype_info(weights).holds),
                       K.int8_dot);
  if (linear_type(weights).widen)
    return fmt::format("{} weights widened to bf16 per L2 tile, then {}", dtype_name(dtype_info(weights).holds),
                       gemm_description(DType::BF16, input));
  if (input == GemmInput::Bf16 && K.bf16_dot) return "bf16 x bf16 (AVX512_BF16 vdpbf16ps), activations rounded to bf16";
  return std::string("f32 activations x bf16 weights widened (") + K.isa + " FMA)" +
         (input == GemmInput::F32 ? ", exact mode" : "");
}

}  // namespace resa
