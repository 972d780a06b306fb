// The llama2.c tokenizer (tokenizer.bin / tok512.bin), encoding and decoding exactly as llama2.c's run.c does:
//   file: int32 max_token_length, then per token: f32 score, int32 length, `length` bytes of the piece.
//   encode: BOS, a dummy-prefix space, each UTF-8 character looked up (bytes fall back to id byte + 3), then
//           repeatedly merge the adjacent pair whose merged piece has the highest score.
//   decode: after BOS a leading space is dropped; "<0xXX>" pieces are the raw byte XX.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace resa {

struct Llama2cTokenizer {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::unordered_map<std::string, int> ids;  // piece -> id (the first id when a piece repeats)
  int max_token_length = 0;
  int bos_id = 1;

  int vocab_size() const { return static_cast<int>(pieces.size()); }
};

// Reads a tokenizer.bin with vocab_size entries (< 0: as many as the file holds). Throws resa::Error on a missing or
// truncated file.
Llama2cTokenizer load_llama2c_tokenizer(const std::string& path, int vocab_size);

std::vector<int> encode(const Llama2cTokenizer& tok, std::string_view text, bool bos);

// The bytes that token prints when it follows prev_token (run.c's decode()).
std::string_view decode_piece(const Llama2cTokenizer& tok, int prev_token, int token);

// run.c's safe_printf(): a single byte that is neither printable nor whitespace is not printed. One deliberate
// difference: run.c also drops single bytes >= 0x80 (not printable in the C locale), which loses every character
// spelled with byte-fallback tokens; here they pass, and generate() reassembles them into UTF-8 (Utf8Stream).
bool is_printable_piece(std::string_view piece);

}  // namespace resa
