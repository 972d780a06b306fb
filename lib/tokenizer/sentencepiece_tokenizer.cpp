#include "tokenizer/sentencepiece_tokenizer.hpp"

#include <cstring>

#include <fmt/format.h>
#include <sentencepiece_processor.h>

#include "resa/resa.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

struct SentencePieceModel {
  sentencepiece::SentencePieceProcessor sp;
};

namespace {

SentencePieceInfo info_of(std::shared_ptr<SentencePieceModel> m);

// Protobuf's wire format, the little of it a ModelProto needs.
void varint(std::string& out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
  out.push_back(static_cast<char>(v));
}
void field_varint(std::string& out, int field, int64_t v) {
  varint(out, static_cast<uint64_t>(field) << 3);
  varint(out, static_cast<uint64_t>(v));  // negative int32 values as 10-byte two's complement, as protobuf does
}
void field_bytes(std::string& out, int field, const std::string& bytes) {
  varint(out, static_cast<uint64_t>(field) << 3 | 2);
  varint(out, bytes.size());
  out += bytes;
}
void field_float(std::string& out, int field, float v) {
  varint(out, static_cast<uint64_t>(field) << 3 | 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

}  // namespace

SentencePieceInfo sentencepiece_from_pieces(const std::vector<std::string>& pieces, const std::vector<double>& scores,
                                            const std::vector<double>& types, int unk_id, int bos_id, int eos_id,
                                            bool add_dummy_prefix, const std::string& where) {
  // sentencepiece_model.proto: ModelProto { repeated SentencePiece pieces = 1 { piece = 1; score = 2; type = 3 };
  // TrainerSpec trainer_spec = 2 { model_type = 3 (BPE = 2); byte_fallback = 35; unk_id = 40; bos_id = 41;
  // eos_id = 42; pad_id = 43 }; NormalizerSpec normalizer_spec = 3 { name = 1; add_dummy_prefix = 3;
  // remove_extra_whitespaces = 4; escape_whitespaces = 5 } }, Llama 2's settings.
  std::string proto, piece;
  bool bytes = false;
  for (size_t id = 0; id < pieces.size(); ++id) {
    const int type = static_cast<int>(types[id]);
    if (type < 1 || type > 6) throw Error(fmt::format("'{}': token {} has type {}", where, id, type));
    bytes = bytes || type == 6;
    piece.clear();
    field_bytes(piece, 1, pieces[id]);
    field_float(piece, 2, static_cast<float>(scores[id]));
    field_varint(piece, 3, type);
    field_bytes(proto, 1, piece);
  }
  std::string trainer, normalizer;
  field_varint(trainer, 3, 2);
  field_varint(trainer, 35, bytes ? 1 : 0);
  field_varint(trainer, 40, unk_id);
  field_varint(trainer, 41, bos_id);
  field_varint(trainer, 42, eos_id);
  field_varint(trainer, 43, -1);
  field_bytes(proto, 2, trainer);
  field_bytes(normalizer, 1, "identity");
  field_varint(normalizer, 3, add_dummy_prefix ? 1 : 0);
  field_varint(normalizer, 4, 0);
  field_varint(normalizer, 5, 1);
  field_bytes(proto, 3, normalizer);
  auto m = std::make_shared<SentencePieceModel>();
  if (const auto status = m->sp.LoadFromSerializedProto(proto); !status.ok())
    throw Error(fmt::format("'{}': its SentencePiece vocabulary does not load: {}", where, status.ToString()));
  return info_of(std::move(m));
}

SentencePieceInfo load_sentencepiece(const std::string& path) {
  auto m = std::make_shared<SentencePieceModel>();
  if (const auto status = m->sp.Load(path); !status.ok())
    throw Error(fmt::format("'{}' is not a readable SentencePiece model: {}", path, status.ToString()));
  return info_of(std::move(m));
}

namespace {

SentencePieceInfo info_of(std::shared_ptr<SentencePieceModel> m) {
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

}  // namespace

void sentencepiece_encode(const SentencePieceModel& m, std::string_view text, std::vector<int>& out) {
  std::vector<int> ids;
  if (const auto status = m.sp.Encode(text, &ids); !status.ok())
    throw Error(fmt::format("SentencePiece could not encode the text: {}", status.ToString()));
  out.insert(out.end(), ids.begin(), ids.end());
}

}  // namespace resa
