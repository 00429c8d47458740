// rtnetlink dumps for readers that parse the bytes themselves (`tern doctor routes`:
// doctor/routes_netlink.hpp): links, addresses, routes of every table, policy rules. One
// request, every reply message until NLMSG_DONE, bounded in time. Reading needs no privilege.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.hpp"

namespace tern::io {

// Sends RTM_GET* `type` with NLM_F_DUMP for address family `family` (AF_UNSPEC: all) and
// returns each reply message whole, nlmsghdr included. Fails on the kernel's error, and when
// no end comes within 3 s.
[[nodiscard]] Result<std::vector<std::vector<uint8_t>>> rtnl_dump(uint16_t type, uint8_t family);

}  // namespace tern::io
