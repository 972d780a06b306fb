#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "resa/resa.hpp"
#include "test_helpers.hpp"
#include "tokenizer/llama2c_tokenizer.hpp"

namespace resa {
namespace {

const Llama2cTokenizer& tok512() {
  static const Llama2cTokenizer tok = load_llama2c_tokenizer(test::tokenizer_path(), 512);
  return tok;
}

std::string decode_all(const Llama2cTokenizer& tok, const std::vector<int>& ids) {
  std::string text;
  for (size_t i = 1; i < ids.size(); ++i) text += decode_piece(tok, ids[i - 1], ids[i]);
  return text;
}

// Expected ids from tests/tools/llama2c_tokenize.py, an independent Python rendering of run.c's encode().
TEST(Llama2cTokenizer, EncodesLikeRunC) {
  const Llama2cTokenizer& tok = tok512();
  EXPECT_EQ(encode(tok, "Tom and Sue went to the beach", true),
            (std::vector<int>{1, 274, 287, 269, 301, 425, 411, 263, 377, 267, 265, 329, 412, 402}));
  EXPECT_EQ(encode(tok, "Once upon a time", true), (std::vector<int>{1, 403, 407, 261, 378}));
  EXPECT_EQ(encode(tok, "Hello, world! 123", true),
            (std::vector<int>{1, 346, 306, 414, 432, 263, 304, 341, 443, 410, 475, 479, 472}));
  // Characters without a piece fall back to their UTF-8 bytes + 3.
  EXPECT_EQ(encode(tok, "café", true), (std::vector<int>{1, 280, 412, 431, 485}));
  EXPECT_EQ(encode(tok, "日本", true), (std::vector<int>{1, 410, 233, 154, 168, 233, 159, 175}));
  EXPECT_EQ(encode(tok, "a  b\n c", true), (std::vector<int>{1, 261, 410, 268, 13, 280}));
  // No dummy prefix for empty text; no BOS when not asked.
  EXPECT_EQ(encode(tok, "", true), (std::vector<int>{1}));
  EXPECT_EQ(encode(tok, "Once upon a time", false), (std::vector<int>{403, 407, 261, 378}));
}

TEST(Llama2cTokenizer, EncodeThenDecodeGivesBackTheText) {
  const Llama2cTokenizer& tok = tok512();
  for (const std::string text : {"Once upon a time", "Tom and Sue went to the beach", "Hello, world! 123",
                                 "café", "日本", "a  b\n c", "  leading spaces", "x"}) {
    EXPECT_EQ(decode_all(tok, encode(tok, text, true)), text) << text;
  }
}

TEST(Llama2cTokenizer, DecodesBytePiecesAndDropsTheSpaceAfterBos) {
  const Llama2cTokenizer& tok = tok512();
  EXPECT_EQ(tok.pieces[13], "<0x0A>");
  EXPECT_EQ(decode_piece(tok, 5, 13), "\n");
  EXPECT_EQ(decode_piece(tok, 5, 'A' + 3), "A");
  const int space_once = 403;  // " Once"
  ASSERT_EQ(tok.pieces[space_once], " Once");
  EXPECT_EQ(decode_piece(tok, 1, space_once), "Once");
  EXPECT_EQ(decode_piece(tok, 7, space_once), " Once");
}

TEST(Llama2cTokenizer, PrintsSafely) {
  EXPECT_TRUE(is_printable_piece("abc"));
  EXPECT_TRUE(is_printable_piece("\n"));
  EXPECT_TRUE(is_printable_piece("A"));
  EXPECT_FALSE(is_printable_piece(""));
  EXPECT_FALSE(is_printable_piece(std::string_view("\x01", 1)));
  EXPECT_FALSE(is_printable_piece(std::string_view("\0", 1)));
  EXPECT_FALSE(is_printable_piece("\x7f"));
}

TEST(Llama2cTokenizer, TruncatedOrMismatchedFileIsAnError) {
  test::TempDir dir;
  const std::string bytes = test::read_file(test::tokenizer_path());
  test::write_file(dir.file("cut.bin"), bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(load_llama2c_tokenizer(dir.file("cut.bin"), 512), Error);
  // The file holds 512 tokens: asking for fewer leaves bytes over, which is a mismatch with the model.
  EXPECT_THROW(load_llama2c_tokenizer(test::tokenizer_path(), 500), Error);
  EXPECT_THROW(load_llama2c_tokenizer(dir.file("missing.bin"), 512), Error);
}

}  // namespace
}  // namespace resa
