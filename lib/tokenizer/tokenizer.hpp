// The tokenizer of a model, whichever family it is:
//   Llama2c        llama2.c's tokenizer.bin / tok512.bin (lib/tokenizer/llama2c_tokenizer.hpp);
//   SentencePiece  tokenizer.model of Llama 2 / Mistral, through libsentencepiece;
//   ByteLevelBpe   tokenizer.json of Qwen2 / DeepSeek-R1-Distill / Llama 3, or Llama 3's tiktoken tokenizer.model.
// Encoding first cuts the text at special (added) tokens — "<|im_start|>", "<｜User｜>", "<s>" … matched leftmost,
// longest first, as Hugging Face's added tokens are — and encodes the pieces between them with the model's own
// tokenizer. Decoding is a table lookup of each id's bytes; Utf8Stream (utf8.hpp) turns those into whole characters.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/llama2c_tokenizer.hpp"
#include "tokenizer/sentencepiece_tokenizer.hpp"

namespace resa {

enum class TokenizerKind { Llama2c, SentencePiece, ByteLevelBpe };

struct SpecialToken {
  std::string text;
  int id = -1;
  bool lstrip = false, rstrip = false;  // also swallows the whitespace before / after it
};

struct Tokenizer {
  TokenizerKind kind = TokenizerKind::Llama2c;
  std::string path;  // the file read
  std::optional<Llama2cTokenizer> llama2c;
  std::shared_ptr<const SentencePieceModel> spm;
  std::shared_ptr<const BpeTokenizer> bpe;
  std::vector<std::string> token_text;  // id -> the bytes it prints
  std::vector<SpecialToken> specials;   // longest first
  std::array<bool, 256> special_starts{};  // the first bytes of the specials
  int bos_id = -1;
  bool add_bos = false;             // what encoding adds unless told otherwise (the reference tokenizer's default)
  std::vector<int> eos_ids;         // ids that end a reply (tokenizer_config's eos_token, the family's end tokens)
  bool strip_first_space = false;   // SentencePiece's dummy prefix: the first piece's space is not printed
  std::string chat_template;        // tokenizer_config.json's chat_template, as written ("" when none)

  int vocab_size() const { return static_cast<int>(token_text.size()); }
};

// Reads a tokenizer file (tokenizer.json, tokenizer.model in SentencePiece or tiktoken format, a llama2.c
// tokenizer.bin) or a directory holding one, with tokenizer_config.json beside it when present. A llama2.c
// tokenizer.bin needs llama2c_vocab_size (it does not record its own size); -1 reads to the end of the file.
// Throws resa::Error naming the file on anything missing or malformed.
Tokenizer load_tokenizer(const std::string& path, int llama2c_vocab_size = -1);

struct GgufFile;
// A GGUF file's tokenizer (tokenizer.ggml.*: tokens, merges, token types, pre-tokenizer, BOS/EOS, chat template).
// Byte-level BPE ("gpt2") only for now; throws resa::Error naming the file otherwise.
Tokenizer tokenizer_from_gguf(const GgufFile& g);

// The tokenizer file a model directory holds, or "" when it holds none.
std::string find_tokenizer_file(const std::string& dir);

// Text (valid UTF-8, checked) -> ids, BOS first when bos is true and the tokenizer has one.
std::vector<int> encode(const Tokenizer& t, std::string_view text, bool bos);

// The bytes token prints when it follows prev (-1: the first token). Throws for ids outside the vocabulary.
std::string_view token_bytes(const Tokenizer& t, int prev, int token);

// Whole-sequence decode: the ids' bytes, completed to valid UTF-8 (a dangling partial character becomes U+FFFD).
std::string decode(const Tokenizer& t, const std::vector<int>& ids);

const char* kind_name(TokenizerKind k);

}  // namespace resa
