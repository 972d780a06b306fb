// The three tokenizer families real checkpoints ship, against llama.cpp's conformance vectors (tests/data/tokenizers/
// testvectors: 47 inputs each, the ids the reference tokenizers give, no BOS), plus round trips.
#include <map>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "resa/resa.hpp"
#include "gguf_writer.hpp"
#include "test_helpers.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {
namespace {

using test::data_path;
using test::read_file;

struct Family {
  const char* vectors;    // testvectors/ggml-vocab-<vectors>.gguf.*
  const char* tokenizer;  // under tests/data/tokenizers/
  TokenizerKind kind;
};

const Family kFamilies[] = {
    {"qwen2", "qwen2/tokenizer.json", TokenizerKind::ByteLevelBpe},
    {"qwen2", "qwen2 as GGUF metadata, pre qwen2", TokenizerKind::ByteLevelBpe},
    {"qwen2", "qwen2 as GGUF metadata, pre deepseek-r1-qwen", TokenizerKind::ByteLevelBpe},
    {"llama-bpe", "llama3/tokenizer.model", TokenizerKind::ByteLevelBpe},
    {"llama-bpe", "llama3 as GGUF metadata", TokenizerKind::ByteLevelBpe},
    {"llama-spm", "llama2/tokenizer.model", TokenizerKind::SentencePiece},
    {"llama-spm", "llama2 as GGUF metadata", TokenizerKind::SentencePiece},
};

// Each tokenizer is loaded once for the whole run.
const Tokenizer& tokenizer(const std::string& rel) {
  static std::map<std::string, Tokenizer> loaded;
  auto it = loaded.find(rel);
  // What llama.cpp's converter writes from it; DeepSeek-R1-Distill-Qwen's files name their pre-tokenizer
  // "deepseek-r1-qwen", which llama.cpp (and resa) read as Qwen2's.
  for (const char* pre : {"qwen2", "deepseek-r1-qwen"})
    if (it == loaded.end() && rel == std::string("qwen2 as GGUF metadata, pre ") + pre) {
      static const test::TempDir dir;
      const std::string file = dir.file(std::string(pre) + "-tokenizer.gguf");
      test::write_file(file, test::gguf_tokenizer_from_json(read_file(data_path("tokenizers/qwen2/tokenizer.json")),
                                                            pre, -1, 151645, ""));
      it = loaded.emplace(rel, load_tokenizer(file)).first;
    }
  if (it == loaded.end() && rel == "llama3 as GGUF metadata") {
    static const test::TempDir dir;
    const std::string file = dir.file("llama3-tokenizer.gguf");
    test::write_file(file,
                     test::gguf_tokenizer_from_tiktoken(read_file(data_path("tokenizers/llama3/tokenizer.model"))));
    it = loaded.emplace(rel, load_tokenizer(file)).first;
  }
  if (it == loaded.end() && rel == "llama2 as GGUF metadata") {
    static const test::TempDir dir;
    const std::string file = dir.file("llama2-tokenizer.gguf");
    test::write_file(file, test::gguf_tokenizer_from_spm(data_path("tokenizers/llama2/tokenizer.model")));
    it = loaded.emplace(rel, load_tokenizer(file)).first;
  }
  if (it == loaded.end()) it = loaded.emplace(rel, load_tokenizer(data_path("tokenizers/" + rel))).first;
  return it->second;
}

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + sep.size())
    parts.push_back(s.substr(start, at - start));
  parts.push_back(s.substr(start));
  return parts;
}

std::vector<int> parse_line(const std::string& line) {
  std::vector<int> ids;
  std::istringstream in(line);
  for (int id; in >> id;) ids.push_back(id);
  return ids;
}

class Conformance : public ::testing::TestWithParam<Family> {};

TEST_P(Conformance, AllFortySevenVectorsGiveTheReferenceIds) {
  const Family& f = GetParam();
  const Tokenizer& tok = tokenizer(f.tokenizer);
  EXPECT_EQ(tok.kind, f.kind);
  const std::string base = data_path(std::string("tokenizers/testvectors/ggml-vocab-") + f.vectors + ".gguf");
  const std::vector<std::string> inputs = split(read_file(base + ".inp"), "\n__ggml_vocab_test__\n");
  const std::vector<std::string> outputs = split(read_file(base + ".out"), "\n");
  ASSERT_EQ(inputs.size(), 47u);  // the last is the empty text after the final separator
  ASSERT_EQ(outputs.size(), inputs.size());
  int passed = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int> got = encode(tok, inputs[i], /*bos=*/false);
    const std::vector<int> want = parse_line(outputs[i]);
    EXPECT_EQ(got, want) << "vector " << i << ": '" << inputs[i] << "'";
    passed += got == want;
  }
  EXPECT_EQ(passed, 47);
}

TEST_P(Conformance, DecodingTheIdsGivesTheTextBack) {
  const Family& f = GetParam();
  const Tokenizer& tok = tokenizer(f.tokenizer);
  const std::string base = data_path(std::string("tokenizers/testvectors/ggml-vocab-") + f.vectors + ".gguf");
  for (const std::string& text : split(read_file(base + ".inp"), "\n__ggml_vocab_test__\n"))
    EXPECT_EQ(decode(tok, encode(tok, text, /*bos=*/false)), text) << "'" << text << "'";
}

// Random strings over a mix of scripts (ASCII, Latin-1, Cyrillic, CJK, emoji, Thai with its combining marks, tabs
// and newlines) round-trip through encode and decode, after the tokenizer's normalisation (NFC for Qwen2: it reorders
// runs of Thai combining marks).
std::string random_text(std::mt19937& rng) {
  static const char32_t ranges[][2] = {{0x20, 0x7E}, {0xA0, 0xFF}, {0x400, 0x45F}, {0x4E00, 0x4FFF},
                                       {0x1F600, 0x1F64F}, {0xE01, 0xE3A}, {0x9, 0xA}};
  std::uniform_int_distribution<int> len(0, 40), pick(0, 6);
  std::u32string s;
  for (int n = len(rng); n > 0; --n) {
    const auto& r = ranges[pick(rng)];
    s.push_back(std::uniform_int_distribution<char32_t>(r[0], r[1])(rng));
  }
  std::string out;
  for (char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

TEST_P(Conformance, RandomUnicodeRoundTrips) {
  const Tokenizer& tok = tokenizer(GetParam().tokenizer);
  std::mt19937 rng(12);
  for (int i = 0; i < 300; ++i) {
    const std::string text = random_text(rng);
    const std::string normalized = tok.bpe && tok.bpe->nfc ? nfc(text) : text;
    EXPECT_EQ(decode(tok, encode(tok, text, /*bos=*/false)), normalized) << "'" << text << "'";
  }
}

// Streaming decode, over random id sequences: each step's output is valid UTF-8 on its own, and all of it together
// equals the whole-sequence decode.
TEST_P(Conformance, StreamingDecodeNeverEmitsInvalidUtf8) {
  const Tokenizer& tok = tokenizer(GetParam().tokenizer);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> id(0, tok.vocab_size() - 1), len(1, 30);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int> ids(len(rng));
    for (int& x : ids) {
      x = id(rng);
      if (trial % 2 == 1 && tok.kind == TokenizerKind::SentencePiece) x = 3 + x % 256;  // byte-fallback pieces
    }
    Utf8Stream stream;
    std::string all;
    int prev = -1;
    for (int x : ids) {
      const std::string piece = stream.push(token_bytes(tok, prev, x));
      EXPECT_EQ(utf8_invalid_offset(piece), piece.size());
      all += piece;
      prev = x;
    }
    const std::string rest = stream.finish();
    EXPECT_EQ(utf8_invalid_offset(rest), rest.size());
    EXPECT_EQ(all + rest, decode(tok, ids));
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Conformance, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) {
                           std::string name = info.param.vectors;
                           const std::string t = info.param.tokenizer;
                           if (t.find("GGUF") != std::string::npos) name += "_gguf";
                           if (t.find("deepseek") != std::string::npos) name += "_deepseek_r1_qwen";
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace resa
