#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "resa/resa.hpp"

namespace resa::cli {

std::string num(double v, const char* fmt_spec) {
  return std::isnan(v) ? std::string("-") : fmt::format(fmt::runtime(fmt_spec), v);
}

CLI::Validator number_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(value, v) || !std::isfinite(v)) return fmt::format("'{}' is not a number", value);
        if (v < lo || v > hi) return fmt::format("{} is out of range [{}, {}]", value, lo, hi);
        return {};
      },
      fmt::format("in [{}, {}]", lo, hi));
}

}  // namespace resa::cli

namespace resa::cli {

const std::map<std::string, KvType>& kv_types() {
  static const std::map<std::string, KvType> m = {{"f32", KvType::F32}, {"bf16", KvType::BF16}};
  return m;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (char ch : text) {
    if (ch == ',' || ch == ' ' || ch == '\t' || ch == '\n') {
      if (!item.empty()) items.push_back(item);
      item.clear();
    } else {
      item += ch;
    }
  }
  if (!item.empty()) items.push_back(item);
  return items;
}

std::vector<int> parse_ids(const std::string& text, const std::string& flag) {
  std::vector<int> ids;
  for (const std::string& item : split_list(text)) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 0 || v > 0x7fffffff)
      throw Error(fmt::format("{}: '{}' is not a token id (expected numbers like 1,2,3)", flag, item));
    ids.push_back(static_cast<int>(v));
  }
  if (ids.empty()) throw Error(fmt::format("{}: no token ids given", flag));
  return ids;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace resa::cli
