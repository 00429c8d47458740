// The host's network interfaces with their MTUs, read with an rtnetlink link dump: the agent
// searches path MTUs up to the largest underlay interface (core::underlay_max_path_mtu), so a
// 9000-byte link is used whole. Reading needs no privilege.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace tern::io {

struct LinkMtu {
  int index = 0;
  std::string name;
  uint32_t mtu = 0;
  bool up = false;  // IFF_UP
  bool loopback = false;
};

// One RTM_NEWLINK message, nlmsghdr included; nullopt for anything else or a truncated one.
std::optional<LinkMtu> parse_link_mtu(Bytes message);

[[nodiscard]] Result<std::vector<LinkMtu>> list_link_mtus();

}  // namespace tern::io
