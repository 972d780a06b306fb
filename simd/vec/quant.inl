// The quantized-weight kernels (simd/kernels.hpp: quantize_q8, matvec_q8_0 / q4_0, widen_q8_0 / q4_0) on 256-bit
// integer vectors, one block of 32 weights per vector. Included inside an anonymous namespace of each ISA's file
// after elementwise.inl, with QDOT(u, s) defined as the integer dot product that ISA has: 8 int32 lanes, each the sum
// of 4 products of unsigned bytes u and signed bytes s (AVX512_VNNI / AVX-VNNI: vpdpbusd; AVX2: vpmaddubsw then
// vpmaddwd with ones, whose int16 pair sums cannot overflow here: |u| <= 127, |s| <= 127).
//
// QDOT_ACC(sum, u, s) is sum + QDOT(u, s): one instruction where the ISA accumulates (vpdpbusd; the includer defines
// it then, with QDOT_FULL_U8: its unsigned operand may take all of 0..255, no int16 pair sum to saturate).
#ifndef QDOT_ACC
#define QDOT_ACC(sum, u, s) _mm256_add_epi32(sum, QDOT(u, s))
#define QUANT_INL_QDOT_ACC
#endif
//
// The signed x signed product goes through the unsigned x signed instruction as |x| times (w with x's sign): |x| is
// taken once per block of x and serves every row; a weight of -128 (which q8_0 files written by llama.cpp and resa
// never hold, their q being in [-127, 127]) would come out wrong.

// Activations: per block, d = max|x| / 127 and q = x * (127 / max|x|) rounded to nearest even (cvtps rounds so under
// the default MXCSR), as the scalar twin does.
void quantize_q8(int8_t* q, float* d, int32_t* sums, const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int b = 0; b < n / 32; ++b, x += 32, q += 32) {
    __m256 v[4], amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + 8 * i);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float a = _mm_cvtss_f32(m);
    d[b] = a / 127.0f;
    const __m256 id = _mm256_set1_ps(a != 0.0f ? 127.0f / a : 0.0f);
    __m256i i32[4];
    for (int i = 0; i < 4; ++i) i32[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], id));
    // i32[0], i32[1]: the block's first 16 weights; i32[2], i32[3] its last 16.
    const __m256i t = _mm256_hadd_epi32(_mm256_add_epi32(i32[0], i32[1]), _mm256_add_epi32(i32[2], i32[3]));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));  // [a, a, b, b] partials
    h = _mm_hadd_epi32(h, h);
    sums[2 * b] = _mm_cvtsi128_si32(h);
    sums[2 * b + 1] = _mm_extract_epi32(h, 1);
    // Pack 4 x 8 int32 to 32 int8 (packs work within 128-bit lanes: permute the result back to order).
    const __m256i i16a = _mm256_packs_epi32(i32[0], i32[1]), i16b = _mm256_packs_epi32(i32[2], i32[3]);
    const __m256i i8 = _mm256_packs_epi16(i16a, i16b);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                        _mm256_permutevar8x32_epi32(i8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
}

// A block's 32 weights as signed bytes (q8_0: q; q4_0: q - 8), and its scale.
inline __m256i block_bytes(const BlockQ8_0* b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->q)); }
inline __m256i block_bytes(const BlockQ4_0* b) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->q));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);  // low nibbles are q[0..15], high q[16..31]
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
}
template <class Block>
inline float block_scale(const Block* b) {
  return _cvtsh_ss(b->d);
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// QR rows at a time, each row a stream read in order; per block and row, the integer dot product (8 lanes) scaled by
// d_w * d_x into an f32 accumulator. Prefetch as matvec's (linear.inl): the same column of the next QR rows.
constexpr int kQRows = 4;

template <class Block>
void matvec_q(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  constexpr int R = kQRows;
  const int nb = cols / 32;
  const Block* base = static_cast<const Block*>(W);
  const long ahead = static_cast<long>(R) * nb * static_cast<long>(sizeof(Block));
  int r = 0;
  for (; r + R <= rows; r += R) {
    const Block* w[R];
    __m256 acc[R];
    for (int i = 0; i < R; ++i) {
      w[i] = base + static_cast<long>(r + i) * nb;
      acc[i] = _mm256_setzero_ps();
    }
    for (int b = 0; b < nb; ++b) {
      for (int i = 0; i < R; ++i) __builtin_prefetch(reinterpret_cast<const char*>(w[i] + b) + ahead);
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
      const __m256i ax = _mm256_sign_epi8(x, x);
      const float dx = xd[b];
      for (int i = 0; i < R; ++i) {
        const __m256i s = _mm256_sign_epi8(block_bytes(w[i] + b), x);
        const __m256 sum = _mm256_cvtepi32_ps(QDOT(ax, s));
        acc[i] = _mm256_fmadd_ps(sum, _mm256_set1_ps(block_scale(w[i] + b) * dx), acc[i]);
      }
    }
    for (int i = 0; i < R; ++i) out[r + i] = hsum8(acc[i]);
  }
  for (; r < rows; ++r) {
    const Block* w = base + static_cast<long>(r) * nb;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; ++b) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
      const __m256i s = _mm256_sign_epi8(block_bytes(w + b), x);
      const __m256 sum = _mm256_cvtepi32_ps(QDOT(_mm256_sign_epi8(x, x), s));
      acc = _mm256_fmadd_ps(sum, _mm256_set1_ps(block_scale(w + b) * xd[b]), acc);
    }
    out[r] = hsum8(acc);
  }
}

void matvec_q8_0(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q<BlockQ8_0>(out, W, xq, xd, rows, cols);
}
void matvec_q4_0(float* out, const void* W, const int8_t* xq, const float* xd, int rows, int cols) {
  matvec_q<BlockQ4_0>(out, W, xq, xd, rows, cols);
}

// 32 signed bytes q into 32 bf16 at dst as d * q - offset, d = scale[0] for the first 16, scale[1] for the last 16.
// d * q is exact in f32 for q8_0 / q4_0 (an 11-bit by an 8-bit significand; q6_K's d * sc * q rounds once in f32,
// as dequantize_q6_k's does); with no offset the one rounding is to bf16: to nearest even, as f32_to_bf16 does
// (no NaN or infinity here).
#if defined(__AVX512BF16__)
inline void widen_bytes2(uint16_t* dst, __m256i q, const float* scale, float offset) {  // vcvtneps2bf16: nearest even
  const __m512 o = _mm512_set1_ps(offset);
  for (int h = 0; h < 2; ++h) {
    const __m512 d = _mm512_set1_ps(scale[h]);
    const __m128i bytes = h ? _mm256_extracti128_si256(q, 1) : _mm256_castsi256_si128(q);
    const __m512 f = _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes))), o);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16 * h), reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(f)));
  }
}
#else
inline void widen_bytes2(uint16_t* dst, __m256i q, const float* scale, float offset) {
  const __m256 o = _mm256_set1_ps(offset);
  const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
  const __m128i half[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
  for (int h = 0; h < 2; ++h) {
    const __m256 d = _mm256_set1_ps(scale[h]);
    __m256i r[2];
    for (int e = 0; e < 2; ++e) {
      const __m128i bytes = e ? _mm_srli_si128(half[h], 8) : half[h];
      const __m256i bits =
          _mm256_castps_si256(_mm256_sub_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes))), o));
      const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
      r[e] = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(bias, lsb)), 16);
    }
    // packus works within 128-bit lanes: [r0 0-3, r1 0-3 | r0 4-7, r1 4-7], put back in order.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16 * h), packed);
  }
}
#endif
inline void widen_bytes(uint16_t* dst, __m256i q, float scale, float offset = 0.0f) {
  const float both[2] = {scale, scale};
  widen_bytes2(dst, q, both, offset);
}

template <class Block>
void widen_q(uint16_t* dst, const void* src, int n_blocks) {
  const Block* blocks = static_cast<const Block*>(src);
  for (int b = 0; b < n_blocks; ++b, dst += 32) widen_bytes(dst, block_bytes(blocks + b), block_scale(blocks + b));
}

void widen_q8_0(uint16_t* dst, const void* src, int n_blocks) { widen_q<BlockQ8_0>(dst, src, n_blocks); }
void widen_q4_0(uint16_t* dst, const void* src, int n_blocks) { widen_q<BlockQ4_0>(dst, src, n_blocks); }

// ---- The row-group forms (simd/quant.hpp): one 256-bit vector holds 4 weights of each of a group's 8 rows, so the
// integer sums of all 8 rows build up in one vector's 8 lanes, scaled once per block by the 8 rows' scales.

inline __m256i bcast4(const int8_t* p) {  // 4 bytes into every 32-bit lane
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// q8_0_r8: per group of 4, w (stored + 128) times x: as stored, 128 sum(x) coming off, where the dot product takes
// unsigned bytes up to 255 (QDOT_FULL_U8); else flipped back to signed, through the sign trick above.
inline __m256i group_sums(const BlockQ8_0x8* blk, const int8_t* x, const int32_t* xs) {
#if defined(QDOT_FULL_U8)
  __m256i sum = _mm256_set1_epi32(-RowGroupForm<BlockQ8_0x8>::kOffset * (xs[0] + xs[1]));
  for (int g = 0; g < 8; ++g)
    sum = QDOT_ACC(sum, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q + 32 * g)), bcast4(x + 4 * g));
  return sum;
#else
  (void)xs;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256i sum = _mm256_setzero_si256();
  for (int g = 0; g < 8; ++g) {
    const __m256i w = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q + 32 * g)), flip);
    const __m256i xb = bcast4(x + 4 * g);
    sum = QDOT_ACC(sum, _mm256_sign_epi8(xb, xb), _mm256_sign_epi8(w, xb));
  }
  return sum;
#endif
}
// q4_0_r8: the nibbles (0..15) are the unsigned operand as they are; the offset of 8 comes off as 8 * sum(x).
inline __m256i group_sums(const BlockQ4_0x8* blk, const int8_t* x, const int32_t* xs) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i sum = _mm256_set1_epi32(-RowGroupForm<BlockQ4_0x8>::kOffset * (xs[0] + xs[1]));
  for (int c = 0; c < 4; ++c) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q + 32 * c));
    const __m256i lo = _mm256_and_si256(raw, low), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
    sum = QDOT_ACC(sum, lo, bcast4(x + 4 * c));
    sum = QDOT_ACC(sum, hi, bcast4(x + 16 + 4 * c));
  }
  return sum;
}

// q4_K_r8: the nibbles as q4_0_r8's, no offset inside the block (the min comes off per block, in matvec_r8).
inline __m256i group_sums(const BlockQ4_Kx8* blk, const int8_t* x, const int32_t*) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i sum = _mm256_setzero_si256();
  for (int c = 0; c < 4; ++c) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q + 32 * c));
    const __m256i lo = _mm256_and_si256(raw, low), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
    sum = QDOT_ACC(sum, lo, bcast4(x + 4 * c));
    sum = QDOT_ACC(sum, hi, bcast4(x + 16 + 4 * c));
  }
  return sum;
}

template <class Group>
void matvec_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows, int cols) {
  const int nb = cols / 32;
  const long ahead = static_cast<long>(nb) * static_cast<long>(sizeof(Group));  // the next group, same block
  for (int r = 0; r < rows; r += 8) {
    const Group* blk = static_cast<const Group*>(W) + static_cast<long>(r / 8) * nb;
    __m256 acc = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
    for (int b = 0; b < nb; ++b, ++blk) {
      for (int line = 0; line < static_cast<int>(sizeof(Group)); line += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(blk) + ahead + line);
      const __m256i sum = group_sums(blk, xq + 32 * b, xs + 2 * b);
      const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->d))),
                                     _mm256_set1_ps(xd[b]));
      acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), d, acc);
      if constexpr (sizeof(Group) == sizeof(BlockQ4_Kx8)) {  // q4_K: the mins times the sum of x, per block
        const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
            reinterpret_cast<const char*>(blk) + 16)));
        mins = _mm256_fmadd_ps(m, _mm256_set1_ps(xd[b] * static_cast<float>(xs[2 * b] + xs[2 * b + 1])), mins);
      }
    }
    _mm256_storeu_ps(out + r, _mm256_sub_ps(acc, mins));
  }
}

// q6_K_r8: per chunk c of 4 weights of the 8 rows, the 6-bit values (0..63) from the nibbles of ql and two bits of
// qh (simd/quant.hpp); the block's two halves (scales sc[0], sc[1]) summed apart, each from -32 times its x sum.
inline __m256i q6_high(__m256i qh, int shift) {  // bits shift, shift + 1 of each byte to bits 4-5
  return _mm256_and_si256(shift <= 4 ? _mm256_slli_epi16(qh, 4 - shift) : _mm256_srli_epi16(qh, shift - 4),
                          _mm256_set1_epi8(0x30));
}

void matvec_q6_k_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  const int nb = cols / 32;
  const long ahead = static_cast<long>(nb) * static_cast<long>(sizeof(BlockQ6_Kx8));
  const __m256i low = _mm256_set1_epi8(0x0f);
  for (int r = 0; r < rows; r += 8) {
    const BlockQ6_Kx8* blk = static_cast<const BlockQ6_Kx8*>(W) + static_cast<long>(r / 8) * nb;
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; ++b, ++blk) {
      for (int line = 0; line < static_cast<int>(sizeof(BlockQ6_Kx8)); line += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(blk) + ahead + line);
      const int8_t* x = xq + 32 * b;
      constexpr int kOffset = RowGroupForm<BlockQ6_Kx8>::kOffset;
      __m256i sum[2] = {_mm256_set1_epi32(-kOffset * xs[2 * b]), _mm256_set1_epi32(-kOffset * xs[2 * b + 1])};
      for (int c = 0; c < 4; ++c) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->ql + 32 * c));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qh + 32 * (c % 2)));
        const __m256i lo = _mm256_or_si256(_mm256_and_si256(raw, low), q6_high(qh, 4 * (c / 2)));
        const __m256i hi =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), low), q6_high(qh, 4 * (c / 2) + 2));
        sum[0] = QDOT_ACC(sum[0], lo, bcast4(x + 4 * c));
        sum[1] = QDOT_ACC(sum[1], hi, bcast4(x + 16 + 4 * c));
      }
      const __m256 d = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->d))),
                                     _mm256_set1_ps(xd[b]));
      for (int t = 0; t < 2; ++t) {
        const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(
            reinterpret_cast<const __m128i*>(blk->sc[t]))));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), _mm256_mul_ps(d, sc), acc);
      }
    }
    _mm256_storeu_ps(out + r, acc);
  }
}

void matvec_q8_0_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  matvec_r8<BlockQ8_0x8>(out, W, xq, xd, xs, rows, cols);
}
void matvec_q4_0_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  matvec_r8<BlockQ4_0x8>(out, W, xq, xd, xs, rows, cols);
}
void matvec_q4_k_r8(float* out, const void* W, const int8_t* xq, const float* xd, const int32_t* xs, int rows,
                    int cols) {
  matvec_r8<BlockQ4_Kx8>(out, W, xq, xd, xs, rows, cols);
}

// The 8 rows' 32 weights of a group's block as signed bytes, in order: an 8 x 8 transpose of 4-byte groups (q8_0)
// or two 4 x 4 transposes of 4-byte groups, then the nibbles (q4_0).
inline void transpose8(__m256i* v) {  // 8 x 8 of 32-bit elements, rows to columns
  __m256i t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      u[4 * i + j] = _mm256_unpacklo_epi64(t[4 * i + j], t[4 * i + 2 + j]);
      u[4 * i + 2 + j] = _mm256_unpackhi_epi64(t[4 * i + j], t[4 * i + 2 + j]);
    }
  // u[0]: rows 0-1 of columns 0,4 ..., reassemble the 128-bit halves.
  const int order[4] = {0, 2, 1, 3};
  for (int i = 0; i < 4; ++i) {
    v[order[i]] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
    v[order[i] + 4] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
  }
}
inline void group_rows(const BlockQ8_0x8* blk, __m256i* rows) {
  for (int g = 0; g < 8; ++g) rows[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q + 32 * g));
  transpose8(rows);
  for (int i = 0; i < 8; ++i) rows[i] = _mm256_xor_si256(rows[i], _mm256_set1_epi8(static_cast<char>(0x80)));
}
inline void group_rows(const BlockQ4_0x8* blk, __m256i* rows) {
  __m256i v[8];
  for (int c = 0; c < 4; ++c) {  // chunk c: rows 0-3 in the low half, 4-7 in the high half
    v[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q + 32 * c));
    v[c + 4] = _mm256_setzero_si256();
  }
  transpose8(v);  // row i's 16 bytes in the low half of v[i] (columns 4-7 were zero)
  for (int i = 0; i < 8; ++i) {
    const __m128i raw = _mm256_castsi256_si128(v[i]);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    rows[i] = _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
  }
}

inline void group_rows(const BlockQ4_Kx8* blk, __m256i* rows) {  // q in 0..15; the min comes off in widen_r8
  __m256i v[8];
  for (int c = 0; c < 4; ++c) {
    v[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->q + 32 * c));
    v[c + 4] = _mm256_setzero_si256();
  }
  transpose8(v);
  for (int i = 0; i < 8; ++i) {
    const __m128i raw = _mm256_castsi256_si128(v[i]);
    rows[i] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
  }
}
// A row-group block's 8 unsigned operands (simd/quant.hpp: the values v, each carrying RowGroupForm's offset):
// operand o holds 4 weights of each of the 8 rows, those that meet x's group of 4 o (weights 4 o .. 4 o + 3). The
// chunk products below read them so; the decode loops above build them one chunk at a time, interleaved with their
// products (holding all 8 measured 5-10 % slower on the 16-register tables).
inline void nibble_ops(const uint8_t* q, __m256i* op) {  // q4_0_r8's byte layout
  const __m256i low = _mm256_set1_epi8(0x0f);
  for (int c = 0; c < 4; ++c) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32 * c));
    op[c] = _mm256_and_si256(raw, low);
    op[4 + c] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low);
  }
}
inline void group_ops(const BlockQ8_0x8& b, __m256i* op) {
  for (int g = 0; g < 8; ++g) op[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.q + 32 * g));
}
inline void group_ops(const BlockQ4_0x8& b, __m256i* op) { nibble_ops(b.q, op); }
inline void group_ops(const BlockQ4_Kx8& b, __m256i* op) { nibble_ops(b.q, op); }
inline void group_ops(const BlockQ6_Kx8& b, __m256i* op) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  for (int c = 0; c < 4; ++c) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 32 * c));
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * (c % 2)));
    op[c] = _mm256_or_si256(_mm256_and_si256(raw, low), q6_high(qh, 4 * (c / 2)));
    op[4 + c] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), low), q6_high(qh, 4 * (c / 2) + 2));
  }
}
inline void group_rows(const BlockQ6_Kx8* blk, __m256i* rows) {  // v - 32: the operands transposed to rows
  group_ops(*blk, rows);
  transpose8(rows);
  for (int i = 0; i < 8; ++i)
    rows[i] = _mm256_sub_epi8(rows[i], _mm256_set1_epi8(RowGroupForm<BlockQ6_Kx8>::kOffset));
}
inline float group_offset(const BlockQ8_0x8&, int) { return 0.0f; }
inline float group_offset(const BlockQ4_0x8&, int) { return 0.0f; }
inline float group_offset(const BlockQ4_Kx8& b, int i) { return _cvtsh_ss(b.m[i]); }

inline float group_offset(const BlockQ6_Kx8&, int) { return 0.0f; }
template <class Group>
inline void group_scales(const Group& b, int i, float* s) { s[0] = s[1] = _cvtsh_ss(b.d[i]); }
inline void group_scales(const BlockQ6_Kx8& b, int i, float* s) {  // as dequantize_q6_k: d * scale, exact in f32
  for (int t = 0; t < 2; ++t) s[t] = _cvtsh_ss(b.d[i]) * static_cast<float>(b.sc[t][i]);
}

template <class Group>
void widen_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  const Group* blocks = static_cast<const Group*>(src);
  for (int b = 0; b < n_blocks; ++b) {
    __m256i rows[8];
    group_rows(blocks + b, rows);
    for (int i = 0; i < 8; ++i) {
      float scale[2];
      group_scales(blocks[b], i, scale);
      widen_bytes2(dst + static_cast<long>(i) * ld + 32 * b, rows[i], scale, group_offset(blocks[b], i));
    }
  }
}

void widen_q8_0_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_r8<BlockQ8_0x8>(dst, ld, src, n_blocks);
}
void widen_q4_0_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_r8<BlockQ4_0x8>(dst, ld, src, n_blocks);
}
void widen_q4_k_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_r8<BlockQ4_Kx8>(dst, ld, src, n_blocks);
}
void widen_q6_k_r8(uint16_t* dst, int ld, const void* src, int n_blocks) {
  widen_r8<BlockQ6_Kx8>(dst, ld, src, n_blocks);
}

#if defined(QDOT_FULL_U8)
// ---- The chunk products of the row-group forms in int8 (kernels.hpp GemmR8), on 256-bit vpdpbusd (AVX-VNNI): M rows
// of x against one group of 8 rows of W, block by block; operand o of a block (32 bytes: 4 weights of each of the 8
// rows) meets x's group of 4 o broadcast to every lane. As quant_avx512_vnni.cpp's zmm form, with 16 registers.
inline __m256 f16x8(const uint16_t* h) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h))); }
// Per type (the operands: group_ops above; the offset they carry: simd/quant.hpp RowGroupForm): the scale of each
// half, the mins.
template <class Group>
inline void chunk_scales(const Group& b, __m256* s) { s[0] = f16x8(b.d); }
inline void chunk_scales(const BlockQ6_Kx8& b, __m256* s) {  // d * sc, exact in f32
  for (int t = 0; t < 2; ++t)
    s[t] = _mm256_mul_ps(f16x8(b.d), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                                         _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.sc[t])))));
}
template <class Group>
inline __m256 chunk_mins(const Group&) { return _mm256_setzero_ps(); }
inline __m256 chunk_mins(const BlockQ4_Kx8& b) { return f16x8(b.m); }

template <class Group, int M>
void gemm_r8_tile(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd,
                  const Group* w, int nb, bool accumulate) {
  using T = RowGroupForm<Group>;
  constexpr int H = T::kTwoScales ? 2 : 1;
  __m256 acc[M];
  for (int i = 0; i < M; ++i) acc[i] = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    __m256i op[8];
    group_ops(w[b], op);
    __m256i sum[M][H];
    for (int i = 0; i < M; ++i) {
      const int32_t* s = xs + 2 * (i * ldd + b);
      for (int h = 0; h < H; ++h) sum[i][h] = _mm256_set1_epi32(-T::kOffset * (H == 2 ? s[h] : s[0] + s[1]));
    }
#pragma GCC unroll 8
    for (int o = 0; o < 8; ++o)
      for (int i = 0; i < M; ++i) {
        __m256i& s = sum[i][H == 2 ? o / 4 : 0];
        s = QDOT_ACC(s, op[o], bcast4(xq + static_cast<long>(i) * ldx + 32 * b + 4 * o));
      }
    __m256 scale[H];
    chunk_scales(w[b], scale);
    for (int i = 0; i < M; ++i) {
      const __m256 dx = _mm256_set1_ps(xd[i * ldd + b]);
      for (int h = 0; h < H; ++h)
        acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[i][h]), _mm256_mul_ps(scale[h], dx), acc[i]);
    }
    if constexpr (T::kMins) {  // q4_K: minus min * (d_x * the block's sum of x)
      const __m256 m = chunk_mins(w[b]);
      for (int i = 0; i < M; ++i) {
        const int32_t* s = xs + 2 * (i * ldd + b);
        acc[i] = _mm256_fnmadd_ps(m, _mm256_set1_ps(xd[i * ldd + b] * static_cast<float>(s[0] + s[1])), acc[i]);
      }
    }
  }
  for (int i = 0; i < M; ++i) {
    float* c = C + static_cast<long>(i) * ldc;
    _mm256_storeu_ps(c, accumulate ? _mm256_add_ps(acc[i], _mm256_loadu_ps(c)) : acc[i]);
  }
}

template <class Group>
void gemm_r8(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd, const void* W,
             int ldw, int m, int n, int k, bool accumulate) {
  constexpr int M = 4;
  const auto* groups = static_cast<const Group*>(W);
  const int nb = k / 32;
  for (int i0 = 0; i0 < m; i0 += M) {
    const long xo = static_cast<long>(i0) * ldx, d = static_cast<long>(i0) * ldd;
    for (int j = 0; j < n; j += 8) {
      float* c = C + static_cast<long>(i0) * ldc + j;
      const Group* w = groups + static_cast<long>(j / 8) * ldw;
      switch (std::min(M, m - i0)) {
        case 4: gemm_r8_tile<Group, 4>(c, ldc, xq + xo, ldx, xd + d, xs + 2 * d, ldd, w, nb, accumulate); break;
        case 3: gemm_r8_tile<Group, 3>(c, ldc, xq + xo, ldx, xd + d, xs + 2 * d, ldd, w, nb, accumulate); break;
        case 2: gemm_r8_tile<Group, 2>(c, ldc, xq + xo, ldx, xd + d, xs + 2 * d, ldd, w, nb, accumulate); break;
        default: gemm_r8_tile<Group, 1>(c, ldc, xq + xo, ldx, xd + d, xs + 2 * d, ldd, w, nb, accumulate); break;
      }
    }
  }
}

#define RESA_GEMM_R8(name, Group)                                                                               \
  void name(float* C, int ldc, const int8_t* xq, int ldx, const float* xd, const int32_t* xs, int ldd, const void* W, \
            int ldw, int m, int n, int k, bool accumulate) {                                                       \
    gemm_r8<Group>(C, ldc, xq, ldx, xd, xs, ldd, W, ldw, m, n, k, accumulate);                                     \
  }
RESA_GEMM_R8(gemm_q8_0_r8, BlockQ8_0x8)
RESA_GEMM_R8(gemm_q4_0_r8, BlockQ4_0x8)
RESA_GEMM_R8(gemm_q4_k_r8, BlockQ4_Kx8)
RESA_GEMM_R8(gemm_q6_k_r8, BlockQ6_Kx8)
#undef RESA_GEMM_R8
#endif

#ifdef QUANT_INL_QDOT_ACC
#undef QDOT_ACC
#undef QUANT_INL_QDOT_ACC
#endif
