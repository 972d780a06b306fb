#include "tokenizer/tokenizer.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "model/gguf.hpp"
#include "model/mapped_file.hpp"
#include "resa/resa.hpp"
#include "tokenizer/utf8.hpp"

namespace resa {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kind_name(TokenizerKind k) {
  switch (k) {
    case TokenizerKind::Llama2c: return "llama2.c";
    case TokenizerKind::SentencePiece: return "SentencePiece";
    case TokenizerKind::ByteLevelBpe: return "byte-level BPE";
  }
  return "?";
}

namespace {

std::string read_whole(const std::string& path) {
  MappedFile f(path);
  return std::string(reinterpret_cast<const char*>(f.data), f.size);
}

json parse_json_file(const std::string& path) {
  const std::string text = read_whole(path);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(fmt::format("'{}' is not valid JSON (truncated or corrupt?)", path));
  return j;
}

void add_special(Tokenizer& t, std::string text, int id, bool lstrip = false, bool rstrip = false) {
  if (text.empty()) return;
  if (id < 0) throw Error(fmt::format("tokenizer '{}': special token '{}' has id {}", t.path, text, id));
  if (static_cast<size_t>(id) >= t.token_text.size()) t.token_text.resize(id + 1);
  t.token_text[id] = text;
  t.specials.push_back({std::move(text), id, lstrip, rstrip});
}

int special_id(const Tokenizer& t, std::string_view text) {
  for (const SpecialToken& s : t.specials)
    if (s.text == text) return s.id;
  return -1;
}

// The 256 special tokens of Llama 3's tiktoken model (meta-llama/llama-models, Llama 3.1 and later names), after
// its n ranks.
void add_llama3_specials(Tokenizer& t, int n) {
  const char* named[] = {"<|begin_of_text|>", "<|end_of_text|>",   "<|reserved_special_token_0|>",
                         "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                         "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>",
                         "<|eot_id|>",        "<|python_tag|>",    "<|image|>"};
  int id = n;
  for (const char* s : named) add_special(t, s, id++);
  for (int i = 2; id < n + 256; ++i) add_special(t, fmt::format("<|reserved_special_token_{}|>", i), id++);
  t.bos_id = n;
  t.add_bos = true;
  t.eos_ids = {n + 1, n + 8, n + 9};  // end_of_text, eom_id, eot_id
}

std::string token_content(const json& v) {  // "text" or {"content": "text", ...} or null
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

// tokenizer_config.json: the chat template, BOS/EOS names, add_bos_token, and (SentencePiece directories) added
// tokens beyond the model's pieces.
void read_tokenizer_config(Tokenizer& t, const fs::path& dir) {
  const fs::path p = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return;
  const json c = parse_json_file(p.string());
  if (c.contains("chat_template")) {
    const json& ct = c["chat_template"];
    if (ct.is_string()) {
      t.chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const json& e : ct)
        if (e.value("name", "") == "default" && e.contains("template")) t.chat_template = e["template"].get<std::string>();
    }
  }
  if (c.contains("added_tokens_decoder") && c["added_tokens_decoder"].is_object()) {
    for (const auto& [id_text, v] : c["added_tokens_decoder"].items()) {
      const std::string content = token_content(v);
      int id = -1;
      try {
        id = std::stoi(id_text);
      } catch (const std::exception&) {
      }
      if (special_id(t, content) < 0 && id >= 0)
        add_special(t, content, id, v.value("lstrip", false), v.value("rstrip", false));
    }
  }
  if (c.contains("bos_token")) {
    const std::string bos = token_content(c["bos_token"]);
    t.bos_id = bos.empty() ? -1 : special_id(t, bos);
  }
  if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) t.add_bos = c["add_bos_token"].get<bool>();
  if (t.bos_id < 0) t.add_bos = false;
  if (c.contains("eos_token")) {
    const int eos = special_id(t, token_content(c["eos_token"]));
    if (eos >= 0 && std::find(t.eos_ids.begin(), t.eos_ids.end(), eos) == t.eos_ids.end()) t.eos_ids.push_back(eos);
  }
}

Tokenizer load_tokenizer_json(const std::string& path) {
  Tokenizer t;
  t.kind = TokenizerKind::ByteLevelBpe;
  t.path = path;
  json j;
  auto bpe = std::make_shared<BpeTokenizer>(bpe_from_tokenizer_json(read_whole(path), path, &j));
  t.token_text = bpe->tokens;
  t.bpe = std::move(bpe);
  try {
    if (j.contains("added_tokens"))
      for (const json& a : j["added_tokens"])
        add_special(t, a.at("content").get<std::string>(), a.at("id").get<int>(), a.value("lstrip", false),
                    a.value("rstrip", false));
    // BOS: added by the post-processor's template (Llama 3: TemplateProcessing, alone or in a Sequence) unless
    // tokenizer_config.json says otherwise.
    std::vector<json> posts;
    if (j.contains("post_processor") && j["post_processor"].is_object()) {
      posts.push_back(j["post_processor"]);
      if (posts[0].contains("processors") && posts[0]["processors"].is_array())
        for (const json& p : posts[0]["processors"]) posts.push_back(p);
    }
    for (const json& post : posts)
      if (post.is_object() && post.contains("special_tokens") && post["special_tokens"].is_object() &&
          post.contains("single"))
        for (const auto& [name, v] : post["special_tokens"].items())
          if (const int id = special_id(t, name);
              id >= 0 && t.bos_id < 0 && post["single"].dump().find(name) != std::string::npos) {
            t.bos_id = id;
            t.add_bos = true;
          }
  } catch (const json::exception& e) {
    throw Error(fmt::format("tokenizer '{}' is malformed: {}", path, e.what()));
  }
  return t;
}

// A SentencePiece model as a Tokenizer: its control pieces matched whole, BOS added (unless the caller says
// otherwise), its EOS, its dummy prefix's space dropped when decoding.
Tokenizer sentencepiece_tokenizer(SentencePieceInfo info, const std::string& path) {
  Tokenizer t;
  t.kind = TokenizerKind::SentencePiece;
  t.path = path;
  t.spm = info.model;
  t.token_text = std::move(info.token_text);
  for (auto& [piece, id] : info.control_pieces) t.specials.push_back({piece, id, false, false});
  t.bos_id = info.bos_id;
  t.add_bos = info.bos_id >= 0;
  if (info.eos_id >= 0) t.eos_ids = {info.eos_id};
  t.strip_first_space = info.dummy_prefix;
  return t;
}

// The specials longest first (encode matches the longest at each position), and the bytes they start with.
void index_specials(Tokenizer& t) {
  std::stable_sort(t.specials.begin(), t.specials.end(),
                   [](const SpecialToken& a, const SpecialToken& b) { return a.text.size() > b.text.size(); });
  for (const SpecialToken& s : t.specials) t.special_starts[static_cast<unsigned char>(s.text[0])] = true;
}

Tokenizer load_tokenizer_model(const std::string& path) {
  Tokenizer t;
  t.path = path;
  const std::string text = read_whole(path);
  if (looks_like_tiktoken(text)) {
    t.kind = TokenizerKind::ByteLevelBpe;
    auto bpe = std::make_shared<BpeTokenizer>(bpe_from_tiktoken(text, path));
    t.token_text = bpe->tokens;
    const int n = static_cast<int>(bpe->tokens.size());
    t.bpe = std::move(bpe);
    add_llama3_specials(t, n);
    return t;
  }
  return sentencepiece_tokenizer(load_sentencepiece(path), path);
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Whether a tokenizer.json is byte-level BPE (else a directory's tokenizer.model is preferred: Llama 2 / Mistral ship
// both, the JSON one a SentencePiece emulation).
bool is_byte_level_json(const fs::path& p) {
  return read_whole(p.string()).find("\"ByteLevel\"") != std::string::npos;
}

}  // namespace

std::string find_tokenizer_file(const std::string& dir) {
  const fs::path d(dir);
  const bool json_file = is_file(d / "tokenizer.json"), model_file = is_file(d / "tokenizer.model");
  if (json_file && (!model_file || is_byte_level_json(d / "tokenizer.json"))) return (d / "tokenizer.json").string();
  if (model_file) return (d / "tokenizer.model").string();
  if (is_file(d / "tokenizer.bin")) return (d / "tokenizer.bin").string();
  return "";
}

Tokenizer load_tokenizer(const std::string& path, int llama2c_vocab_size) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(fmt::format("tokenizer '{}' does not exist", path));
  std::string file = path;
  fs::path dir = fs::path(path).parent_path();
  if (fs::is_directory(path, ec)) {
    file = find_tokenizer_file(path);
    if (file.empty())
      throw Error(fmt::format("'{}' holds no tokenizer (tokenizer.json, tokenizer.model or tokenizer.bin)", path));
    dir = path;
  }
  const std::string name = fs::path(file).filename().string();
  Tokenizer t;
  if (fs::path(file).extension() == ".gguf") return tokenizer_from_gguf(read_gguf(file));
  if (fs::path(file).extension() == ".json") {
    t = load_tokenizer_json(file);
  } else if (fs::path(file).extension() == ".bin") {
    t.kind = TokenizerKind::Llama2c;
    t.path = file;
    t.llama2c = load_llama2c_tokenizer(file, llama2c_vocab_size);
    for (int id = 0; id < t.llama2c->vocab_size(); ++id)
      t.token_text.push_back(std::string(decode_piece(*t.llama2c, -1, id)));
    t.bos_id = t.llama2c->bos_id;
    t.add_bos = true;
    return t;
  } else {
    t = load_tokenizer_model(file);
  }
  if (dir.empty()) dir = ".";
  read_tokenizer_config(t, dir);
  index_specials(t);
  return t;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

void encode_plain(const Tokenizer& t, std::string_view text, std::vector<int>& out) {
  if (text.empty()) return;
  if (t.kind == TokenizerKind::ByteLevelBpe) return bpe_encode(*t.bpe, text, out);
  sentencepiece_encode(*t.spm, text, out);
}

}  // namespace

std::vector<int> encode(const Tokenizer& t, std::string_view text, bool bos) {
  require_utf8(text, "the text");
  if (t.kind == TokenizerKind::Llama2c) return encode(*t.llama2c, text, bos);
  std::vector<int> out;
  if (bos && t.bos_id >= 0) out.push_back(t.bos_id);
  // Cut at special tokens: at each position the longest one that starts there, the earliest position first.
  size_t start = 0;  // of the plain text not yet encoded
  size_t i = 0;
  while (i < text.size()) {
    const SpecialToken* hit = nullptr;
    if (t.special_starts[static_cast<unsigned char>(text[i])]) {
      for (const SpecialToken& s : t.specials)
        if (text.compare(i, s.text.size(), s.text) == 0) {
          hit = &s;
          break;
        }
    }
    if (!hit) {
      ++i;
      continue;
    }
    size_t plain_end = i, next = i + hit->text.size();
    if (hit->lstrip)
      while (plain_end > start && is_space(text[plain_end - 1])) --plain_end;
    if (hit->rstrip)
      while (next < text.size() && is_space(text[next])) ++next;
    encode_plain(t, text.substr(start, plain_end - start), out);
    out.push_back(hit->id);
    start = i = next;
  }
  encode_plain(t, text.substr(start), out);
  return out;
}

std::string_view token_bytes(const Tokenizer& t, int prev, int token) {
  if (token < 0 || token >= t.vocab_size())
    throw Error(fmt::format("token id {} is outside the tokenizer's vocabulary [0, {})", token, t.vocab_size()));
  if (t.kind == TokenizerKind::Llama2c) return decode_piece(*t.llama2c, prev, token);
  std::string_view s = t.token_text[token];
  if (t.strip_first_space && (prev < 0 || prev == t.bos_id) && !s.empty() && s[0] == ' ') s.remove_prefix(1);
  return s;
}

std::string decode(const Tokenizer& t, const std::vector<int>& ids) {
  Utf8Stream stream;
  std::string out;
  int prev = -1;
  for (int id : ids) {
    out += stream.push(token_bytes(t, prev, id));
    prev = id;
  }
  return out + stream.finish();
}

namespace {

// tokenizer.ggml.model "llama": the pieces, scores and types as a SentencePiece model (sentencepiece_tokenizer.hpp).
// tokens: checked by the caller.
Tokenizer spm_from_gguf(const GgufFile& g, const GgufValue& tokens) {
  const std::string& path = g.file.path;
  const GgufValue* scores = g.find("tokenizer.ggml.scores");
  const GgufValue* types = g.find("tokenizer.ggml.token_type");
  const size_t n = tokens.strings.size();
  if (!scores || scores->type != GgufType::Array || scores->numbers.size() != n)
    throw Error(fmt::format("'{}': tokenizer.ggml.scores does not give one score per token", path));
  if (!types || types->type != GgufType::Array || types->numbers.size() != n)
    throw Error(fmt::format("'{}': tokenizer.ggml.token_type does not give one type per token", path));
  const int unk = static_cast<int>(g.integer("tokenizer.ggml.unknown_token_id", 0));
  const int bos = static_cast<int>(g.integer("tokenizer.ggml.bos_token_id", 1));
  const int eos = static_cast<int>(g.integer("tokenizer.ggml.eos_token_id", 2));
  for (int id : {unk, bos, eos})
    if (id < 0 || static_cast<size_t>(id) >= n)
      throw Error(fmt::format("'{}': special token id {} is outside the vocabulary", path, id));
  const GgufValue* prefix = g.find("tokenizer.ggml.add_space_prefix");
  Tokenizer t = sentencepiece_tokenizer(sentencepiece_from_pieces(tokens.strings, scores->numbers, types->numbers, unk,
                                                                  bos, eos, !prefix || prefix->integer != 0, path),
                                        path);
  if (const GgufValue* add_bos = g.find("tokenizer.ggml.add_bos_token"))
    t.add_bos = t.bos_id >= 0 && add_bos->integer != 0;
  return t;
}

// tokenizer.ggml.model "gpt2": byte-level BPE. tokens: checked by the caller.
Tokenizer bpe_from_gguf(const GgufFile& g, const GgufValue& tokens) {
  const std::string& path = g.file.path;
  const GgufValue* merges = g.find("tokenizer.ggml.merges");
  const GgufValue* types = g.find("tokenizer.ggml.token_type");
  if (!merges || merges->type != GgufType::Array || merges->elem != GgufType::String)
    throw Error(fmt::format("'{}': tokenizer.ggml.merges is missing or not an array of strings", path));
  const size_t n = tokens.strings.size();
  if (types && (types->type != GgufType::Array || types->numbers.size() != n))
    throw Error(fmt::format("'{}': tokenizer.ggml.token_type does not give one type per token", path));
  // Types (llama.cpp's): 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. Control and user-defined
  // tokens are matched whole in the text (as tokenizer.json's added tokens), the others make up the BPE vocabulary.
  std::vector<bool> in_vocab(n, true);
  if (types)
    for (size_t id = 0; id < n; ++id) in_vocab[id] = types->numbers[id] != 3 && types->numbers[id] != 4;
  Tokenizer t;
  t.kind = TokenizerKind::ByteLevelBpe;
  t.path = path;
  auto bpe = std::make_shared<BpeTokenizer>(
      bpe_from_vocab(tokens.strings, in_vocab, merges->strings, g.string("tokenizer.ggml.pre", "default"), path));
  t.token_text = bpe->tokens;
  if (types)
    for (size_t id = 0; id < n; ++id) {
      const int type = static_cast<int>(types->numbers[id]);
      if (type == 3 || type == 4) add_special(t, tokens.strings[id], static_cast<int>(id));
    }
  t.bpe = std::move(bpe);
  t.bos_id = static_cast<int>(g.integer("tokenizer.ggml.bos_token_id", -1));
  const GgufValue* add_bos = g.find("tokenizer.ggml.add_bos_token");
  t.add_bos = t.bos_id >= 0 && add_bos && add_bos->integer != 0;
  for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"})
    if (const int64_t id = g.integer(k, -1); id >= 0 && static_cast<size_t>(id) < n)
      t.eos_ids.push_back(static_cast<int>(id));
  if (t.bos_id >= static_cast<int>(n))
    throw Error(fmt::format("'{}': BOS id {} is outside the vocabulary", path, t.bos_id));
  return t;
}

}  // namespace

Tokenizer tokenizer_from_gguf(const GgufFile& g) {
  const std::string& path = g.file.path;
  const std::string model = g.string("tokenizer.ggml.model", "");
  if (model != "gpt2" && model != "llama")
    throw Error(fmt::format("'{}': its tokenizer ('{}') is not one resa reads from GGUF metadata (it reads gpt2, "
                            "byte-level BPE, and llama, SentencePiece); give the original model's tokenizer file with "
                            "--tokenizer",
                            path, model.empty() ? "none" : model));
  const GgufValue* tokens = g.find("tokenizer.ggml.tokens");
  if (!tokens || tokens->type != GgufType::Array || tokens->elem != GgufType::String || tokens->strings.empty())
    throw Error(fmt::format("'{}': tokenizer.ggml.tokens is missing or not an array of strings", path));
  Tokenizer t = model == "llama" ? spm_from_gguf(g, *tokens) : bpe_from_gguf(g, *tokens);
  t.chat_template = g.string("tokenizer.chat_template", "");
  index_specials(t);
  return t;
}

TextTokenizer open_tokenizer(const std::string& path) {
  return TextTokenizer{std::make_shared<const Tokenizer>(load_tokenizer(path))};
}

std::vector<int> tokenize(const TextTokenizer& tok, std::string_view text, bool bos) {
  if (!tok.impl) throw Error("the tokenizer is not loaded");
  return encode(*tok.impl, text, bos && tok.impl->add_bos);
}

std::string detokenize(const TextTokenizer& tok, const std::vector<int>& ids) {
  if (!tok.impl) throw Error("the tokenizer is not loaded");
  return decode(*tok.impl, ids);
}

}  // namespace resa
