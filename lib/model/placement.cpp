#include "model/placement.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "model/model.hpp"
#include "parallel.hpp"

namespace resa {

namespace {

constexpr size_t kAlign = 4096;  // each matrix starts on its own page

// Matrices read by one product of a decode step: stacked (rows end to end, one split: k, v, q) or split alike (each
// matrix's rows split the same way: gate, up).
struct Product {
  std::vector<Mat*> mats;
  bool stacked = false;
};

std::vector<Product> decode_products(Weights& w, bool tied) {
  std::vector<Product> p;
  if (!tied) p.push_back({{&w.token_embedding}});
  for (LayerWeights& l : w.layers) {
    p.push_back({{&l.wk, &l.wv, &l.wq}, true});  // forward.cpp's fused product lays its rows out K, V, Q
    p.push_back({{&l.wo}});
    p.push_back({{&l.w_gate, &l.w_up}});
    p.push_back({{&l.w_down}});
  }
  p.push_back({{&w.lm_head}});
  return p;
}

}  // namespace

DType placed_type(const Mat& mat, DType want) {
  // The k-quants decode in their row-group forms; a matrix whose rows do not fill groups of 8 as q8_0 (requantized:
  // the k-quants have no row-by-row kernels).
  if (mat.rows % simd::kRowGroup == 0 && mat.cols % simd::kKBlock == 0) {
    if (want == DType::Q4_K) return DType::Q4_K_R8;
    if (want == DType::Q6_K) return DType::Q6_K_R8;
  }
  if (want == DType::Q4_K || want == DType::Q6_K) want = DType::Q8_0;
  if (mat.cols % dtype_info(want).block != 0) return mat.dtype;
  if (mat.rows % simd::kRowGroup == 0) {  // decode reads the row-group form 8 rows per instruction
    if (want == DType::Q8_0) return DType::Q8_0_R8;
    if (want == DType::Q4_0) return DType::Q4_0_R8;
  }
  return want;
}

namespace {

// Rows r .. r + 7 of src, whose blocks are Block, as one row group of Group at out.
template <class Group, class Block>
void pack_group(void* out, const Mat& src, int64_t r) {
  const Block* rows[simd::kRowGroup];
  for (int i = 0; i < simd::kRowGroup; ++i) rows[i] = static_cast<const Block*>(src.row(r + i));
  simd::pack_rows(static_cast<Group*>(out), rows, static_cast<int64_t>(src.row_bytes() / sizeof(Block)));
}

}  // namespace

void pack_groups(void* dst, DType to, const Mat& src, int64_t begin, int64_t end) {
  const size_t group_bytes = simd::kRowGroup * dtype_bytes(to, src.cols);
  uint8_t* out = static_cast<uint8_t*>(dst);
  for (int64_t r = begin; r < end; r += simd::kRowGroup, out += group_bytes) {
    if (to == DType::Q4_K_R8)
      pack_group<simd::BlockQ4_Kx8, simd::BlockQ4_K>(out, src, r);
    else if (to == DType::Q6_K_R8)
      pack_group<simd::BlockQ6_Kx8, simd::BlockQ6_K>(out, src, r);
    else if (to == DType::Q8_0_R8)
      pack_group<simd::BlockQ8_0x8, simd::BlockQ8_0>(out, src, r);
    else
      pack_group<simd::BlockQ4_0x8, simd::BlockQ4_0>(out, src, r);
  }
}

void write_rows(void* dst, DType to, int64_t cols, int64_t begin, int64_t end, const RowSource& row_f32) {
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(cols));
  uint8_t* out = static_cast<uint8_t*>(dst);
  const size_t row_bytes = dtype_bytes(to, cols);
  if (dtype_info(to).row_group == 1) {
    for (int64_t r = begin; r < end; ++r, out += row_bytes) {
      row_f32(r, row.data());
      from_f32(out, row.data(), to, row.size());
    }
    return;
  }
  // A row-group form: 8 rows quantized to the plain blocks, then interleaved by pack_groups.
  const Mat group{nullptr, dtype_info(to).holds, simd::kRowGroup, cols};
  thread_local std::vector<uint8_t> blocks;
  blocks.resize(simd::kRowGroup * group.row_bytes());
  for (int64_t r = begin; r < end; r += simd::kRowGroup, out += simd::kRowGroup * row_bytes) {
    for (int i = 0; i < simd::kRowGroup; ++i) {
      row_f32(r + i, row.data());
      from_f32(blocks.data() + i * group.row_bytes(), row.data(), group.dtype, row.size());
    }
    pack_groups(out, to, Mat{blocks.data(), group.dtype, group.rows, cols}, 0, simd::kRowGroup);
  }
}

HugeBuffer place_weights(Weights& w, bool tied, int threads, const RowFill& fill, const PlacedType& type) {
  const std::vector<Product> products = decode_products(w, tied);
  std::vector<Mat*> order;  // the matrices in fill's index order
  std::vector<DType> to;    // and their placed types
  std::vector<size_t> offset;
  size_t total = 0;
  for (const Product& p : products)
    for (Mat* m : p.mats) {
      order.push_back(m);
      to.push_back(type ? type(*m) : m->dtype);
      offset.push_back(total);
      total += (static_cast<size_t>(m->rows) * dtype_bytes(to.back(), m->cols) + kAlign - 1) / kAlign * kAlign;
    }
  HugeBuffer arena(total);  // the views move to it after the fills, which read the matrices as they were

  threads = std::max(1, threads);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    int index = 0;
    for (const Product& p : products) {
      int64_t rows = 0, work = 0;
      for (const Mat* m : p.mats) {
        rows = p.stacked ? rows + m->rows : std::max(rows, m->rows);
        work += m->rows * m->cols;
      }
      const RowShare share = product_alone(work, T) ? RowShare{t == 0 ? 0 : rows, rows}
                                                    : thread_share(rows, t, T, kDecodeRowAlign);
      int64_t first = 0;  // a stacked product's first row of this matrix
      for (const Mat* m : p.mats) {
        const Mat& s = *m;
        const int64_t lo = p.stacked ? std::max(share.begin - first, int64_t{0}) : share.begin;
        const int64_t hi = p.stacked ? std::min(share.end - first, m->rows) : std::min(share.end, m->rows);
        if (lo < hi) {
          const size_t row_bytes = dtype_bytes(to[index], s.cols);
          fill(index, s, to[index], lo, hi, arena.data() + offset[index] + static_cast<size_t>(lo) * row_bytes);
        }
        first += m->rows;
        ++index;
      }
    }
  }
  for (size_t i = 0; i < order.size(); ++i) {
    order[i]->data = arena.data() + offset[i];
    order[i]->dtype = to[i];
  }
  if (tied) w.token_embedding = w.lm_head;
  return arena;
}

void copy_weights(ModelData& m, int threads, const DType* want) {
  Weights& w = m.weights;
  const bool tied = w.lm_head.data == w.token_embedding.data;
  // Each share's source pages are dropped from the process as soon as they are copied (they stay in the page cache),
  // so the process holds about one copy of the weights throughout rather than two at the end.
  auto fill = [&m](int, const Mat& s, DType to, int64_t begin, int64_t end, void* dst) {
    const size_t bytes = static_cast<size_t>(end - begin) * s.row_bytes();
    if (to == s.dtype)
      std::memcpy(dst, s.row(begin), bytes);
    else if (dtype_info(to).holds == s.dtype)  // a quantized file's blocks, regrouped as they are
      pack_groups(dst, to, s, begin, end);
    else  // converted through f32
      write_rows(dst, to, s.cols, begin, end, [&s](int64_t r, float* row) { row_to_f32(row, s, r); });
    for (const MappedFile& f : m.files) f.release(s.row(begin), bytes);
  };
  // As stored, a quantized matrix still takes its row-group form.
  m.weight_arena = place_weights(w, tied, threads, fill, [want](const Mat& mat) {
    return placed_type(mat, want ? *want : mat.dtype);
  });
}

}  // namespace resa
