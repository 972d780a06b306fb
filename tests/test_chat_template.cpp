// Chat rendering: the Qwen2 conversation transformers rendered (tests/data/tokenizers/qwen2/chat_case.json, text and
// ids), the turn-by-turn form a KV-keeping chat feeds, and the other formats against their published layouts.
#include <algorithm>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat_template.hpp"
#include "resa/resa.hpp"
#include "test_helpers.hpp"
#include "tokenizer/tokenizer.hpp"

namespace resa {
namespace {

using test::data_path;

const Tokenizer& qwen2() {
  static const Tokenizer tok = load_tokenizer(data_path("tokenizers/qwen2"));
  return tok;
}

TEST(ChatTemplate, Qwen2RenderingEqualsTransformers) {
  const nlohmann::json c = nlohmann::json::parse(test::read_file(data_path("tokenizers/qwen2/chat_case.json")));
  std::vector<ChatMessage> messages;
  for (const auto& m : c["messages"]) messages.push_back({m["role"], m["content"]});
  const ChatTemplate t = chat_template_for(qwen2(), "");
  EXPECT_EQ(t.format, ChatFormat::ChatML);
  EXPECT_EQ(t.default_system, "You are a helpful assistant.");  // from the template's `set system_message`
  const std::string text = render_chat(t, messages, /*add_generation_prompt=*/true);
  EXPECT_EQ(text, c["text"].get<std::string>());
  EXPECT_EQ(encode(qwen2(), text, /*bos=*/false), c["ids"].get<std::vector<int>>());
}

// What a chat feeds turn by turn (reply, its end-of-turn token, the next user turn) is the rendered conversation.
TEST(ChatTemplate, TurnByTurnEqualsTheWholeConversation) {
  const ChatTemplate t = chat_template_for(qwen2(), "");
  const std::string fed = render_user_turn(t, "What is 2+2?", "You are terse.", true) + "4" +
                          std::string(reply_end(t)) + std::string(after_reply(t)) +
                          render_user_turn(t, "And 3+3?", "You are terse.", false);
  const nlohmann::json c = nlohmann::json::parse(test::read_file(data_path("tokenizers/qwen2/chat_case.json")));
  EXPECT_EQ(fed, c["text"].get<std::string>());
  // Without a system message the template's default is used.
  EXPECT_EQ(render_chat(t, {{"user", "hi"}}, true),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplate, Qwen25DefaultSystemMessageIsReadFromItsTemplate) {
  Tokenizer tok;
  tok.chat_template =
      "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + "
      "'<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a "
      "helpful assistant.<|im_end|>\\n' }}{%- endif %}";
  EXPECT_EQ(chat_template_for(tok, "").default_system,
            "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
}

// Meta's published Llama 3 layout; the tiktoken tokenizer has no config, its special tokens imply the format.
TEST(ChatTemplate, Llama3HeaderBlocks) {
  const Tokenizer tok = load_tokenizer(data_path("tokenizers/llama3/tokenizer.model"));
  const ChatTemplate t = chat_template_for(tok, "");
  EXPECT_EQ(t.format, ChatFormat::Llama3);
  const std::string text =
      render_chat(t, {{"system", "Be brief. "}, {"user", " Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}}, true);
  EXPECT_EQ(text,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const std::vector<int> ids = encode(tok, text, false);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids[0], 128000);  // <|begin_of_text|>
  EXPECT_EQ(ids[1], 128006);  // <|start_header_id|>
  EXPECT_EQ(ids.back(), 271);  // "\n\n"
  EXPECT_EQ(ids[ids.size() - 2], 128007);  // <|end_header_id|>
}

TEST(ChatTemplate, Llama2InstBlocks) {
  const Tokenizer tok = load_tokenizer(data_path("tokenizers/llama2/tokenizer.model"));
  EXPECT_THROW(chat_template_for(tok, ""), Error);  // no template, no telling special tokens: name it
  const ChatTemplate t = chat_template_for(tok, "llama2");
  const std::string text =
      render_chat(t, {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", " Hello! "}, {"user", "Bye"}}, true);
  EXPECT_EQ(text, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
  const std::vector<int> ids = encode(tok, text, false);
  EXPECT_EQ(ids[0], 1);  // "<s>" is BOS, not text
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1);
}

TEST(ChatTemplate, DeepSeekR1OpensTheReplyWithThinkAndDropsOldReasoning) {
  Tokenizer tok;
  tok.chat_template = "{{bos_token}}{{ns.system_prompt}}{{'<｜User｜>' + message['content']}}{{'<｜Assistant｜>' + "
                      "content + '<｜end▁of▁sentence｜>'}}{{'<｜Assistant｜><think>\\n'}}";
  const ChatTemplate t = chat_template_for(tok, "");
  EXPECT_EQ(t.format, ChatFormat::DeepSeekR1);
  EXPECT_EQ(render_chat(t, {{"system", "S"}, {"user", "2+2?"}, {"assistant", "<think>\nadd\n</think>\n\n4"}, {"user", "3+3?"}},
                        true),
            "<｜begin▁of▁sentence｜>S<｜User｜>2+2?<｜Assistant｜>\n\n4<｜end▁of▁sentence｜><｜User｜>3+3?"
            "<｜Assistant｜><think>\n");
}

TEST(ChatTemplate, BadConversationsAndNamesAreErrors) {
  const ChatTemplate t = chat_template_for(qwen2(), "");
  EXPECT_THROW(render_chat(t, {{"user", "a"}, {"system", "late"}}, true), Error);
  EXPECT_THROW(render_chat(t, {{"robot", "a"}}, true), Error);
  EXPECT_THROW(render_chat(t, {{"assistant", "first"}}, true), Error);
  try {
    chat_template_for(qwen2(), "vicuna");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chatml, deepseek-r1, llama2, llama3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace resa
