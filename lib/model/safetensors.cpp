#include "model/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "resa/resa.hpp"

namespace resa {

namespace fs = std::filesystem;
using json = nlohmann::json;

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

// The dtypes resa computes with; the others are named so that the error says what the file holds.
bool parse_dtype(const std::string& s, DType& out) {
  if (s == "F32") out = DType::F32;
  else if (s == "BF16") out = DType::BF16;
  else if (s == "F16") out = DType::F16;
  else return false;
  return true;
}

}  // namespace

void add_safetensors_file(TensorSet& set, const std::string& path) {
  MappedFile f(path);
  if (f.size < 8)
    throw Error(fmt::format("'{}' is truncated: {} bytes, shorter than the 8-byte safetensors header length", path,
                            f.size));
  uint64_t n = 0;
  std::memcpy(&n, f.data, 8);  // little-endian, as the format and x86 agree
  if (n > f.size - 8)
    throw Error(fmt::format("'{}': safetensors header length {} runs past the end of the {}-byte file", path, n,
                            f.size));
  json header;
  try {
    header = json::parse(f.data + 8, f.data + 8 + n);
  } catch (const json::exception& e) {
    throw Error(fmt::format("'{}': the safetensors header is not valid JSON ({})", path, e.what()));
  }
  if (!header.is_object()) throw Error(fmt::format("'{}': the safetensors header is not a JSON object", path));

  const uint8_t* base = f.data + 8 + n;
  const uint64_t data_size = f.size - 8 - n;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::vector<std::pair<std::string, TensorView>> found;
  for (const auto& item : header.items()) {
    const std::string& name = item.key();
    const json& e = item.value();
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& what) {
      return Error(fmt::format("'{}': tensor '{}': {}", path, name, what));
    };
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      throw bad("the header entry lacks dtype, shape or data_offsets");
    const json& jd = e["dtype"];
    const json& js = e["shape"];
    const json& jo = e["data_offsets"];
    if (!jd.is_string()) throw bad("dtype is not a string");
    TensorView t;
    if (!parse_dtype(jd.get<std::string>(), t.dtype))
      throw bad(fmt::format("unsupported dtype {} (resa reads F32, BF16 and F16)", jd.get<std::string>()));
    if (!js.is_array()) throw bad("shape is not a list");
    uint64_t numel = 1;
    for (const json& d : js) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (1ull << 40)) throw bad("shape holds a bad dimension");
      t.shape.push_back(d.get<int64_t>());
      numel *= d.get<uint64_t>();
      if (numel > (1ull << 40)) throw bad("shape is implausibly large");
    }
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      throw bad("data_offsets is not a pair of offsets");
    const uint64_t b = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    if (b > end) throw bad(fmt::format("data_offsets [{}, {}] are reversed", b, end));
    if (end > data_size)
      throw bad(fmt::format("data_offsets [{}, {}] run past the end of the data ({} bytes; the file is truncated?)",
                            b, end, data_size));
    if (end - b != numel * dtype_size(t.dtype))
      throw bad(fmt::format("shape {} in {} needs {} bytes, data_offsets give {}", js.dump(),
                            jd.get<std::string>(), numel * dtype_size(t.dtype), end - b));
    t.data = base + b;
    t.bytes = end - b;
    t.file = path;
    ranges.emplace_back(b, end);
    found.emplace_back(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      throw Error(fmt::format("'{}': tensor data ranges overlap at byte {}", path, ranges[i].first));
  for (auto& [name, t] : found) {
    if (set.tensors.count(name)) throw Error(fmt::format("'{}': tensor '{}' appears in two files", path, name));
    if (reinterpret_cast<uintptr_t>(t.data) % dtype_size(t.dtype) != 0) {
      std::vector<float>& copy = set.aligned_copies.emplace_back((t.bytes + 3) / 4);
      std::memcpy(copy.data(), t.data, t.bytes);
      t.data = copy.data();
    }
    set.tensors.emplace(name, std::move(t));
  }
  set.files.push_back(std::move(f));  // the mapping moves, its addresses do not
}

TensorSet load_safetensors_dir(const std::string& dir) {
  TensorSet set;
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::error_code ec;
  if (fs::is_regular_file(index, ec)) {
    MappedFile f(index.string());
    json j;
    try {
      j = json::parse(f.data, f.data + f.size);
    } catch (const json::exception& e) {
      throw Error(fmt::format("'{}' is not valid JSON ({})", index.string(), e.what()));
    }
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(fmt::format("'{}' has no weight_map object", index.string()));
    std::set<std::string> shards;
    for (const auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) throw Error(fmt::format("'{}': weight_map['{}'] is not a file name", index.string(), name));
      const std::string s = file.get<std::string>();
      if (s.find('/') != std::string::npos || s == "..")
        throw Error(fmt::format("'{}': shard name '{}' is not a plain file name", index.string(), s));
      shards.insert(s);
    }
    for (const std::string& s : shards) add_safetensors_file(set, (fs::path(dir) / s).string());
    for (const auto& [name, file] : j["weight_map"].items())
      if (!set.tensors.count(name))
        throw Error(fmt::format("'{}': tensor '{}' is listed in the index but not in {}", index.string(), name,
                                file.get<std::string>()));
    return set;
  }
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (!fs::is_regular_file(single, ec))
    throw Error(fmt::format("'{}' has neither model.safetensors nor model.safetensors.index.json", dir));
  add_safetensors_file(set, single.string());
  return set;
}

}  // namespace resa
