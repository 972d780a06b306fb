// The `resa` tool's subcommands. Each file apps/resa/cmd_<name>.cpp adds one subcommand to the CLI11 app and runs
// it; errors leave as resa::Error and main() prints them as one line.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace resa::cli {

// Registers a subcommand; the returned function runs it after parsing and returns the exit code.
using Runner = std::function<int()>;
Runner add_generate(CLI::App& app);

// A flag check: the value is a number in [lo, hi]. Its message names the value and the range.
CLI::Validator number_in(double lo, double hi);

// The model that ships with resa, found relative to the executable (works in the build tree and an install prefix).
std::string default_model_path();

}  // namespace resa::cli
