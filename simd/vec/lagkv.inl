// LagKV's lag-relative scores (SPEC §3.2) over a vector type X: the reference's per-channel min/max in lanes, each
// token's normalised channels summed in lanes (mean, then squared deviations: two passes over a row that stays in
// L1), the softmax of the standard deviations on the vector softmax. Included after elementwise.inl. Same arithmetic
// as the scalar twin (simd/scalar/lagkv_scalar.cpp) but for the order of the lane sums.

template <typename T>
void lag_scores(float* scores, const T* Xs, const T* ref, int n, int n_ref, int hd, float* work) {
  constexpr int N = X::N;
  float* lo = work;
  float* inv = work + hd;
  float* sigma = work + 2 * hd;
  const int vec_end = hd - hd % N;
  for (int c = 0; c < vec_end; c += N) {
    typename X::V mn = X::load(ref + c), mx = mn;
    for (int t = 1; t < n_ref; ++t) {
      const typename X::V x = X::load(ref + static_cast<long>(t) * hd + c);
      mn = X::min(mn, x);
      mx = X::max(mx, x);
    }
    X::store(lo + c, mn);
    X::store(inv + c, X::div(X::set1(1.0f), X::add(X::sub(mx, mn), X::set1(kLagEpsilon))));
  }
  for (int c = vec_end; c < hd; ++c) {
    float mn = load1(ref[c]), mx = mn;
    for (int t = 1; t < n_ref; ++t) {
      const float x = load1(ref[static_cast<long>(t) * hd + c]);
      mn = x < mn ? x : mn;
      mx = x > mx ? x : mx;
    }
    lo[c] = mn;
    inv[c] = 1.0f / (mx - mn + kLagEpsilon);
  }
  for (int i = 0; i < n; ++i) {
    const T* x = Xs + static_cast<long>(i) * hd;
    typename X::V acc = X::zero();
    for (int c = 0; c < vec_end; c += N)
      acc = X::fma(X::sub(X::load(x + c), X::load(lo + c)), X::load(inv + c), acc);
    float sum = X::sum(acc);
    for (int c = vec_end; c < hd; ++c) sum += (load1(x[c]) - lo[c]) * inv[c];
    const float mean = sum / static_cast<float>(hd);
    const typename X::V vmean = X::set1(mean);
    acc = X::zero();
    for (int c = 0; c < vec_end; c += N) {
      const typename X::V d = X::sub(X::mul(X::sub(X::load(x + c), X::load(lo + c)), X::load(inv + c)), vmean);
      acc = X::fma(d, d, acc);
    }
    float ss = X::sum(acc);
    for (int c = vec_end; c < hd; ++c) {
      const float d = (load1(x[c]) - lo[c]) * inv[c] - mean;
      ss += d * d;
    }
    sigma[i] = sqrtf(ss / static_cast<float>(hd - 1));
  }
  softmax(sigma, n);
  int i = 0;
  for (; i + N <= n; i += N) X::store(scores + i, X::add(X::load(scores + i), X::load(sigma + i)));
  for (; i < n; ++i) scores[i] += sigma[i];
}

void lag_scores_f32(float* scores, const float* Xs, const float* ref, int n, int n_ref, int head_dim, float* work) {
  lag_scores(scores, Xs, ref, n, n_ref, head_dim, work);
}
void lag_scores_bf16(float* scores, const uint16_t* Xs, const uint16_t* ref, int n, int n_ref, int head_dim,
                     float* work) {
  lag_scores(scores, Xs, ref, n, n_ref, head_dim, work);
}
