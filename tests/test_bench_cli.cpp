// `resa bench` end to end on the shipped model: each output format parses, with a row per test, depth and policy and
// null (json) / empty (csv) / "-" (md) where a figure does not apply.
#include <algorithm>
#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

struct Output {
  int status = -1;
  std::string out;
};

Output run(const std::string& args) {
  Output r;
  const std::string cmd = std::string(RESA_BINARY) + " bench " + args + " 2>/dev/null </dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

const char* kArgs = "-p 8 -n 4 -d 0,16 -r 2 -t 2 --attn dense,sparse,resa --rectify-every 4";

TEST(BenchCli, JsonIsAnArrayOfRowsWithTheDocumentedKeys) {
  const Output r = run(std::string(kArgs) + " -o json");
  ASSERT_EQ(r.status, 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 12u);
  for (const nlohmann::json& row : j) {
    for (const char* key : {"test", "depth", "attn", "threads", "weights", "kv_type", "tokens_per_s", "tokens_per_s_sd",
                            "ms_per_token", "bytes_per_token", "achieved_gb_per_s", "bandwidth_gb_per_s", "gflops",
                            "peak_gflops"})
      ASSERT_TRUE(row.contains(key)) << key;
    const bool tg = row["test"] == "tg4";
    EXPECT_TRUE(tg || row["test"] == "pp8");
    EXPECT_EQ(row["threads"], 2);
    EXPECT_EQ(row["weights"], "f32");
    EXPECT_EQ(row["load"], "copy");  // the default
    EXPECT_EQ(row["kv_type"], "bf16");
    EXPECT_GT(row["tokens_per_s"].get<double>(), 0);
    EXPECT_GT(row["bandwidth_gb_per_s"].get<double>(), 0);
    EXPECT_EQ(row["bytes_per_token"].is_null(), !tg);
    EXPECT_EQ(row["achieved_gb_per_s"].is_null(), !tg);
    EXPECT_EQ(row["gflops"].is_null(), tg);
    EXPECT_EQ(row["peak_gflops"].is_null(), tg);
    if (tg) {
      // One pass due (after 4 steps, f = 4). At depths 0 and 16 the window is in the dense regime (up to 16 blocks
      // of 16 every block is attended): skipped.
      const bool resa = row["attn"] == "resa";
      EXPECT_EQ(row["rectify_passes"].get<double>(), 0) << row.dump();
      EXPECT_EQ(row["rectify_skipped"].get<double>(), resa ? 1 : 0) << row.dump();
    }
  }
  int per_cell[2][2][3] = {};
  for (const nlohmann::json& row : j) {
    const int test = row["test"] == "tg4", depth = row["depth"] == 16;
    const std::string a = row["attn"];
    ++per_cell[test][depth][a == "dense" ? 0 : a == "sparse" ? 1 : 2];
  }
  for (auto& t : per_cell)
    for (auto& d : t)
      for (int n : d) EXPECT_EQ(n, 1);
}

TEST(BenchCli, CsvHasAHeaderAndOneLinePerRow) {
  const Output r = run(std::string(kArgs) + " -o csv");
  ASSERT_EQ(r.status, 0);
  const std::vector<std::string> ls = lines(r.out);
  ASSERT_EQ(ls.size(), 13u);
  auto fields = [](const std::string& l) {
    std::vector<std::string> f;
    std::string cur;
    for (char ch : l) {
      if (ch == ',') f.push_back(cur), cur.clear();
      else cur += ch;
    }
    f.push_back(cur);
    return f;
  };
  const std::vector<std::string> head = fields(ls[0]);
  EXPECT_EQ(head[0], "test");
  const size_t tps = std::find(head.begin(), head.end(), "tokens_per_s") - head.begin();
  const size_t bpt = std::find(head.begin(), head.end(), "bytes_per_token") - head.begin();
  ASSERT_LT(tps, head.size());
  ASSERT_LT(bpt, head.size());
  for (size_t i = 1; i < ls.size(); ++i) {
    const std::vector<std::string> f = fields(ls[i]);
    ASSERT_EQ(f.size(), head.size()) << ls[i];
    EXPECT_GT(std::stod(f[tps]), 0) << ls[i];
    EXPECT_EQ(f[bpt].empty(), f[0] == "pp8") << ls[i];
  }
}

TEST(BenchCli, MarkdownHasTheHeaderLinesAndARowPerTest) {
  const Output r = run(kArgs);
  ASSERT_EQ(r.status, 0);
  const std::vector<std::string> ls = lines(r.out);
  std::vector<std::string> table;
  bool machine = false, limits = false;
  for (const std::string& l : ls) {
    if (l.rfind("machine: ", 0) == 0) machine = l.find("kernels ") != std::string::npos && l.find("BLAS") != std::string::npos;
    if (l.rfind("limits: read bandwidth ", 0) == 0) limits = true;
    if (!l.empty() && l[0] == '|') table.push_back(l);
  }
  EXPECT_TRUE(machine);
  EXPECT_TRUE(limits);
  ASSERT_EQ(table.size(), 14u);  // header, rule, 12 rows
  const auto bars = std::count(table[0].begin(), table[0].end(), '|');
  for (const std::string& l : table) EXPECT_EQ(std::count(l.begin(), l.end(), '|'), bars) << l;
  EXPECT_NE(table[2].find("| pp8 | 0 | dense | - |"), std::string::npos) << table[2];
  EXPECT_NE(table[13].find("| tg4 | 16 | resa | prefill |"), std::string::npos) << table[13];
}

}  // namespace
