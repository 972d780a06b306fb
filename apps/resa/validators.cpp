#include <cmath>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"

namespace resa::cli {

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
