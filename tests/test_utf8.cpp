#include <string>

#include <gtest/gtest.h>

#include "resa/resa.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {
namespace {

TEST(Utf8, AcceptsValidText) {
  for (std::string s : {"", "plain ascii", "café", "日本語", "emoji \xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"})
    EXPECT_EQ(utf8_invalid_offset(s), s.size()) << s;
}

TEST(Utf8, FindsTheFirstBadByte) {
  EXPECT_EQ(utf8_invalid_offset("caf\xE9"), 3u);               // Latin-1, not UTF-8
  EXPECT_EQ(utf8_invalid_offset("ab\xC0\xAF"), 2u);            // overlong '/'
  EXPECT_EQ(utf8_invalid_offset("\xED\xA0\x80"), 0u);          // a surrogate
  EXPECT_EQ(utf8_invalid_offset("x\xF4\x90\x80\x80"), 1u);     // beyond U+10FFFF
  EXPECT_EQ(utf8_invalid_offset("ok\xE6\x97"), 2u);            // cut short
  EXPECT_EQ(utf8_invalid_offset("\x80"), 0u);                  // a lone continuation byte
  EXPECT_THROW(require_utf8("caf\xE9", "the prompt"), Error);
  EXPECT_NO_THROW(require_utf8("café", "the prompt"));
}

TEST(Utf8Stream, HoldsBackACharacterSplitAcrossTokens) {
  Utf8Stream s;
  EXPECT_EQ(s.push("a\xE6"), "a");
  EXPECT_EQ(s.push("\x97"), "");
  EXPECT_EQ(s.push("\xA5z"), "\xE6\x97\xA5z");  // 日
  EXPECT_EQ(s.finish(), "");
}

TEST(Utf8Stream, ReplacesBadBytes) {
  Utf8Stream s;
  EXPECT_EQ(s.push("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(s.push("\xE6\x97"), "");
  EXPECT_EQ(s.push("c"), "\xEF\xBF\xBD\xEF\xBF\xBD" "c");  // the unfinished character, then c
  EXPECT_EQ(s.push("\xC3"), "");
  EXPECT_EQ(s.finish(), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace resa
