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
  return mat.cols % dtype_info(want).block == 0 ? want : mat.dtype;
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
      const RowShare share = product_alone(work, T) ? RowShare{t == 0 ? 0 : rows, rows} : thread_share(rows, t, T);
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
    if (to == s.dtype) {
      std::memcpy(dst, s.row(begin), bytes);
    } else {  // converted row by row through f32
      thread_local std::vector<float> row;
      row.resize(static_cast<size_t>(s.cols));
      const size_t out_bytes = dtype_bytes(to, s.cols);
      for (int64_t r = begin; r < end; ++r) {
        to_f32(row.data(), s.row(r), s.dtype, row.size());
        from_f32(static_cast<uint8_t*>(dst) + static_cast<size_t>(r - begin) * out_bytes, row.data(), to, row.size());
      }
    }
    for (const MappedFile& f : m.files) f.release(s.row(begin), bytes);
  };
  if (want) {
    const DType t = *want;
    m.weight_arena = place_weights(w, tied, threads, fill, [t](const Mat& mat) { return placed_type(mat, t); });
  } else {
    m.weight_arena = place_weights(w, tied, threads, fill);
  }
}

}  // namespace resa
