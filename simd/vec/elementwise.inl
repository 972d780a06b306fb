// The elementwise kernels over a vector type X: RMSNorm, softmax, RoPE, SwiGLU, bf16 conversion. Included after
// linear.inl and attention.inl (for vexp) inside each ISA's anonymous namespace. Each keeps its scalar twin's
// arithmetic, summed in vector lanes.

void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  constexpr int N = X::N;
  typename X::V acc = X::zero();
  int i = 0;
  for (; i + N <= n; i += N) acc = X::fma(X::load(x + i), X::load(x + i), acc);
  float ss = X::sum(acc);
  for (; i < n; ++i) ss += x[i] * x[i];
  ss = 1.0f / sqrtf(ss / static_cast<float>(n) + eps);
  const typename X::V vs = X::set1(ss);
  i = 0;
  for (; i + N <= n; i += N) X::store(out + i, X::mul(X::load(weight + i), X::mul(vs, X::load(x + i))));
  for (; i < n; ++i) out[i] = weight[i] * (ss * x[i]);
}

void softmax(float* x, int n) {
  constexpr int N = X::N;
  typename X::V vm = X::set1(x[0]);
  int i = 0;
  for (; i + N <= n; i += N) vm = X::max(vm, X::load(x + i));
  float mx = X::hmax(vm);
  for (; i < n; ++i) mx = fmaxs(mx, x[i]);
  vm = X::set1(mx);
  typename X::V vsum = X::zero();
  i = 0;
  for (; i + N <= n; i += N) {
    const typename X::V e = vexp(X::sub(X::load(x + i), vm));
    X::store(x + i, e);
    vsum = X::add(vsum, e);
  }
  float sum = X::sum(vsum);
  for (; i < n; ++i) sum += (x[i] = expf(x[i] - mx));
  const typename X::V inv = X::set1(1.0f / sum);
  i = 0;
  for (; i + N <= n; i += N) X::store(x + i, X::mul(X::load(x + i), inv));
  for (; i < n; ++i) x[i] /= sum;
}

void rope(float* vec, int n_heads, int head_dim, const float* cos, const float* sin, bool interleaved) {
  constexpr int N = X::N;
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* p = vec + static_cast<long>(h) * head_dim;
    int i = 0;
    if (interleaved) {  // pairs (2i, 2i+1): p * (c, c) + swap(p) * (-s, s)
      for (; i + N / 2 <= half; i += N / 2) {
        const typename X::V v = X::load(p + 2 * i);
        const typename X::V c = X::dup_pairs(cos + i), s = X::mul(X::dup_pairs(sin + i), X::alt_sign());
        X::store(p + 2 * i, X::fma(X::swap_pairs(v), s, X::mul(v, c)));
      }
    } else {  // pairs (i, i + half)
      for (; i + N <= half; i += N) {
        const typename X::V a = X::load(p + i), b = X::load(p + i + half);
        const typename X::V c = X::load(cos + i), s = X::load(sin + i);
        X::store(p + i, X::sub(X::mul(a, c), X::mul(b, s)));
        X::store(p + i + half, X::add(X::mul(a, s), X::mul(b, c)));
      }
    }
    for (; i < half; ++i) {
      float* a = interleaved ? p + 2 * i : p + i;
      float* b = interleaved ? p + 2 * i + 1 : p + i + half;
      const float v0 = *a, v1 = *b;
      *a = v0 * cos[i] - v1 * sin[i];
      *b = v0 * sin[i] + v1 * cos[i];
    }
  }
}

void swiglu(float* gate, const float* up, int n) {
  constexpr int N = X::N;
  const typename X::V one = X::set1(1.0f), zero = X::zero();
  int i = 0;
  for (; i + N <= n; i += N) {
    const typename X::V g = X::load(gate + i);
    const typename X::V silu = X::div(g, X::add(one, vexp(X::sub(zero, g))));
    X::store(gate + i, X::mul(silu, X::load(up + i)));
  }
  for (; i < n; ++i) {
    float g = gate[i];
    g *= 1.0f / (1.0f + expf(-g));
    gate[i] = g * up[i];
  }
}

void bf16_to_f32(float* out, const uint16_t* in, int n) {
  constexpr int N = X::N;
  int i = 0;
  for (; i + N <= n; i += N) X::store(out + i, X::load(in + i));
  for (; i < n; ++i) out[i] = load1(in[i]);
}

void f32_to_bf16(uint16_t* out, const float* in, int n) {
  constexpr int N = X::N;
  int i = 0;
  for (; i + N <= n; i += N) X::store_bf16(out + i, X::load(in + i));
  for (; i < n; ++i) {
    uint32_t bits;
    __builtin_memcpy(&bits, in + i, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
      out[i] = static_cast<uint16_t>((bits >> 16) | 0x40);
    } else {
      bits += 0x7fffu + ((bits >> 16) & 1u);
      out[i] = static_cast<uint16_t>(bits >> 16);
    }
  }
}
