// GGUF reading (lib/model/gguf.hpp): a cursor over the mapping that never reads past its end.
#include "model/gguf.hpp"

#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "resa/resa.hpp"

namespace resa {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr uint64_t kMaxDims = 4;
constexpr int kMaxDepth = 2;  // arrays of arrays at most

struct Cursor {
  const std::string& path;
  const uint8_t* data;
  size_t size, at = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("'{}' is not a valid GGUF file: {} (at byte {} of {})", path, what, at, size));
  }
  void need(uint64_t n, const char* what) const {
    if (n > size - at) fail(fmt::format("{} runs past the end of the file", what));
  }
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const uint64_t n = get<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data + at), n);
    at += n;
    return s;
  }
};

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
  }
}

// A float as an integer count: truncated, saturated at int64's range (beyond it the cast is undefined: found by
// fuzz/fuzz_gguf.cpp), NaN as 0. The key's own check then names a value out of its range.
int64_t saturate(double x) {
  if (!(x == x)) return 0;
  if (x >= 9.2e18) return INT64_MAX;
  if (x <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(x);
}

// One scalar of type t as (double, int64).
void read_scalar(Cursor& c, GgufType t, double& number, int64_t& integer, const char* what) {
  switch (t) {
    case GgufType::U8: integer = c.get<uint8_t>(what); break;
    case GgufType::I8: integer = c.get<int8_t>(what); break;
    case GgufType::Bool: {
      const uint8_t b = c.get<uint8_t>(what);
      if (b > 1) c.fail(fmt::format("{} is a bool of value {}", what, b));
      integer = b;
      break;
    }
    case GgufType::U16: integer = c.get<uint16_t>(what); break;
    case GgufType::I16: integer = c.get<int16_t>(what); break;
    case GgufType::U32: integer = c.get<uint32_t>(what); break;
    case GgufType::I32: integer = c.get<int32_t>(what); break;
    case GgufType::U64: {
      const uint64_t u = c.get<uint64_t>(what);
      if (u > static_cast<uint64_t>(INT64_MAX)) c.fail(fmt::format("{} is {}, beyond what resa counts", what, u));
      integer = static_cast<int64_t>(u);
      break;
    }
    case GgufType::I64: integer = c.get<int64_t>(what); break;
    case GgufType::F32: number = c.get<float>(what); integer = saturate(number); return;
    case GgufType::F64: number = c.get<double>(what); integer = saturate(number); return;
    default: c.fail(fmt::format("{} has unknown type {}", what, static_cast<uint32_t>(t)));
  }
  number = static_cast<double>(integer);
}

void read_value(Cursor& c, GgufValue& v, GgufType t, const std::string& key, int depth) {
  v.type = t;
  const std::string what = fmt::format("metadata '{}'", key);
  if (t == GgufType::String) {
    v.str = c.string(what.c_str());
    return;
  }
  if (t != GgufType::Array) return read_scalar(c, t, v.number, v.integer, what.c_str());
  if (depth >= kMaxDepth) c.fail(fmt::format("{} nests arrays more than {} deep", what, kMaxDepth));
  v.elem = static_cast<GgufType>(c.get<uint32_t>(what.c_str()));
  v.count = c.get<uint64_t>(what.c_str());
  // Each element takes at least one byte (a string at least its 8-byte length): a count the file cannot hold is
  // refused before anything is allocated.
  const size_t least = v.elem == GgufType::String ? 8 : v.elem == GgufType::Array ? 12 : scalar_size(v.elem);
  if (least == 0) c.fail(fmt::format("{} is an array of unknown type {}", what, static_cast<uint32_t>(v.elem)));
  if (v.count > (c.size - c.at) / least)
    c.fail(fmt::format("{} claims {} elements, more than the rest of the file holds", what, v.count));
  if (v.elem == GgufType::String) {
    v.strings.reserve(v.count);
    for (uint64_t i = 0; i < v.count; ++i) v.strings.push_back(c.string(what.c_str()));
  } else if (v.elem == GgufType::Array) {
    for (uint64_t i = 0; i < v.count; ++i) {
      GgufValue inner;
      read_value(c, inner, GgufType::Array, key, depth + 1);
    }
  } else {
    v.numbers.resize(v.count);
    for (uint64_t i = 0; i < v.count; ++i) {
      int64_t integer = 0;
      read_scalar(c, v.elem, v.numbers[i], integer, what.c_str());
    }
  }
}

struct GgmlType {
  const char* name;
  int block, block_bytes;  // 0: a type resa does not know the size of
  bool read;               // resa computes with it, as dtype
  DType dtype;
};

GgmlType ggml_type(uint32_t t) {
  switch (t) {
    case 0: return {"F32", 1, 4, true, DType::F32};
    case 1: return {"F16", 1, 2, true, DType::F16};
    case 2: return {"Q4_0", 32, 18, true, DType::Q4_0};
    case 3: return {"Q4_1", 32, 20, false, DType::F32};
    case 6: return {"Q5_0", 32, 22, false, DType::F32};
    case 7: return {"Q5_1", 32, 24, false, DType::F32};
    case 8: return {"Q8_0", 32, 34, true, DType::Q8_0};
    case 9: return {"Q8_1", 32, 36, false, DType::F32};
    case 10: return {"Q2_K", 256, 84, false, DType::F32};
    case 11: return {"Q3_K", 256, 110, false, DType::F32};
    case 12: return {"Q4_K", 256, 144, true, DType::Q4_K};
    case 13: return {"Q5_K", 256, 176, false, DType::F32};
    case 14: return {"Q6_K", 256, 210, true, DType::Q6_K};
    case 15: return {"Q8_K", 256, 292, false, DType::F32};
    case 30: return {"BF16", 1, 2, true, DType::BF16};
    default: return {nullptr, 0, 0, false, DType::F32};
  }
}

}  // namespace

bool GgufValue::is_integer() const {
  return type != GgufType::String && type != GgufType::Array && type != GgufType::F32 && type != GgufType::F64;
}
bool GgufValue::is_number() const { return type != GgufType::String && type != GgufType::Array; }

int64_t GgufTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

const char* ggml_type_name(uint32_t type) {
  const char* n = ggml_type(type).name;
  return n ? n : "unknown";
}

bool ggml_to_dtype(uint32_t type, DType& dtype) {
  const GgmlType t = ggml_type(type);
  dtype = t.dtype;
  return t.read;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = meta.find(key);
  return it == meta.end() ? nullptr : &it->second;
}

int64_t GgufFile::integer(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) throw Error(fmt::format("'{}': GGUF metadata '{}' is missing", file.path, key));
  if (!v->is_integer()) throw Error(fmt::format("'{}': GGUF metadata '{}' is not an integer", file.path, key));
  return v->integer;
}

int64_t GgufFile::integer(const std::string& key, int64_t fallback) const {
  return find(key) ? integer(key) : fallback;
}

double GgufFile::number(const std::string& key, double fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) throw Error(fmt::format("'{}': GGUF metadata '{}' is not a number", file.path, key));
  return v->number;
}

std::string GgufFile::string(const std::string& key, const std::string& fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (v->type != GgufType::String) throw Error(fmt::format("'{}': GGUF metadata '{}' is not a string", file.path, key));
  return v->str;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint32_t magic = 0;
  return in.read(reinterpret_cast<char*>(&magic), 4) && magic == kMagic;
}

GgufFile read_gguf(const std::string& path) {
  GgufFile g;
  g.file = MappedFile(path);
  Cursor c{path, g.file.data, g.file.size};
  if (g.file.size < 4 || c.get<uint32_t>("the magic") != kMagic) c.fail("it does not start with \"GGUF\"");
  g.version = c.get<uint32_t>("the version");
  if (g.version != 2 && g.version != 3)
    c.fail(fmt::format("version {} (resa reads versions 2 and 3)", g.version));
  const uint64_t n_tensors = c.get<uint64_t>("the tensor count"), n_kv = c.get<uint64_t>("the metadata count");
  // A key/value takes at least 8 + 4 + 1 bytes, a tensor entry at least 8 + 4 + 8 + 4 + 8.
  if (n_kv > g.file.size / 13) c.fail(fmt::format("{} metadata entries cannot fit in the file", n_kv));
  if (n_tensors > g.file.size / 32) c.fail(fmt::format("{} tensors cannot fit in the file", n_tensors));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.string("a metadata key");
    const GgufType t = static_cast<GgufType>(c.get<uint32_t>("a metadata type"));
    GgufValue v;
    read_value(c, v, t, key, 0);
    if (!g.meta.emplace(std::move(key), std::move(v)).second) c.fail("a metadata key appears twice");
  }
  uint64_t alignment = 32;
  if (const GgufValue* a = g.find("general.alignment")) {
    if (!a->is_integer() || a->integer <= 0 || (a->integer & (a->integer - 1)) != 0)
      c.fail("general.alignment is not a power of two");
    alignment = static_cast<uint64_t>(a->integer);
  }
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = c.string("a tensor name");
    const std::string what = fmt::format("tensor '{}'", t.name);
    const uint32_t n_dims = c.get<uint32_t>(what.c_str());
    if (n_dims == 0 || n_dims > kMaxDims) c.fail(fmt::format("{} has {} dimensions", what, n_dims));
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t n = c.get<uint64_t>(what.c_str());
      if (n == 0 || n > (uint64_t{1} << 40)) c.fail(fmt::format("{} has a dimension of {}", what, n));
      t.dims.push_back(static_cast<int64_t>(n));
    }
    t.ggml_type = c.get<uint32_t>(what.c_str());
    const GgmlType gt = ggml_type(t.ggml_type);
    if (!gt.name) c.fail(fmt::format("{} has unknown type {}", what, t.ggml_type));
    if (t.dims[0] % gt.block != 0)
      c.fail(fmt::format("{} ({}) has rows of {}, not whole blocks of {}", what, gt.name, t.dims[0], gt.block));
    uint64_t elements = 1;
    for (int64_t d : t.dims) {
      if (elements > (uint64_t{1} << 50) / static_cast<uint64_t>(d)) c.fail(fmt::format("{} is too large", what));
      elements *= static_cast<uint64_t>(d);
    }
    t.bytes = static_cast<size_t>(elements / gt.block * gt.block_bytes);
    offsets.push_back(c.get<uint64_t>(what.c_str()));
    if (offsets.back() % alignment != 0)
      c.fail(fmt::format("{} is at offset {}, not aligned to {}", what, offsets.back(), alignment));
    t.dtype = gt.dtype;  // F32 for a type resa does not read: refused when a model needs it (gguf_model.cpp)
    g.order.push_back(t.name);
    if (g.tensors.count(t.name)) c.fail(fmt::format("{} appears twice", what));
    g.tensors.emplace(t.name, std::move(t));
  }
  const uint64_t data_start = (c.at + alignment - 1) / alignment * alignment;
  if (data_start > g.file.size) c.fail("the tensor data starts past the end of the file");
  const uint64_t data_size = g.file.size - data_start;
  for (size_t i = 0; i < g.order.size(); ++i) {
    GgufTensor& t = g.tensors.at(g.order[i]);
    if (offsets[i] > data_size || t.bytes > data_size - offsets[i])
      throw Error(fmt::format("'{}' is not a valid GGUF file: tensor '{}' ({} bytes at offset {}) runs past the end "
                              "of the file ({} bytes of tensor data)",
                              path, t.name, t.bytes, offsets[i], data_size));
    t.data = g.file.data + data_start + offsets[i];
  }
  return g;
}

}  // namespace resa
