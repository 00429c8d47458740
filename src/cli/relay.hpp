// `tern relay`: registers the subcommand that runs a STUN/TURN server.
#pragma once

#include <CLI/CLI.hpp>

namespace tern::cli {

// Adds `relay` to `app`. When it is chosen, the server runs from within parsing and
// its exit code leaves through CLI::RuntimeError, which app.exit() returns quietly.
void add_relay_command(CLI::App& app);

}  // namespace tern::cli
