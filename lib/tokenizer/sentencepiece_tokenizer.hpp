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

// A SentencePiece model from its pieces, scores and types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
// 6 byte), as a GGUF file's tokenizer.ggml.* hold them, with Llama 2's settings (BPE, byte fallback when there are
// byte pieces, the identity normalizer, spaces escaped as "▁", a dummy prefix when add_dummy_prefix). `where` names
// the file in errors.
SentencePieceInfo sentencepiece_from_pieces(const std::vector<std::string>& pieces, const std::vector<double>& scores,
                                            const std::vector<double>& types, int unk_id, int bos_id, int eos_id,
                                            bool add_dummy_prefix, const std::string& where);

// Appends the ids of text (valid UTF-8) to out.
void sentencepiece_encode(const SentencePieceModel& m, std::string_view text, std::vector<int>& out);

}  // namespace resa
