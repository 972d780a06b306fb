#include "chat_template.hpp"

#include <fmt/format.h>

#include "tokenizer/tokenizer.hpp"

namespace resa {

namespace {

constexpr const char* kNames = "chatml, deepseek-r1, llama2, llama3";

bool has(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

std::string_view trim(std::string_view s) {
  const char* ws = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The default system message a ChatML template writes when the conversation has none: Qwen2's
// "{% set system_message = '...' %}" or Qwen2.5's literal "<|im_start|>system\n...<|im_end|>".
std::string chatml_default_system(const std::string& jinja) {
  const std::string set = "system_message = '";
  if (size_t at = jinja.find(set); at != std::string::npos) {
    const size_t end = jinja.find('\'', at + set.size());
    if (end != std::string::npos) return jinja.substr(at + set.size(), end - at - set.size());
  }
  for (const std::string marker : {"<|im_start|>system\n", "<|im_start|>system\\n"}) {
    for (size_t at = jinja.find(marker); at != std::string::npos; at = jinja.find(marker, at + 1)) {
      const size_t start = at + marker.size(), end = jinja.find("<|im_end|>", start);
      if (end == std::string::npos) continue;
      const std::string text = jinja.substr(start, end - start);
      if (!text.empty() && text.find_first_of("'\"{}+") == std::string::npos) return text;
    }
  }
  return "";
}

std::string header(std::string_view role) { return fmt::format("<|start_header_id|>{}<|end_header_id|>\n\n", role); }

std::string_view generation_prompt(const ChatTemplate& t) {
  switch (t.format) {
    case ChatFormat::ChatML: return "<|im_start|>assistant\n";
    case ChatFormat::DeepSeekR1: return "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n";
    case ChatFormat::Llama2: return "";
    case ChatFormat::Llama3: return "<|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  return "";
}

// A user turn without the reply prompt.
std::string user_block(const ChatTemplate& t, std::string_view user, std::string_view system, bool first) {
  std::string out;
  switch (t.format) {
    case ChatFormat::ChatML:
      if (first && !system.empty()) out += fmt::format("<|im_start|>system\n{}<|im_end|>\n", system);
      return out + fmt::format("<|im_start|>user\n{}<|im_end|>\n", user);
    case ChatFormat::DeepSeekR1:
      if (first) out += fmt::format("<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>{}", system);
      return out + fmt::format("<\xEF\xBD\x9CUser\xEF\xBD\x9C>{}", user);
    case ChatFormat::Llama2: {
      const std::string content =
          first && !system.empty() ? fmt::format("<<SYS>>\n{}\n<</SYS>>\n\n{}", system, user) : std::string(user);
      return fmt::format("<s>[INST] {} [/INST]", trim(content));
    }
    case ChatFormat::Llama3:
      if (first) {
        out += "<|begin_of_text|>";
        if (!system.empty()) out += header("system") + std::string(trim(system)) + "<|eot_id|>";
      }
      return out + header("user") + std::string(trim(user)) + "<|eot_id|>";
  }
  return out;
}

std::string assistant_block(const ChatTemplate& t, std::string_view content) {
  switch (t.format) {
    case ChatFormat::ChatML: return fmt::format("<|im_start|>assistant\n{}<|im_end|>\n", content);
    case ChatFormat::DeepSeekR1: {
      if (const size_t at = content.rfind("</think>"); at != std::string_view::npos) content.remove_prefix(at + 8);
      return fmt::format("<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>{}<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", content);
    }
    case ChatFormat::Llama2: return fmt::format(" {} </s>", trim(content));
    case ChatFormat::Llama3: return header("assistant") + std::string(trim(content)) + "<|eot_id|>";
  }
  return "";
}

}  // namespace

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::ChatML: return "chatml";
    case ChatFormat::DeepSeekR1: return "deepseek-r1";
    case ChatFormat::Llama2: return "llama2";
    case ChatFormat::Llama3: return "llama3";
  }
  return "?";
}

ChatTemplate chat_template_for(const Tokenizer& tok, const std::string& name) {
  ChatTemplate t;
  const std::string& jinja = tok.chat_template;
  if (!name.empty()) {
    if (name == "chatml") t.format = ChatFormat::ChatML;
    else if (name == "deepseek-r1") t.format = ChatFormat::DeepSeekR1;
    else if (name == "llama2") t.format = ChatFormat::Llama2;
    else if (name == "llama3") t.format = ChatFormat::Llama3;
    else throw Error(fmt::format("--chat-template: '{}' is not one of {}", name, kNames));
  } else {
    // What the template (or, without one, the special tokens) shows.
    auto shows = [&](std::string_view marker) {
      if (!jinja.empty()) return has(jinja, marker);
      for (const SpecialToken& s : tok.specials)
        if (s.text == marker) return true;
      return false;
    };
    if (shows("<|im_start|>")) t.format = ChatFormat::ChatML;
    else if (shows("<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>")) t.format = ChatFormat::DeepSeekR1;
    else if (shows("<|start_header_id|>")) t.format = ChatFormat::Llama3;
    else if (!jinja.empty() && has(jinja, "[INST]")) t.format = ChatFormat::Llama2;
    else
      throw Error(fmt::format("{} chat template resa knows in '{}': choose one with --chat-template ({})",
                              jinja.empty() ? "no" : "not a", tok.path, kNames));
  }
  if (t.format == ChatFormat::ChatML) t.default_system = chatml_default_system(jinja);
  return t;
}

std::string render_user_turn(const ChatTemplate& t, std::string_view user, std::string_view system, bool first) {
  return user_block(t, user, system.empty() ? std::string_view(t.default_system) : system, first) +
         std::string(generation_prompt(t));
}

std::string_view reply_end(const ChatTemplate& t) {
  switch (t.format) {
    case ChatFormat::ChatML: return "<|im_end|>";
    case ChatFormat::DeepSeekR1: return "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
    case ChatFormat::Llama2: return "</s>";
    case ChatFormat::Llama3: return "<|eot_id|>";
  }
  return "";
}

std::string_view after_reply(const ChatTemplate& t) { return t.format == ChatFormat::ChatML ? "\n" : ""; }

std::string render_chat(const ChatTemplate& t, const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  size_t i = 0;
  std::string_view system = t.default_system;
  if (!messages.empty() && messages[0].role == "system") {
    system = messages[0].content;
    ++i;
  }
  std::string out;
  bool first = true;
  for (; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user") {
      out += user_block(t, m.content, system, first);
      first = false;
    } else if (m.role == "assistant") {
      if (first) throw Error("the conversation must start with a user message (after an optional system message)");
      out += assistant_block(t, m.content);
    } else if (m.role == "system") {
      throw Error(fmt::format("message {}: a system message must come first", i + 1));
    } else {
      throw Error(fmt::format("message {}: role '{}' is not one of system, user, assistant", i + 1, m.role));
    }
  }
  if (add_generation_prompt) out += generation_prompt(t);
  return out;
}

}  // namespace resa
