// Safetensors checkpoints, memory-mapped: one `model.safetensors`, or shards listed by
// `model.safetensors.index.json`. Tensors are views into the mappings, never copies.
//
// File format: an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "BF16", "shape": [rows, cols], "data_offsets": [begin, end]}, "__metadata__": {...}}
// then the data; offsets are relative to the first byte after the header.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/dtype.hpp"
#include "model/mapped_file.hpp"

namespace resa {

struct TensorView {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t bytes = 0;
  std::string file;  // for error messages

  int64_t numel() const;
};

struct TensorSet {
  std::vector<MappedFile> files;              // own the memory the views point into
  std::map<std::string, TensorView> tensors;  // by name
  // Writers pad the header so that tensors start aligned; a tensor that does not (the format allows it) is copied
  // here, aligned, rather than read through a misaligned pointer.
  std::vector<std::vector<float>> aligned_copies;
};

// Validates the header (length, JSON, dtypes, shapes against byte sizes, offsets inside the file and not
// overlapping) and adds the file's tensors to `set`. Throws resa::Error naming the file and tensor at fault.
void add_safetensors_file(TensorSet& set, const std::string& path);

// A model directory's tensors: model.safetensors.index.json (shards) if present, else model.safetensors.
TensorSet load_safetensors_dir(const std::string& dir);

}  // namespace resa
