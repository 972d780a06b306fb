// A session's state in a file (save_session / load_session, include/resa/resa.hpp). Little-endian, in this order:
//   "RESASESS" | u32 version | u64 model fingerprint
//   i32 n_layers, n_kv_heads, head_dim, vocab_size, kv dtype (0 f32, 1 bf16), block_size       (the cache's layout)
//   i32 prefill (0 dense, 1 lagkv), lag_sink, lag_size | f64 lag_ratio                        (what the entries are)
//   i32 n_past, pending, pending_is_eos, sparse_tail, has_logits | i32 tokens[n_past] | u8 sparse_encoded[n_past]
//   u64 the sampler's RNG state | f32 logits[vocab_size] when has_logits
//   i32 lengths[n_layers], frozen[n_layers]; per layer and KV head: i32 positions[length], keys[length][head_dim],
//   values[length][head_dim] and the summaries of its ceil(length / block_size) blocks, in the cache's dtype
//   "END\0"
// The fingerprint hashes the model's shape, its weight types and the first bytes of a few of its weights, so the
// state of one model (or one weight type of it) is refused by another.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "model/load.hpp"
#include "session.hpp"

namespace resa {

namespace {

constexpr char kMagic[8] = {'R', 'E', 'S', 'A', 'S', 'E', 'S', 'S'};
constexpr char kEnd[4] = {'E', 'N', 'D', '\0'};
constexpr uint32_t kVersion = 1;

struct Fnv {
  uint64_t h = 14695981039346656037ull;
  void add(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  template <class T>
  void add(const T& v) { add(&v, sizeof v); }
};

uint64_t fingerprint(const ModelData& m) {
  const ModelConfig& c = m.config;
  Fnv f;
  f.add(c.architecture.data(), c.architecture.size());
  for (int v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size}) f.add(v);
  f.add(c.rope.theta);
  auto mat = [&](const Mat& w) {
    f.add(static_cast<int>(w.dtype));
    f.add(w.rows);
    f.add(w.cols);
    f.add(w.data, std::min<size_t>(4096, w.bytes()));
  };
  const Weights& w = m.weights;
  mat(w.token_embedding);
  mat(w.lm_head);
  for (const LayerWeights* l : {&w.layers.front(), &w.layers.back()}) {
    mat(l->wq);
    mat(l->w_down);
  }
  f.add(w.final_norm, sizeof(float) * c.dim);
  return f.h;
}

struct File {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f;
  std::string path;
  File(const std::string& p, bool w) : f(std::fopen(p.c_str(), w ? "wb" : "rb"), &std::fclose), path(p) {
    if (!f)
      throw Error(fmt::format("cannot {} the session file '{}': {}", w ? "write" : "open", p, std::strerror(errno)));
  }
  void bytes(const void* p, size_t n) {
    if (std::fwrite(p, 1, n, f.get()) != n)
      throw Error(fmt::format("cannot write the session file '{}': {}", path, std::strerror(errno)));
  }
  void read(void* p, size_t n) {
    if (std::fread(p, 1, n, f.get()) != n) throw Error(fmt::format("the session file '{}' is truncated", path));
  }
  template <class T>
  void put(const T& v) { bytes(&v, sizeof v); }
  template <class T>
  T get() {
    T v;
    read(&v, sizeof v);
    return v;
  }
};

// The layout fields the file and a session must agree on, in file order.
struct Layout {
  int32_t n_layers, n_kv_heads, head_dim, vocab, dtype, block_size, prefill, lag_sink, lag_size;
  double lag_ratio;
  bool operator==(const Layout&) const = default;
};

Layout layout_of(const SessionState& s) {
  const ModelConfig& c = s.m->config;
  const AttentionOptions& a = s.state.attn;
  const bool lag = a.prefill == Prefill::LagKv;
  return {c.n_layers, c.n_kv_heads, c.head_dim, c.vocab_size, s.state.kv.dtype == DType::F32 ? 0 : 1,
          s.state.kv.block_size, lag ? 1 : 0, lag ? a.lag_sink : 0, lag ? a.lag_size : 0, lag ? a.lag_ratio : 0.0};
}

std::string describe(const Layout& l) {
  return fmt::format("KV cache {} with blocks of {}, prefill {}", l.dtype == 0 ? "f32" : "bf16", l.block_size,
                     l.prefill == 0 ? std::string("dense")
                                    : fmt::format("lagkv (sink {}, size {}, ratio {})", l.lag_sink, l.lag_size,
                                                  l.lag_ratio));
}

}  // namespace

void save_state(const SessionState& s, const std::string& path) {
  // Written beside the target and renamed over it, so a failed save leaves the old file whole.
  const std::string tmp = path + ".tmp";
  {
    File f(tmp, true);
    f.bytes(kMagic, sizeof kMagic);
    f.put(kVersion);
    f.put(fingerprint(*s.m));
    const Layout l = layout_of(s);
    for (int32_t v : {l.n_layers, l.n_kv_heads, l.head_dim, l.vocab, l.dtype, l.block_size, l.prefill, l.lag_sink,
                      l.lag_size})
      f.put(v);
    f.put(l.lag_ratio);
    for (int32_t v : {s.n_past, s.pending, static_cast<int>(s.pending_is_eos), s.sparse_tail,
                      static_cast<int>(s.has_logits)})
      f.put(v);
    f.bytes(s.tokens.data(), sizeof(int32_t) * s.n_past);
    f.bytes(s.state.sparse_encoded.data(), s.n_past);
    f.put(s.sampler.rng_state);
    if (s.has_logits) f.bytes(s.state.logits.data(), sizeof(float) * l.vocab);
    const KvCache& kv = s.state.kv;
    f.bytes(kv.lengths.data(), sizeof(int) * kv.n_layers);
    f.bytes(kv.frozen.data(), sizeof(int) * kv.n_layers);
    const size_t es = kv.element_size(), row = es * kv.head_dim;
    for (int layer = 0; layer < kv.n_layers; ++layer)
      for (int h = 0; h < kv.n_kv_heads; ++h) {
        const size_t n = kv.length(layer), blocks = (n + kv.block_size - 1) / kv.block_size;
        f.bytes(kv.positions(layer, h), sizeof(int32_t) * n);
        f.bytes(kv.keys(layer, h), row * n);
        f.bytes(kv.values(layer, h), row * n);
        f.bytes(kv.summaries(layer, h), row * 2 * blocks);
      }
    f.bytes(kEnd, sizeof kEnd);
    if (std::fflush(f.f.get()) != 0)
      throw Error(fmt::format("cannot write the session file '{}': {}", tmp, std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(fmt::format("cannot write the session file '{}': {}", path, std::strerror(errno)));
  }
}

void load_state(SessionState& s, const std::string& path) {
  File f(path, false);
  char magic[sizeof kMagic];
  f.read(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    throw Error(fmt::format("'{}' is not a resa session file", path));
  if (const auto v = f.get<uint32_t>(); v != kVersion)
    throw Error(fmt::format("the session file '{}' has format version {}; this resa reads version {}", path, v,
                            kVersion));
  if (f.get<uint64_t>() != fingerprint(*s.m))
    throw Error(fmt::format("the session file '{}' was saved with another model (or weight type) than '{}'", path,
                            s.m->path));
  Layout l;
  for (int32_t* v : {&l.n_layers, &l.n_kv_heads, &l.head_dim, &l.vocab, &l.dtype, &l.block_size, &l.prefill,
                     &l.lag_sink, &l.lag_size})
    *v = f.get<int32_t>();
  l.lag_ratio = f.get<double>();
  const Layout mine = layout_of(s);
  if (!(l == mine))
    throw Error(fmt::format("the session file '{}' holds a {}; this session has a {}", path, describe(l),
                            describe(mine)));
  const int n_past = f.get<int32_t>(), pending = f.get<int32_t>(), eos = f.get<int32_t>(), tail = f.get<int32_t>(),
            has_logits = f.get<int32_t>();
  const int length = n_past + (pending >= 0 ? 1 : 0);
  if (n_past < 0 || pending >= l.vocab || tail < 0 || tail > n_past)
    throw Error(fmt::format("the session file '{}' is corrupt", path));
  if (length > s.context)
    throw Error(fmt::format("the session file '{}' holds {} tokens, more than this session's context of {}", path,
                            length, s.context));
  // Everything is read into the session only from here: a refused file (above) leaves it as it was.
  KvCache& kv = s.state.kv;
  kv.clear();
  s.n_past = 0;
  s.pending = -1;
  s.has_logits = false;
  f.read(s.tokens.data(), sizeof(int32_t) * n_past);
  std::fill(s.state.sparse_encoded.begin(), s.state.sparse_encoded.end(), 0);
  f.read(s.state.sparse_encoded.data(), n_past);
  s.sampler.rng_state = f.get<uint64_t>();
  if (has_logits) f.read(s.state.logits.data(), sizeof(float) * l.vocab);
  std::vector<int> lengths(kv.n_layers), frozen(kv.n_layers);
  f.read(lengths.data(), sizeof(int) * kv.n_layers);
  f.read(frozen.data(), sizeof(int) * kv.n_layers);
  const size_t es = kv.element_size(), row = es * kv.head_dim;
  for (int layer = 0; layer < kv.n_layers; ++layer) {
    if (lengths[layer] < 0 || lengths[layer] > kv.capacity || frozen[layer] < 0 || frozen[layer] > lengths[layer])
      throw Error(fmt::format("the session file '{}' is corrupt (layer {} holds {} entries of {})", path, layer,
                              lengths[layer], kv.capacity));
    for (int h = 0; h < kv.n_kv_heads; ++h) {
      const size_t n = lengths[layer], blocks = (n + kv.block_size - 1) / kv.block_size;
      f.read(kv.positions(layer, h), sizeof(int32_t) * n);
      f.read(kv.keys(layer, h), row * n);
      f.read(kv.values(layer, h), row * n);
      f.read(kv.summaries(layer, h), row * 2 * blocks);
    }
  }
  char end[sizeof kEnd];
  f.read(end, sizeof end);
  if (std::memcmp(end, kEnd, sizeof kEnd) != 0) throw Error(fmt::format("the session file '{}' is corrupt", path));
  kv.lengths = lengths;
  kv.frozen = frozen;
  s.n_past = n_past;
  s.pending = pending;
  s.pending_is_eos = eos != 0;
  s.sparse_tail = tail;
  s.has_logits = has_logits != 0;
}

}  // namespace resa
