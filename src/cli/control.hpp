// `tern control`: registers the coordination server's subcommands: serve, backup, and
// the admin commands keys create|list|revoke and peers list|remove, which work against
// the API (--url and --token) or directly on the data directory (--data).
#pragma once

#include <CLI/CLI.hpp>

namespace tern::cli {

// Adds `control` to `app`; a chosen subcommand runs from within parsing and leaves
// through CLI::RuntimeError with its exit code, as `tern relay` does.
void add_control_command(CLI::App& app);

}  // namespace tern::cli
