#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace resa {

// Offset of the first byte that is not part of valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
// or text.size() when all of it is valid.
size_t utf8_invalid_offset(std::string_view text);

// Throws resa::Error naming `what` and the byte offset when text is not valid UTF-8.
void require_utf8(std::string_view text, std::string_view what);

// A byte-fallback piece ("<0xE4>", SentencePiece's and llama2.c's spelling of a raw byte) -> the byte; -1 for any
// other piece.
int byte_piece_value(std::string_view piece);

// Turns a stream of token bytes into valid UTF-8 text: a character split across tokens is held back until it is
// complete, and a byte that cannot start or continue a character becomes U+FFFD.
struct Utf8Stream {
  std::string pending;
  std::string push(std::string_view bytes);  // the text that is complete so far
  std::string finish();                      // whatever is still pending, as U+FFFD
};

}  // namespace resa
