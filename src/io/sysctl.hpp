// Kernel parameters under /proc/sys ("net.ipv4.conf.all.src_valid_mark"). The net.* ones
// belong to the network namespace of the calling thread.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::io {

// The value without its trailing newline. `name` uses dots, as sysctl(8) does.
[[nodiscard]] Result<std::string> read_sysctl(std::string_view name);
[[nodiscard]] Status write_sysctl(std::string_view name, std::string_view value);

}  // namespace tern::io
