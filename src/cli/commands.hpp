// The subcommands of `tern`. Each returns the process exit code.
#pragma once

#include <string>

namespace tern::cli {

int cmd_genkey();
int cmd_genpsk();
int cmd_pubkey();
int cmd_up(const std::string& config_path, const std::string& interface_name, bool verbose);
int cmd_status(const std::string& interface_name, bool json);

}  // namespace tern::cli
