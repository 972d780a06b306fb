#include "tokenizer/llama2c_tokenizer.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "model/mapped_file.hpp"
#include "resa/resa.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

Llama2cTokenizer load_llama2c_tokenizer(const std::string& path, int vocab_size) {
  MappedFile f(path);
  size_t off = 0;
  auto read = [&](void* dst, size_t n, const char* what, int index) {
    if (f.size - off < n)
      throw Error(fmt::format("tokenizer '{}' is truncated: {} of token {} ends past the end of the file ({} bytes)",
                              path, what, index, f.size));
    std::memcpy(dst, f.data + off, n);
    off += n;
  };

  Llama2cTokenizer tok;
  int32_t max_len = 0;
  read(&max_len, sizeof(max_len), "the header", -1);
  if (max_len <= 0 || max_len > (1 << 16))
    throw Error(fmt::format("'{}' is not a llama2.c tokenizer: max_token_length = {}", path, max_len));
  tok.max_token_length = max_len;
  const bool to_end = vocab_size < 0;  // the file does not record its size: read tokens until it ends
  if (!to_end) {
    tok.pieces.resize(vocab_size);
    tok.scores.resize(vocab_size);
    tok.ids.reserve(vocab_size);
  }
  for (int i = 0; to_end ? off < f.size : i < vocab_size; ++i) {
    if (to_end) {
      tok.pieces.emplace_back();
      tok.scores.emplace_back();
    }
    int32_t len = 0;
    read(&tok.scores[i], sizeof(float), "the score", i);
    read(&len, sizeof(len), "the length", i);
    if (len < 0 || len > max_len)
      throw Error(fmt::format("tokenizer '{}': token {} has length {} (max_token_length is {})", path, i, len,
                              max_len));
    tok.pieces[i].resize(len);
    read(tok.pieces[i].data(), len, "the bytes", i);
    tok.ids.emplace(tok.pieces[i], i);  // keeps the first id of a repeated piece
  }
  if (off != f.size)
    throw Error(fmt::format("tokenizer '{}' has {} bytes after its {} tokens: it belongs to a model with a different "
                            "vocabulary size",
                            path, f.size - off, vocab_size));
  return tok;
}

namespace {

int lookup(const Llama2cTokenizer& tok, const std::string& piece) {
  auto it = tok.ids.find(piece);
  return it == tok.ids.end() ? -1 : it->second;
}

}  // namespace

std::vector<int> encode(const Llama2cTokenizer& tok, std::string_view text, bool bos) {
  std::vector<int> ids;
  if (bos) ids.push_back(tok.bos_id);

  // SentencePiece's add_dummy_prefix: a leading space, unless the text is empty.
  if (!text.empty()) {
    int space = lookup(tok, " ");
    ids.push_back(space >= 0 ? space : ' ' + 3);
  }

  // One id per UTF-8 character (at most 4 bytes); a character without a piece becomes its bytes, id = byte + 3
  // (ids 0..2 are <unk>, <s>, </s>).
  std::string ch;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) ch.clear();
    ch.push_back(static_cast<char>(c));
    if (i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80 && ch.size() < 4) continue;
    int id = lookup(tok, ch);
    if (id >= 0) {
      ids.push_back(id);
    } else {
      for (unsigned char b : ch) ids.push_back(b + 3);
    }
    ch.clear();
  }

  // Merge the adjacent pair with the best-scoring merged piece until no pair merges (first pair wins ties).
  std::string merged;
  for (;;) {
    float best_score = -1e10f;
    int best_id = -1;
    size_t best_idx = 0;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      merged = tok.pieces[ids[i]];
      merged += tok.pieces[ids[i + 1]];
      int id = lookup(tok, merged);
      if (id >= 0 && tok.scores[id] > best_score) {
        best_score = tok.scores[id];
        best_id = id;
        best_idx = i;
      }
    }
    if (best_id < 0) break;
    ids[best_idx] = best_id;
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(best_idx) + 1);
  }
  return ids;
}

namespace {

// The 256 one-byte strings, so that a byte piece can be returned as a view.
const char* byte_string(int b) {
  static const auto table = [] {
    std::array<char, 512> t{};
    for (int i = 0; i < 256; ++i) t[2 * i] = static_cast<char>(i);
    return t;
  }();
  return table.data() + 2 * b;
}

}  // namespace

std::string_view decode_piece(const Llama2cTokenizer& tok, int prev_token, int token) {
  std::string_view piece = tok.pieces.at(static_cast<size_t>(token));
  if (prev_token == tok.bos_id && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
  if (const int b = byte_piece_value(piece); b >= 0) return std::string_view(byte_string(b), 1);
  return piece;
}

bool is_printable_piece(std::string_view piece) {
  if (piece.empty()) return false;
  if (piece.size() == 1) {
    const unsigned char b = static_cast<unsigned char>(piece[0]);
    if (b >= 0x80) return true;  // part of a multi-byte character: the generation loop assembles it
    return (b >= 0x20 && b < 0x7F) || b == ' ' || (b >= '\t' && b <= '\r');
  }
  return true;
}

}  // namespace resa
