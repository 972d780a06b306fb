// Byte-level BPE, the tokenizer of Qwen2/Qwen2.5, DeepSeek-R1-Distill-Qwen and Llama 3, read from either file format
// real checkpoints ship:
//   tokenizer.json (Hugging Face tokenizers): model.vocab in GPT-2's byte-to-unicode alphabet, model.merges by rank,
//     the normalizer (NFC or none) and the pre-tokenizer (a sequence of regex splits, Digits, ByteLevel);
//   tokenizer.model in tiktoken format (Llama 3): one "base64(bytes) rank" line per token; the split regex is
//     Llama 3's, fixed in code. A pair merges when the concatenation is itself a token, by that token's rank.
// Both become the same thing here: tokens as raw bytes, and a (left id, right id) -> (rank, merged id) table.
// Encoding a piece of text (added/special tokens already cut out, lib/tokenizer/tokenizer.cpp): normalise, split
// with the regexes (PCRE2, UTF + Unicode properties, JIT), then merge each split's bytes lowest rank first, the
// leftmost pair on ties — the rule of Hugging Face's BPE and of tiktoken alike.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace resa {

struct SplitRegex;  // a compiled PCRE2 pattern (bpe_tokenizer.cpp)

struct BpeMerge {
  int rank;
  int id;  // the merged token
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct BpeTokenizer {
  std::vector<std::string> tokens;  // id -> bytes (added tokens included; "" for ids the files leave unused)
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> ids;  // the model's vocabulary: bytes -> id
  std::unordered_map<uint64_t, BpeMerge> merges;  // (left id << 32 | right id) -> merge
  std::array<int, 256> byte_ids{};                // the one-byte tokens
  bool nfc = false;            // normalizer NFC
  bool ignore_merges = false;  // a split that is a whole token is that token (tiktoken; tokenizer.json's flag)
  bool add_prefix_space = false;
  std::vector<std::shared_ptr<const SplitRegex>> splits;  // applied in order, each match and gap a piece
};

// tokenizer.json's model, normalizer and pre-tokenizer (its added tokens are read by the caller). Throws
// resa::Error naming the file for anything malformed or not byte-level BPE.
BpeTokenizer bpe_from_tokenizer_json(const nlohmann::json& j, const std::string& path);

// A tiktoken file (Llama 3's tokenizer.model). Throws resa::Error naming the file and line when malformed.
BpeTokenizer bpe_from_tiktoken(std::string_view file_text, const std::string& path);

// True when text looks like a tiktoken file (its first line is "base64 rank").
bool looks_like_tiktoken(std::string_view file_text);

// Encodes text (valid UTF-8, no special tokens) and appends the ids to out.
void bpe_encode(const BpeTokenizer& t, std::string_view text, std::vector<int>& out);

// Unicode NFC of valid UTF-8 (utf8proc).
std::string nfc(std::string_view text);

// Llama 3's pre-tokenizer regex (tiktoken's cl100k pattern with digits in runs of at most three).
extern const char* const kLlama3SplitRegex;

}  // namespace resa
