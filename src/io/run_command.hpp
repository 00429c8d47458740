// Runs a program and collects what it prints, bounded in time and size: how the doctor reads
// tools that have no library interface it can use (`nft -j list ruleset`). The program is
// found on PATH; nothing goes to its stdin.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace tern::io {

struct CommandOutput {
  int exit_status = -1;  // the exit code; -1 when it was killed or died of a signal
  std::string out;
  std::string err;
  bool not_found = false;  // the program is not installed
};

// Fails only when the program could not be started for another reason than its absence, or
// when it outlives `timeout` (it is killed) or prints more than `max_output` bytes.
[[nodiscard]] Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                                std::chrono::milliseconds timeout,
                                                size_t max_output);

}  // namespace tern::io
