// Entry point of the `tern` command: parses the command line and runs a subcommand.
#pragma once

namespace tern::cli {
int run(int argc, char** argv);
}
