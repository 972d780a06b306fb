#include "model/config.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "resa/resa.hpp"

namespace resa {

using json = nlohmann::json;

namespace {

json parse_json(const std::string& text, const std::string& where) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) throw Error(fmt::format("'{}' is not a JSON object", where));
    return j;
  } catch (const json::exception& e) {
    throw Error(fmt::format("'{}' is not valid JSON ({})", where, e.what()));
  }
}

int get_int(const json& j, const char* key, const std::string& where, int lo, int hi) {
  if (!j.contains(key) || !j[key].is_number_integer())
    throw Error(fmt::format("'{}': '{}' is missing or not an integer", where, key));
  const int64_t v = j[key].get<int64_t>();
  if (v < lo || v > hi) throw Error(fmt::format("'{}': '{}' = {} is outside [{}, {}]", where, key, v, lo, hi));
  return static_cast<int>(v);
}

double get_number(const json& j, const char* key, const std::string& where, double fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_number()) throw Error(fmt::format("'{}': '{}' is not a number", where, key));
  return j[key].get<double>();
}

// eos_token_id: an integer or a list of integers.
std::vector<int> get_ids(const json& v, const std::string& where) {
  std::vector<int> ids;
  if (v.is_number_integer()) ids.push_back(v.get<int>());
  else if (v.is_array())
    for (const json& e : v) {
      if (!e.is_number_integer()) throw Error(fmt::format("'{}': eos_token_id holds a non-integer", where));
      ids.push_back(e.get<int>());
    }
  else if (!v.is_null())
    throw Error(fmt::format("'{}': eos_token_id is neither an integer nor a list", where));
  return ids;
}

// transformers' _compute_yarn_parameters as of 4.5x: the explicit factor; the pre-YaRN context from
// original_max_position_embeddings, else max_position_embeddings; beta_fast / beta_slow 32 / 1 when absent or null;
// the attention factor given, else from mscale / mscale_all_dim when both are given, else 0.1 ln(factor) + 1.
void parse_yarn(const json& p, const std::string& where, int max_positions, RopeConfig& r) {
  if (!(r.factor >= 1)) throw Error(fmt::format("'{}': yarn RoPE needs factor >= 1, got {}", where, r.factor));
  const auto given = [&](const char* key) { return p.contains(key) && !p[key].is_null(); };
  r.original_max_positions = given("original_max_position_embeddings")
                                 ? get_int(p, "original_max_position_embeddings", where, 1, 1 << 24)
                                 : max_positions;
  r.beta_fast = given("beta_fast") ? static_cast<float>(get_number(p, "beta_fast", where, 32.0)) : 32.0f;
  r.beta_slow = given("beta_slow") ? static_cast<float>(get_number(p, "beta_slow", where, 1.0)) : 1.0f;
  if (!(r.beta_fast > 0) || !(r.beta_slow > 0))
    throw Error(fmt::format("'{}': yarn RoPE needs beta_fast and beta_slow > 0", where));
  if (given("truncate")) {
    if (!p["truncate"].is_boolean()) throw Error(fmt::format("'{}': yarn RoPE's truncate is not a boolean", where));
    r.truncate = p["truncate"].get<bool>();
  }
  const auto mscale = [&](double m) { return r.factor <= 1 ? 1.0 : 0.1 * m * std::log(r.factor) + 1.0; };
  if (given("attention_factor")) {
    r.attention_factor = static_cast<float>(get_number(p, "attention_factor", where, 1.0));
    if (!(r.attention_factor > 0))
      throw Error(fmt::format("'{}': yarn RoPE needs attention_factor > 0", where));
  } else if (given("mscale") && given("mscale_all_dim") && get_number(p, "mscale", where, 0) != 0 &&
             get_number(p, "mscale_all_dim", where, 0) != 0) {
    r.attention_factor = static_cast<float>(mscale(get_number(p, "mscale", where, 1)) /
                                            mscale(get_number(p, "mscale_all_dim", where, 1)));
  } else {
    r.attention_factor = static_cast<float>(mscale(1.0));
  }
}

void parse_rope(const json& j, const std::string& where, int max_positions, RopeConfig& r) {
  // transformers 5.x: rope_parameters {rope_theta, rope_type, ...}; 4.x: rope_theta and rope_scaling at top level
  // (rope_scaling may say "type" instead of "rope_type").
  const json* params = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) params = &j["rope_parameters"];
  else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) params = &j["rope_scaling"];
  r.theta = static_cast<float>(get_number(j, "rope_theta", where, 10000.0));
  if (!params) return;
  const json& p = *params;
  r.theta = static_cast<float>(get_number(p, "rope_theta", where, r.theta));
  std::string type = "default";
  if (p.contains("rope_type") && p["rope_type"].is_string()) type = p["rope_type"].get<std::string>();
  else if (p.contains("type") && p["type"].is_string()) type = p["type"].get<std::string>();
  r.type = type;
  if (type == "default") return;
  if (type != "linear" && type != "llama3" && type != "yarn")
    throw Error(fmt::format(
        "'{}': RoPE scaling '{}' is not supported (resa supports default, linear, llama3 and yarn)", where, type));
  r.factor = static_cast<float>(get_number(p, "factor", where, 1.0));
  if (!(r.factor > 0)) throw Error(fmt::format("'{}': RoPE factor must be > 0", where));
  if (type == "llama3") {
    r.low_freq_factor = static_cast<float>(get_number(p, "low_freq_factor", where, 1.0));
    r.high_freq_factor = static_cast<float>(get_number(p, "high_freq_factor", where, 4.0));
    r.original_max_positions = get_int(p, "original_max_position_embeddings", where, 1, 1 << 30);
    if (!(r.high_freq_factor > r.low_freq_factor))
      throw Error(fmt::format("'{}': llama3 RoPE needs high_freq_factor > low_freq_factor", where));
  }
  if (type == "yarn") parse_yarn(p, where, max_positions, r);
}

}  // namespace

ModelConfig parse_hf_config(const std::string& text, const std::string& where, const std::string& gen_text) {
  const json j = parse_json(text, where);
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    arch = j["architectures"][0].get<std::string>();
  if (arch != "LlamaForCausalLM" && arch != "Qwen2ForCausalLM")
    throw Error(fmt::format("'{}': unsupported architecture '{}' (resa runs LlamaForCausalLM and Qwen2ForCausalLM)",
                            where, arch.empty() ? "(none given)" : arch));
  ModelConfig c;
  c.architecture = arch;
  c.dim = get_int(j, "hidden_size", where, 1, 1 << 16);
  c.hidden_dim = get_int(j, "intermediate_size", where, 1, 1 << 18);
  c.n_layers = get_int(j, "num_hidden_layers", where, 1, 1 << 10);
  c.n_heads = get_int(j, "num_attention_heads", where, 1, 1 << 10);
  c.n_kv_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                     ? get_int(j, "num_key_value_heads", where, 1, c.n_heads)
                     : c.n_heads;
  if (c.n_heads % c.n_kv_heads != 0)
    throw Error(fmt::format("'{}': num_attention_heads {} is not a multiple of num_key_value_heads {}", where,
                            c.n_heads, c.n_kv_heads));
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.head_dim = get_int(j, "head_dim", where, 2, 1 << 12);
  } else {
    if (c.dim % c.n_heads != 0)
      throw Error(fmt::format("'{}': hidden_size {} is not a multiple of num_attention_heads {}", where, c.dim,
                              c.n_heads));
    c.head_dim = c.dim / c.n_heads;
    if (c.head_dim > 1 << 12)
      throw Error(fmt::format("'{}': head_dim {} is beyond resa's limit of 4096", where, c.head_dim));
  }
  if (c.head_dim % 2 != 0) throw Error(fmt::format("'{}': head_dim {} is odd", where, c.head_dim));
  c.vocab_size = get_int(j, "vocab_size", where, 1, 1 << 22);
  c.max_seq_len = get_int(j, "max_position_embeddings", where, 1, 1 << 24);
  c.norm_eps = static_cast<float>(get_number(j, "rms_norm_eps", where, 1e-6));
  if (j.contains("hidden_act") && j["hidden_act"] != "silu")
    throw Error(fmt::format("'{}': hidden_act {} is not supported (resa runs SwiGLU with silu)", where,
                            j["hidden_act"].dump()));
  if (j.value("use_sliding_window", false))
    throw Error(fmt::format("'{}': use_sliding_window is true; sliding-window attention is not supported", where));
  if (j.value("mlp_bias", false)) throw Error(fmt::format("'{}': mlp_bias is not supported", where));
  c.qkv_bias = arch == "Qwen2ForCausalLM" ? true : j.value("attention_bias", false);
  c.tied_embeddings = j.value("tie_word_embeddings", false);  // LlamaConfig and Qwen2Config default to untied
  c.rope.layout = RopeLayout::RotateHalf;
  parse_rope(j, where, c.max_seq_len, c.rope);
  // YaRN stretches the context the model was trained for by its factor (Qwen2.5's documented way past 32K keeps
  // max_position_embeddings at the pre-YaRN 32768 and adds rope_scaling): positions up to factor x the original are
  // what the scaling is for, as vLLM derives its max_model_len.
  if (c.rope.type == "yarn")
    c.max_seq_len = std::max(c.max_seq_len, static_cast<int>(std::min<double>(
                                                static_cast<double>(c.rope.factor) * c.rope.original_max_positions,
                                                1 << 24)));

  c.bos_id = j.contains("bos_token_id") && j["bos_token_id"].is_number_integer() ? j["bos_token_id"].get<int>() : -1;
  c.eos_ids = j.contains("eos_token_id") ? get_ids(j["eos_token_id"], where) : std::vector<int>{};
  if (!gen_text.empty()) {
    const json g = parse_json(gen_text, "generation_config.json");
    if (g.contains("eos_token_id")) {
      std::vector<int> ids = get_ids(g["eos_token_id"], "generation_config.json");
      if (!ids.empty()) c.eos_ids = ids;
    }
  }
  for (int id : c.eos_ids)
    if (id < 0 || id >= c.vocab_size)
      throw Error(fmt::format("'{}': eos_token_id {} is outside the vocabulary", where, id));
  return c;
}

std::vector<float> rope_inv_freq(const ModelConfig& c) {
  const int half = c.head_dim / 2;
  std::vector<float> f(half);
  for (int i = 0; i < half; ++i)
    f[i] = 1.0f / std::pow(c.rope.theta, static_cast<float>(2 * i) / static_cast<float>(c.head_dim));
  const RopeConfig& r = c.rope;
  if (!r.freq_factors.empty()) {  // a GGUF file's rope_freqs: each frequency divided by its factor
    for (int i = 0; i < half; ++i) f[i] /= r.freq_factors[i];
    return f;
  }
  if (r.type == "linear") {
    for (float& x : f) x /= r.factor;
  } else if (r.type == "llama3") {
    const float pi = 3.14159265358979323846f;
    const float old_len = static_cast<float>(r.original_max_positions);
    const float low_freq_wavelen = old_len / r.low_freq_factor;
    const float high_freq_wavelen = old_len / r.high_freq_factor;
    for (float& x : f) {
      const float wavelen = 2.0f * pi / x;
      if (wavelen > low_freq_wavelen) {
        x /= r.factor;  // low frequencies: fully scaled
      } else if (wavelen >= high_freq_wavelen) {
        // medium: interpolate between scaled and unscaled
        const float smooth = (old_len / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        x = (1.0f - smooth) * x / r.factor + smooth * x;
      }  // high frequencies: unchanged
    }
  } else if (r.type == "yarn") {
    // Dimensions that turn fewer than beta_slow times over the original context are interpolated (divided by the
    // factor), those that turn more than beta_fast times are kept (extrapolated), a linear ramp in between.
    const double pi = 3.14159265358979323846, dim = c.head_dim;
    const auto correction_dim = [&](double rotations) {
      return dim * std::log(r.original_max_positions / (rotations * 2 * pi)) / (2 * std::log(double{r.theta}));
    };
    double low = correction_dim(r.beta_fast), high = correction_dim(r.beta_slow);
    if (r.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, dim - 1);
    if (low == high) high += 0.001;  // as transformers: no zero-width ramp
    for (int i = 0; i < half; ++i) {
      const float ramp = std::clamp((static_cast<float>(i) - static_cast<float>(low)) /
                                        static_cast<float>(high - low), 0.0f, 1.0f);
      const float extrapolation = 1.0f - ramp;
      f[i] = f[i] / r.factor * (1.0f - extrapolation) + f[i] * extrapolation;
    }
  }
  return f;
}

}  // namespace resa
