// The weight products of a chunk of rows (simd/kernels.hpp, gemm_*), written once over a vector type X and included
// inside an anonymous namespace of each ISA's file (see linear.inl for why). Dot form: an MR x NR tile of C is MR
// rows of X against NR rows of W, each a vector accumulator along k, summed across lanes once at the end. W is read
// as the checkpoint stores it (rows of k), so nothing is packed or converted ahead of the product.
//
// Within a call the loop runs over MR-row groups of X (MR rows of k: the caller keeps k small enough that they stay
// in L1) and, for each, over all n rows of W (the caller keeps n x k small enough for L2). Rows past m or n are
// clamped to the last one (computed, not stored), so one tile shape serves every edge (the vdpbf16ps version also
// takes the last 1-5 rows of X with a smaller tile).
//
// With RESA_DPBF16 (simd/avx512/gemm_avx512_bf16.cpp) gemm_bf16 multiplies with vdpbf16ps: 32 bf16 products per
// instruction into 16 f32 lanes, X and W both as stored.

// Sums of MR x NR accumulators: lane sums into s (row-major MR x NR).
template <int MR, int NR>
inline void tile_sums(float* s, const typename X::V* a) {
  constexpr int T = MR * NR;
  int u = 0;
  for (; u + X::N <= T; u += X::N) X::store(s + u, X::transpose_sum(a + u));
  if constexpr (T % X::N >= X::N / 2) {  // the rest padded with zero vectors: one network still beats one-by-one sums
    typename X::V rest[X::N];
    for (int r = 0; r < X::N; ++r) rest[r] = u + r < T ? a[u + r] : X::zero();
    X::store(s + u, X::transpose_sum(rest));
  } else {
    for (; u < T; ++u) s[u] = X::sum(a[u]);
  }
}

// C tile = (or +=) the sums s, only its mr x nr valid part.
template <int MR, int NR>
inline void tile_store(float* C, int ldc, const float* s, int mr, int nr, bool accumulate) {
  for (int i = 0; i < mr; ++i) {
    float* c = C + static_cast<long>(i) * ldc;
    if (accumulate)
      for (int j = 0; j < nr; ++j) c[j] += s[i * NR + j];
    else
      for (int j = 0; j < nr; ++j) c[j] = s[i * NR + j];
  }
}

// The same 64 bytes of the W rows NR further on as a tile reads at column p: the next tile's (the rows after the last
// tile of a block are the next block's first). Tiles call it for the first MR rows of X only (`first`), which pass over
// a block of W while it streams in from memory: NR short streams per tile, one row each (a row of 1536 bf16 is 3 KB),
// which the hardware prefetchers hardly pick up before they end. Measured on one Zen 5 core, 32 rows of X against
// 128 x 1536 blocks in 2 MiB pages, a fresh block each call: 213-223 -> 265-268 GFLOP/s (a block already in L2:
// 332-354 either way); two tiles ahead, no better; on every row group, 256-row products lost ~10 % (W in L2 there).
template <int NR>
inline void prefetch_next_tile(const uint16_t* const* wr, int ldw, int p) {
#pragma GCC unroll 8
  for (int j = 0; j < NR; ++j)
    _mm_prefetch(reinterpret_cast<const char*>(wr[j] + static_cast<long>(NR) * ldw + p), _MM_HINT_T0);
}

// Widen + FMA: X f32 or bf16 (TX), W bf16 or (F16) IEEE half.
template <int MR, int NR, bool F16, class TX>
inline void gemm_tile(float* C, int ldc, const TX* const* xr, const uint16_t* const* wr, int ldw, int k, int mr,
                      int nr, bool accumulate, bool first) {
  constexpr int N = X::N;
  typename X::V a[MR * NR];
#pragma GCC unroll 32
  for (int u = 0; u < MR * NR; ++u) a[u] = X::zero();
  int p = 0;
  for (; p + N <= k; p += N) {
    if (first && p % 32 == 0) prefetch_next_tile<NR>(wr, ldw, p);
    typename X::V w[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) w[j] = wload<F16>(wr[j] + p);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const typename X::V x = X::load(xr[i] + p);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) a[i * NR + j] = X::fma(x, w[j], a[i * NR + j]);
    }
  }
  alignas(64) float s[MR * NR + X::N];
  tile_sums<MR, NR>(s, a);
  for (; p < k; ++p)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) s[i * NR + j] += load1(xr[i][p]) * wload1<F16>(wr[j][p]);
  tile_store<MR, NR>(C, ldc, s, mr, nr, accumulate);
}

// The register tile: as many accumulators as leave room for the NR weight vectors and an X vector.
constexpr int kGemmMR = X::kRegisters >= 32 ? 4 : 3;
constexpr int kGemmNR = X::kRegisters >= 32 ? 4 : 3;

template <int MR, int NR, class TX, class Tile>
inline void gemm_loop(float* C, int ldc, const TX* Xm, int ldx, const uint16_t* W, int ldw, int m, int n, Tile tile) {
  for (int i0 = 0; i0 < m; i0 += MR) {
    const TX* xr[MR];
    for (int i = 0; i < MR; ++i) xr[i] = Xm + static_cast<long>(imin(i0 + i, m - 1)) * ldx;
    for (int j0 = 0; j0 < n; j0 += NR) {
      const uint16_t* wr[NR];
      for (int j = 0; j < NR; ++j) wr[j] = W + static_cast<long>(imin(j0 + j, n - 1)) * ldw;
      tile(C + static_cast<long>(i0) * ldc + j0, xr, wr, imin(MR, m - i0), imin(NR, n - j0), i0 == 0);
    }
  }
}

template <bool F16, class TX>
void gemm_widen(float* C, int ldc, const TX* Xm, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
                bool accumulate) {
  if (m <= 0 || n <= 0) return;
  gemm_loop<kGemmMR, kGemmNR>(
      C, ldc, Xm, ldx, W, ldw, m, n,
      [&](float* c, const TX* const* xr, const uint16_t* const* wr, int mr, int nr, bool first) {
        gemm_tile<kGemmMR, kGemmNR, F16>(c, ldc, xr, wr, ldw, k, mr, nr, accumulate, first);
      });
}

[[maybe_unused]] void gemm_bf16(float* C, int ldc, const uint16_t* Xm, int ldx, const uint16_t* W, int ldw, int m,
                                int n, int k, bool accumulate) {
  gemm_widen<false>(C, ldc, Xm, ldx, W, ldw, m, n, k, accumulate);
}
[[maybe_unused]] void gemm_f32_bf16(float* C, int ldc, const float* Xm, int ldx, const uint16_t* W, int ldw, int m,
                                    int n, int k, bool accumulate) {
  gemm_widen<false>(C, ldc, Xm, ldx, W, ldw, m, n, k, accumulate);
}
[[maybe_unused]] void gemm_f32_f16(float* C, int ldc, const float* Xm, int ldx, const uint16_t* W, int ldw, int m,
                                   int n, int k, bool accumulate) {
  gemm_widen<true>(C, ldc, Xm, ldx, W, ldw, m, n, k, accumulate);
}

#ifdef RESA_DPBF16
// ---- AVX512_BF16: vdpbf16ps on X and W as stored, 32 k per instruction; the last partial step masked (zeros add
// nothing, so k may be odd).
inline __m512bh dp_load(const uint16_t* p) { return __builtin_bit_cast(__m512bh, _mm512_loadu_si512(p)); }
inline __m512bh dp_load(const uint16_t* p, __mmask32 mask) {
  return __builtin_bit_cast(__m512bh, _mm512_maskz_loadu_epi16(mask, p));
}

template <int MR, int NR>
inline void dp_gemm_tile(float* C, int ldc, const uint16_t* const* xr, const uint16_t* const* wr, int ldw, int k,
                         int mr, int nr, bool accumulate, bool first) {
  __m512 a[MR * NR];
#pragma GCC unroll 32
  for (int u = 0; u < MR * NR; ++u) a[u] = _mm512_setzero_ps();
  auto step = [&](int p, auto load) {
    if (first) prefetch_next_tile<NR>(wr, ldw, p);
    __m512bh w[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) w[j] = load(wr[j] + p);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh x = load(xr[i] + p);
#pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) a[i * NR + j] = _mm512_dpbf16_ps(a[i * NR + j], x, w[j]);
    }
  };
  int p = 0;
  for (; p + 32 <= k; p += 32) step(p, [](const uint16_t* q) { return dp_load(q); });
  if (p < k) {
    const __mmask32 mask = (__mmask32{1} << (k - p)) - 1;  // k - p < 32 here
    step(p, [mask](const uint16_t* q) { return dp_load(q, mask); });
  }
  // Transpose-and-add networks for the sums (16 per network; lane i * NR + j: row i, column j), then one masked store
  // per row: the epilogue is ~1/5 of a tile's time at k = 1536 when done one sum at a time.
  alignas(64) float s[(MR * NR + 15) / 16 * 16];
  tile_sums<MR, NR>(s, a);
  const __mmask16 cols = static_cast<__mmask16>((1u << nr) - 1);
  for (int i = 0; i < mr; ++i) {
    float* c = C + static_cast<long>(i) * ldc;
    __m512 v = _mm512_maskz_loadu_ps(cols, s + i * NR);
    if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(cols, c));
    _mm512_mask_storeu_ps(c, cols, v);
  }
}

// 6 rows of X against 4 of W: 24 accumulators, and each W vector (streamed from L2) serves 6 rows. One core, W in
// L2 (256 x 96 x 2048 and 64 x 96 x 2048 bf16, Zen 5): 4 x 4 259-263 GFLOP/s, 5 x 4 287-289, 6 x 3 284-303,
// 7 x 3 271-299, 5 x 5 289-294, 8 x 2 228, 8 x 3 289, 6 x 4 308-329 (of a ~405 peak).
constexpr int kDpMR = 6, kDpNR = 4;

// w_cold: W has not been read by this call yet, so its first row group prefetches (prefetch_next_tile).
template <int MR>
void dp_gemm_rows(float* C, int ldc, const uint16_t* Xm, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
                  bool accumulate, bool w_cold) {
  gemm_loop<MR, kDpNR>(C, ldc, Xm, ldx, W, ldw, m, n,
                       [&](float* c, const uint16_t* const* xr, const uint16_t* const* wr, int mr, int nr, bool first) {
                         dp_gemm_tile<MR, kDpNR>(c, ldc, xr, wr, ldw, k, mr, nr, accumulate, first && w_cold);
                       });
}

// Whole groups of 6 rows, then the last 1-5 rows with a tile of 2, 4 or 6 (a 32-row rectify pass: 5 x 6 + 2); the
// last rows find W in L2 when whole groups went before them.
void dp_gemm_bf16(float* C, int ldc, const uint16_t* Xm, int ldx, const uint16_t* W, int ldw, int m, int n, int k,
                  bool accumulate) {
  if (m <= 0 || n <= 0) return;
  const int whole = m / kDpMR * kDpMR, rest = m - whole;
  if (whole > 0) dp_gemm_rows<kDpMR>(C, ldc, Xm, ldx, W, ldw, whole, n, k, accumulate, true);
  if (rest == 0) return;
  float* c = C + static_cast<long>(whole) * ldc;
  const uint16_t* x = Xm + static_cast<long>(whole) * ldx;
  const bool cold = whole == 0;
  if (rest <= 2) dp_gemm_rows<2>(c, ldc, x, ldx, W, ldw, rest, n, k, accumulate, cold);
  else if (rest <= 4) dp_gemm_rows<4>(c, ldc, x, ldx, W, ldw, rest, n, k, accumulate, cold);
  else dp_gemm_rows<kDpMR>(c, ldc, x, ldx, W, ldw, rest, n, k, accumulate, cold);
}
#endif  // RESA_DPBF16
