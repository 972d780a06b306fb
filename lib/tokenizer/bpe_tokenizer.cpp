#include "tokenizer/bpe_tokenizer.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <queue>
#include <unordered_map>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>
#include <simdjson.h>
#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include "resa/resa.hpp"

namespace resa {

const char* const kLlama3SplitRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

// GPT-2's ByteLevel pre-tokenizer regex (used when a ByteLevel step has use_regex).
const char* const kGpt2SplitRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

struct SplitRegex {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~SplitRegex() { pcre2_code_free(code); }
};

namespace {

std::shared_ptr<const SplitRegex> compile_split(const std::string& pattern, const std::string& path) {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  auto re = std::make_shared<SplitRegex>();
  re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err,
                           &err_offset, nullptr);
  if (!re->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw Error(fmt::format("tokenizer '{}': the pre-tokenizer regex does not compile at offset {}: {}", path,
                            err_offset, reinterpret_cast<const char*>(msg)));
  }
  re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
  return re;
}

// A literal string as a regex.
std::string quote_regex(const std::string& s) {
  std::string out;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// GPT-2's bytes_to_unicode(), inverted: code point -> byte, -1 for code points outside the alphabet.
const std::array<int, 324>& byte_of_codepoint() {
  static const std::array<int, 324> table = [] {
    std::array<int, 324> t;
    t.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[printable ? b : 256 + n++] = b;
    }
    return t;
  }();
  return table;
}

// A vocabulary string in the byte-level alphabet -> its bytes; false when it has a character outside it.
bool byte_level_decode(std::string_view s, std::string& out) {
  out.clear();
  const auto& table = byte_of_codepoint();
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                    static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0 || cp < 0 || cp >= static_cast<int>(table.size()) || table[cp] < 0) return false;
    out.push_back(static_cast<char>(table[cp]));
    i += static_cast<size_t>(n);
  }
  return true;
}

uint64_t pair_key(int left, int right) {
  return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
}

size_t table_size(size_t n) {
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  return size;
}

size_t hash_bytes(std::string_view s) { return std::hash<std::string_view>{}(s); }

}  // namespace

int TokenIndex::build(const std::vector<std::string>& tokens, size_t n_ids) {
  slots.assign(table_size(n_ids), -1);
  const size_t mask = slots.size() - 1;
  for (size_t id = 0; id < n_ids; ++id) {
    if (tokens[id].empty()) continue;
    size_t i = hash_bytes(tokens[id]) & mask;
    for (; slots[i] >= 0; i = (i + 1) & mask)
      if (tokens[slots[i]] == tokens[id]) return static_cast<int>(id);
    slots[i] = static_cast<int32_t>(id);
  }
  return -1;
}

int TokenIndex::find(const std::vector<std::string>& tokens, std::string_view bytes) const {
  if (slots.empty()) return -1;
  const size_t mask = slots.size() - 1;
  for (size_t i = hash_bytes(bytes) & mask;; i = (i + 1) & mask) {
    const int32_t id = slots[i];
    if (id < 0) return -1;
    if (tokens[id] == bytes) return id;
  }
}

void MergeTable::reserve(size_t n) {
  entries.assign(table_size(n), Entry{});
  count = 0;
}

void MergeTable::insert(uint64_t key, BpeMerge m) {
  if (2 * (count + 1) > entries.size()) {  // grow: rehash into twice the room
    std::vector<Entry> old = std::move(entries);
    reserve(std::max<size_t>(8, old.size()));
    for (const Entry& e : old)
      if (e.key != ~uint64_t{0}) insert(e.key, e.merge);
  }
  const size_t mask = entries.size() - 1;
  for (size_t i = home(key, mask);; i = (i + 1) & mask) {
    if (entries[i].key == key) return;
    if (entries[i].key == ~uint64_t{0}) {
      entries[i] = {key, m};
      ++count;
      return;
    }
  }
}

namespace {

void set_token(BpeTokenizer& t, int id, std::string_view bytes) {
  if (static_cast<size_t>(id) >= t.tokens.size()) t.tokens.resize(id + 1);
  t.tokens[id] = bytes;
}

// Indexes the vocabulary and finds the one-byte tokens; a token spelled twice is an error.
void index_vocabulary(BpeTokenizer& t, const std::string& path) {
  const int duplicate = t.ids.build(t.tokens, t.tokens.size());
  if (duplicate >= 0)
    throw Error(fmt::format("tokenizer '{}': token {} repeats the bytes of token {}", path, duplicate,
                            t.ids.find(t.tokens, t.tokens[duplicate])));
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const int id = t.ids.find(t.tokens, std::string_view(&c, 1));
    if (id < 0) throw Error(fmt::format("tokenizer '{}' is not a byte-level BPE: byte 0x{:02X} has no token", path, b));
    t.byte_ids[b] = id;
  }
}

void index_byte_pairs(BpeTokenizer& t) {
  t.byte_pairs.assign(256 * 256, BpeMerge{-1, -1});
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b)
      if (const BpeMerge* m = t.merges.find(pair_key(t.byte_ids[a], t.byte_ids[b]))) t.byte_pairs[a * 256 + b] = *m;
}

void read_normalizer(BpeTokenizer& t, const nlohmann::json& n, const std::string& path) {
  if (n.is_null()) return;
  const std::string type = n.value("type", "");
  if (type == "NFC") {
    t.nfc = true;
  } else if (type == "Sequence") {
    for (const auto& step : n.at("normalizers")) read_normalizer(t, step, path);
  } else {
    throw Error(fmt::format("tokenizer '{}': normalizer '{}' is not supported (resa reads NFC or none)", path, type));
  }
}

void read_pre_tokenizer(BpeTokenizer& t, const nlohmann::json& p, const std::string& path, bool& byte_level) {
  if (p.is_null()) return;
  const std::string type = p.value("type", "");
  if (type == "Sequence") {
    for (const auto& step : p.at("pretokenizers")) read_pre_tokenizer(t, step, path, byte_level);
  } else if (type == "Split") {
    const std::string behavior = p.value("behavior", "Isolated");
    if (behavior != "Isolated" || p.value("invert", false))
      throw Error(fmt::format("tokenizer '{}': Split with behavior '{}'{} is not supported (resa reads Isolated)",
                              path, behavior, p.value("invert", false) ? " inverted" : ""));
    const auto& pat = p.at("pattern");
    if (pat.contains("Regex"))
      t.splits.push_back(compile_split(pat.at("Regex").get<std::string>(), path));
    else
      t.splits.push_back(compile_split(quote_regex(pat.at("String").get<std::string>()), path));
  } else if (type == "Digits") {
    t.splits.push_back(compile_split(p.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)", path));
  } else if (type == "ByteLevel") {
    byte_level = true;
    t.add_prefix_space = p.value("add_prefix_space", false);
    if (p.value("use_regex", true)) t.splits.push_back(compile_split(kGpt2SplitRegex, path));
  } else {
    throw Error(fmt::format("tokenizer '{}': pre-tokenizer '{}' is not supported", path, type));
  }
}

}  // namespace

namespace {

// A simdjson value as nlohmann JSON (the small parts of tokenizer.json, read by the code above).
nlohmann::json to_nlohmann(simdjson::dom::element e) { return nlohmann::json::parse(simdjson::minify(e)); }

[[noreturn]] void malformed(const std::string& path, std::string_view what) {
  throw Error(fmt::format("tokenizer '{}' is malformed: {}", path, what));
}

}  // namespace

BpeTokenizer bpe_from_tokenizer_json(std::string_view text, const std::string& path, nlohmann::json* rest) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(text);
  simdjson::dom::element doc;
  if (const auto err = parser.parse(padded).get(doc))
    throw Error(fmt::format("'{}' is not valid JSON (truncated or corrupt?): {}", path, simdjson::error_message(err)));
  simdjson::dom::object root, model;
  if (doc.get_object().get(root)) malformed(path, "the top level is not an object");
  if (root["model"].get_object().get(model)) malformed(path, "it has no \"model\" object");
  // Everything but the vocabulary and the merges, as nlohmann JSON.
  nlohmann::json meta = nlohmann::json::object(), model_meta = nlohmann::json::object();
  for (const auto field : root)
    if (field.key != "model") meta[std::string(field.key)] = to_nlohmann(field.value);
  for (const auto field : model)
    if (field.key != "vocab" && field.key != "merges") model_meta[std::string(field.key)] = to_nlohmann(field.value);

  BpeTokenizer t;
  try {
    const std::string type = model_meta.value("type", "");
    if (type != "BPE")
      throw Error(fmt::format("tokenizer '{}': model type '{}' is not supported (resa reads byte-level BPE)", path,
                              type));
    bool byte_level = false;
    read_normalizer(t, meta.value("normalizer", nlohmann::json()), path);
    read_pre_tokenizer(t, meta.value("pre_tokenizer", nlohmann::json()), path, byte_level);
    if (!byte_level)
      throw Error(fmt::format("tokenizer '{}' is not a byte-level BPE (no ByteLevel pre-tokenizer)", path));
    if (!model_meta.value("continuing_subword_prefix", std::string()).empty() ||
        !model_meta.value("end_of_word_suffix", std::string()).empty())
      throw Error(fmt::format("tokenizer '{}': subword prefixes/suffixes are not supported", path));
    t.ignore_merges = model_meta.value("ignore_merges", false);
  } catch (const nlohmann::json::exception& e) {
    malformed(path, e.what());
  }

  simdjson::dom::object vocab;
  if (model["vocab"].get_object().get(vocab)) malformed(path, "model.vocab is not an object");
  std::string bytes;
  for (const auto field : vocab) {
    int64_t id = -1;
    if (field.value.get_int64().get(id) || id < 0 || id > (1 << 24))
      malformed(path, fmt::format("token '{}' has no valid id", field.key));
    if (!byte_level_decode(field.key, bytes))
      throw Error(fmt::format("tokenizer '{}': token '{}' (id {}) is not in the byte-level alphabet", path, field.key,
                              id));
    set_token(t, static_cast<int>(id), bytes);
  }
  index_vocabulary(t, path);

  simdjson::dom::array merges;
  if (model["merges"].get_array().get(merges)) malformed(path, "model.merges is not an array");
  t.merges.reserve(merges.size());
  std::string left, right;
  int rank = 0;
  for (const simdjson::dom::element m : merges) {
    std::string_view a, b;
    if (m.is_string()) {  // "a b" (the older format)
      const std::string_view s = m.get_string().value_unsafe();
      const size_t space = s.find(' ');
      if (space == std::string_view::npos || space == 0 || space + 1 >= s.size())
        malformed(path, fmt::format("merge #{} '{}' is not two tokens", rank, s));
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else {  // ["a", "b"]
      simdjson::dom::array pair;
      if (m.get_array().get(pair) || pair.size() != 2 || pair.at(0).get_string().get(a) ||
          pair.at(1).get_string().get(b))
        malformed(path, fmt::format("merge #{} is not two tokens", rank));
    }
    if (!byte_level_decode(a, left) || !byte_level_decode(b, right))
      throw Error(fmt::format("tokenizer '{}': merge #{} '{} {}' is not in the byte-level alphabet", path, rank, a, b));
    const int l = t.ids.find(t.tokens, left), r = t.ids.find(t.tokens, right);
    left += right;
    const int lr = t.ids.find(t.tokens, left);
    if (l < 0 || r < 0 || lr < 0)
      throw Error(fmt::format("tokenizer '{}': merge #{} '{} {}' names a token not in the vocabulary", path, rank, a,
                              b));
    t.merges.insert(pair_key(l, r), BpeMerge{rank, lr});
    ++rank;
  }
  index_byte_pairs(t);
  if (rest) *rest = std::move(meta);
  return t;
}

// Qwen2's pre-tokenizer regex (its tokenizer.json: a Split, then ByteLevel without its own regex), for GGUF files
// whose tokenizer.ggml.pre is "qwen2" or "deepseek-r1-qwen" (DeepSeek-R1-Distill-Qwen's files: llama.cpp reads them
// with Qwen2's pre-tokenizer too).
const char* const kQwen2SplitRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

BpeTokenizer bpe_from_vocab(const std::vector<std::string>& tokens, const std::vector<bool>& in_vocab,
                            const std::vector<std::string>& merges, const std::string& pre, const std::string& path) {
  BpeTokenizer t;
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
    t.nfc = true;
    t.splits.push_back(compile_split(kQwen2SplitRegex, path));
  } else if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") {
    t.ignore_merges = true;
    t.splits.push_back(compile_split(kLlama3SplitRegex, path));
  } else if (pre == "gpt-2" || pre == "default") {
    t.splits.push_back(compile_split(kGpt2SplitRegex, path));
  } else {
    throw Error(fmt::format("'{}': the byte-level BPE pre-tokenizer '{}' is not one resa knows (qwen2, "
                            "deepseek-r1-qwen, llama-bpe, gpt-2); give the original model's tokenizer.json with --tokenizer",
                            path, pre));
  }
  std::string bytes;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (!in_vocab[id]) {
      set_token(t, static_cast<int>(id), "");
      continue;
    }
    if (!byte_level_decode(tokens[id], bytes))
      throw Error(fmt::format("'{}': token '{}' (id {}) is not in the byte-level alphabet", path, tokens[id], id));
    set_token(t, static_cast<int>(id), bytes);
  }
  index_vocabulary(t, path);
  t.merges.reserve(merges.size());
  std::string left, right;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& m = merges[rank];
    const size_t space = m.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= m.size() ||
        !byte_level_decode(std::string_view(m).substr(0, space), left) ||
        !byte_level_decode(std::string_view(m).substr(space + 1), right))
      throw Error(fmt::format("'{}': merge #{} '{}' is not two byte-level tokens", path, rank, m));
    const int l = t.ids.find(t.tokens, left), r = t.ids.find(t.tokens, right);
    left += right;
    const int lr = t.ids.find(t.tokens, left);
    if (l < 0 || r < 0 || lr < 0)
      throw Error(fmt::format("'{}': merge #{} '{}' names a token not in the vocabulary", path, rank, m));
    t.merges.insert(pair_key(l, r), BpeMerge{static_cast<int>(rank), lr});
  }
  index_byte_pairs(t);
  return t;
}

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = base64_value(in[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i)
    if (in[i] != '=') return false;
  return !out.empty() && in.size() % 4 == 0;
}

}  // namespace

bool looks_like_tiktoken(std::string_view text) {
  const size_t nl = text.find('\n');
  const std::string_view line = text.substr(0, nl);
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 >= line.size()) return false;
  for (char c : line.substr(0, space))
    if (base64_value(c) < 0 && c != '=') return false;
  for (char c : line.substr(space + 1))
    if (c < '0' || c > '9') return false;
  return true;
}

BpeTokenizer bpe_from_tiktoken(std::string_view text, const std::string& path) {
  BpeTokenizer t;
  t.ignore_merges = true;  // tiktoken looks a whole split up first
  // Ranks number the tokens from 0, one per line: a rank beyond the line count is a corrupt file (and would size
  // the vocabulary by it: found by fuzz/fuzz_tiktoken.cpp).
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  std::string bytes;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    int rank = -1;
    if (space != std::string_view::npos && base64_decode(line.substr(0, space), bytes)) {
      const std::string_view r = line.substr(space + 1);
      if (!r.empty() && r.size() <= 8 && r.find_first_not_of("0123456789") == std::string_view::npos)
        rank = std::stoi(std::string(r));
    }
    if (rank < 0)
      throw Error(fmt::format("tokenizer '{}' line {}: expected \"<base64 token> <rank>\"", path, line_no));
    if (static_cast<size_t>(rank) >= lines)
      throw Error(fmt::format("tokenizer '{}' line {}: rank {} is beyond the file's {} lines (ranks count the "
                              "tokens from 0)",
                              path, line_no, rank, lines));
    if (static_cast<size_t>(rank) < t.tokens.size() && !t.tokens[rank].empty())
      throw Error(fmt::format("tokenizer '{}' line {}: rank {} appears twice", path, line_no, rank));
    set_token(t, rank, bytes);
  }
  if (t.tokens.empty()) throw Error(fmt::format("tokenizer '{}' is empty", path));
  index_vocabulary(t, path);
  t.merges.reserve(t.tokens.size());
  // The merge table: every split of a token into two tokens merges into it, at its rank.
  for (int id = 0; id < static_cast<int>(t.tokens.size()); ++id) {
    const std::string_view s = t.tokens[id];
    for (size_t k = 1; k < s.size(); ++k) {
      const int l = t.ids.find(t.tokens, s.substr(0, k));
      if (l < 0) continue;
      const int r = t.ids.find(t.tokens, s.substr(k));
      if (r >= 0) t.merges.insert(pair_key(l, r), BpeMerge{id, id});
    }
  }
  index_byte_pairs(t);
  t.splits.push_back(compile_split(kLlama3SplitRegex, path));
  return t;
}

namespace {

// One encode() call's state: PCRE2 match data per regex, merge scratch, and a cache of the words seen so far.
struct Encoder {
  const BpeTokenizer& t;
  std::vector<int>& out;
  std::vector<pcre2_match_data*> match_data;
  struct Sym {
    int id, prev, next;
  };
  struct Candidate {
    int rank, pos, left, right, merged;  // the merge of left and right at pos (left's index)
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Sym> syms;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringHash, std::equal_to<>> cache;
  std::vector<int> cached_ids;

  Encoder(const BpeTokenizer& tok, std::vector<int>& o) : t(tok), out(o) {
    for (const auto& re : t.splits) match_data.push_back(pcre2_match_data_create_from_pattern(re->code, nullptr));
  }
  ~Encoder() {
    for (auto* md : match_data) pcre2_match_data_free(md);
  }

  void push_candidate(int pos) {
    const int next = syms[pos].next;
    if (next < 0) return;
    if (const BpeMerge* m = t.merges.find(pair_key(syms[pos].id, syms[next].id)))
      heap.push({m->rank, pos, syms[pos].id, syms[next].id, m->id});
  }

  // Byte-pair merging of one split, lowest rank first, leftmost on ties.
  void merge_word(std::string_view w) {
    if (t.ignore_merges) {
      if (const int id = t.ids.find(t.tokens, w); id >= 0) return out.push_back(id);
    }
    syms.clear();
    for (size_t i = 0; i < w.size(); ++i)
      syms.push_back({t.byte_ids[static_cast<unsigned char>(w[i])], static_cast<int>(i) - 1,
                      i + 1 < w.size() ? static_cast<int>(i) + 1 : -1});
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      const BpeMerge& m = t.byte_pairs[static_cast<unsigned char>(w[i]) * 256 + static_cast<unsigned char>(w[i + 1])];
      if (m.rank >= 0) heap.push({m.rank, static_cast<int>(i), syms[i].id, syms[i + 1].id, m.id});
    }
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      Sym& left = syms[c.pos];
      if (left.id != c.left || left.next < 0 || syms[left.next].id != c.right) continue;  // stale
      Sym& right = syms[left.next];
      left.id = c.merged;
      left.next = right.next;
      if (right.next >= 0) syms[right.next].prev = c.pos;
      right.id = -1;
      if (left.prev >= 0) push_candidate(left.prev);
      push_candidate(c.pos);
    }
    for (int i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
  }

  void word(std::string_view w) {
    if (w.size() > 64) return merge_word(w);
    if (auto it = cache.find(w); it != cache.end()) {
      out.insert(out.end(), cached_ids.begin() + it->second.first,
                 cached_ids.begin() + it->second.first + it->second.second);
      return;
    }
    const size_t before = out.size();
    merge_word(w);
    cache.emplace(std::string(w), std::make_pair(static_cast<uint32_t>(cached_ids.size()),
                                                 static_cast<uint32_t>(out.size() - before)));
    cached_ids.insert(cached_ids.end(), out.begin() + static_cast<std::ptrdiff_t>(before), out.end());
  }

  // Splits s with regex `level` (each match and each gap between matches a piece), then the next level.
  void split(size_t level, std::string_view s) {
    if (s.empty()) return;
    if (level == t.splits.size()) return word(s);
    const SplitRegex& re = *t.splits[level];
    pcre2_match_data* md = match_data[level];
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    size_t pos = 0, last = 0;
    while (pos < s.size()) {
      const int rc = re.jit ? pcre2_jit_match(re.code, subject, s.size(), pos, 0, md, nullptr)
                            : pcre2_match(re.code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
      if (rc < 0) break;  // no further match
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      const size_t start = ov[0], end = ov[1];
      if (end == start) {  // an empty match: step over one character
        pos = start + 1;
        while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
        continue;
      }
      if (start > last) split(level + 1, s.substr(last, start - last));
      split(level + 1, s.substr(start, end - start));
      last = pos = end;
    }
    if (last < s.size()) split(level + 1, s.substr(last));
  }
};

// Code points NFC leaves alone whatever surrounds them: combining class 0, not the second of any composition (nor a
// Hangul vowel or trailing consonant jamo, which compose algorithmically), and equal to their own NFC (not a
// singleton or an excluded composition). A text made only of these is already NFC. Built once from utf8proc's
// tables (~1.1M code points, 139 KB).
const std::vector<bool>& nfc_stable_table() {
  static const std::vector<bool> table = [] {
    std::vector<bool> t(0x110000);
    for (utf8proc_int32_t cp = 0; cp < 0x110000; ++cp) {
      if (cp < 0x300) {
        t[cp] = true;
        continue;
      }
      const utf8proc_property_t* p = utf8proc_get_property(cp);
      bool stable = p->combining_class == 0 && (p->comb_index == UINT16_MAX || p->comb_index < 0x8000) &&
                    !(cp >= 0x1161 && cp <= 0x1175) && !(cp >= 0x11A8 && cp <= 0x11C2);
      if (stable && p->decomp_seqindex != UINT16_MAX && p->decomp_type == 0) {  // a canonical decomposition
        utf8proc_int32_t out[8];
        const auto n = utf8proc_decompose_char(cp, out, 8, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE), nullptr);
        utf8proc_int32_t buf[8];
        std::copy(out, out + std::max<utf8proc_ssize_t>(0, std::min<utf8proc_ssize_t>(n, 8)), buf);
        const auto m = n > 0 && n <= 8 ? utf8proc_normalize_utf32(buf, n, static_cast<utf8proc_option_t>(
                                                                              UTF8PROC_COMPOSE | UTF8PROC_STABLE))
                                       : -1;
        stable = m == 1 && buf[0] == cp;
      }
      t[cp] = stable;
    }
    return t;
  }();
  return table;
}


}  // namespace

bool is_nfc_stable(std::string_view s) {
  const std::vector<bool>* table = nullptr;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                    static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) return false;
    if (!table) table = &nfc_stable_table();
    if (!(*table)[cp]) return false;
    i += static_cast<size_t>(n);
  }
  return true;
}

namespace {

std::string utf8proc_nfc(std::string_view text) {
  utf8proc_uint8_t* dst = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &dst,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) throw Error(fmt::format("NFC normalisation failed: {}", utf8proc_errmsg(n)));
  std::string out(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  std::free(dst);
  return out;
}

}  // namespace

std::string nfc(std::string_view text) { return is_nfc_stable(text) ? std::string(text) : utf8proc_nfc(text); }

void bpe_encode(const BpeTokenizer& t, std::string_view text, std::vector<int>& out) {
  std::string normalized;
  if (t.nfc && !is_nfc_stable(text)) {
    normalized = utf8proc_nfc(text);
    text = normalized;
  }
  std::string prefixed;
  if (t.add_prefix_space && !text.empty() && text[0] != ' ') {
    prefixed = " ";
    prefixed += text;
    text = prefixed;
  }
  Encoder enc(t, out);
  enc.split(0, text);
}

}  // namespace resa
