// A small GGUF writer for the tests (the format of lib/model/gguf.hpp, written from the spec, not from resa's
// reader): metadata of the types resa reads, tensors in F32 or Q8_0, and gguf_from_hf(), which converts a tiny
// Hugging Face checkpoint the way llama.cpp's convert_hf_to_gguf.py does (names, dims innermost first, a Llama
// model's Q and K rows permuted for adjacent-pair RoPE, Llama 3's RoPE scaling as rope_freqs.weight).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>

#include "model/model.hpp"
#include "resa/resa.hpp"
#include "simd/quant.hpp"

namespace resa::test {

struct GgufWriter {
  std::string kv;  // the serialized key/values
  uint64_t n_kv = 0;
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::string data;
  };
  std::vector<Tensor> tensors;
  uint32_t version = 3;

  template <class T>
  static void put(std::string& s, T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  static void put_str(std::string& s, const std::string& v) {
    put<uint64_t>(s, v.size());
    s += v;
  }
  void key(const std::string& k, uint32_t type) {
    put_str(kv, k);
    put<uint32_t>(kv, type);
    ++n_kv;
  }
  void u32(const std::string& k, uint32_t v) { key(k, 4), put<uint32_t>(kv, v); }
  void f32(const std::string& k, float v) { key(k, 6), put<float>(kv, v); }
  void f64(const std::string& k, double v) { key(k, 12), put<double>(kv, v); }
  void str(const std::string& k, const std::string& v) { key(k, 8), put_str(kv, v); }
  void str_array(const std::string& k, const std::vector<std::string>& v) {
    key(k, 9);
    put<uint32_t>(kv, 8);
    put<uint64_t>(kv, v.size());
    for (const std::string& e : v) put_str(kv, e);
  }
  template <class T>
  void num_array(const std::string& k, uint32_t elem_type, const std::vector<T>& v) {
    key(k, 9);
    put<uint32_t>(kv, elem_type);
    put<uint64_t>(kv, v.size());
    for (T e : v) put<T>(kv, e);
  }
  void i32_array(const std::string& k, const std::vector<int32_t>& v) { num_array(k, 5, v); }
  void f32_array(const std::string& k, const std::vector<float>& v) { num_array(k, 6, v); }
  void tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, std::string data) {
    tensors.push_back({name, std::move(dims), type, std::move(data)});
  }
  // rows x cols f32 values (row-major) as F32 (type 0) or Q8_0 (type 8; F32 when the rows are not whole blocks, as
  // llama.cpp's quantizer falls back too).
  void matrix(const std::string& name, const std::vector<float>& v, int64_t rows, int64_t cols, uint32_t type) {
    if (cols % 32 != 0) type = 0;
    std::string d;
    if (type == 8) {
      d.resize(static_cast<size_t>(rows * cols / 32 * 34));
      simd::quantize_q8_0(reinterpret_cast<simd::BlockQ8_0*>(d.data()), v.data(), rows * cols);
    } else {
      d.assign(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    }
    tensor(name, {static_cast<uint64_t>(cols), static_cast<uint64_t>(rows)}, type, std::move(d));
  }
  void vector(const std::string& name, const std::vector<float>& v) {
    tensor(name, {v.size()}, 0, std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  }

  std::string bytes(uint64_t alignment = 32) const {
    std::string s;
    put<uint32_t>(s, 0x46554747);
    put<uint32_t>(s, version);
    put<uint64_t>(s, tensors.size());
    put<uint64_t>(s, n_kv);
    s += kv;
    uint64_t offset = 0;
    for (const Tensor& t : tensors) {
      put_str(s, t.name);
      put<uint32_t>(s, static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) put<uint64_t>(s, d);
      put<uint32_t>(s, t.type);
      put<uint64_t>(s, offset);
      offset += (t.data.size() + alignment - 1) / alignment * alignment;
    }
    s.resize((s.size() + alignment - 1) / alignment * alignment, '\0');
    for (const Tensor& t : tensors) {
      s += t.data;
      s.resize((s.size() + alignment - 1) / alignment * alignment, '\0');
    }
    return s;
  }
};

// Row r of a loaded matrix as f32.
inline std::vector<float> rows_f32(const Mat& m) {
  std::vector<float> out(static_cast<size_t>(m.rows * m.cols));
  for (int64_t r = 0; r < m.rows; ++r) row_to_f32(out.data() + r * m.cols, m, r);
  return out;
}

// Q or K rows of n_heads heads of hd rows each, reordered as llama.cpp's converter permutes them for a Llama model:
// new row h * hd + 2 j + s = old row h * hd + s * hd / 2 + j.
inline std::vector<float> permute_rows(const std::vector<float>& w, int n_heads, int hd, int64_t cols) {
  std::vector<float> out(w.size());
  for (int h = 0; h < n_heads; ++h)
    for (int j = 0; j < hd / 2; ++j)
      for (int s = 0; s < 2; ++s)
        std::memcpy(&out[static_cast<size_t>((h * hd + 2 * j + s) * cols)],
                    &w[static_cast<size_t>((h * hd + s * hd / 2 + j) * cols)], static_cast<size_t>(cols) * 4);
  return out;
}

// The tokenizer of a byte-level BPE tokenizer.json as GGUF metadata (as llama.cpp's converter writes it:
// tokenizer.ggml.model "gpt2", the vocabulary by id in the byte-level alphabet, added tokens as control tokens
// (type 3), the merges as "a b", the pre-tokenizer's name) and the given BOS/EOS and chat template; and a GGUF
// holding only that.
inline void add_tokenizer_from_json(GgufWriter& g, const std::string& json_text, const std::string& pre, int bos,
                                    int eos, const std::string& chat_template) {
  const nlohmann::json j = nlohmann::json::parse(json_text);
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  auto put = [&](int id, const std::string& text, int type) {
    if (static_cast<size_t>(id) >= tokens.size()) {
      tokens.resize(id + 1);
      types.resize(id + 1, 5);  // unused until given
    }
    tokens[id] = text;
    types[id] = type;
  };
  for (const auto& [text, id] : j["model"]["vocab"].items()) put(id.get<int>(), text, 1);
  for (const auto& a : j["added_tokens"]) put(a["id"].get<int>(), a["content"].get<std::string>(), 3);
  for (size_t id = 0; id < tokens.size(); ++id)
    if (tokens[id].empty()) tokens[id] = "[PAD" + std::to_string(id) + "]";
  std::vector<std::string> merges;
  for (const auto& m : j["model"]["merges"])
    merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
  g.str("tokenizer.ggml.model", "gpt2");
  g.str("tokenizer.ggml.pre", pre);
  g.str_array("tokenizer.ggml.tokens", tokens);
  g.i32_array("tokenizer.ggml.token_type", types);
  g.str_array("tokenizer.ggml.merges", merges);
  if (bos >= 0) g.u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos));
  if (eos >= 0) g.u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
  if (!chat_template.empty()) g.str("tokenizer.chat_template", chat_template);
}
inline std::string gguf_tokenizer_from_json(const std::string& json_text, const std::string& pre, int bos, int eos,
                                            const std::string& chat_template) {
  GgufWriter g;
  g.str("general.architecture", "qwen2");
  add_tokenizer_from_json(g, json_text, pre, bos, eos, chat_template);
  return g.bytes();
}

// GPT-2's byte-to-unicode alphabet (the printable bytes as themselves, the others as U+0100 on), as UTF-8.
inline std::string byte_level(const std::string& bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    unsigned cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
      unsigned n = 0;  // the rank of b among the bytes mapped away
      for (unsigned c = 0; c < b; ++c)
        if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174)) ++n;
      cp = 256 + n;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      out += static_cast<char>(0xc0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return out;
}

// A GGUF holding only the tokenizer of Llama 3's tiktoken tokenizer.model as a byte-level BPE (tokenizer.ggml.pre
// "llama-bpe"), the merges derived from the ranks as transformers' TikTokenConverter derives them: for each token,
// every split into two tokens whose ranks order them, all sorted by the merged token's rank.
inline std::string gguf_tokenizer_from_tiktoken(const std::string& text) {
  auto b64 = [](const std::string& s) {
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
      int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '+' ? 62 : c == '/' ? 63 : -1;
      if (v < 0) continue;
      acc = acc << 6 | static_cast<uint32_t>(v);
      if ((bits += 6) >= 8) out += static_cast<char>(acc >> (bits -= 8) & 0xff);
    }
    return out;
  };
  std::vector<std::string> tokens;
  std::map<std::string, int> rank;
  size_t at = 0;
  while (at < text.size()) {
    const size_t eol = std::min(text.find('\n', at), text.size()), space = text.find(' ', at);
    if (space < eol) {
      const std::string bytes = b64(text.substr(at, space - at));
      const int r = std::stoi(text.substr(space + 1, eol - space - 1));
      if (static_cast<size_t>(r) >= tokens.size()) tokens.resize(r + 1);
      tokens[r] = bytes;
      rank[bytes] = r;
    }
    at = eol + 1;
  }
  struct Merge {
    int left, right, merged;
  };
  std::vector<Merge> merges;
  for (size_t r = 0; r < tokens.size(); ++r) {
    const std::string& t = tokens[r];
    std::vector<Merge> local;
    for (size_t i = 1; i < t.size(); ++i) {
      auto l = rank.find(t.substr(0, i)), rr = rank.find(t.substr(i));
      if (l != rank.end() && rr != rank.end()) local.push_back({l->second, rr->second, static_cast<int>(r)});
    }
    std::sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
      return a.left != b.left ? a.left < b.left : a.right < b.right;
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.merged < b.merged; });
  std::vector<std::string> names, merge_text;
  for (const std::string& t : tokens) names.push_back(byte_level(t));
  for (const Merge& m : merges) merge_text.push_back(names[m.left] + " " + names[m.right]);
  GgufWriter g;
  g.str("general.architecture", "llama");
  g.str("tokenizer.ggml.model", "gpt2");
  g.str("tokenizer.ggml.pre", "llama-bpe");
  g.str_array("tokenizer.ggml.tokens", names);
  g.str_array("tokenizer.ggml.merges", merge_text);
  return g.bytes();
}

// A GGUF holding only the tokenizer of a SentencePiece tokenizer.model, as llama.cpp's converter writes it
// (tokenizer.ggml.model "llama": every piece with its score and type, the unknown/BOS/EOS ids).
inline std::string gguf_tokenizer_from_spm(const std::string& model_path) {
  sentencepiece::SentencePieceProcessor sp;
  if (!sp.Load(model_path).ok()) return "";
  std::vector<std::string> pieces;
  GgufWriter g;
  g.str("general.architecture", "llama");
  g.str("tokenizer.ggml.model", "llama");
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    pieces.push_back(sp.IdToPiece(id));
    scores.push_back(sp.GetScore(id));
    types.push_back(sp.IsUnknown(id) ? 2 : sp.IsControl(id) ? 3 : sp.IsUnused(id) ? 5 : sp.IsByte(id) ? 6 : 1);
  }
  g.str_array("tokenizer.ggml.tokens", pieces);
  g.f32_array("tokenizer.ggml.scores", scores);
  g.i32_array("tokenizer.ggml.token_type", types);
  g.u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(sp.unk_id()));
  g.u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(sp.bos_id()));
  g.u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(sp.eos_id()));
  return g.bytes();
}

// The GGUF a converter would write for the Hugging Face checkpoint in dir (matrices as `type`: 0 F32, 8 Q8_0).
inline std::string gguf_from_hf(const std::string& dir, uint32_t type) {
  const Model model = load_model(dir, "", {WeightLoad::Mmap});
  const ModelData& m = *model.data;
  const ModelConfig& c = m.config;
  const bool llama = c.architecture == "LlamaForCausalLM";
  const std::string a = llama ? "llama" : "qwen2";
  GgufWriter g;
  g.str("general.architecture", a);
  g.str("general.name", "tiny test model");
  g.u32(a + ".context_length", static_cast<uint32_t>(c.max_seq_len));
  g.u32(a + ".embedding_length", static_cast<uint32_t>(c.dim));
  g.u32(a + ".block_count", static_cast<uint32_t>(c.n_layers));
  g.u32(a + ".feed_forward_length", static_cast<uint32_t>(c.hidden_dim));
  g.u32(a + ".attention.head_count", static_cast<uint32_t>(c.n_heads));
  g.u32(a + ".attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  g.u32(a + ".attention.key_length", static_cast<uint32_t>(c.head_dim));
  g.u32(a + ".attention.value_length", static_cast<uint32_t>(c.head_dim));
  g.f32(a + ".attention.layer_norm_rms_epsilon", c.norm_eps);
  g.f32(a + ".rope.freq_base", c.rope.theta);
  if (c.bos_id >= 0) g.u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_id));
  if (!c.eos_ids.empty()) g.u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_ids[0]));

  const Weights& w = m.weights;
  auto vec = [](const float* p, int64_t n) { return std::vector<float>(p, p + n); };
  g.matrix("token_embd.weight", rows_f32(w.token_embedding), c.vocab_size, c.dim, type);
  if (c.rope.type == "llama3") {  // convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors
    const double pi = 3.14159265358979323846;
    const double low_wavelen = c.rope.original_max_positions / c.rope.low_freq_factor;
    const double high_wavelen = c.rope.original_max_positions / c.rope.high_freq_factor;
    std::vector<float> factors;
    for (int i = 0; i < c.head_dim / 2; ++i) {
      const double freq = 1.0 / std::pow(static_cast<double>(c.rope.theta), 2.0 * i / c.head_dim);
      const double wavelen = 2 * pi / freq;
      if (wavelen < high_wavelen) {
        factors.push_back(1.0f);
      } else if (wavelen > low_wavelen) {
        factors.push_back(c.rope.factor);
      } else {
        const double smooth = (c.rope.original_max_positions / wavelen - c.rope.low_freq_factor) /
                              (c.rope.high_freq_factor - c.rope.low_freq_factor);
        factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / c.rope.factor + smooth)));
      }
    }
    g.vector("rope_freqs.weight", factors);
  }
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    g.vector(p + "attn_norm.weight", vec(lw.attn_norm, c.dim));
    std::vector<float> q = rows_f32(lw.wq), k = rows_f32(lw.wk);
    if (llama) {
      q = permute_rows(q, c.n_heads, c.head_dim, c.dim);
      k = permute_rows(k, c.n_kv_heads, c.head_dim, c.dim);
    }
    g.matrix(p + "attn_q.weight", q, c.q_dim(), c.dim, type);
    g.matrix(p + "attn_k.weight", k, c.kv_dim(), c.dim, type);
    g.matrix(p + "attn_v.weight", rows_f32(lw.wv), c.kv_dim(), c.dim, type);
    if (c.qkv_bias) {
      g.vector(p + "attn_q.bias", vec(lw.bq, c.q_dim()));
      g.vector(p + "attn_k.bias", vec(lw.bk, c.kv_dim()));
      g.vector(p + "attn_v.bias", vec(lw.bv, c.kv_dim()));
    }
    g.matrix(p + "attn_output.weight", rows_f32(lw.wo), c.dim, c.q_dim(), type);
    g.vector(p + "ffn_norm.weight", vec(lw.ffn_norm, c.dim));
    g.matrix(p + "ffn_gate.weight", rows_f32(lw.w_gate), c.hidden_dim, c.dim, type);
    g.matrix(p + "ffn_up.weight", rows_f32(lw.w_up), c.hidden_dim, c.dim, type);
    g.matrix(p + "ffn_down.weight", rows_f32(lw.w_down), c.dim, c.hidden_dim, type);
  }
  g.vector("output_norm.weight", vec(w.final_norm, c.dim));
  if (!c.tied_embeddings) g.matrix("output.weight", rows_f32(w.lm_head), c.vocab_size, c.dim, type);
  return g.bytes();
}

}  // namespace resa::test
