#include "tokenizer/sentencepiece_tokenizer.hpp"

#include <fmt/format.h>
#include <sentencepiece_processor.h>

#include "resa/resa.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

struct SentencePieceModel {
  sentencepiece::SentencePieceProcessor sp;
};

SentencePieceInfo load_sentencepiece(const std::string& path) {
  auto m = std::make_shared<SentencePieceModel>();
  if (const auto status = m->sp.Load(path); !status.ok())
    throw Error(fmt::format("'{}' is not a readable SentencePiece model: {}", path, status.ToString()));
  SentencePieceInfo info;
  const int n = m->sp.GetPieceSize();
  info.token_text.resize(n);
  for (int id = 0; id < n; ++id) {
    const std::string& piece = m->sp.IdToPiece(id);
    std::string& text = info.token_text[id];
    if (m->sp.IsControl(id) || m->sp.IsUnknown(id)) {
      info.control_pieces.emplace_back(piece, id);
      if (m->sp.IsUnknown(id)) text = " \xE2\x81\x87 ";  // SentencePiece's surface for <unk>: " ⁇ "
      continue;
    }
    if (const int b = byte_piece_value(piece); m->sp.IsByte(id) && b >= 0) {
      text.push_back(static_cast<char>(b));
      continue;
    }
    for (size_t i = 0; i < piece.size(); ++i) {
      if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {  // "▁"
        text.push_back(' ');
        i += 2;
      } else {
        text.push_back(piece[i]);
      }
    }
  }
  info.bos_id = m->sp.bos_id();
  info.eos_id = m->sp.eos_id();
  std::vector<std::string> probe;
  if (m->sp.Encode("a", &probe).ok() && !probe.empty()) info.dummy_prefix = probe[0].rfind("\xE2\x96\x81", 0) == 0;
  info.model = std::move(m);
  return info;
}

void sentencepiece_encode(const SentencePieceModel& m, std::string_view text, std::vector<int>& out) {
  std::vector<int> ids;
  if (const auto status = m.sp.Encode(text, &ids); !status.ok())
    throw Error(fmt::format("SentencePiece could not encode the text: {}", status.ToString()));
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace resa
