// GGUF files (llama.cpp's format, version 2 and 3): the metadata key/values and the tensor directory of a mapped
// file, every count, length, offset, type and size checked against the file before anything is read, so a damaged
// file is one clear error naming what is wrong, never a read past the end. The tensors stay in the mapping.
//
// Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv; n_kv times (string key, u32 type, value);
// n_tensors times (string name, u32 n_dims, u64 dims[n_dims] (innermost first), u32 ggml type, u64 offset); padding
// to general.alignment (32 unless given); the tensor data, each tensor at data start + offset. A string is a u64
// length and its bytes; an array a u32 element type, a u64 count and the elements.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/dtype.hpp"
#include "model/mapped_file.hpp"

namespace resa {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9, U64 = 10, I64 = 11,
  F64 = 12
};

struct GgufValue {
  GgufType type = GgufType::U8;
  double number = 0;  // every numeric type and bool (integers up to 2^53 exactly; `integer` holds them whole)
  int64_t integer = 0;
  std::string str;
  GgufType elem = GgufType::U8;        // arrays: the element type
  uint64_t count = 0;                  // and the element count
  std::vector<std::string> strings;    // an array of strings
  std::vector<double> numbers;         // an array of numbers (nested arrays are checked and skipped)
  bool is_integer() const;
  bool is_number() const;
};

struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;  // innermost first: a matrix is {cols, rows}
  uint32_t ggml_type = 0;
  DType dtype = DType::F32;   // the resa type of the ggml type
  const uint8_t* data = nullptr;
  size_t bytes = 0;
  int64_t numel() const;
};

struct GgufFile {
  MappedFile file;
  uint32_t version = 0;
  std::map<std::string, GgufValue> meta;
  std::map<std::string, GgufTensor> tensors;
  std::vector<std::string> order;  // tensor names as the file lists them

  const GgufValue* find(const std::string& key) const;
  // Typed metadata: throws resa::Error naming the file and the key when missing (no default) or of another type.
  int64_t integer(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t fallback) const;
  double number(const std::string& key, double fallback) const;
  std::string string(const std::string& key, const std::string& fallback) const;
};

// The ggml type name ("Q8_0") and whether resa reads it (F32, F16, BF16, Q8_0, Q4_0), as dtype.
const char* ggml_type_name(uint32_t type);
bool ggml_to_dtype(uint32_t type, DType& dtype);

// Maps and checks `path`; throws resa::Error naming the file and what is wrong.
GgufFile read_gguf(const std::string& path);

// True when the file at path starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

}  // namespace resa
