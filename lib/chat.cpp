// The public API's chat side (include/resa/resa.hpp): apply_chat_template() and multi-turn sessions that keep the KV
// cache. Each turn feeds, after what the cache holds: the end of the previous reply (its end-of-turn token, sampled
// or, when the reply hit the token limit, appended), the new user turn and the reply prompt — so the cache holds the
// conversation exactly as the template renders it.
#include <fmt/format.h>

#include "chat_template.hpp"
#include "generate.hpp"
#include "session.hpp"
#include "model/load.hpp"
#include "model/model.hpp"
#include "resa/resa.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

struct ChatSession {
  GenerateOptions opt;
  SessionState session;
  ChatTemplate tmpl;
  std::string system;
  int turns = 0;
};

std::string apply_chat_template(const Model& model, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt, const std::string& template_name) {
  const Tokenizer& tok = tokenizer_of(model_data(model));
  for (const ChatMessage& m : messages) require_utf8(m.content, fmt::format("the {} message", m.role));
  return render_chat(chat_template_for(tok, template_name), messages, add_generation_prompt);
}

Chat start_chat(const Model& model, const GenerateOptions& opt, const ChatOptions& chat_opt) {
  const ModelData& m = model_data(model);
  const Tokenizer& tok = tokenizer_of(m);
  require_utf8(chat_opt.system, "the system message");
  auto s = std::make_shared<ChatSession>();
  s->opt = opt;
  s->tmpl = chat_template_for(tok, chat_opt.template_name);
  s->system = chat_opt.system;
  s->session = make_session_state(model, session_options(opt), opt.threads);
  return Chat{std::move(s)};
}

GenerateStats chat(Chat& c, std::string_view user_message, const std::function<void(std::string_view)>& on_text) {
  if (!c.session) throw Error("the chat was not started (start_chat)");
  ChatSession& cs = *c.session;
  SessionState& s = cs.session;
  const Tokenizer& tok = tokenizer_of(*s.m);
  require_utf8(user_message, "the message");

  std::vector<int> ids;
  std::string text;
  if (cs.turns > 0) {  // after the token that ended the last reply (pending: feed_tokens puts it first)
    if (!s.pending_is_eos) text += reply_end(cs.tmpl);
    text += after_reply(cs.tmpl);
  }
  text += render_user_turn(cs.tmpl, user_message, cs.system, cs.turns == 0);
  const std::vector<int> turn = encode(tok, text, /*bos=*/false);
  ids.insert(ids.end(), turn.begin(), turn.end());

  Utf8Stream out;
  bool first = true;  // the reply is printed on its own: its first piece as at the start of a text (SentencePiece
                      // drops its leading space, as decoding the reply alone does)
  GenerateStats stats = run_turn(s, ids, cs.opt.n_predict, cs.opt.ignore_eos, [&](int prev, int next) {
    const std::string piece = out.push(printed_bytes(tok, first ? -1 : prev, next));
    first = false;
    if (!piece.empty() && on_text) on_text(piece);
  }, cs.opt.threads);
  if (std::string rest = out.finish(); !rest.empty() && on_text) on_text(rest);
  ++cs.turns;
  return stats;
}

}  // namespace resa
