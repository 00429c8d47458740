// `tern doctor`: registers the subcommand and its checks (`tern doctor relay`) on the app.
// The command reports its exit status by throwing CLI::RuntimeError(code) from its
// callback, which run() turns into the process exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace tern::cli {

void add_doctor_command(CLI::App& app);

}  // namespace tern::cli
