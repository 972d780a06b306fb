// SentencePiece models (Llama 2, Mistral: tokenizer.model) through libsentencepiece, which encodes exactly as the
// reference does. What resa adds: each id's printed bytes for streaming decode (SentencePiece's "▁" as a space,
// byte-fallback pieces "<0xE4>" as the byte, control pieces as nothing), and the pieces to match as special tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace resa {

struct SentencePieceModel;  // a loaded sentencepiece::SentencePieceProcessor

struct SentencePieceInfo {
  std::shared_ptr<const SentencePieceModel> model;
  std::vector<std::string> token_text;  // id -> bytes it prints
  std::vector<std::pair<std::string, int>> control_pieces;  // "<s>", "</s>", "<unk>" ... -> id
  int bos_id = -1, eos_id = -1;
  bool dummy_prefix = false;  // the model prepends "▁" to each text (decode then drops the first space)
};

// Throws resa::Error naming the file when it is missing or not a SentencePiece model.
SentencePieceInfo load_sentencepiece(const std::string& path);

// Appends the ids of text (valid UTF-8) to out.
void sentencepiece_encode(const SentencePieceModel& m, std::string_view text, std::vector<int>& out);

}  // namespace resa
