// Writes the generated seed inputs of the fuzz targets (scripts/fuzz.sh copies the rest from tests/data):
//   make_seeds OUT_DIR  ->  OUT_DIR/{safetensors,tokenizer_json,gguf,sentencepiece}/...
#include <filesystem>

#include <nlohmann/json.hpp>

#include "gguf_writer.hpp"
#include "safetensors_helpers.hpp"

using nlohmann::json;

namespace {

// A byte-level BPE tokenizer.json: the 256 byte tokens, a few merges, one special token, a split regex.
std::string tiny_tokenizer_json() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[resa::test::byte_level(std::string(1, static_cast<char>(b)))] = b;
  vocab["he"] = 256;
  vocab["ll"] = 257;
  vocab["hell"] = 258;
  const json pre = {{"type", "Sequence"},
                    {"pretokenizers",
                     {{{"type", "Split"}, {"pattern", {{"Regex", " ?[^ ]+| +"}}}, {"behavior", "Isolated"}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  const json j = {{"version", "1.0"},
                  {"added_tokens", {{{"id", 259}, {"content", "<|im_end|>"}, {"special", true}}}},
                  {"normalizer", {{"type", "NFC"}}},
                  {"pre_tokenizer", pre},
                  {"decoder", {{"type", "ByteLevel"}}},
                  {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"h e", "l l", "he ll"}}}}};
  return j.dump();
}

uint64_t varint(const std::string& s, size_t& at) {
  uint64_t v = 0;
  for (int shift = 0; at < s.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(s[at++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  return v;
}

// Llama 2's SentencePiece model with only its first `keep` pieces (the control, byte and first merged pieces) and the
// rest of its fields as they are: a seed small enough that a valid model loads in microseconds. The file is a
// protobuf ModelProto whose top-level fields are all length-delimited; field 1 is one piece.
std::string small_sentencepiece(const std::string& model, int keep) {
  std::string out;
  int pieces = 0;
  for (size_t at = 0; at < model.size();) {
    const size_t start = at;
    const uint64_t tag = varint(model, at);
    const uint64_t len = varint(model, at);
    at += len;
    if ((tag & 7) != 2) return model;  // not the layout expected: the whole model
    if ((tag >> 3) == 1 && pieces++ >= keep) continue;
    out += model.substr(start, at - start);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path out = argv[1];
  for (const char* d : {"safetensors", "tokenizer_json", "gguf", "sentencepiece"}) std::filesystem::create_directories(out / d);
  resa::test::Safetensors st;
  st.header = {{"__metadata__", {{"format", "pt"}}},
               {"a", {{"dtype", "F32"}, {"shape", {2, 2}}, {"data_offsets", {0, 16}}}},
               {"b", {{"dtype", "BF16"}, {"shape", {4}}, {"data_offsets", {16, 24}}}}};
  st.data = std::string(24, '\x3f');
  resa::test::write_safetensors((out / "safetensors" / "two.safetensors").string(), st);
  resa::test::write_safetensors((out / "safetensors" / "unpadded.safetensors").string(), st, false);
  const std::string tok = tiny_tokenizer_json();
  resa::test::write_file((out / "tokenizer_json" / "tiny.json").string(), tok);
  resa::test::write_file((out / "gguf" / "tokenizer.gguf").string(),
                         resa::test::gguf_tokenizer_from_json(tok, "qwen2", -1, 259, "{{ messages }}"));
  const std::string spm = resa::test::read_file(resa::test::data_path("tokenizers/llama2/tokenizer.model"));
  resa::test::write_file((out / "sentencepiece" / "llama2-400.model").string(), small_sentencepiece(spm, 400));
  return 0;
}
