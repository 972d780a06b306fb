#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "model/llama2c.hpp"
#include "resa/resa.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

TEST(Llama2cLoader, ReadsTheShippedCheckpoint) {
  Llama2cCheckpoint ck = load_llama2c_checkpoint(test::model_path());
  const ModelConfig& c = ck.config;
  // stories260K, as published: dim 64, 5 layers, 8 heads, 4 KV heads, vocab 512, seq_len 512.
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_seq_len, 512);
  // The header's hidden_dim, read straight from the file's second int.
  int32_t header[7];
  std::memcpy(header, test::read_file(test::model_path()).data(), sizeof(header));
  EXPECT_EQ(c.hidden_dim, header[1]);
  // A positive vocab_size in the header means the classifier is the embedding.
  ASSERT_GT(header[5], 0);
  EXPECT_EQ(ck.weights.lm_head.data, ck.weights.token_embedding.data);
  ASSERT_EQ(ck.weights.layers.size(), 5u);
  // The first weight follows the 28-byte header; the final norm sits just before the unused RoPE tables.
  EXPECT_EQ(static_cast<const uint8_t*>(ck.weights.token_embedding.data), ck.file.data + 28);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(ck.weights.final_norm + c.dim + c.max_seq_len * c.head_dim),
            ck.file.data + ck.file.size);
}

std::string error_of(const std::string& path) {
  try {
    load_llama2c_checkpoint(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Llama2cLoader, MissingFileIsAClearError) {
  EXPECT_NE(error_of("/nonexistent/stories.bin").find("cannot open '/nonexistent/stories.bin'"), std::string::npos);
}

TEST(Llama2cLoader, TruncatedFileIsAClearError) {
  test::TempDir dir;
  const std::string bytes = test::read_file(test::model_path());
  test::write_file(dir.file("cut.bin"), bytes.substr(0, bytes.size() - 100));
  EXPECT_NE(error_of(dir.file("cut.bin")).find("is truncated: the header implies"), std::string::npos);
  test::write_file(dir.file("header.bin"), bytes.substr(0, 20));
  EXPECT_NE(error_of(dir.file("header.bin")).find("shorter than the 28-byte llama2.c header"), std::string::npos);
  test::write_file(dir.file("empty.bin"), "");
  EXPECT_NE(error_of(dir.file("empty.bin")).find("truncated"), std::string::npos);
}

TEST(Llama2cLoader, LongerFileThanTheHeaderImpliesIsAnError) {
  test::TempDir dir;
  test::write_file(dir.file("long.bin"), test::read_file(test::model_path()) + std::string(64, '\0'));
  EXPECT_NE(error_of(dir.file("long.bin")).find("does not match its header"), std::string::npos);
}

TEST(Llama2cLoader, ImplausibleHeaderIsAnError) {
  test::TempDir dir;
  std::string bytes = test::read_file(test::model_path());
  int32_t zero = 0, seven = 7;
  std::string no_heads = bytes;
  std::memcpy(no_heads.data() + 3 * 4, &zero, 4);
  test::write_file(dir.file("a.bin"), no_heads);
  EXPECT_NE(error_of(dir.file("a.bin")).find("n_heads = 0"), std::string::npos);
  std::string odd_kv = bytes;
  std::memcpy(odd_kv.data() + 4 * 4, &seven, 4);  // 8 query heads are not a multiple of 7 KV heads
  test::write_file(dir.file("b.bin"), odd_kv);
  EXPECT_NE(error_of(dir.file("b.bin")).find("not a multiple of n_kv_heads 7"), std::string::npos);
  test::write_file(dir.file("text.bin"), "this is not a checkpoint, just some text of a plausible length....");
  EXPECT_NE(error_of(dir.file("text.bin")).find("is not a llama2.c checkpoint"), std::string::npos);
}

TEST(Llama2cLoader, DirectoryIsAClearError) {
  EXPECT_NE(error_of(RESA_MODELS_DIR).find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace resa
