#include "tokenizer/bpe_tokenizer.hpp"

#include <cctype>
#include <cstdlib>
#include <queue>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>
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

void set_token(BpeTokenizer& t, int id, std::string bytes) {
  if (static_cast<size_t>(id) >= t.tokens.size()) t.tokens.resize(id + 1);
  t.ids.emplace(bytes, id);
  t.tokens[id] = std::move(bytes);
}

void find_byte_ids(BpeTokenizer& t, const std::string& path) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    auto it = t.ids.find(std::string_view(&c, 1));
    if (it == t.ids.end())
      throw Error(fmt::format("tokenizer '{}' is not a byte-level BPE: byte 0x{:02X} has no token", path, b));
    t.byte_ids[b] = it->second;
  }
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

BpeTokenizer bpe_from_tokenizer_json(const nlohmann::json& j, const std::string& path) {
  BpeTokenizer t;
  const auto& model = j.at("model");
  const std::string type = model.value("type", "");
  if (type != "BPE")
    throw Error(fmt::format("tokenizer '{}': model type '{}' is not supported (resa reads byte-level BPE)", path,
                            type));
  bool byte_level = false;
  read_normalizer(t, j.value("normalizer", nlohmann::json()), path);
  read_pre_tokenizer(t, j.value("pre_tokenizer", nlohmann::json()), path, byte_level);
  if (!byte_level)
    throw Error(fmt::format("tokenizer '{}' is not a byte-level BPE (no ByteLevel pre-tokenizer)", path));
  if (!model.value("continuing_subword_prefix", std::string()).empty() ||
      !model.value("end_of_word_suffix", std::string()).empty())
    throw Error(fmt::format("tokenizer '{}': subword prefixes/suffixes are not supported", path));
  t.ignore_merges = model.value("ignore_merges", false);

  std::string bytes;
  const auto& vocab = model.at("vocab");
  t.ids.reserve(vocab.size());
  for (const auto& [piece, id_json] : vocab.items()) {
    const int id = id_json.get<int>();
    if (id < 0 || id > (1 << 24)) throw Error(fmt::format("tokenizer '{}': token '{}' has id {}", path, piece, id));
    if (!byte_level_decode(piece, bytes))
      throw Error(fmt::format("tokenizer '{}': token '{}' (id {}) is not in the byte-level alphabet", path, piece, id));
    set_token(t, id, bytes);
  }
  find_byte_ids(t, path);

  const auto& merges = model.at("merges");
  t.merges.reserve(merges.size());
  std::string left, right;
  int rank = 0;
  for (const auto& m : merges) {
    std::string a, b;
    if (m.is_string()) {  // "a b" (the older format)
      const std::string& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= s.size())
        throw Error(fmt::format("tokenizer '{}': merge #{} '{}' is not two tokens", path, rank, s));
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else {  // ["a", "b"]
      a = m.at(0).get<std::string>();
      b = m.at(1).get<std::string>();
    }
    if (!byte_level_decode(a, left) || !byte_level_decode(b, right))
      throw Error(fmt::format("tokenizer '{}': merge #{} '{} {}' is not in the byte-level alphabet", path, rank, a, b));
    const auto l = t.ids.find(left), r = t.ids.find(right), lr = t.ids.find(left + right);
    if (l == t.ids.end() || r == t.ids.end() || lr == t.ids.end())
      throw Error(fmt::format("tokenizer '{}': merge #{} '{} {}' names a token not in the vocabulary", path, rank, a,
                              b));
    t.merges.emplace(pair_key(l->second, r->second), BpeMerge{rank, lr->second});
    ++rank;
  }
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
    if (static_cast<size_t>(rank) < t.tokens.size() && !t.tokens[rank].empty())
      throw Error(fmt::format("tokenizer '{}' line {}: rank {} appears twice", path, line_no, rank));
    if (t.ids.count(bytes))
      throw Error(fmt::format("tokenizer '{}' line {}: the token appears twice", path, line_no));
    set_token(t, rank, bytes);
  }
  if (t.tokens.empty()) throw Error(fmt::format("tokenizer '{}' is empty", path));
  find_byte_ids(t, path);
  // The merge table: every split of a token into two tokens merges into it, at its rank.
  for (int id = 0; id < static_cast<int>(t.tokens.size()); ++id) {
    const std::string_view s = t.tokens[id];
    for (size_t k = 1; k < s.size(); ++k) {
      const auto l = t.ids.find(s.substr(0, k));
      if (l == t.ids.end()) continue;
      const auto r = t.ids.find(s.substr(k));
      if (r != t.ids.end()) t.merges.emplace(pair_key(l->second, r->second), BpeMerge{id, id});
    }
  }
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
    int rank, pos, left, right;
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
    const auto it = t.merges.find(pair_key(syms[pos].id, syms[next].id));
    if (it != t.merges.end()) heap.push({it->second.rank, pos, syms[pos].id, syms[next].id});
  }

  // Byte-pair merging of one split, lowest rank first, leftmost on ties.
  void merge_word(std::string_view w) {
    if (t.ignore_merges) {
      if (auto it = t.ids.find(w); it != t.ids.end()) return out.push_back(it->second);
    }
    syms.clear();
    for (size_t i = 0; i < w.size(); ++i)
      syms.push_back({t.byte_ids[static_cast<unsigned char>(w[i])], static_cast<int>(i) - 1,
                      i + 1 < w.size() ? static_cast<int>(i) + 1 : -1});
    for (int i = 0; i + 1 < static_cast<int>(syms.size()); ++i) push_candidate(i);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      Sym& left = syms[c.pos];
      if (left.id != c.left || left.next < 0 || syms[left.next].id != c.right) continue;  // stale
      const auto it = t.merges.find(pair_key(c.left, c.right));
      Sym& right = syms[left.next];
      left.id = it->second.id;
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

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

std::string nfc(std::string_view text) {
  if (is_ascii(text)) return std::string(text);
  utf8proc_uint8_t* dst = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &dst, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) throw Error(fmt::format("NFC normalisation failed: {}", utf8proc_errmsg(n)));
  std::string out(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  std::free(dst);
  return out;
}

void bpe_encode(const BpeTokenizer& t, std::string_view text, std::vector<int>& out) {
  std::string normalized;
  if (t.nfc && !is_ascii(text)) {
    normalized = nfc(text);
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
