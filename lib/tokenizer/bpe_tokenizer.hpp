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
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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

// Open-addressing tables (linear probing, power-of-two sizes): the merge lookup is the encoder's inner loop and the
// vocabulary lookup the loader's, and node-based maps spend both on cache misses.
struct TokenIndex {  // bytes -> id, over a vector of token bytes kept by the owner
  std::vector<int32_t> slots;  // id, or -1
  int build(const std::vector<std::string>& tokens, size_t n_ids);  // -1, or the first id whose bytes repeat
  int find(const std::vector<std::string>& tokens, std::string_view bytes) const;  // -1 when absent
};

struct MergeTable {  // (left id << 32 | right id) -> merge
  struct Entry {
    uint64_t key = ~uint64_t{0};
    BpeMerge merge{};
  };
  std::vector<Entry> entries;
  size_t count = 0;
  void reserve(size_t n);
  void insert(uint64_t key, BpeMerge m);  // keeps the first merge of a key
  // Where a key's probe starts: a multiplicative hash of both ids.
  static size_t home(uint64_t key, size_t mask) { return (key * 0x9E3779B97F4A7C15ULL) >> 20 & mask; }
  const BpeMerge* find(uint64_t key) const {
    if (entries.empty()) return nullptr;
    const size_t mask = entries.size() - 1;
    for (size_t i = home(key, mask);; i = (i + 1) & mask) {
      if (entries[i].key == key) return &entries[i].merge;
      if (entries[i].key == ~uint64_t{0}) return nullptr;
    }
  }
};

struct BpeTokenizer {
  std::vector<std::string> tokens;  // id -> bytes (added tokens included; "" for ids the files leave unused)
  TokenIndex ids;                   // the model's vocabulary: bytes -> id
  MergeTable merges;
  std::array<int, 256> byte_ids{};                // the one-byte tokens
  std::vector<BpeMerge> byte_pairs;  // [256 * 256] the merges of two one-byte tokens (rank -1: none), looked up
                                     // directly: every split starts as bytes
  bool nfc = false;            // normalizer NFC
  bool ignore_merges = false;  // a split that is a whole token is that token (tiktoken; tokenizer.json's flag)
  bool add_prefix_space = false;
  std::vector<std::shared_ptr<const SplitRegex>> splits;  // applied in order, each match and gap a piece
};

// tokenizer.json's text: its model, normalizer and pre-tokenizer. Everything in it but the vocabulary and merges
// (added tokens, post-processor ...) is returned in *rest for the caller. Throws resa::Error naming the file for
// anything malformed or not byte-level BPE. (simdjson parses the 7 MB of Qwen2's in milliseconds.)
BpeTokenizer bpe_from_tokenizer_json(std::string_view text, const std::string& path, nlohmann::json* rest);

// A GGUF file's byte-level BPE (tokenizer.ggml.model "gpt2"): its tokens in the byte-level alphabet, by id (those
// with in_vocab false — control and user-defined tokens — are left out of the BPE vocabulary), its merges "a b" by
// rank, and the pre-tokenizer its tokenizer.ggml.pre names (qwen2, deepseek-r1-qwen, llama-bpe, gpt-2). Throws
// resa::Error naming path.
BpeTokenizer bpe_from_vocab(const std::vector<std::string>& tokens, const std::vector<bool>& in_vocab,
                            const std::vector<std::string>& merges, const std::string& pre, const std::string& path);

// A tiktoken file (Llama 3's tokenizer.model). Throws resa::Error naming the file and line when malformed.
BpeTokenizer bpe_from_tiktoken(std::string_view file_text, const std::string& path);

// True when text looks like a tiktoken file (its first line is "base64 rank").
bool looks_like_tiktoken(std::string_view file_text);

// Encodes text (valid UTF-8, no special tokens) and appends the ids to out.
void bpe_encode(const BpeTokenizer& t, std::string_view text, std::vector<int>& out);

// Unicode NFC of valid UTF-8 (utf8proc), skipped when every code point is one NFC never changes.
std::string nfc(std::string_view text);
bool is_nfc_stable(std::string_view text);  // that test: true means nfc(text) == text

// Llama 3's pre-tokenizer regex (tiktoken's cl100k pattern with digits in runs of at most three).
extern const char* const kLlama3SplitRegex;

}  // namespace resa
