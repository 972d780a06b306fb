// resa-bench-tokenizer: how fast the tokenizers load and encode (Google Benchmark; run on one core).
//   BM_load/<family>     reading the tokenizer file(s): Qwen2.5's 7 MB tokenizer.json, Llama 3's tiktoken file,
//                        Llama 2's SentencePiece model
//   BM_encode/<family>   encoding ~1 MB of mixed text, bytes_per_second the figure to read: a third code (resa's own
//                        sources), a third English prose (its README and test story), a third CJK (a fixed-seed
//                        stream of common Chinese characters and Japanese kana in clauses with CJK punctuation)
// Usage: resa-bench-tokenizer [--benchmark_filter=...]   (the tokenizers are read from the source tree)
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>

#include "tokenizer/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;

const char* const kFamilies[] = {"qwen2/tokenizer.json", "llama3/tokenizer.model", "llama2/tokenizer.model"};

std::string tokenizer_path(int family) {
  return std::string(RESA_SOURCE_DIR) + "/tests/data/tokenizers/" + kFamilies[family];
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// ~1 MB: code, English, CJK, a third each, in 4 KB slices interleaved.
const std::string& mixed_text() {
  static const std::string text = [] {
    const size_t third = 350 * 1024;
    std::string code, english, cjk;
    const fs::path root(RESA_SOURCE_DIR);
    for (const char* dir : {"lib", "simd", "apps", "include"})
      for (const auto& e : fs::recursive_directory_iterator(root / dir))
        if (e.is_regular_file()) code += slurp(e.path());
    for (const char* f : {"README.md", "tests/data/tinystory.txt", "bench/configs/README.md"})
      english += slurp(root / f) + "\n";
    std::mt19937 rng(2024);
    std::uniform_int_distribution<int> han(0x4E00, 0x62FF), kana(0x3041, 0x3093), clause(4, 18), kind(0, 3);
    const char32_t punct[] = {0x3001, 0x3002, 0xFF0C, 0xFF1F, 0x300C, 0x300D};
    while (cjk.size() < third) {
      for (int n = clause(rng); n > 0; --n) append_utf8(cjk, kind(rng) == 0 ? kana(rng) : han(rng));
      append_utf8(cjk, punct[rng() % 6]);
      if (rng() % 8 == 0) cjk += "\n";
    }
    auto cycle = [&](const std::string& s) {
      std::string out;
      while (out.size() < third) out += s;
      out.resize(third);
      return out;
    };
    code = cycle(code);
    english = cycle(english);
    for (std::string* s : {&code, &english})  // the cut may split a character
      while (!s->empty() && (static_cast<unsigned char>(s->back()) & 0x80)) s->pop_back();
    std::string all;
    const size_t slice = 4096;
    size_t at[3] = {0, 0, 0};
    const std::string* parts[3] = {&code, &english, &cjk};
    for (bool more = true; more;) {
      more = false;
      for (int p = 0; p < 3; ++p) {
        const std::string& s = *parts[p];
        size_t end = std::min(at[p] + slice, s.size());
        while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;  // a character boundary
        all.append(s, at[p], end - at[p]);
        at[p] = end;
        more = more || end < s.size();
      }
    }
    return all;
  }();
  return text;
}

void BM_load(benchmark::State& state) {
  const std::string path = tokenizer_path(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(resa::load_tokenizer(path));
  state.SetLabel(kFamilies[state.range(0)]);
}

void BM_encode(benchmark::State& state) {
  const resa::Tokenizer tok = resa::load_tokenizer(tokenizer_path(static_cast<int>(state.range(0))));
  const std::string& text = mixed_text();
  size_t tokens = 0;
  for (auto _ : state) {
    const std::vector<int> ids = resa::encode(tok, text, false);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
  state.counters["tokens"] = static_cast<double>(tokens);
  state.SetLabel(kFamilies[state.range(0)]);
}

BENCHMARK(BM_load)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_encode)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
