// Weight x vector products and the small vector helpers, written once over a vector type X (VecAvx2, VecAvx512):
// included inside an anonymous namespace of each ISA's file, so every ISA gets its own copy compiled with its flags.
// No standard-library templates here: an inline template instantiated in a file built with -mavx512f could be the
// copy the linker keeps for the whole program, and then run on a CPU without AVX-512.

inline int imin(int a, int b) { return a < b ? a : b; }
inline int imax(int a, int b) { return a > b ? a : b; }
inline float fmaxs(float a, float b) { return a > b ? a : b; }

// Scalar loads for the tails (own copies, not simd/convert.hpp's, for the reason above).
inline float load1(float x) { return x; }
inline float load1(uint16_t h) {  // 16-bit weights and K/V are bf16 unless named f16
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// Loads X::N weights: f32, bf16, or (F16 = true) IEEE half.
template <bool F16, class T>
inline typename X::V wload(const T* p) {
  if constexpr (F16) return X::load_f16(p);
  else return X::load(p);
}
template <bool F16, class T>
inline float wload1(T w) {
  if constexpr (F16) return _cvtsh_ss(w);
  else return load1(w);
}

// out[r] = W[r] . x. kRows rows at a time (8 with 32 vector registers, 4 with 16), so each load of x serves them all
// and each weight byte is read once, in order (kRows sequential streams: more streams keep more misses in flight);
// two accumulators per row hide the FMA latency.
// Software prefetch on each row: the same column of the next block of rows. 151936 x 1536 bf16 on 2 threads, against
// a plain read of the same matrix: 1.10 (next block), 0.95 (4 KB ahead in the row), 0.83 (hardware prefetcher
// alone); 16384 x 8960: 1.05-1.10 either way (medians of 30 interleaved passes; the plain read is a simple
// 4-accumulator loop, hence above 1). But the down projection, 1536 x 8960 (rows of 17.5 KB), cold from memory in
// 2 MiB pages on 2 threads: a standalone copy of this loop ran at 46.2-46.4 GB/s with 4 KB ahead in the row,
// 52.6-53.3 with the next block, 50.7-50.9 2 KB ahead (a plain read 47.7-48.1; medians of 7, two runs), and
// resa::matvec itself at 47.2 -> 48.8 GB/s (medians of 5 alternations), so the next block for every row length.
// Every matrix of a Qwen2.5-1.5B decode step (3.09 GB, 2 threads, each row first touched by its reader, medians of
// 5): 4 rows 65.5 ms, 8 rows 60.3 ms, 2 rows 83.5 ms.
constexpr int kRows = X::N == 16 ? 8 : 4;

template <bool F16, class T>
void matvec(float* out, const T* W, const float* x, int rows, int cols) {
  constexpr int N = X::N, R = kRows;
  constexpr int kStepBytes = 2 * N * static_cast<int>(sizeof(T));  // bytes of a row one iteration reads
  const int body = cols / (2 * N) * (2 * N);
  const long ahead = R * cols * static_cast<long>(sizeof(T));  // the next block's rows, same column
  int r = 0;
  for (; r + R <= rows; r += R) {
    const T* w[R];
    typename X::V a[R], b[R];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      w[i] = W + static_cast<long>(r + i) * cols;
      a[i] = b[i] = X::zero();
    }
    for (int c = 0; c < body; c += 2 * N) {
      for (int line = 0; line < kStepBytes; line += 64)
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) __builtin_prefetch(reinterpret_cast<const char*>(w[i] + c) + ahead + line);
      const typename X::V x0 = X::load(x + c), x1 = X::load(x + c + N);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        a[i] = X::fma(wload<F16>(w[i] + c), x0, a[i]);
        b[i] = X::fma(wload<F16>(w[i] + c + N), x1, b[i]);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      float s = X::sum(X::add(a[i], b[i]));
      for (int c = body; c < cols; ++c) s += wload1<F16>(w[i][c]) * x[c];
      out[r + i] = s;
    }
  }
  for (; r < rows; ++r) {
    const T* w = W + static_cast<long>(r) * cols;
    typename X::V a = X::zero(), b = X::zero();
    for (int c = 0; c < body; c += 2 * N) {
      a = X::fma(wload<F16>(w + c), X::load(x + c), a);
      b = X::fma(wload<F16>(w + c + N), X::load(x + c + N), b);
    }
    float s = X::sum(X::add(a, b));
    for (int c = body; c < cols; ++c) s += wload1<F16>(w[c]) * x[c];
    out[r] = s;
  }
}

void matvec_f32(float* out, const float* W, const float* x, int rows, int cols) {
  matvec<false>(out, W, x, rows, cols);
}
void matvec_bf16(float* out, const uint16_t* W, const float* x, int rows, int cols) {
  matvec<false>(out, W, x, rows, cols);
}
void matvec_f16(float* out, const uint16_t* W, const float* x, int rows, int cols) {
  matvec<true>(out, W, x, rows, cols);
}

void axpy_f32(float* y, float alpha, const float* x, int n) {
  constexpr int N = X::N;
  const typename X::V va = X::set1(alpha);
  int i = 0;
  for (; i + N <= n; i += N) X::store(y + i, X::fma(va, X::load(x + i), X::load(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}
