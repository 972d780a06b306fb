// Block scoring and flash attention (SPEC §2.2, §2.4, §2.5), written once over a vector type X; included after
// linear.inl inside each ISA's anonymous namespace (same rules: no standard-library templates).
//
// One routine, flash_range(), serves the sparse decode step (the selected blocks), the dense decode step (every block)
// and the dense causal pass (rectify): a tile of up to kTile consecutive K/V rows is read once and used by every query
// row that sees it; each query row keeps its own running maximum m, sum l and unnormalised accumulator (online
// softmax), so tiles may come in any order and splits merge by log-sum-exp.

constexpr int kTile = 32;   // K/V rows per tile
constexpr int kGroup = 8;   // query rows scored together (their accumulators stay in registers)

// Whether a bf16 cache with this head_dim takes the AVX512_BF16 path (in the file compiled for it; head dims that
// are multiples of 32).
inline bool dp_path(int hd) {
#ifdef RESA_DPBF16
  return hd % 32 == 0;
#else
  (void)hd;
  return false;
#endif
}

// The AVX512_BF16 causal pass with query rows in vector lanes (lane_block): blocks of kLaneRows rows, for passes of
// at least 16 rows and head dims up to kLaneMaxHd.
constexpr int kLaneRows = 32;
constexpr int kLaneTile = 64;  // K/V rows per tile on the lane path (32: ~2 % slower)
constexpr int kLaneMaxHd = 256;
inline bool lane_path(int hd, int rows) { return dp_path(hd) && hd <= kLaneMaxHd && rows >= 16; }

// Where row r's pair d (its dims 2d, 2d + 1 as bf16) goes in the transposed queries of a pass.
inline long lane_word(int r, int d, int hd) {
  return static_cast<long>(r / kLaneRows) * (hd / 2) * kLaneRows + static_cast<long>(d) * kLaneRows + r % kLaneRows;
}

// exp(x), 2^n * p(r) with Cephes' expf polynomial: relative error ~2e-7. x is clamped to [-87.3, 88.3]: below, the
// result is ~1e-38, not 0 (callers zero what must be exactly 0); above, ~2e38 rather than infinity.
inline typename X::V vexp(typename X::V x) {
  x = X::min(X::max(x, X::set1(-87.3f)), X::set1(88.3f));
  const typename X::V n = X::round(X::mul(x, X::set1(1.44269504088896341f)));
  typename X::V r = X::fma(n, X::set1(-0.693359375f), x);
  r = X::fma(n, X::set1(2.12194440e-4f), r);
  typename X::V p = X::set1(1.9875691500e-4f);
  p = X::fma(p, r, X::set1(1.3981999507e-3f));
  p = X::fma(p, r, X::set1(8.3334519073e-3f));
  p = X::fma(p, r, X::set1(4.1665795894e-2f));
  p = X::fma(p, r, X::set1(1.6666665459e-1f));
  p = X::fma(p, r, X::set1(5.0000001201e-1f));
  p = X::fma(p, X::mul(r, r), X::add(r, X::set1(1.0f)));
  return X::mul(p, X::pow2i(n));
}

template <class T>
void block_scores(float* scores, const float* qbar, const T* summaries, int n_blocks, int head_dim) {
  constexpr int N = X::N;
  for (int b = 0; b < n_blocks; ++b) {
    const T* lo = summaries + static_cast<long>(b) * 2 * head_dim;
    const T* hi = lo + head_dim;
    typename X::V s = X::zero();
    int d = 0;
    for (; d + N <= head_dim; d += N) {
      const typename X::V q = X::load(qbar + d);
      s = X::add(s, X::max(X::mul(q, X::load(lo + d)), X::mul(q, X::load(hi + d))));
    }
    float r = X::sum(s);
    for (; d < head_dim; ++d) r += fmaxs(qbar[d] * load1(lo[d]), qbar[d] * load1(hi[d]));
    scores[b] = r;
  }
}
void block_scores_f32(float* scores, const float* qbar, const float* summaries, int n_blocks, int head_dim) {
  block_scores(scores, qbar, summaries, n_blocks, head_dim);
}
void block_scores_bf16(float* scores, const float* qbar, const uint16_t* summaries, int n_blocks, int head_dim) {
  block_scores(scores, qbar, summaries, n_blocks, head_dim);
}

// The query rows of a flash pass: row r reads q[r] (qb[r]: the same as bf16 bits, for the AVX512_BF16 path), sees
// positions up to last[r] and keeps m[r], l[r], acc[r]. round_weights: a bf16 cache, whose softmax weights are
// rounded to bf16 before they meet V (see Queries).
struct FlashRows {
  const float* const* q;
  const uint16_t* const* qb;
  const uint32_t* qt;  // or (AVX512_BF16 causal passes) the queries transposed for the lane path, see lane_tile()
  float* const* acc;
  float* m;
  float* l;
  const int* last;
  int n;
  bool round_weights;
};

// x rounded to the nearest bf16 (ties to even), kept as f32; for finite x.
inline float round_bf16_1(float x) {
  unsigned bits;
  __builtin_memcpy(&bits, &x, 4);
  bits = (bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u;
  __builtin_memcpy(&x, &bits, 4);
  return x;
}

constexpr int kKbufFloats = 8192;  // a tile's keys (or values) as f32, 32 KB: kTile rows up to head_dim 256, fewer
                                   // above (head_dim <= 4096, checked when a model is loaded)

// Makes rows [t0, t0 + nt) of a K or V array f32: a view of an f32 array, or bf16 widened into buf, read in order
// (one sequential stream the prefetcher follows; reading a column of rows instead stalls on every line).
template <class T>
const float* tile_f32(const T* A, int t0, int nt, int hd, float* buf) {
  if constexpr (sizeof(T) == 4) {
    (void)nt;
    (void)buf;
    return reinterpret_cast<const float*>(A) + static_cast<long>(t0) * hd;
  } else {
    constexpr int N = X::N;
    const T* src = A + static_cast<long>(t0) * hd;
    const int n = nt * hd;
    int i = 0;
    for (; i + N <= n; i += N) X::store(buf + i, X::load(src + i));
    for (; i < n; ++i) buf[i] = load1(src[i]);
    return buf;
  }
}

// Prefetches a later tile's keys and values a few lines at a time, called from the inner loops of this tile's work:
// spread out like this, the loads overlap with the arithmetic; issued in one burst at the start of a tile they do not
// (measured on this machine: a two-stream read with work between tiles ran at ~24 ns per token with spread
// prefetches, ~41 with a burst and ~44 with none, where the work alone takes ~23).
struct Prefetch {
  const char* k = nullptr;
  const char* v = nullptr;
  int lines = 0;  // 64-byte lines of each of k and v
  int done = 0;
  static constexpr int kPerStep = 4;
  void step() {
    for (int i = 0; i < kPerStep && done < lines; ++i, ++done) {
      _mm_prefetch(k + static_cast<long>(done) * 64, _MM_HINT_T0);
      _mm_prefetch(v + static_cast<long>(done) * 64, _MM_HINT_T0);
    }
  }
  void finish() {
    while (done < lines) step();
  }
};

// The Prefetch of rows [t, min(t + rows, t1)) of K and V (nothing when t >= t1).
template <class T>
Prefetch prefetch_rows(const T* K, const T* Vv, int t, int t1, int rows, int hd) {
  Prefetch p;
  if (t < t1) {
    p.k = reinterpret_cast<const char*>(K + static_cast<long>(t) * hd);
    p.v = reinterpret_cast<const char*>(Vv + static_cast<long>(t) * hd);
    p.lines = static_cast<int>((static_cast<long>(imin(rows, t1 - t)) * hd * static_cast<long>(sizeof(T)) + 63) / 64);
  }
  return p;
}

// What a tile prefetches: the next tile of its range [a + tile, t1), or after the last one, the first tile of the
// range the caller attends next, [next0, next1).
template <class T>
Prefetch prefetch_next(const T* K, const T* Vv, int a, int tile, int t1, int next0, int next1, int hd) {
  return a + tile < t1 ? prefetch_rows(K, Vv, a + tile, t1, tile, hd) : prefetch_rows(K, Vv, next0, next1, tile, hd);
}

// Row r of a group sees cnt[r] of the tile's nt tokens (rows.last); returns the most any row sees (0: skip the tile).
template <int NR>
int tile_counts(int* cnt, const FlashRows& rows, int r0, int t0, int nt) {
  int used = 0;
  for (int r = 0; r < NR; ++r) {
    const int c = rows.last[r0 + r] - t0 + 1;
    cnt[r] = c < 0 ? 0 : (c > nt ? nt : c);
    used = imax(used, cnt[r]);
  }
  return used;
}

// f.template operator()<NR>(r0) for each group of up to kGroup rows (NR a compile-time count, so a group's
// accumulators can live in registers).
template <class F>
void for_each_group(int n_rows, F&& f) {
  for (int r0 = 0; r0 < n_rows; r0 += kGroup) {
    switch (imin(kGroup, n_rows - r0)) {
      case 1: f.template operator()<1>(r0); break;
      case 2: f.template operator()<2>(r0); break;
      case 3: f.template operator()<3>(r0); break;
      case 4: f.template operator()<4>(r0); break;
      case 5: f.template operator()<5>(r0); break;
      case 6: f.template operator()<6>(r0); break;
      case 7: f.template operator()<7>(r0); break;
      default: f.template operator()<8>(r0); break;
    }
  }
}

// s[r][t] = q[r] . k[t] * scale for t in [t_begin, t_end), one token at a time (a horizontal sum per score): the
// tokens left over after whole vectors of them.
template <int NR>
void scores_by_token(float (*s)[kTile], const float* const* q, const float* k, int t_begin, int t_end, int hd,
                     float scale) {
  constexpr int N = X::N;
  const int body = hd / N * N;
  for (int t = t_begin; t < t_end; ++t) {
    const float* kt = k + static_cast<long>(t) * hd;
    typename X::V a[NR];
    for (int r = 0; r < NR; ++r) a[r] = X::zero();
    for (int c = 0; c < body; c += N) {
      const typename X::V kv = X::load(kt + c);
      for (int r = 0; r < NR; ++r) a[r] = X::fma(X::load(q[r] + c), kv, a[r]);
    }
    for (int r = 0; r < NR; ++r) {
      float v = X::sum(a[r]);
      for (int c = body; c < hd; ++c) v += q[r][c] * kt[c];
      s[r][t] = v * scale;
    }
  }
}

// s[r][t] = q[r] . k[t] * scale for NR rows and the nt f32 key rows k of a tile. Each row takes X::N tokens at a
// time: X::N accumulators, one per token, summed across by one transpose-and-add network, so a score costs a few
// shuffles rather than a whole horizontal sum.
template <int NR>
void tile_scores(float (*s)[kTile], const float* const* q, const float* k, int nt, int hd, float scale,
                 Prefetch& pf) {
  constexpr int N = X::N;
  const int body = hd / N * N, whole = nt / N * N;
  const typename X::V vscale = X::set1(scale);
  for (int r = 0; r < NR; ++r) {
    const float* qr = q[r];
    for (int t = 0; t < whole; t += N) {
      const float* kt = k + static_cast<long>(t) * hd;
      pf.step();
      typename X::V a[N];
      for (int u = 0; u < N; ++u) a[u] = X::zero();
      for (int c = 0; c < body; c += N) {
        const typename X::V qv = X::load(qr + c);
#pragma GCC unroll 16
        for (int u = 0; u < N; ++u) a[u] = X::fma(qv, X::load(kt + static_cast<long>(u) * hd + c), a[u]);
      }
      X::store(s[r] + t, X::mul(X::transpose_sum(a), vscale));
      for (int c = body; c < hd; ++c)  // head dims that are not a multiple of N
        for (int u = 0; u < N; ++u) s[r][t + u] += qr[c] * kt[static_cast<long>(u) * hd + c] * scale;
    }
  }
  if (whole < nt) scores_by_token<NR>(s, q, k, whole, nt, hd, scale);
}

// acc[r] += sum_t p[r][t] * v[t] for NR rows and nt f32 value rows v. CH vectors of the head dim at a time for all
// NR rows (NR x CH accumulators and NR weights in registers), so each load of v serves NR FMAs and each weight
// broadcast serves CH.
template <int NR, int CH>
int values_pass(float* const* acc, const float (*p)[kTile], const float* v, int nt, int hd, int c, Prefetch& pf) {
  constexpr int N = X::N;
  for (; c + CH * N <= hd; c += CH * N) {
    typename X::V a[NR][CH];
    for (int r = 0; r < NR; ++r)
      for (int h = 0; h < CH; ++h) a[r][h] = X::load(acc[r] + c + h * N);
    for (int t = 0; t < nt; ++t) {
      const float* vt = v + static_cast<long>(t) * hd + c;
      pf.step();
      typename X::V w[NR];
      for (int r = 0; r < NR; ++r) w[r] = X::set1(p[r][t]);
      for (int h = 0; h < CH; ++h) {
        const typename X::V vv = X::load(vt + h * N);
        for (int r = 0; r < NR; ++r) a[r][h] = X::fma(w[r], vv, a[r][h]);
      }
    }
    for (int r = 0; r < NR; ++r)
      for (int h = 0; h < CH; ++h) X::store(acc[r] + c + h * N, a[r][h]);
  }
  return c;
}

template <int NR>
void tile_values(float* const* acc, const float (*p)[kTile], const float* v, int nt, int hd, Prefetch& pf) {
  // Registers: NR x CH accumulators + NR weights + one value vector.
  constexpr int kFit = (X::kRegisters - 1 - NR) / NR, CH = kFit < 1 ? 1 : (kFit > 4 ? 4 : kFit);
  int c = values_pass<NR, CH>(acc, p, v, nt, hd, 0, pf);
  if constexpr (CH > 1) c = values_pass<NR, 1>(acc, p, v, nt, hd, c, pf);
  for (; c < hd; ++c)
    for (int r = 0; r < NR; ++r) {
      float a = acc[r][c];
      for (int t = 0; t < nt; ++t) a += p[r][t] * v[static_cast<long>(t) * hd + c];
      acc[r][c] = a;
    }
}

// Folds a tile's scores s[r][0, cnt[r]) into row r's online softmax: rescales its sum and accumulator when the
// maximum grows, and turns the scores into weights exp(s - m), zero past cnt[r] (up to nt).
// round: a bf16 cache, whose weights are rounded to bf16 (the sum l keeps them unrounded).
inline void tile_softmax(float (*s)[kTile], const int* cnt, int nt, float* m, float* l, float* const* acc, int nr,
                         int hd, bool round) {
  constexpr int N = X::N;
  for (int r = 0; r < nr; ++r) {
    const int n = cnt[r];
    float mt = m[r];
    int t = 0;
    if (n >= N) {
      typename X::V vmax = X::load(s[r]);
      for (t = N; t + N <= n; t += N) vmax = X::max(vmax, X::load(s[r] + t));
      mt = fmaxs(mt, X::hmax(vmax));
    }
    for (; t < n; ++t) mt = fmaxs(mt, s[r][t]);
    if (mt > m[r]) {
      const float c = expf(m[r] - mt);  // 0 while the row has seen nothing (m = -inf)
      l[r] *= c;
      const typename X::V vc = X::set1(c);
      int d = 0;
      for (; d + N <= hd; d += N) X::store(acc[r] + d, X::mul(vc, X::load(acc[r] + d)));
      for (; d < hd; ++d) acc[r][d] *= c;
      m[r] = mt;
    }
    const typename X::V vm = X::set1(m[r]);
    typename X::V sum = X::zero();
    t = 0;
    for (; t + N <= n; t += N) {
      const typename X::V p = vexp(X::sub(X::load(s[r] + t), vm));
      X::store(s[r] + t, round ? X::round_bf16(p) : p);
      sum = X::add(sum, p);
    }
    float total = X::sum(sum);
    for (; t < n; ++t) {
      const float p = expf(s[r][t] - m[r]);
      total += p;
      s[r][t] = round ? round_bf16_1(p) : p;
    }
    for (; t < nt; ++t) s[r][t] = 0.0f;
    l[r] += total;
  }
}

// One group of NR rows over a tile of nt f32 key and value rows (positions t0 ..).
template <int NR>
void flash_group(const FlashRows& rows, int r0, const float* k, const float* v, int t0, int nt, int hd, float scale,
                 Prefetch& pf) {
  alignas(64) float s[NR][kTile];
  int cnt[NR];
  const int used = tile_counts<NR>(cnt, rows, r0, t0, nt);
  if (used == 0) return;
  tile_scores<NR>(s, rows.q + r0, k, used, hd, scale, pf);
  tile_softmax(s, cnt, used, rows.m + r0, rows.l + r0, rows.acc + r0, NR, hd, rows.round_weights);
  tile_values<NR>(rows.acc + r0, s, v, used, hd, pf);
}

#ifdef RESA_DPBF16
// ---- bf16 K/V with AVX512_BF16 dot products (simd/avx512/attention_avx512_bf16.cpp compiles this part) -----------
// vdpbf16ps multiplies pairs of bf16 exactly and accumulates in f32, reading K and V as stored: no widening pass. The
// queries and the softmax weights come rounded to bf16 (Queries, tile_softmax), so one instruction per 32 products.
// Values accumulate over pairs of consecutive tokens (the two V rows interleaved by unpacklo/hi), which leaves each
// 32-wide chunk of an accumulator in a lane order of its own (see dp_unpermute), restored once at the end.

// The bf16 bits of x[0, n) (n a multiple of 32; x already holds bf16 values, so this is exact).
inline void dp_bits(uint16_t* out, const float* x, int n) {
  for (int i = 0; i < n; i += 32)
    _mm512_storeu_si512(out + i, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i)));
}

inline __m512bh as_bh(__m512i v) { return __builtin_bit_cast(__m512bh, v); }

// s[r][t] for NR rows (bf16 queries q) over nt key rows k (bf16, as stored). Two rows x 8 tokens share one
// 16-accumulator transpose-and-add network, so each key vector loaded serves both rows.
template <int NR>
void dp_scores(float (*s)[kTile], const uint16_t* const* q, const uint16_t* k, int nt, int hd, float scale,
               Prefetch& pf) {
  const int whole = nt / 8 * 8;
  const __m512 vscale = _mm512_set1_ps(scale);
  int r = 0;
  for (; r + 2 <= NR; r += 2) {
    for (int t = 0; t < whole; t += 8) {
      const uint16_t* kt = k + static_cast<long>(t) * hd;
      pf.step();
      __m512 a[16];
      for (int u = 0; u < 16; ++u) a[u] = _mm512_setzero_ps();
      for (int c = 0; c < hd; c += 32) {
        const __m512bh q0 = as_bh(_mm512_loadu_si512(q[r] + c)), q1 = as_bh(_mm512_loadu_si512(q[r + 1] + c));
#pragma GCC unroll 8
        for (int u = 0; u < 8; ++u) {
          const __m512bh kv = as_bh(_mm512_loadu_si512(kt + static_cast<long>(u) * hd + c));
          a[u] = _mm512_dpbf16_ps(a[u], q0, kv);
          a[8 + u] = _mm512_dpbf16_ps(a[8 + u], q1, kv);
        }
      }
      const __m512 sum = _mm512_mul_ps(VecAvx512::transpose_sum(a), vscale);
      _mm256_storeu_ps(s[r] + t, _mm512_castps512_ps256(sum));
      _mm256_storeu_ps(s[r + 1] + t, _mm512_extractf32x8_ps(sum, 1));
    }
  }
  for (int r1 = 0; r1 < NR; ++r1) {  // the tokens after the whole eights (every row), and an odd last row
    const int from = r1 >= r ? 0 : whole;
    for (int t = from; t < nt; ++t) {
      const uint16_t* kt = k + static_cast<long>(t) * hd;
      __m512 a = _mm512_setzero_ps();
      for (int c = 0; c < hd; c += 32)
        a = _mm512_dpbf16_ps(a, as_bh(_mm512_loadu_si512(q[r1] + c)), as_bh(_mm512_loadu_si512(kt + c)));
      s[r1][t] = VecAvx512::sum(a) * scale;
    }
  }
}

// Value rows 2i and 2i + 1 (a zero row past nt), dims [c, c + 32), interleaved as vdpbf16ps takes token pairs:
// unpacklo and unpackhi of the two rows.
inline void dp_pair(__m512i& lo, __m512i& hi, const uint16_t* v, int i, int c, int nt, int hd) {
  const __m512i v0 = _mm512_loadu_si512(v + static_cast<long>(2 * i) * hd + c);
  const __m512i v1 =
      2 * i + 1 < nt ? _mm512_loadu_si512(v + static_cast<long>(2 * i + 1) * hd + c) : _mm512_setzero_si512();
  lo = _mm512_unpacklo_epi16(v0, v1);
  hi = _mm512_unpackhi_epi16(v0, v1);
}

// acc[r] += sum_t p[r][t] * v[t] (acc in the dp lane order). The weights of tokens 2i and 2i + 1 for row r are one
// 32-bit word, a pair of bf16, at w[r * row_stride + i * pair_stride] (zero for tokens past nt). CH 32-wide chunks of
// the head dim at a time, so each broadcast weight pair serves CH chunks. kPaired: v holds the value rows already
// interleaved by pairs (dp_pair_values), else as stored.
template <int NR, int CH, bool kPaired = false>
int dp_values_pass(float* const* acc, const uint32_t* w, int row_stride, int pair_stride, const uint16_t* v, int nt,
                   int hd, int c, Prefetch& pf) {
  const int pairs = (nt + 1) / 2;
  for (; c + 32 * CH <= hd; c += 32 * CH) {
    __m512 lo[NR][CH], hi[NR][CH];
    for (int r = 0; r < NR; ++r)
      for (int h = 0; h < CH; ++h) {
        lo[r][h] = _mm512_loadu_ps(acc[r] + c + 32 * h);
        hi[r][h] = _mm512_loadu_ps(acc[r] + c + 32 * h + 16);
      }
    for (int i = 0; i < pairs; ++i) {
      pf.step();
      __m512bh plo[CH], phi[CH];
      for (int h = 0; h < CH; ++h) {
        __m512i lo2, hi2;
        if constexpr (kPaired) {
          const uint16_t* vp = v + static_cast<long>(i) * 2 * hd + 2 * (c + 32 * h);
          lo2 = _mm512_load_si512(vp);
          hi2 = _mm512_load_si512(vp + 32);
        } else {
          dp_pair(lo2, hi2, v, i, c + 32 * h, nt, hd);
        }
        plo[h] = as_bh(lo2);
        phi[h] = as_bh(hi2);
      }
      for (int r = 0; r < NR; ++r) {
        const __m512bh wr = as_bh(_mm512_set1_epi32(static_cast<int>(w[r * row_stride + i * pair_stride])));
        for (int h = 0; h < CH; ++h) {
          lo[r][h] = _mm512_dpbf16_ps(lo[r][h], wr, plo[h]);
          hi[r][h] = _mm512_dpbf16_ps(hi[r][h], wr, phi[h]);
        }
      }
    }
    for (int r = 0; r < NR; ++r)
      for (int h = 0; h < CH; ++h) {
        _mm512_storeu_ps(acc[r] + c + 32 * h, lo[r][h]);
        _mm512_storeu_ps(acc[r] + c + 32 * h + 16, hi[r][h]);
      }
  }
  return c;
}

template <int NR, bool kPaired = false>
void dp_values_w(float* const* acc, const uint32_t* w, int row_stride, int pair_stride, const uint16_t* v, int nt,
                 int hd, Prefetch& pf) {
  // Registers: 2 x NR x CH accumulators, 2 x CH value pairs, 1 weight pair.
  constexpr int CH = 2 * NR * 4 + 8 + 1 <= 32 ? 4 : (2 * NR * 2 + 4 + 1 <= 32 ? 2 : 1);
  int c = dp_values_pass<NR, CH, kPaired>(acc, w, row_stride, pair_stride, v, nt, hd, 0, pf);
  if constexpr (CH > 2) c = dp_values_pass<NR, 2, kPaired>(acc, w, row_stride, pair_stride, v, nt, hd, c, pf);
  if constexpr (CH > 1) dp_values_pass<NR, 1, kPaired>(acc, w, row_stride, pair_stride, v, nt, hd, c, pf);
}

// The nt value rows v interleaved by pairs of tokens, as dp_values_pass<..., true> reads them: for pair i and each
// 32-wide chunk c of the head dim, unpacklo then unpackhi of rows 2i and 2i + 1 (a zero row past nt).
inline void dp_pair_values(uint16_t* out, const uint16_t* v, int nt, int hd) {
  for (int i = 0; 2 * i < nt; ++i)
    for (int c = 0; c < hd; c += 32) {
      __m512i lo, hi;
      dp_pair(lo, hi, v, i, c, nt, hd);
      uint16_t* o = out + static_cast<long>(i) * 2 * hd + 2 * c;
      _mm512_store_si512(o, lo);
      _mm512_store_si512(o + 32, hi);
    }
}

template <int NR>
void dp_values(float* const* acc, const float (*p)[kTile], const uint16_t* v, int nt, int hd, Prefetch& pf) {
  // Row r's weights as bf16, read back two at a time (tokens 2i, 2i + 1) as 32-bit words.
  alignas(64) uint32_t w[NR * kTile / 2];
  for (int r = 0; r < NR; ++r) dp_bits(reinterpret_cast<uint16_t*>(w + r * kTile / 2), p[r], kTile);
  dp_values_w<NR>(acc, w, kTile / 2, 1, v, nt, hd, pf);
}

// The dp lane order back to dimension order: in each 32-wide chunk, position 4L + i holds dimension 8L + i and
// position 16 + 4L + i holds 8L + 4 + i (L, i < 4: unpacklo/hi work within 128-bit lanes).
inline void dp_unpermute(float* a, int hd) {
  for (int c = 0; c < hd; c += 32) {
    float t[32];
    for (int L = 0; L < 4; ++L)
      for (int i = 0; i < 4; ++i) {
        t[8 * L + i] = a[c + 4 * L + i];
        t[8 * L + 4 + i] = a[c + 16 + 4 * L + i];
      }
    for (int i = 0; i < 32; ++i) a[c + i] = t[i];
  }
}

template <int NR>
void dp_group(const FlashRows& rows, int r0, const uint16_t* k, const uint16_t* v, int t0, int nt, int hd,
              float scale, Prefetch& pf) {
  alignas(64) float s[NR][kTile];
  int cnt[NR];
  const int used = tile_counts<NR>(cnt, rows, r0, t0, nt);
  if (used == 0) return;
  dp_scores<NR>(s, rows.qb + r0, k, used, hd, scale, pf);
  tile_softmax(s, cnt, used, rows.m + r0, rows.l + r0, rows.acc + r0, NR, hd, true);
  for (int r = 0; r < NR; ++r)
    for (int t = used; t < kTile; ++t) s[r][t] = 0.0f;
  dp_values<NR>(rows.acc + r0, s, v, used, hd, pf);
}


// ---- Causal passes on AVX512_BF16: query rows in vector lanes ---------------------------------------------------
// A causal pass has many query rows (g heads x up to 32 positions), so its blocks of 32 rows go in the lanes of two
// vectors: a score is then vdpbf16ps of the rows' query pairs (qt, transposed once per pass) with one key's pair
// broadcast, with no transpose network to sum across lanes, and the online softmax runs down the lanes, with no
// horizontal maxima or sums. The values pass is dp_values' (weights read across the block's rows), over the tile's
// value rows interleaved by pairs once for all blocks (dp_pair_values) rather than by every group of rows: with
// that and 64-token tiles, rectify at 4096/64 on one thread 6.1-6.3 -> 5.1-5.3 ms.

// s[t][lane] = q[lane] . k[t] * scale for NU tokens from t, -inf past the lane's last position.
template <int NU>
void lane_scores_n(float (*s)[kLaneRows], const uint32_t* qt, const uint16_t* k, int t0, int t, int hd, float scale,
                   __m512i last0, __m512i last1) {
  __m512 a[NU][2];
  for (int u = 0; u < NU; ++u) a[u][0] = a[u][1] = _mm512_setzero_ps();
  const uint32_t* kt = reinterpret_cast<const uint32_t*>(k + static_cast<long>(t) * hd);
  for (int d = 0; d < hd / 2; ++d) {
    const __m512bh q0 = as_bh(_mm512_loadu_si512(qt + d * kLaneRows));
    const __m512bh q1 = as_bh(_mm512_loadu_si512(qt + d * kLaneRows + 16));
#pragma GCC unroll 8
    for (int u = 0; u < NU; ++u) {
      const __m512bh kb = as_bh(_mm512_set1_epi32(static_cast<int>(kt[u * (hd / 2) + d])));
      a[u][0] = _mm512_dpbf16_ps(a[u][0], q0, kb);
      a[u][1] = _mm512_dpbf16_ps(a[u][1], q1, kb);
    }
  }
  const __m512 vscale = _mm512_set1_ps(scale), ninf = _mm512_set1_ps(-__builtin_inff());
  for (int u = 0; u < NU; ++u) {
    const __m512i pos = _mm512_set1_epi32(t0 + t + u);
    _mm512_storeu_ps(s[t + u], _mm512_mask_mov_ps(_mm512_mul_ps(a[u][0], vscale),
                                                  _mm512_cmpgt_epi32_mask(pos, last0), ninf));
    _mm512_storeu_ps(s[t + u] + 16, _mm512_mask_mov_ps(_mm512_mul_ps(a[u][1], vscale),
                                                       _mm512_cmpgt_epi32_mask(pos, last1), ninf));
  }
}

// One block of 32 rows (r0 ..) over a tile of nt keys and values from position t0.
// vp: the tile's values interleaved by dp_pair_values.
void lane_block(const FlashRows& rows, int r0, const uint16_t* k, const uint16_t* vp, int t0, int nt, int hd,
                float scale, Prefetch& pf) {
  const int nr = imin(kLaneRows, rows.n - r0);
  alignas(64) int last[kLaneRows];
  int seen = -1;  // the last position any row of the block sees
  for (int r = 0; r < kLaneRows; ++r) {
    last[r] = rows.last[r0 + imin(r, nr - 1)];  // lanes past nr repeat the last row (computed, never used)
    seen = imax(seen, last[r]);
  }
  if (seen < t0) return;
  const __m512i last0 = _mm512_load_si512(last), last1 = _mm512_load_si512(last + 16);
  const uint32_t* qt = rows.qt + lane_word(r0, 0, hd);
  alignas(64) float s[kLaneTile][kLaneRows];
  int t = 0;
  for (; t + 8 <= nt; t += 8) {
    pf.step();
    lane_scores_n<8>(s, qt, k, t0, t, hd, scale, last0, last1);
  }
  for (; t < nt; ++t) lane_scores_n<1>(s, qt, k, t0, t, hd, scale, last0, last1);
  // The online softmax, down the lanes: new maxima, the factor c for what came before, weights exp(s - m) (zero where
  // masked), their sum into l.
  alignas(64) float c[kLaneRows];
  const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
  for (int h = 0; h < 2; ++h) {
    const __m512 m_old = _mm512_loadu_ps(rows.m + r0 + 16 * h);
    __m512 mx = m_old;
    for (int u = 0; u < nt; ++u) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s[u] + 16 * h));
    const __mmask16 none = _mm512_cmp_ps_mask(mx, ninf, _CMP_EQ_OQ);  // lanes that have seen nothing yet
    const __m512 ch = _mm512_mask_mov_ps(vexp(_mm512_sub_ps(m_old, mx)), none, _mm512_set1_ps(1.0f));
    __m512 sum = _mm512_setzero_ps();
    for (int u = 0; u < nt; ++u) {
      const __m512 su = _mm512_loadu_ps(s[u] + 16 * h);
      const __mmask16 live = _mm512_cmp_ps_mask(su, ninf, _CMP_NEQ_OQ);
      const __m512 p = _mm512_maskz_mov_ps(live, vexp(_mm512_sub_ps(su, mx)));
      sum = _mm512_add_ps(sum, p);
      _mm512_storeu_ps(s[u] + 16 * h, p);
    }
    _mm512_storeu_ps(rows.l + r0 + 16 * h, _mm512_fmadd_ps(_mm512_loadu_ps(rows.l + r0 + 16 * h), ch, sum));
    _mm512_storeu_ps(rows.m + r0 + 16 * h, mx);
    _mm512_store_ps(c + 16 * h, ch);
  }
  for (int r = 0; r < nr; ++r)
    if (c[r] != 1.0f) {
      const __m512 cr = _mm512_set1_ps(c[r]);
      float* a = rows.acc[r0 + r];
      for (int d = 0; d < hd; d += 16) _mm512_storeu_ps(a + d, _mm512_mul_ps(cr, _mm512_loadu_ps(a + d)));
    }
  // The weights of token pairs as bf16 pairs, w[i][lane]: tokens 2i and 2i + 1 (zero past nt).
  alignas(64) uint32_t w[kLaneTile / 2][kLaneRows];
  const __m512i inter = _mm512_setr_epi32(0x00100000, 0x00110001, 0x00120002, 0x00130003, 0x00140004, 0x00150005,
                                          0x00160006, 0x00170007, 0x00180008, 0x00190009, 0x001a000a, 0x001b000b,
                                          0x001c000c, 0x001d000d, 0x001e000e, 0x001f000f);  // words u, 16 + u
  for (int i = 0; 2 * i < nt; ++i)
    for (int h = 0; h < 2; ++h) {
      const __m512 p0 = _mm512_loadu_ps(s[2 * i] + 16 * h);
      const __m512 p1 = 2 * i + 1 < nt ? _mm512_loadu_ps(s[2 * i + 1] + 16 * h) : _mm512_setzero_ps();
      const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(p1, p0);  // p0's 16 weights, then p1's
      _mm512_store_si512(w[i] + 16 * h, _mm512_permutexvar_epi16(inter, both));
    }
  const uint32_t* wf = &w[0][0];
  for_each_group(nr, [&]<int NR>(int g0) {
    dp_values_w<NR, true>(rows.acc + r0 + g0, wf + g0, 1, kLaneRows, vp, nt, hd, pf);
  });
}

void dp_range(const FlashRows& rows, const uint16_t* K, const uint16_t* Vv, int t0, int t1, int hd, float scale,
              int next0, int next1) {
  const int tile = rows.qt ? kLaneTile : kTile;
  for (int a = t0; a < t1; a += tile) {
    const int nt = imin(tile, t1 - a);
    const uint16_t* k = K + static_cast<long>(a) * hd;
    const uint16_t* v = Vv + static_cast<long>(a) * hd;
    Prefetch pf = prefetch_next(K, Vv, a, tile, t1, next0, next1, hd);  // through this tile's work
    if (rows.qt) {
      alignas(64) uint16_t vp[kLaneTile * kLaneMaxHd];
      dp_pair_values(vp, v, nt, hd);
      for (int r0 = 0; r0 < rows.n; r0 += kLaneRows) lane_block(rows, r0, k, vp, a, nt, hd, scale, pf);
    } else {
      for_each_group(rows.n, [&]<int NR>(int r0) { dp_group<NR>(rows, r0, k, v, a, nt, hd, scale, pf); });
    }
    pf.finish();
  }
}
#endif  // RESA_DPBF16

// Every row over K/V rows [t0, t1), tile by tile, each tile made f32 once (bf16 widened) and shared by all rows; the
// caller's next range [next0, next1) is prefetched during the last tile.
template <class T>
void flash_range(const FlashRows& rows, const T* K, const T* Vv, int t0, int t1, int hd, float scale, int next0,
                 int next1) {
#ifdef RESA_DPBF16
  if constexpr (sizeof(T) == 2)
    if (dp_path(hd)) return dp_range(rows, K, Vv, t0, t1, hd, scale, next0, next1);
#endif
  const int tile = imin(kTile, kKbufFloats / hd);
  alignas(64) float kbuf[kKbufFloats], vbuf[kKbufFloats];
  for (int a = t0; a < t1; a += tile) {
    const int nt = imin(tile, t1 - a);
    const float* k = tile_f32(K, a, nt, hd, kbuf);
    const float* v = tile_f32(Vv, a, nt, hd, vbuf);
    Prefetch pf = prefetch_next(K, Vv, a, tile, t1, next0, next1, hd);  // through this tile's work
    for_each_group(rows.n, [&]<int NR>(int r0) { flash_group<NR>(rows, r0, k, v, a, nt, hd, scale, pf); });
    pf.finish();
  }
}

constexpr int kMaxRows = 256;      // query rows per flash pass (g heads, or g heads x n rows of a causal chunk)
constexpr int kQbufBytes = 65536;  // a pass's queries rounded to bf16

// The query rows of one pass as the kernel reads them. A bf16 cache meets its queries and softmax weights in bf16
// (each product of two bf16 values is exact; the sums stay f32), as FlashAttention does with a bf16 cache on a GPU:
// an error of the order of the cache's own rounding, and on AVX512_BF16 one vdpbf16ps per 32 products instead of a
// hi + lo pair of them (which carried the f32 operands to ~16 bits and capped the kernels at half the peak). Every
// ISA and the scalar twin round alike, so their results differ only in the order of their sums and in the running
// maximum each weight was rounded against.
struct Queries {
  const float* f[kMaxRows];     // f32 (bf16 values for a bf16 cache)
  const uint16_t* b[kMaxRows];  // bf16 bits (the AVX512_BF16 path)
  alignas(64) unsigned char buf[kQbufBytes];
};

// The most rows a pass takes: their rounded queries must fit in Queries::buf (at least 4: head_dim <= 4096), whole
// blocks of kLaneRows of them on the lane path.
template <class T>
int max_rows(int hd) {
  if constexpr (sizeof(T) == 4) return kMaxRows;
  const int r = imin(kMaxRows, kQbufBytes / (hd * (dp_path(hd) ? 2 : 4)));
  return r >= kLaneRows ? r / kLaneRows * kLaneRows : r;
}

// Row r of the pass reads query src (rounded to bf16 for a bf16 cache; transposed on the lane path).
template <class T>
void set_query(Queries& qs, int r, const float* src, int hd, bool lanes = false) {
  constexpr int N = X::N;
  qs.f[r] = src;
  qs.b[r] = nullptr;
  if constexpr (sizeof(T) == 2) {
    if (lanes) {
      uint32_t* qt = reinterpret_cast<uint32_t*>(qs.buf);
      alignas(64) uint16_t bits[N];
      for (int d = 0; d < hd; d += N) {  // hd a multiple of 32
        X::store_bf16(bits, X::load(src + d));
        for (int j = 0; j < N / 2; ++j)
          qt[lane_word(r, d / 2 + j, hd)] = bits[2 * j] | static_cast<uint32_t>(bits[2 * j + 1]) << 16;
      }
    } else if (dp_path(hd)) {
      uint16_t* dst = reinterpret_cast<uint16_t*>(qs.buf) + static_cast<long>(r) * hd;
      for (int d = 0; d < hd; d += N) X::store_bf16(dst + d, X::load(src + d));  // hd a multiple of 32
      qs.b[r] = dst;
    } else {
      float* dst = reinterpret_cast<float*>(qs.buf) + static_cast<long>(r) * hd;
      int d = 0;
      for (; d + N <= hd; d += N) X::store(dst + d, X::round_bf16(X::load(src + d)));
      for (; d < hd; ++d) dst[d] = round_bf16_1(src[d]);
      qs.f[r] = dst;
    }
  }
}

// After a flash pass: the accumulators in dimension order (the AVX512_BF16 path leaves its own lane order).
template <class T>
void restore_lane_order(float* const* accs, int nr, int hd) {
#ifdef RESA_DPBF16
  if (sizeof(T) == 2 && dp_path(hd))
    for (int r = 0; r < nr; ++r) dp_unpermute(accs[r], hd);
#else
  (void)accs;
  (void)nr;
  (void)hd;
#endif
}

template <class T>
void sparse_attn(float* acc, float* m, float* l, const float* q, int g, const T* K, const T* Vv, const int* blocks,
                 int n_blocks, int block_size, int len, int head_dim, float scale) {
  const int per_pass = max_rows<T>(head_dim);
  for (int j0 = 0; j0 < g; j0 += per_pass) {  // more heads than a pass takes: in turns
    const int nr = imin(per_pass, g - j0);
    Queries qs;
    float* accs[kMaxRows];
    // The running maxima and sums stay on this thread's stack until the end: m and l of neighbouring splits share
    // cache lines, and the threads running them would pass those lines back and forth every tile.
    float ms[kMaxRows], ls[kMaxRows];
    int last[kMaxRows];
    for (int j = 0; j < nr; ++j) {
      set_query<T>(qs, j, q + static_cast<long>(j0 + j) * head_dim, head_dim);
      accs[j] = acc + static_cast<long>(j0 + j) * head_dim;
      for (int d = 0; d < head_dim; ++d) accs[j][d] = 0.0f;
      ms[j] = -__builtin_inff();
      ls[j] = 0.0f;
      last[j] = len - 1;
    }
    const FlashRows rows{qs.f, qs.b, nullptr, accs, ms, ls, last, nr, sizeof(T) == 2};
    // Runs of consecutive blocks as one range (all of them when dense); each run prefetches the next one's start.
    auto run_end = [&](int i) {
      while (i + 1 < n_blocks && blocks[i + 1] == blocks[i] + 1) ++i;
      return i + 1;
    };
    for (int i = 0, e = n_blocks > 0 ? run_end(0) : 0; i < n_blocks;) {
      const int ne = e < n_blocks ? run_end(e) : e;
      const int next0 = e < n_blocks ? blocks[e] * block_size : 0;
      const int next1 = e < n_blocks ? imin(blocks[ne - 1] * block_size + block_size, len) : 0;
      flash_range(rows, K, Vv, blocks[i] * block_size, imin(blocks[e - 1] * block_size + block_size, len), head_dim,
                  scale, next0, next1);
      i = e;
      e = ne;
    }
    restore_lane_order<T>(accs, nr, head_dim);
    for (int j = 0; j < nr; ++j) {
      m[j0 + j] = ms[j];
      l[j0 + j] = ls[j];
    }
  }
}
void sparse_attn_f32(float* acc, float* m, float* l, const float* q, int g, const float* K, const float* V,
                     const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale) {
  sparse_attn(acc, m, l, q, g, K, V, blocks, n_blocks, block_size, len, head_dim, scale);
}
void sparse_attn_bf16(float* acc, float* m, float* l, const float* q, int g, const uint16_t* K, const uint16_t* V,
                      const int* blocks, int n_blocks, int block_size, int len, int head_dim, float scale) {
  sparse_attn(acc, m, l, q, g, K, V, blocks, n_blocks, block_size, len, head_dim, scale);
}

// Causal: the n x g query rows share each K/V tile (GEMM-shaped: g x n rows per K/V byte), in passes of up to
// max_rows() rows; row i sees positions 0 .. pos0 + i.
template <class T>
void causal_attn(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0, const T* K,
                 const T* Vv, int head_dim, float scale) {
  const int per_pass = max_rows<T>(head_dim);
  const int heads_per_pass = imin(g, per_pass), rows_per_pass = per_pass / heads_per_pass;
  for (int j0 = 0; j0 < g; j0 += heads_per_pass) {
    const int nj = imin(heads_per_pass, g - j0);
    for (int i0 = 0; i0 < n; i0 += rows_per_pass) {
      const int ni = imin(rows_per_pass, n - i0);
      Queries qs;
      float* accs[kMaxRows];
      float m[kMaxRows], l[kMaxRows];
      int last[kMaxRows], nr = 0;
      const bool lanes = sizeof(T) == 2 && lane_path(head_dim, ni * nj);
      for (int i = i0; i < i0 + ni; ++i)
        for (int j = j0; j < j0 + nj; ++j, ++nr) {
          set_query<T>(qs, nr, q + static_cast<long>(i) * q_stride + static_cast<long>(j) * head_dim, head_dim,
                       lanes);
          accs[nr] = out + static_cast<long>(i) * out_stride + static_cast<long>(j) * head_dim;
          for (int d = 0; d < head_dim; ++d) accs[nr][d] = 0.0f;
          m[nr] = -__builtin_inff();
          l[nr] = 0.0f;
          last[nr] = pos0 + i;
        }
      if (lanes) {  // the last block's lanes past nr: zero queries and a fresh softmax (computed, never used)
        for (int r = nr; r % kLaneRows != 0; ++r) {
          for (int d = 0; d < head_dim / 2; ++d) reinterpret_cast<uint32_t*>(qs.buf)[lane_word(r, d, head_dim)] = 0;
          m[r] = -__builtin_inff();
          l[r] = 0.0f;
        }
      }
      const FlashRows rows{qs.f, qs.b, lanes ? reinterpret_cast<const uint32_t*>(qs.buf) : nullptr,
                           accs, m, l, last, nr, sizeof(T) == 2};
      flash_range(rows, K, Vv, 0, pos0 + i0 + ni, head_dim, scale, 0, 0);
      restore_lane_order<T>(accs, nr, head_dim);
      for (int r = 0; r < nr; ++r) {
        const float inv = 1.0f / l[r];
        for (int d = 0; d < head_dim; ++d) accs[r][d] *= inv;
      }
    }
  }
}
void causal_attn_f32(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                     const float* K, const float* V, int head_dim, float scale) {
  causal_attn(out, out_stride, q, q_stride, g, n, pos0, K, V, head_dim, scale);
}
void causal_attn_bf16(float* out, int out_stride, const float* q, int q_stride, int g, int n, int pos0,
                      const uint16_t* K, const uint16_t* V, int head_dim, float scale) {
  causal_attn(out, out_stride, q, q_stride, g, n, pos0, K, V, head_dim, scale);
}
