// The weight-type table and the decode step's products (lib/linear.hpp).
#include "linear.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "model/load.hpp"
#include "model/model.hpp"
#include "parallel.hpp"
#include "resa/resa.hpp"

namespace resa {

namespace {

template <class T>
const T* at(const void* p) {
  return static_cast<const T*>(p);
}

void gemv_f32(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_f32(out, at<float>(w), x.x, rows, cols);
}
void gemv_bf16(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_bf16(out, at<uint16_t>(w), x.x, rows, cols);
}
void gemv_f16(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_f16(out, at<uint16_t>(w), x.x, rows, cols);
}
void gemv_q8_0(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_q8_0(out, w, x.q, x.d, rows, cols);
}
void gemv_q4_0(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_q4_0(out, w, x.q, x.d, rows, cols);
}

void gemv_q8_0_r8(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_q8_0_r8(out, w, x.q, x.d, x.sums, rows, cols);
}
void gemv_q4_0_r8(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_q4_0_r8(out, w, x.q, x.d, x.sums, rows, cols);
}
void gemv_q4_k_r8(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_q4_k_r8(out, w, x.q, x.d, x.sums, rows, cols);
}
void gemv_q6_k_r8(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  k.matvec_q6_k_r8(out, w, x.q, x.d, x.sums, rows, cols);
}

// Types without kernels of their own (the k-quants, computed from the mapping): each row dequantized to f32, then
// multiplied by the f32 kernel. Correct, not fast: --load copy converts them (placement.cpp).
void gemv_dequantized(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols,
                      DType t) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(cols));
  const size_t row_bytes = dtype_bytes(t, cols);
  for (int r = 0; r < rows; ++r) {
    to_f32(row.data(), static_cast<const uint8_t*>(w) + r * row_bytes, t, row.size());
    k.matvec_f32(out + r, row.data(), x.x, 1, cols);
  }
}
void gemv_q4_k(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  gemv_dequantized(k, out, w, x, rows, cols, DType::Q4_K);
}
void gemv_q6_k(const simd::Kernels& k, float* out, const void* w, const LinearInput& x, int rows, int cols) {
  gemv_dequantized(k, out, w, x, rows, cols, DType::Q6_K);
}
void widen_dequantized(const simd::Kernels& k, uint16_t* dst, const Mat& W, int j0, int nj, int p0, int pk) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(W.cols));
  for (int j = 0; j < nj; ++j) {
    to_f32(row.data(), W.row(j0 + j), W.dtype, row.size());
    k.f32_to_bf16(dst + static_cast<size_t>(j) * pk, row.data() + p0, pk);
  }
}

// Rows of 32-weight blocks widened a block run at a time.
template <simd::Kernels::WidenQ simd::Kernels::*kWiden>
void widen_blocks(const simd::Kernels& k, uint16_t* dst, const Mat& W, int j0, int nj, int p0, int pk) {
  const size_t block_bytes = static_cast<size_t>(dtype_info(W.dtype).block_bytes);
  for (int j = 0; j < nj; ++j)
    (k.*kWiden)(dst + static_cast<size_t>(j) * pk, static_cast<const uint8_t*>(W.row(j0 + j)) + p0 / 32 * block_bytes,
                pk / 32);
}

// A row-group form: 8 rows at a time (j0 and nj multiples of 8, as the GEMM's row blocks are).
template <simd::Kernels::WidenR8 simd::Kernels::*kWiden>
void widen_groups(const simd::Kernels& k, uint16_t* dst, const Mat& W, int j0, int nj, int p0, int pk) {
  const size_t group_block = static_cast<size_t>(dtype_info(W.dtype).block_bytes) * simd::kRowGroup;
  for (int j = 0; j < nj; j += simd::kRowGroup)
    (k.*kWiden)(dst + static_cast<size_t>(j) * pk, pk,
                static_cast<const uint8_t*>(W.row(j0 + j)) + p0 / 32 * group_block, pk / 32);
}

constexpr LinearType kTypes[kDTypes] = {
    {false, gemv_f32, nullptr, nullptr},
    {false, gemv_bf16, nullptr, nullptr},
    {false, gemv_f16, nullptr, nullptr},
    {true, gemv_q8_0, widen_blocks<&simd::Kernels::widen_q8_0>, nullptr},
    {true, gemv_q4_0, widen_blocks<&simd::Kernels::widen_q4_0>, nullptr},
    {true, gemv_q8_0_r8, widen_groups<&simd::Kernels::widen_q8_0_r8>, &simd::Kernels::gemm_q8_0_r8},
    {true, gemv_q4_0_r8, widen_groups<&simd::Kernels::widen_q4_0_r8>, &simd::Kernels::gemm_q4_0_r8},
    {false, gemv_q4_k, widen_dequantized, nullptr},
    {false, gemv_q6_k, widen_dequantized, nullptr},
    {true, gemv_q4_k_r8, widen_groups<&simd::Kernels::widen_q4_k_r8>, &simd::Kernels::gemm_q4_k_r8},
    {true, gemv_q6_k_r8, widen_groups<&simd::Kernels::widen_q6_k_r8>, &simd::Kernels::gemm_q6_k_r8},
};

// x as the type's kernels take it; the int8 copy in a buffer of the calling thread (grown once, then reused).
LinearInput prepare(bool int8, const float* x, int64_t cols) {
  LinearInput in{x};
  if (!int8) return in;
  thread_local std::vector<int8_t> q;
  thread_local std::vector<float> d;
  thread_local std::vector<int32_t> sums;
  if (q.size() < static_cast<size_t>(cols)) {
    q.resize(cols);
    d.resize(cols / 32);
    sums.resize(cols / 16);
  }
  simd::kernels().quantize_q8(q.data(), d.data(), sums.data(), x, static_cast<int>(cols));
  in.q = q.data();
  in.d = d.data();
  in.sums = sums.data();
  return in;
}

void gemv_rows(const simd::Kernels& k, float* out, const Mat& W, const LinearInput& x, int64_t r0, int64_t r1) {
  linear_type(W.dtype).gemv(k, out, W.row(r0), x, static_cast<int>(r1 - r0), static_cast<int>(W.cols));
}

}  // namespace

const LinearType& linear_type(DType t) { return kTypes[static_cast<int>(t)]; }

std::string decode_products(const Model& model) {
  const Weights& w = model_data(model).weights;
  const DType t = w.layers.empty() ? w.lm_head.dtype : w.layers[0].w_gate.dtype;
  const simd::Kernels& k = simd::kernels();
  const DTypeInfo& info = dtype_info(t);
  if (linear_type(t).widen && !linear_type(t).int8_input)
    return fmt::format("{} weights dequantized row by row x f32 activations ({} FMA; --load copy places them for "
                       "int8 products)", info.name, k.isa);
  if (!linear_type(t).int8_input)
    return fmt::format("{} weights x f32 activations ({} FMA)", info.name, k.isa);
  return fmt::format("{} weights{} x int8 activations ({})", dtype_name(info.holds),
                     info.row_group > 1 ? " in 8-row groups" : "", k.int8_dot);
}

void matvec(float* out, const Mat& W, const float* x, int threads) {
  const MatvecJob job{out, &W, nullptr};
  matvec_fused(&job, 1, x, threads);
}

void matvec_fused(const MatvecJob* jobs, int n_jobs, const float* x, int threads) {
  int64_t rows = 0, work = 0;
  bool int8 = false;  // some product takes x as int8 blocks: quantized once for all of them
  for (int j = 0; j < n_jobs; ++j) {
    if (jobs[j].W->cols != jobs[0].W->cols)
      throw Error(fmt::format("matvec: the products of one call share x: {} columns, got {}", jobs[0].W->cols,
                              jobs[j].W->cols));
    rows += jobs[j].W->rows;
    work += jobs[j].W->rows * jobs[j].W->cols;
    int8 = int8 || linear_type(jobs[j].W->dtype).int8_input;
  }
  const LinearInput in = prepare(int8, x, jobs[0].W->cols);
  const simd::Kernels& k = simd::kernels();
  // Rows [r0, r1) of the jobs' rows laid end to end, with their biases.
  auto run = [&](int64_t r0, int64_t r1) {
    int64_t first = 0;
    for (int j = 0; j < n_jobs && first < r1; ++j) {
      const MatvecJob& job = jobs[j];
      const int64_t a = std::max(r0, first) - first, b = std::min(r1, first + job.W->rows) - first;
      if (a < b) {
        gemv_rows(k, job.out + a, *job.W, in, a, b);
        if (job.bias)
          for (int64_t r = a; r < b; ++r) job.out[r] += job.bias[r];
      }
      first += job.W->rows;
    }
  };
  parallel_rows(threads, rows, work, run);
}

void matvec_swiglu(float* gate, float* up, const Mat& Wg, const Mat& Wu, const float* x, int threads) {
  const int64_t rows = Wg.rows;
  const LinearInput in =
      prepare(linear_type(Wg.dtype).int8_input || linear_type(Wu.dtype).int8_input, x, Wg.cols);
  const simd::Kernels& k = simd::kernels();
  auto run = [&](int64_t r0, int64_t r1) {
    if (r0 >= r1) return;
    gemv_rows(k, gate + r0, Wg, in, r0, r1);
    gemv_rows(k, up + r0, Wu, in, r0, r1);
    k.swiglu(gate + r0, up + r0, static_cast<int>(r1 - r0));
  };
  parallel_rows(threads, rows, 2 * rows * Wg.cols, run);
}

}  // namespace resa
