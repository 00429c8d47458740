// `tern doctor`: registers the subcommand and its checks on the app. Each check
// reports its exit status by throwing CLI::RuntimeError(code) from its callback,
// which run() turns into the process exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace tern::cli {

void add_doctor_command(CLI::App& app);

// One per check, each in cli/doctor_<check>.cpp.
void add_doctor_relay(CLI::App& doctor);
void add_doctor_nat(CLI::App& doctor);
void add_doctor_wg(CLI::App& doctor);
void add_doctor_mtu(CLI::App& doctor);
void add_doctor_routes(CLI::App& doctor);
// `tern doctor` alone: every check that applies (cli/doctor_all.cpp).
void add_doctor_all(CLI::App& doctor);

}  // namespace tern::cli
