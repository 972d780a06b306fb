// Helpers for the CLI tests (ctest), built with the test suite:
//   resa_test_fixtures bad-models GOOD_MODEL_DIR OUT_DIR   writes damaged copies of a good checkpoint, one per defect
//   resa_test_fixtures compare-f32 A B TOL                  exits 0 when two float32 files agree within TOL
//   resa_test_fixtures chat-model TINY_BF16_DIR TOKENIZER_DIR OUT_DIR
//       a tiny random-weight Qwen2 at the Qwen2.5 vocabulary size (151,936, the embedding redrawn, tied), with the
//       tokenizer files of TOKENIZER_DIR, for end-to-end chat tests
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../safetensors_helpers.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using resa::test::Safetensors;

namespace {

// OUT/name/ with the good config.json and the safetensors as `edit` leaves it.
template <class Edit>
void damaged(const fs::path& good, const fs::path& out, const std::string& name, Edit&& edit) {
  const fs::path dir = out / name;
  fs::create_directories(dir);
  fs::copy_file(good / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  Safetensors st = resa::test::read_safetensors((good / "model.safetensors").string());
  edit(st);
  resa::test::write_safetensors((dir / "model.safetensors").string(), st);
}

int bad_models(const fs::path& good, const fs::path& out) {
  fs::remove_all(out);
  fs::create_directories(out / "no_config");
  fs::copy_file(good / "model.safetensors", out / "no_config" / "model.safetensors");
  damaged(good, out, "truncated", [](Safetensors& st) { st.data.resize(st.data.size() / 2); });
  damaged(good, out, "offset_past_end", [](Safetensors& st) {
    json& o = st.header["model.norm.weight"]["data_offsets"];
    const uint64_t len = o[1].get<uint64_t>() - o[0].get<uint64_t>();
    o = {st.data.size() + 64, st.data.size() + 64 + len};
  });
  damaged(good, out, "wrong_shape", [](Safetensors& st) {
    st.header["model.layers.1.mlp.up_proj.weight"]["shape"] = {128, 352};
  });
  damaged(good, out, "missing_tensor", [](Safetensors& st) { st.header.erase("model.layers.0.self_attn.q_proj.weight"); });
  damaged(good, out, "bad_dtype", [](Safetensors& st) { st.header["model.norm.weight"]["dtype"] = "F64"; });
  damaged(good, out, "bad_arch", [](Safetensors&) {});
  json cfg = json::parse(resa::test::read_file((good / "config.json").string()));
  cfg["architectures"] = {"GPT2LMHeadModel"};
  resa::test::write_file((out / "bad_arch" / "config.json").string(), cfg.dump(2));
  // A header length far beyond the file.
  fs::create_directories(out / "header_too_long");
  fs::copy_file(good / "config.json", out / "header_too_long" / "config.json");
  const uint64_t n = uint64_t{1} << 40;
  resa::test::write_file((out / "header_too_long" / "model.safetensors").string(),
                         std::string(reinterpret_cast<const char*>(&n), 8) + "{}");
  return 0;
}

int compare_f32(const std::string& a_path, const std::string& b_path, double tol) {
  const std::string a = resa::test::read_file(a_path), b = resa::test::read_file(b_path);
  if (a.size() != b.size() || a.size() % 4 != 0 || a.empty()) {
    std::fprintf(stderr, "sizes differ: %zu vs %zu bytes\n", a.size(), b.size());
    return 1;
  }
  double worst = 0;
  for (size_t i = 0; i < a.size(); i += 4) {
    float x, y;
    std::memcpy(&x, a.data() + i, 4);
    std::memcpy(&y, b.data() + i, 4);
    const double d = std::abs(static_cast<double>(x) - y);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  std::printf("max |diff| = %g over %zu values (tolerance %g)\n", worst, a.size() / 4, tol);
  return worst <= tol ? 0 : 1;
}

int chat_model(const fs::path& tiny, const fs::path& tokenizer, const fs::path& out) {
  fs::remove_all(out);
  fs::create_directories(out);
  json config = json::parse(resa::test::read_file((tiny / "config.json").string()));
  const int vocab = 151936, dim = config["hidden_size"].get<int>();
  config["vocab_size"] = vocab;
  config["bos_token_id"] = 151643;  // <|endoftext|>
  config["eos_token_id"] = 151645;  // <|im_end|>
  config["tie_word_embeddings"] = true;
  resa::test::write_file((out / "config.json").string(), config.dump(2));
  Safetensors st = resa::test::read_safetensors((tiny / "model.safetensors").string());
  json& e = st.header["model.embed_tokens.weight"];
  if (e["dtype"] != "BF16") {
    std::fprintf(stderr, "chat-model: %s is not a bf16 checkpoint\n", tiny.c_str());
    return 1;
  }
  // Append the new embedding after the old data, bf16 values uniform in [-0.1, 0.1) from a fixed LCG.
  const size_t begin = st.data.size(), bytes = static_cast<size_t>(vocab) * dim * 2;
  st.data.resize(begin + bytes);
  uint64_t rng = 12345;
  for (size_t i = 0; i < bytes / 2; ++i) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    const float x = (static_cast<float>(rng >> 40) / 16777216.0f - 0.5f) * 0.2f;
    uint32_t u;
    std::memcpy(&u, &x, 4);
    const uint16_t h = static_cast<uint16_t>(u >> 16);
    std::memcpy(&st.data[begin + 2 * i], &h, 2);
  }
  e["shape"] = {vocab, dim};
  e["data_offsets"] = {begin, begin + bytes};
  st.header.erase("lm_head.weight");
  resa::test::write_safetensors((out / "model.safetensors").string(), st);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(tokenizer / f, out / f);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "bad-models") return bad_models(args[1], args[2]);
  if (args.size() == 4 && args[0] == "compare-f32") return compare_f32(args[1], args[2], std::stod(args[3]));
  if (args.size() == 4 && args[0] == "chat-model") return chat_model(args[1], args[2], args[3]);
  std::fprintf(stderr,
               "usage: resa_test_fixtures bad-models GOOD_DIR OUT_DIR | compare-f32 A B TOL | "
               "chat-model TINY_BF16_DIR TOKENIZER_DIR OUT_DIR\n");
  return 2;
}
