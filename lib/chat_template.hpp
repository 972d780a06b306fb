// Chat formats of the instruction-tuned models resa runs. resa does not run Jinja: it recognises the template a
// tokenizer_config.json ships by its markers and renders that format in code, so the text equals what transformers'
// apply_chat_template() renders for these conversations (tests/data/tokenizers/qwen2/chat_case.json).
//   chatml       Qwen2 / Qwen2.5: <|im_start|>role\ncontent<|im_end|>\n, a default system message taken from the
//                template (Qwen2 "You are a helpful assistant.", Qwen2.5 "You are Qwen, created by ...").
//   deepseek-r1  DeepSeek-R1-Distill: <｜begin▁of▁sentence｜>system<｜User｜>…<｜Assistant｜>…<｜end▁of▁sentence｜>; the reply
//                opens with "<think>\n"; earlier replies keep only what follows their "</think>".
//   llama2       <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] reply </s>
//   llama3       <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
// A conversation is rendered turn by turn, so a chat that keeps its KV cache feeds exactly the text the template
// renders for the whole conversation (DeepSeek's dropped reasoning aside).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "resa/resa.hpp"

namespace resa {

enum class ChatFormat { ChatML, DeepSeekR1, Llama2, Llama3 };

struct ChatTemplate {
  ChatFormat format = ChatFormat::ChatML;
  std::string default_system;  // used when the conversation has no system message ("" = no system block)
};

struct Tokenizer;

// The template named (chatml, deepseek-r1, llama2, llama3), else the one tokenizer_config.json's chat_template is,
// else the one the tokenizer's special tokens imply. resa::Error when none is known, listing the names.
ChatTemplate chat_template_for(const Tokenizer& tok, const std::string& name);

const char* chat_format_name(ChatFormat f);

// The text that opens a user turn (with BOS and the system message when it is the first) and asks for the reply.
std::string render_user_turn(const ChatTemplate& t, std::string_view user, std::string_view system, bool first);

// What closes a reply: the end-of-turn token's text (the model usually generates it) and what follows it.
std::string_view reply_end(const ChatTemplate& t);
std::string_view after_reply(const ChatTemplate& t);

// A whole conversation (system first if any, then user and assistant turns), with the reply prompt at the end when
// add_generation_prompt. resa::Error for unknown roles or a misplaced system message.
std::string render_chat(const ChatTemplate& t, const std::vector<ChatMessage>& messages, bool add_generation_prompt);

}  // namespace resa
