// The forward pass against an independent Python forward pass of stories260K (tests/data/*ids_pyref.txt):
// the first logits at position 0 and the 257 greedy ids (BOS + 256) match.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "forward.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "sampler.hpp"
#include "test_helpers.hpp"

namespace resa {
namespace {

struct PyRef {
  std::vector<int> ids;
  std::vector<float> logits_pos0;
};

PyRef read_pyref() {
  std::istringstream in(test::read_file(test::data_path("stories260K_greedy_n256_noprompt.ids_pyref.txt")));
  PyRef ref;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "ids") {
      for (int id; fields >> id;) ref.ids.push_back(id);
    } else if (key == "logits_pos0_first8") {
      for (float v; fields >> v;) ref.logits_pos0.push_back(v);
    }
  }
  return ref;
}

TEST(Forward, MatchesThePythonReference) {
  const PyRef ref = read_pyref();
  ASSERT_EQ(ref.ids.size(), 257u);
  ASSERT_EQ(ref.logits_pos0.size(), 8u);

  Model model = load_model(test::model_path());
  const ModelData& m = *model.data;
  RunState state = make_run_state(m.config, m.config.max_seq_len);

  const float* logits = forward_token(m, state, ref.ids[0], 0);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(logits[i], ref.logits_pos0[i], 1e-4) << "logit " << i;

  // Greedy decoding, feeding each argmax back in, reproduces the reference's ids.
  std::vector<int> ids = {ref.ids[0]};
  for (int pos = 0; pos < 256; ++pos) {
    if (pos > 0) logits = forward_token(m, state, ids.back(), pos);
    ids.push_back(argmax(logits, m.config.vocab_size));
  }
  EXPECT_EQ(ids, ref.ids);
}

TEST(Generate, GreedyTextEqualsRunC) {
  Model model = load_model(test::model_path());
  GenerateOptions opt;
  opt.n_predict = 256;
  opt.sampling.temperature = 0;
  opt.kv_type = KvType::F32;  // run.c keeps f32 keys and values
  std::string text;
  GenerateStats st = generate(model, "", opt, [&](std::string_view s) { text += s; });
  EXPECT_EQ(st.prompt_tokens, 1);
  EXPECT_EQ(st.generated_tokens, 256);
  // run.c ends its output with a newline; generate() leaves that to the caller.
  EXPECT_EQ(text + "\n", test::read_file(test::data_path("stories260K_greedy_n256_noprompt.txt")));
}

GenerateOptions greedy(int n_predict, int context) {
  GenerateOptions opt;
  opt.n_predict = n_predict;
  opt.context = context;
  opt.sampling.temperature = 0;
  opt.kv_type = KvType::F32;
  return opt;
}

TEST(Generate, StopsAtTheEndOfTheContext) {
  Model model = load_model(test::model_path());
  // 64 positions, BOS in the first: 64 tokens fit (the last is printed, never run through the model). Greedy
  // decoding does not depend on the context size, so the text is the start of run.c's.
  std::string text;
  GenerateStats st = generate(model, "", greedy(1000, 64), [&](std::string_view s) { text += s; });
  EXPECT_EQ(st.generated_tokens, 64);
  const std::vector<int> ids = read_pyref().ids;
  std::string expected;
  for (int i = 1; i <= 64; ++i) expected += detokenize(model, ids[i - 1], ids[i]);
  EXPECT_EQ(text, expected);
  // n_predict caps first when it is smaller.
  EXPECT_EQ(generate(model, "", greedy(10, 64), nullptr).generated_tokens, 10);
  EXPECT_EQ(generate(model, "", greedy(0, 64), nullptr).generated_tokens, 0);
}

TEST(Generate, RejectsAPromptLongerThanTheContext) {
  Model model = load_model(test::model_path());
  // "Once upon a time" is 5 tokens with BOS.
  EXPECT_EQ(generate(model, "Once upon a time", greedy(1, 5), nullptr).generated_tokens, 1);
  try {
    generate(model, "Once upon a time", greedy(1, 4), nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the prompt is 5 tokens, longer than the context of 4 tokens"),
              std::string::npos)
        << e.what();
  }
}

TEST(Generate, RejectsAContextBeyondTheModel) {
  Model model = load_model(test::model_path());
  EXPECT_THROW(generate(model, "", greedy(1, 513), nullptr), Error);
  EXPECT_THROW(generate(model, "", greedy(-1, 64), nullptr), Error);
}

TEST(LoadModel, ModelWithoutATokenizerBesideItIsAClearError) {
  test::TempDir dir;
  test::write_file(dir.file("model.bin"), test::read_file(test::model_path()));
  try {
    load_model(dir.file("model.bin"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer found beside"), std::string::npos) << e.what();
  }
  // Given explicitly, or placed beside the model as tokenizer.bin, it loads.
  EXPECT_EQ(model_info(load_model(dir.file("model.bin"), test::tokenizer_path())).vocab_size, 512);
  test::write_file(dir.file("tokenizer.bin"), test::read_file(test::tokenizer_path()));
  EXPECT_EQ(model_info(load_model(dir.file("model.bin"))).n_layers, 5);
}

}  // namespace
}  // namespace resa
