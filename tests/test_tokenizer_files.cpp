// Tokenizer files: BPE rules on hand-made tokenizer.json files small enough to work out by hand, special-token
// matching, how a directory's tokenizer is chosen, and damaged or unsupported files (one clear error each).
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>
#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include "resa/resa.hpp"
#include "test_helpers.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace resa {
namespace {

using nlohmann::json;
using test::data_path;
using test::read_file;
using test::TempDir;
using test::write_file;

// GPT-2's byte-to-unicode alphabet, written out from its definition: printable Latin-1 bytes stand for themselves,
// the other 68 map to U+0100 upwards in byte order.
std::string byte_char(int b) {
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
  int cp = b;
  if (!printable) {
    cp = 256;
    for (int x = 0; x < b; ++x)
      if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE))) ++cp;
  }
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

// A byte-level BPE tokenizer.json: the 256 byte tokens (id = byte), then `extra` tokens (ids 256, 257, ...), the
// merges in rank order, a whitespace-splitting pre-tokenizer.
json tiny_tokenizer(const std::vector<std::string>& extra, const std::vector<std::string>& merges,
                    bool ignore_merges = false) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  for (size_t i = 0; i < extra.size(); ++i) vocab[extra[i]] = 256 + static_cast<int>(i);
  json pre = {{"type", "Sequence"},
              {"pretokenizers",
               {{{"type", "Split"}, {"pattern", {{"Regex", " ?[^ ]+| +"}}}, {"behavior", "Isolated"}},
                {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  return {{"version", "1.0"},
          {"added_tokens",
           {{{"id", 300}, {"content", "<|end|>"}, {"special", true}},
            {{"id", 301}, {"content", "<|end|>x"}, {"special", true}},
            {{"id", 302}, {"content", "[M]"}, {"special", true}, {"lstrip", true}, {"rstrip", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", pre},
          {"model",
           {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", ignore_merges}}}};
}

Tokenizer load_json(const TempDir& dir, const json& j) {
  write_file(dir.file("tokenizer.json"), j.dump());
  return load_tokenizer(dir.file("tokenizer.json"));
}

std::vector<int> ids_of(const Tokenizer& t, const std::string& text) { return encode(t, text, false); }

TEST(BpeRules, MergesApplyLowestRankFirstNotLeftToRight) {
  TempDir dir;
  // "abc": (b, c) has rank 0, (a, b) rank 1: b+c merges first, leaving a | bc (no merge makes "abc").
  const Tokenizer t = load_json(dir, tiny_tokenizer({"ab", "bc"}, {"b c", "a b"}));
  EXPECT_EQ(ids_of(t, "abc"), (std::vector<int>{'a', 257}));
  EXPECT_EQ(ids_of(t, "abd"), (std::vector<int>{256, 'd'}));
}

TEST(BpeRules, EqualRanksMergeTheLeftmostPairFirst) {
  TempDir dir;
  const Tokenizer t = load_json(dir, tiny_tokenizer({"aa"}, {"a a"}));
  EXPECT_EQ(ids_of(t, "aaa"), (std::vector<int>{256, 'a'}));
  EXPECT_EQ(ids_of(t, "aaaa"), (std::vector<int>{256, 256}));
}

TEST(BpeRules, MergesAcceptTheArrayFormToo) {
  TempDir dir;
  json j = tiny_tokenizer({"ab"}, {});
  j["model"]["merges"] = json::array({json::array({"a", "b"})});
  EXPECT_EQ(ids_of(load_json(dir, j), "ab"), (std::vector<int>{256}));
}

TEST(BpeRules, IgnoreMergesTakesAWholeWordFromTheVocabulary) {
  TempDir dir;
  // "abc" is a token, but no merge sequence reaches it.
  EXPECT_EQ(ids_of(load_json(dir, tiny_tokenizer({"ab", "abc"}, {"a b"}, false)), "abc"),
            (std::vector<int>{256, 'c'}));
  EXPECT_EQ(ids_of(load_json(dir, tiny_tokenizer({"ab", "abc"}, {"a b"}, true)), "abc"), (std::vector<int>{257}));
}

TEST(BpeRules, SplitsAreEncodedSeparately) {
  TempDir dir;
  const Tokenizer t = load_json(dir, tiny_tokenizer({"ab", "Ġa"}, {"a b", "Ġ a"}));
  // " ab" is one split (Ġ a b): "a b" (rank 0) beats "Ġ a" (rank 1), leaving Ġ | ab. "a a" spans two splits and
  // never merges: " a" becomes Ġa.
  EXPECT_EQ(ids_of(t, "ab ab"), (std::vector<int>{256, ' ', 256}));
  EXPECT_EQ(ids_of(t, "a a"), (std::vector<int>{'a', 257}));
}

TEST(SpecialTokens, LongestMatchWinsAndStripsSwallowWhitespace) {
  TempDir dir;
  const Tokenizer t = load_json(dir, tiny_tokenizer({}, {}));
  EXPECT_EQ(ids_of(t, "a<|end|>b"), (std::vector<int>{'a', 300, 'b'}));
  EXPECT_EQ(ids_of(t, "<|end|>x<|end|>"), (std::vector<int>{301, 300}));  // "<|end|>x" is longer
  EXPECT_EQ(ids_of(t, "a  [M]  b"), (std::vector<int>{'a', 302, 'b'}));   // lstrip + rstrip
  EXPECT_EQ(ids_of(t, "<|end"), (std::vector<int>{'<', '|', 'e', 'n', 'd'}));
  EXPECT_EQ(decode(t, {'a', 300, 'b'}), "a<|end|>b");
}

// BOS comes from the post-processor's template (Llama 3's tokenizer.json), alone or inside a Sequence.
TEST(TokenizerFiles, BosFromThePostProcessorTemplate) {
  TempDir dir;
  json j = tiny_tokenizer({}, {});
  j["added_tokens"].push_back({{"id", 303}, {"content", "<|begin|>"}, {"special", true}});
  const json tmpl = {{"type", "TemplateProcessing"},
                     {"single", {{{"SpecialToken", {{"id", "<|begin|>"}, {"type_id", 0}}}},
                                 {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                     {"special_tokens", {{"<|begin|>", {{"id", "<|begin|>"}, {"ids", {303}}}}}}};
  EXPECT_EQ(encode(load_json(dir, j), "a", true), (std::vector<int>{'a'}));  // no post-processor: no BOS
  j["post_processor"] = tmpl;
  EXPECT_EQ(encode(load_json(dir, j), "a", true), (std::vector<int>{303, 'a'}));
  j["post_processor"] = {{"type", "Sequence"}, {"processors", {{{"type", "ByteLevel"}}, tmpl}}};
  EXPECT_EQ(encode(load_json(dir, j), "a", true), (std::vector<int>{303, 'a'}));
  EXPECT_EQ(encode(load_json(dir, j), "a", false), (std::vector<int>{'a'}));
}

// A directory with both files: Llama 2 / Mistral ship a SentencePiece-emulating tokenizer.json beside
// tokenizer.model, and the model file wins; a byte-level tokenizer.json wins over a tokenizer.model.
TEST(TokenizerFiles, DirectoryPicksTheFileThatMatchesTheFamily) {
  TempDir dir;
  write_file(dir.file("tokenizer.model"), read_file(data_path("tokenizers/llama2/tokenizer.model")));
  write_file(dir.file("tokenizer.json"), R"({"model": {"type": "BPE"}, "pre_tokenizer": {"type": "Metaspace"}})");
  EXPECT_EQ(load_tokenizer(dir.path.string()).kind, TokenizerKind::SentencePiece);
  write_file(dir.file("tokenizer.json"), tiny_tokenizer({}, {}).dump());
  EXPECT_EQ(load_tokenizer(dir.path.string()).kind, TokenizerKind::ByteLevelBpe);
}

void expect_error(const std::string& path, const std::string& needle) {
  try {
    load_tokenizer(path);
    ADD_FAILURE() << "no error for " << path;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TokenizerFiles, DamagedOrUnsupportedFilesAreClearErrors) {
  TempDir dir;
  const std::string qwen = read_file(data_path("tokenizers/qwen2/tokenizer.json"));
  write_file(dir.file("cut.json"), qwen.substr(0, qwen.size() / 2));
  expect_error(dir.file("cut.json"), "is not valid JSON");
  write_file(dir.file("empty.json"), "");
  expect_error(dir.file("empty.json"), "is not valid JSON");
  write_file(dir.file("nomodel.json"), R"({"version": "1.0"})");
  expect_error(dir.file("nomodel.json"), "no \"model\"");
  json wp = tiny_tokenizer({}, {});
  wp["model"]["type"] = "WordPiece";
  write_file(dir.file("wordpiece.json"), wp.dump());
  expect_error(dir.file("wordpiece.json"), "model type 'WordPiece' is not supported");
  json nobl = tiny_tokenizer({}, {});
  nobl["pre_tokenizer"] = json{{"type", "Whitespace"}};
  write_file(dir.file("whitespace.json"), nobl.dump());
  expect_error(dir.file("whitespace.json"), "pre-tokenizer 'Whitespace' is not supported");
  write_file(dir.file("badmerge.json"), tiny_tokenizer({}, {"a b"}).dump());  // "ab" is not a token
  expect_error(dir.file("badmerge.json"), "merge #0 'a b' names a token not in the vocabulary");
  json badre = tiny_tokenizer({}, {});
  badre["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  write_file(dir.file("badregex.json"), badre.dump());
  expect_error(dir.file("badregex.json"), "regex does not compile");
  json nobyte = tiny_tokenizer({}, {});
  nobyte["model"]["vocab"].erase(byte_char('q'));
  write_file(dir.file("nobyte.json"), nobyte.dump());
  expect_error(dir.file("nobyte.json"), "byte 0x71 has no token");

  const std::string spm = read_file(data_path("tokenizers/llama2/tokenizer.model"));
  write_file(dir.file("cut.model"), spm.substr(0, spm.size() / 3));
  expect_error(dir.file("cut.model"), "is not a readable SentencePiece model");
  write_file(dir.file("garbage.model"), std::string(1000, '\xff'));
  expect_error(dir.file("garbage.model"), "is not a readable SentencePiece model");
  const std::string tik = read_file(data_path("tokenizers/llama3/tokenizer.model"));
  write_file(dir.file("tik.model"), tik.substr(0, 200) + "!!!! 17\n" + tik.substr(200));
  expect_error(dir.file("tik.model"), "line ");
  write_file(dir.file("tikshort.model"), "IQ== 0\nIg== 1\n");  // "!" and "\"" only
  expect_error(dir.file("tikshort.model"), "has no token");
  // fuzz/fuzz_tiktoken.cpp's finding: a rank of 44444444 sized the vocabulary by it (seconds, gigabytes).
  write_file(dir.file("tikrank.model"), "IQ== 44444444\nIw== 8\n");
  expect_error(dir.file("tikrank.model"), "rank 44444444 is beyond the file's 3 lines");

  expect_error(dir.file("missing.json"), "does not exist");
  TempDir empty;
  expect_error(empty.path.string(), "holds no tokenizer");
  TempDir badcfg;
  write_file(badcfg.file("tokenizer.json"), qwen);
  write_file(badcfg.file("tokenizer_config.json"), "{\"chat_template\": ");
  expect_error(badcfg.path.string(), "tokenizer_config.json' is not valid JSON");
}

TEST(TokenizerFiles, QwenDirectoryReadsItsConfig) {
  const Tokenizer t = load_tokenizer(data_path("tokenizers/qwen2"));
  EXPECT_EQ(t.kind, TokenizerKind::ByteLevelBpe);
  EXPECT_EQ(t.vocab_size(), 151665);  // 151,643 merges' vocabulary + 22 added tokens
  EXPECT_EQ(t.bos_id, -1);            // bos_token null: nothing is prepended
  EXPECT_FALSE(t.add_bos);
  EXPECT_EQ(t.eos_ids, (std::vector<int>{151645}));  // <|im_end|>
  EXPECT_NE(t.chat_template.find("<|im_start|>"), std::string::npos);
}

TEST(TokenizerFiles, Llama3TiktokenHasItsSpecialTokens) {
  const Tokenizer t = load_tokenizer(data_path("tokenizers/llama3/tokenizer.model"));
  EXPECT_EQ(t.vocab_size(), 128256);
  EXPECT_EQ(t.token_text[128000], "<|begin_of_text|>");
  EXPECT_EQ(t.token_text[128009], "<|eot_id|>");
  EXPECT_EQ(t.token_text[128255], "<|reserved_special_token_245|>");
  EXPECT_EQ(encode(t, "<|eot_id|>", true), (std::vector<int>{128000, 128009}));
}

}  // namespace
}  // namespace resa

namespace resa {
namespace {

std::string utf8_of(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) {
    utf8proc_uint8_t buf[4];
    const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
  }
  return out;
}

std::string reference_nfc(const std::string& s) {
  utf8proc_uint8_t* out = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
  std::string r(reinterpret_cast<const char*>(out));
  std::free(out);
  return r;
}

// NFC is skipped for text whose code points NFC never changes: that must never skip a text NFC would change.
TEST(Nfc, TheQuickCheckNeverSkipsATextNfcChanges) {
  const std::pair<std::u32string, bool> cases[] = {
      {U"caf\u00e9", true},       {U"cafe\u0301", false},   {U"\u212b", false},       {U"\uac00", true},
      {U"\u1100\u1161", false},   {U"\uac00\u11a8", false}, {U"\u1ec9", true},        {U"\u304c", true},
      {U"\u304b\u3099", false},   {U"\u0958", false},       {U"\uf900", false},       {U"\u4e00\u3002", true},
      {U"\u0b47\u0b3e", false},   {U"\uff21", true}};
  for (const auto& [text, stable] : cases) {
    const std::string s = utf8_of(text);
    EXPECT_EQ(is_nfc_stable(s), stable) << s;
    EXPECT_EQ(nfc(s), reference_nfc(s)) << s;
  }
  // Random strings over the ranges where NFC acts: combining marks, jamo, Hangul, kana with voicing marks,
  // singletons, precomposed Vietnamese, Devanagari with nukta, Oriya two-part vowels, ASCII.
  const char32_t ranges[][2] = {{0x300, 0x36F}, {0x1100, 0x11FF}, {0xAC00, 0xAC40}, {0x3041, 0x30FF},
                                {0x2126, 0x212B}, {0xF900, 0xF910}, {0x1EA0, 0x1EFF}, {0x0900, 0x097F},
                                {0x0B3E, 0x0B57}, {'a', 'z'}};
  std::mt19937 rng(5);
  int stable = 0;
  for (int i = 0; i < 20000; ++i) {
    std::u32string text;
    const auto& r = ranges[rng() % 10];
    for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) {
      const auto& q = (rng() % 3 == 0) ? ranges[rng() % 10] : r;
      text.push_back(q[0] + static_cast<char32_t>(rng() % (q[1] - q[0] + 1)));
    }
    const std::string s = utf8_of(text);
    const std::string want = reference_nfc(s);
    if (is_nfc_stable(s)) {
      ++stable;
      EXPECT_EQ(want, s) << "skipped a text NFC changes";
    }
    EXPECT_EQ(nfc(s), want);
  }
  EXPECT_GT(stable, 1000);  // and it does skip
}

}  // namespace
}  // namespace resa
