// resa bench: prompt processing and generation at depth, per attention policy, in llama-bench's spelling (-m -p -n -d
// -t -r -o), as shares of the machine's read bandwidth and compute peak measured at start (include/resa/bench.hpp).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "resa/bench.hpp"
#include "resa/resa.hpp"
#include "resa_commit.hpp"

namespace resa::cli {

namespace {

struct BenchArgs {
  LoadOptions load;
  std::string model;
  std::string synthetic;
  std::string depths = "0";
  std::string policies = "dense,resa";
  std::string output = "md";
  std::string plot;
  BenchFill fill = BenchFill::Auto;
  BenchOptions opt;
};

// "0,4096,16k" -> {0, 4096, 16384}: a k suffix multiplies by 1024.
std::vector<int> parse_depths(const std::string& text) {
  std::vector<int> out;
  for (const std::string& item : split_list(text)) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    long long scale = 1;
    if (used > 0 && used + 1 == item.size() && (item[used] == 'k' || item[used] == 'K')) scale = 1024, ++used;
    if (used != item.size() || used == 0) throw Error(fmt::format("-d: '{}' is not a depth (e.g. 0,4096,16k)", item));
    if (v < 0) throw Error(fmt::format("-d: a depth must be >= 0, got {}", item));
    if (v * scale > (1 << 30)) throw Error(fmt::format("-d: the depth {} is too large", item));
    out.push_back(static_cast<int>(v * scale));
  }
  if (out.empty()) throw Error("-d: no depth given");
  return out;
}

std::vector<Attention> parse_policies(const std::string& text) {
  std::vector<Attention> out;
  for (const std::string& item : split_list(text)) {
    const auto it = attention_policies().find(CLI::detail::to_lower(item));
    if (it == attention_policies().end())
      throw Error(fmt::format("--attn: '{}' is not one of dense, sparse, resa", item));
    out.push_back(it->second);
  }
  if (out.empty()) throw Error("--attn: no policy given");
  return out;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::string dirs = path;
  for (size_t start = 0; start <= dirs.size();) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::filesystem::path p = std::filesystem::path(dirs.substr(start, end - start)) / program;
    if (access(p.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Three significant digits or so, never in exponent form: 1234, 123, 12.3, 1.23, 0.123, 0.0123.
std::string short_num(double v) {
  if (std::isnan(v)) return "-";
  const double a = std::abs(v);
  return fmt::format("{:.{}f}", v, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.1 ? 3 : 4);
}

nlohmann::json num_json(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

struct Context {
  std::string model;
  std::string weights;
  int64_t parameters = 0, weight_bytes = 0;
  bool synthetic = false;
  int max_positions = 0;
  BenchMachine machine;
  std::string commit = RESA_COMMIT;
  std::string kv;
  std::string products;  // what pp's and the rectify pass's weight products run on
  std::string load;       // "copy", "mmap" or "synthetic"
  AttentionOptions prefill;  // how the cache is filled (prefill and LagKV's knobs)
};

std::string prefill_description(const AttentionOptions& o) {
  if (o.prefill == Prefill::Dense) return "dense";
  return fmt::format("lagkv, sink {}, partitions of {}, ratio {} (pp from an empty cache; tg repetitions continue)",
                     o.lag_sink, o.lag_size, o.lag_ratio);
}

std::string header(const Context& x, const BenchArgs& a) {
  const BenchMachine& mc = x.machine;
  const AttentionOptions& o = a.opt.attention;
  std::string s;
  const double params = static_cast<double>(x.parameters);
  const std::string count = params >= 1e9   ? fmt::format("{:.2f} B", params / 1e9)
                            : params >= 1e6 ? fmt::format("{:.2f} M", params / 1e6)
                                            : fmt::format("{:.0f}", params);
  s += fmt::format("model: {}{}, {} parameters, {} weights ({}), {:.2f} GB\n", x.model,
                   x.synthetic ? fmt::format(" (synthetic: random weights; depths beyond its {} positions allowed)",
                                             x.max_positions)
                               : "",
                   count, x.weights,
                   x.load == "mmap" ? "mapped from the file (--load mmap)" : "in 2 MiB pages, placed by their readers",
                   x.weight_bytes / 1e9);
  s += fmt::format("machine: {}; kernels {}; {} threads; BLAS {} (core {})\n", mc.cpu, mc.isa, mc.threads, mc.blas,
                   mc.blas_core);
  s += fmt::format("limits: read bandwidth {:.1f} GB/s at start (tg shares are of the bandwidth measured around each "
                   "test: bw); f32 FMA peak {:.0f} GFLOP/s; bf16 dot peak {}; pp shares are of the {} peak\n",
                   mc.read_gb_per_s, mc.fma_gflops,
                   mc.bf16_gflops > 0 ? fmt::format("{:.0f} GFLOP/s", mc.bf16_gflops) : std::string("none"),
                   mc.bf16_gflops > 0 ? "bf16" : "f32");
  s += fmt::format("prefill products: {}\n", x.products);
  s += fmt::format("run: resa {}; KV {}; chunk {} rows; fill {}; {} repetitions; sparse ratio {}, block {}, min blocks {}, local {}, "
                   "sink {}, rectify every {}\n",
                   x.commit, x.kv, a.opt.ubatch,
                   a.fill == BenchFill::Auto       ? "auto (prefill up to 4096, synthetic beyond)"
                   : a.fill == BenchFill::Prefill ? "prefill"
                                                   : "synthetic",
                   a.opt.repetitions, o.sparse_ratio, o.block_size, o.min_blocks, o.local_blocks, o.sink_blocks,
                   o.rectify_every);
  s += fmt::format("prefill: {}\n", prefill_description(o));
  return s;
}

void print_md(const Context& x, const BenchArgs& a, const std::vector<BenchRow>& rows) {
  fmt::print("{}\n", header(x, a));
  fmt::print("| test | depth | attn | fill | t/s | ms/tok | GB/tok | GB/s | bw | % bw | GFLOP/s | % peak | "
             "ms: matmul / attn / select / rectify / rest | KV held |\n");
  fmt::print("|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  for (const BenchRow& r : rows) {
    const std::string split = fmt::format("{} / {} / {} / {} / {}", short_num(r.ms_matmul), short_num(r.ms_attention),
                                          short_num(r.ms_select), short_num(r.ms_rectify), short_num(r.ms_rest));
    fmt::print("| {} | {} | {} | {} | {:.2f} ± {:.2f} | {} | {} | {} | {} | {} | {} | {} | {} | {} MB, {} tok |\n",
               r.test, r.depth, attention_name(r.attn), r.fill, r.tokens_per_s, r.tokens_per_s_sd,
               short_num(r.ms_per_token), short_num(r.bytes_per_token / 1e9), num(r.achieved_gb_per_s, "{:.1f}"),
               r.generation ? fmt::format("{:.1f}", r.bandwidth_gb_per_s) : std::string("-"),
               num(100 * r.bandwidth_share, "{:.0f}"), num(r.gflops, "{:.1f}"), num(100 * r.peak_share, "{:.1f}"),
               split, short_num(r.kv_bytes / 1e6), r.kv_tokens);
  }
}

nlohmann::json row_json(const Context& x, const BenchRow& r) {
  nlohmann::json j;
  j["test"] = r.test;
  j["depth"] = r.depth;
  j["attn"] = attention_name(r.attn);
  j["fill"] = r.fill;
  j["threads"] = x.machine.threads;
  j["model"] = x.model;
  j["synthetic"] = x.synthetic;
  j["weights"] = x.weights;
  j["load"] = x.load;
  j["kv_type"] = x.kv;
  j["prefill_products"] = x.products;
  j["isa"] = x.machine.isa;
  j["cpu"] = x.machine.cpu;
  j["blas_core"] = x.machine.blas_core;
  j["commit"] = x.commit;
  j["tokens_per_s"] = r.tokens_per_s;
  j["tokens_per_s_sd"] = r.tokens_per_s_sd;
  j["ms_per_token"] = r.ms_per_token;
  j["bytes_per_token"] = num_json(r.bytes_per_token);
  j["achieved_gb_per_s"] = num_json(r.achieved_gb_per_s);
  j["bandwidth_gb_per_s"] = r.bandwidth_gb_per_s;
  j["bandwidth_share"] = num_json(r.bandwidth_share);
  j["gflops"] = num_json(r.gflops);
  j["peak_gflops"] = r.generation ? nlohmann::json(nullptr) : nlohmann::json(x.machine.peak_gflops());
  j["peak_share"] = num_json(r.peak_share);
  j["ms_matmul"] = num_json(r.ms_matmul);
  j["ms_attention"] = num_json(r.ms_attention);
  j["ms_select"] = num_json(r.ms_select);
  j["ms_rectify"] = num_json(r.ms_rectify);
  j["ms_rest"] = num_json(r.ms_rest);
  j["rectify_passes"] = num_json(r.rectify_passes);
  j["rectify_skipped"] = num_json(r.rectify_skipped);
  j["prefill"] = prefill_name(x.prefill.prefill);
  j["lag_sink"] = x.prefill.lag_sink;
  j["lag_size"] = x.prefill.lag_size;
  j["lag_ratio"] = x.prefill.lag_ratio;
  j["kv_tokens"] = r.kv_tokens;
  j["kv_bytes"] = r.kv_bytes;
  return j;
}

void print_json(const Context& x, const std::vector<BenchRow>& rows) {
  nlohmann::json all = nlohmann::json::array();
  for (const BenchRow& r : rows) all.push_back(row_json(x, r));
  fmt::print("{}\n", all.dump(2));
}

void print_csv(const Context& x, const std::vector<BenchRow>& rows) {
  const char* keys[] = {"test", "depth", "attn", "fill", "threads", "weights", "kv_type", "isa", "tokens_per_s",
                        "tokens_per_s_sd", "ms_per_token", "bytes_per_token", "achieved_gb_per_s",
                        "bandwidth_gb_per_s", "bandwidth_share", "gflops", "peak_gflops", "peak_share", "ms_matmul",
                        "ms_attention", "ms_select", "ms_rectify", "ms_rest", "rectify_passes", "rectify_skipped",
                        "prefill", "lag_ratio", "kv_tokens", "kv_bytes"};
  std::string line;
  for (const char* k : keys) line += (line.empty() ? "" : ",") + std::string(k);
  fmt::print("{}\n", line);
  for (const BenchRow& r : rows) {
    const nlohmann::json j = row_json(x, r);
    line.clear();
    for (const char* k : keys) {
      const nlohmann::json& v = j[k];
      line += line.empty() && k == keys[0] ? "" : ",";
      line += v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump();
    }
    fmt::print("{}\n", line);
  }
}

// tg tokens/s against depth, one line per policy, through gnuplot.
void plot(const std::string& file, const Context& x, const BenchArgs& a, const std::vector<BenchRow>& rows) {
  std::string script = fmt::format(
      "set terminal svg size 800,500 dynamic enhanced font 'sans,12'\nset output '{}'\n"
      "set title 'resa bench: tg{} tokens/s by depth ({}, {}, {} threads)' noenhanced\n"
      "set xlabel 'depth (tokens in the KV cache)'\nset ylabel 'tokens/s'\nset grid\nset key top right\n"
      "set yrange [0:*]\n",
      file, a.opt.n_gen, x.model, x.machine.cpu, x.machine.threads);
  std::string plots;
  for (Attention p : a.opt.policies) {
    std::string data;
    for (const BenchRow& r : rows)
      if (r.generation && r.attn == p) data += fmt::format("{} {} {}\n", r.depth, r.tokens_per_s, r.tokens_per_s_sd);
    if (data.empty()) continue;
    script += fmt::format("${} << EOD\n{}EOD\n", attention_name(p), data);
    plots += fmt::format("{}${} using 1:2:3 with yerrorlines title '{}'", plots.empty() ? "plot " : ", ",
                         attention_name(p), attention_name(p));
  }
  if (plots.empty()) throw Error("--plot draws tg rows: give -n > 0");
  script += plots + "\n";
  FILE* gp = popen("gnuplot", "w");
  if (!gp) throw Error("--plot: cannot start gnuplot");
  std::fwrite(script.data(), 1, script.size(), gp);
  if (pclose(gp) != 0) throw Error(fmt::format("--plot: gnuplot could not write '{}'", file));
}

int run_bench_command(BenchArgs& a) {
  if (a.output != "md" && a.output != "json" && a.output != "csv")
    throw Error(fmt::format("-o: '{}' is not one of md, json, csv", a.output));
  if (!a.plot.empty() && !on_path("gnuplot"))
    throw Error("--plot needs gnuplot: install it with `sudo apt-get install gnuplot-nox`");
  a.opt.depths = parse_depths(a.depths);
  a.opt.policies = parse_policies(a.policies);
  a.opt.fill = a.fill;
  const bool tty = isatty(STDERR_FILENO);
  if (tty)
    a.opt.progress = [](const std::string& what) {
      fmt::print(stderr, "\r\033[Kresa bench: {}", what);
      std::fflush(stderr);
    };

  Context x;
  Model model;
  if (!a.synthetic.empty()) {
    if (tty) a.opt.progress(fmt::format("making random weights at the shape of {}", a.synthetic));
    model = synthetic_model(a.synthetic, a.opt.seed, a.opt.threads, a.load.type);
    x.synthetic = true;
    x.model = std::filesystem::path(a.synthetic).filename().string();
  } else {
    model = load_model(a.model.empty() ? default_model_path() : a.model, "", with_threads(a.load, a.opt.threads));
    x.model = a.model.empty() ? "stories260K (shipped)" : a.model;
  }
  x.load = x.synthetic ? "synthetic" : weight_load_name(a.load.weights);
  const ModelInfo info = model_info(model);
  x.weights = info.weight_dtypes;
  x.parameters = info.parameters;
  x.weight_bytes = info.weight_bytes;
  x.max_positions = info.max_seq_len;
  x.kv = a.opt.kv_type == KvType::F32 ? "f32" : "bf16";
  x.products = prefill_products(model, a.opt.kv_type);
  x.prefill = a.opt.attention;
  check_bench_options(model, a.opt);
  if (tty) a.opt.progress("measuring the read bandwidth and compute peaks");
  x.machine = measure_machine(a.opt.threads);
  const std::vector<BenchRow> rows = run_bench(model, a.opt, x.machine);
  if (tty) fmt::print(stderr, "\r\033[K");

  if (a.output == "md") print_md(x, a, rows);
  else {
    fmt::print(stderr, "{}", header(x, a));
    if (a.output == "json") print_json(x, rows);
    else print_csv(x, rows);
  }
  if (!a.plot.empty()) plot(a.plot, x, a, rows);
  return 0;
}

}  // namespace

Runner add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Benchmark prompt processing (pp) and generation (tg) at depth, per attention policy (llama-bench style)");
  auto* m = add_model_option(cmd, args->model);
  add_load_option(cmd, args->load);
  auto* syn = cmd->add_option("--synthetic", args->synthetic,
                              "Random bf16 weights at the shape of this config.json (made in memory; see "
                              "bench/configs/)");
  m->excludes(syn);
  cmd->add_option("-p,--n-prompt", args->opt.n_prompt, "Prompt tokens of the pp test; 0 = no pp test")
      ->check(number_in(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", args->opt.n_gen, "Tokens generated in the tg test; 0 = no tg test")
      ->check(number_in(0, 1 << 24))
      ->capture_default_str();
  cmd->add_option("-d,--n-depth", args->depths, "Depths: tokens in the KV cache before each test, e.g. 0,4096,16k")
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->opt.threads, "Threads; 0 = every core")
      ->check(number_in(0, 4096))
      ->capture_default_str();
  cmd->add_option("-u,--ubatch-size", args->opt.ubatch,
                  "Rows per forward chunk of the pp test and the fill (llama-bench's -ub)")
      ->check(number_in(1, 65536))
      ->capture_default_str();
  cmd->add_option("-r,--repetitions", args->opt.repetitions, "Repetitions of each test (mean ± sd)")
      ->check(number_in(1, 1e6))
      ->capture_default_str();
  cmd->add_option("--attn", args->policies, "Attention policies to compare: a list of dense, sparse, resa")
      ->capture_default_str();
  add_attention_knobs(cmd, args->opt.attention);
  cmd->add_option("--kv-type", args->opt.kv_type, "KV cache element type: f32 or bf16")
      ->transform(one_of(kv_types()))
      ->default_str("bf16");
  static const std::map<std::string, BenchFill> fills = {
      {"auto", BenchFill::Auto}, {"prefill", BenchFill::Prefill}, {"synthetic", BenchFill::Synthetic}};
  cmd->add_option("--fill", args->fill,
                  "How the cache reaches a depth: prefill (the real forward pass), synthetic (K/V written directly "
                  "at the model's scale), auto (prefill up to 4096, synthetic beyond)")
      ->transform(one_of(fills))
      ->default_str("auto");
  cmd->add_option("-o,--output", args->output, "Output format: md, json or csv")->capture_default_str();
  cmd->add_option("--plot", args->plot, "Draw tg tokens/s against depth, one line per policy, into this SVG (gnuplot)");
  cmd->add_option("-s,--seed", args->opt.seed, "Seed of the random tokens, weights and synthetic cache")
      ->capture_default_str();
  return [cmd, args]() { return cmd->parsed() ? run_bench_command(*args) : -1; };
}

}  // namespace resa::cli
