#include "tokenizer/utf8.hpp"

#include <fmt/format.h>

#include "resa/resa.hpp"

namespace resa {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the valid character at s[i], 0 if s ends inside a character that could still be valid, -1 if
// s[i] starts no valid character.
int char_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    const unsigned char b = byte(i + k);
    if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return -1;
  }
  return len;
}

}  // namespace

size_t utf8_invalid_offset(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    int len = char_length(s, i);
    if (len <= 0) return i;
    i += len;
  }
  return s.size();
}

void require_utf8(std::string_view text, std::string_view what) {
  const size_t bad = utf8_invalid_offset(text);
  if (bad != text.size())
    throw Error(fmt::format("{} is not valid UTF-8 (bad byte 0x{:02X} at offset {})", what,
                            static_cast<unsigned char>(text[bad]), bad));
}

int byte_piece_value(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(piece[3]), lo = hex(piece[4]);
  return hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
}

std::string Utf8Stream::push(std::string_view bytes) {
  pending.append(bytes);
  std::string out;
  size_t i = 0;
  while (i < pending.size()) {
    int len = char_length(pending, i);
    if (len == 0) break;  // incomplete: wait for the next token
    if (len < 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(pending, i, len);
      i += len;
    }
  }
  pending.erase(0, i);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out;
  for (size_t i = 0; i < pending.size(); ++i) out.append(kReplacement);
  pending.clear();
  return out;
}

}  // namespace resa
